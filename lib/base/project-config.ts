import * as fs from 'fs';
import * as path from 'path';
import { KubepinError, describeType } from './errors';
import { readRegularFile } from './regular-file';

/** The project configuration file: next to the lock file (or, for `kubepin check`, in the working directory). */
export const CONFIG_FILE_NAME = 'kubepin.config.json';

/** Largest configuration file read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** `kubepin.config.json` is unreadable, not JSON, or one of its sections is malformed. */
export class ProjectConfigError extends KubepinError {}

/** A parsed `kubepin.config.json`. Each section (`signatures`, `imageLocations`) is read by its own module. */
export interface ProjectConfig {
  /** Absolute path of the file. */
  readonly file: string;
  /** The file as shown in messages (relative to the working directory when inside it). */
  readonly display: string;
  /** The file's directory: relative paths in the file resolve against it. */
  readonly dir: string;
  /** The top-level object. */
  readonly data: Readonly<Record<string, unknown>>;
}

const loaded = new Map<string, { stamp: string; config: ProjectConfig | undefined }>();

/** `kubepin.config.json` in the directory of `lockFile`. */
export function projectConfigBeside(lockFile: string): string {
  return path.join(path.dirname(path.resolve(lockFile)), CONFIG_FILE_NAME);
}

/**
 * Reads the configuration `file` (undefined when it does not exist). The parsed file is kept
 * while it is unchanged on disk: each synthesis pass and each face asks for it.
 * @throws ProjectConfigError
 */
export function loadProjectConfig(file: string): ProjectConfig | undefined {
  const absolute = path.resolve(file);
  let stamp = 'missing';
  try {
    const stat = fs.statSync(absolute);
    stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  } catch {
    // Missing (or unreadable: reading says which).
  }
  const cached = loaded.get(absolute);
  if (cached && cached.stamp === stamp) return cached.config;
  const config = stamp === 'missing' && !fs.existsSync(absolute) ? undefined : parseProjectConfig(absolute);
  loaded.set(absolute, { stamp, config });
  return config;
}

function parseProjectConfig(file: string): ProjectConfig {
  const display = displayPath(file);
  const text = readRegularFile(file, MAX_CONFIG_BYTES);
  if (typeof text !== 'string') throw new ProjectConfigError(`${display}: cannot read the configuration file: ${text.problem.replace(/^cannot read: /, '')}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Never the text: JSON.parse's message quotes it, and the file may be anything (a link to /etc/passwd).
    throw new ProjectConfigError(`${display}: not valid JSON. Fix: correct it (docs/signatures.md and docs/image-locations.md show the format) or remove it`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProjectConfigError(`${display}: must be a JSON object, got ${describeType(data)}`);
  }
  return { file, display, dir: path.dirname(file), data: data as Record<string, unknown> };
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
