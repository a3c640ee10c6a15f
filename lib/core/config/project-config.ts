import * as fs from 'fs';
import * as path from 'path';
import { KubepinError, describeType } from '../../util/errors';
import { unknownKeysProblem } from '../../util/known-keys';
import { readRegularFile } from '../../util/fs/read-regular-file';
import { docPath } from '../../util/docs';

/** The project configuration file: next to the lock file (or, for `kubepin check`, in the working directory). */
export const CONFIG_FILE_NAME = 'kubepin.config.json';

/** Largest configuration file read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** `kubepin.config.json` is unreadable, not JSON, or one of its sections is malformed. */
export class ProjectConfigError extends KubepinError {}

/**
 * The top-level keys of `kubepin.config.json`, each read by its own module: any other key is
 * refused (a misspelled section would otherwise be ignored without a word).
 */
export const PROJECT_CONFIG_SECTIONS: readonly string[] = [
  'signatures', // lib/signatures/policy.ts, docs/signatures.md
  'imageLocations', // lib/image-locations.ts, docs/image-locations.md
  'prePullHelpers', // lib/prepull-helpers.ts, docs/pre-pull.md
  'mirrors', // lib/cli/registry-options.ts, docs/registry.md
  'platforms', // lib/platforms.ts, docs/lock-freshness.md
];

/** `where: <unknown fields and the nearest known one>`, thrown when `record` has keys outside `known`. @throws ProjectConfigError */
export function refuseUnknownConfigKeys(record: object, known: readonly string[], where: string): void {
  const problem = unknownKeysProblem(record, known);
  if (problem) throw new ProjectConfigError(`${where}: ${problem}`);
}

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
  } catch (e) {
    const at = jsonErrorPosition(text, e);
    throw new ProjectConfigError(`${display}:${at.line}:${at.column}: not valid JSON (${at.problem} at line ${at.line}, column ${at.column}). Fix: correct it (${docPath('configuration.md')} shows the format) or remove it`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProjectConfigError(`${display}: must be a JSON object, got ${describeType(data)}`);
  }
  const unknown = unknownKeysProblem(data, PROJECT_CONFIG_SECTIONS);
  if (unknown) throw new ProjectConfigError(`${display}: ${unknown} (${docPath('configuration.md')})`);
  return { file, display, dir: path.dirname(file), data: data as Record<string, unknown> };
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * Line and column (1-based) of the first JSON syntax error in `text`, and what is wrong in words.
 * Never the text itself: JSON.parse's message may quote it, and the file may be anything (a link
 * to /etc/passwd). V8 names the offset for most errors; for "Unexpected token" it does not, and
 * the offset is found by parsing prefixes (a prefix ending before the error ends early; one
 * reaching it fails there).
 */
export function jsonErrorPosition(text: string, error: unknown): { line: number; column: number; problem: string } {
  const message = error instanceof Error ? error.message : '';
  const stated = /^(.*?) in JSON at position (\d+)/.exec(message) ?? /^(Unexpected non-whitespace character after JSON) at position (\d+)/.exec(message);
  let offset: number;
  let problem: string;
  if (stated) {
    offset = Number(stated[2]);
    problem = stated[1];
  } else if (/^Unexpected end of JSON input/.test(message)) {
    offset = text.length;
    problem = 'the file ends early';
  } else {
    let low = 0;
    let high = text.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (endsEarly(text.slice(0, mid + 1))) low = mid + 1;
      else high = mid;
    }
    offset = low;
    problem = 'unexpected character';
  }
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n'), problem };
}

function endsEarly(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    const position = /at position (\d+)/.exec(message);
    return /^Unexpected end of JSON input/.test(message) || (position !== null && Number(position[1]) >= prefix.length && !/^Unexpected token/.test(message));
  }
}
