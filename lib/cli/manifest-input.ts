import * as fs from 'fs';
import * as path from 'path';
import { KubepinUsageError } from '../util/errors';
import { LoadedManifests, MAX_MANIFEST_BYTES, loadManifests, parseManifestText } from '../core/manifests/manifests';
import { CliIo } from './io';
import { findProjectRoot, synthStep } from './project-root';

/** The manifests a command was given: PATHs, `-` for standard input, or the default `dist/`. */
export interface ManifestInput {
  /** What was read, files relative to the working directory. */
  readonly loaded: LoadedManifests;
  /** The PATH arguments as given (`dist/` when none). */
  readonly given: readonly string[];
  /** No PATH was given and the default `dist/` does not exist. */
  readonly defaultMissing: boolean;
}

/** `-` as a PATH: standard input. */
export const STDIN_PATH = '-';

/** The default manifest directory, where `cdk8s synth` writes. */
export const DEFAULT_MANIFEST_DIR = 'dist';

/**
 * Reads the manifests under `paths` (files and directories; `-` is standard input, at most
 * once). With no `paths`, `dist/`; a `dist/` that does not exist reads as nothing (the gate
 * says so), while a PATH given that does not exist is a usage error (ManifestReadError).
 * Files are named relative to the working directory unless `relativeFiles` is false.
 */
export async function readManifestInput(paths: readonly string[], io: CliIo, options: { readonly relativeFiles?: boolean } = {}): Promise<ManifestInput> {
  if (paths.filter((p) => p === STDIN_PATH).length > 1) throw new KubepinUsageError('"-" (standard input) can be given once');
  const given = paths.length > 0 ? paths : [`${DEFAULT_MANIFEST_DIR}/`];
  const defaultMissing = paths.length === 0 && !fs.existsSync(path.resolve(io.cwd, DEFAULT_MANIFEST_DIR));
  const files = defaultMissing ? [] : given.filter((p) => p !== STDIN_PATH).map((p) => path.resolve(io.cwd, p));
  const fromFiles = loadManifests(files);
  const rel = (f: string) => (options.relativeFiles === false ? f : path.isAbsolute(f) ? path.relative(io.cwd, f) || f : f);
  const documents = fromFiles.documents.map((d) => ({ ...d, file: rel(d.file) }));
  const problems = fromFiles.problems.map((p) => ({ ...p, file: rel(p.file) }));
  if (given.includes(STDIN_PATH)) {
    const parsed = parseManifestText(await readStdin(io.stdin), '<stdin>');
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  return { loaded: { documents, problems, files: fromFiles.files.map(rel) }, given, defaultMissing };
}

function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stdin.on('data', (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > MAX_MANIFEST_BYTES) {
        reject(new KubepinUsageError(`standard input is larger than ${MAX_MANIFEST_BYTES} bytes; pass the manifests as files instead`));
        return;
      }
      chunks.push(buf);
    });
    stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stdin.on('error', reject);
  });
}

/** `--allow-empty`: the flag of every gate that may pass on no manifests. */
export const ALLOW_EMPTY_FLAG = { 'allow-empty': { type: 'boolean' } } as const;

/** Help line of {@link ALLOW_EMPTY_FLAG}. */
export const ALLOW_EMPTY_HELP = '  --allow-empty                pass when there are no manifests at all (default: exit 5)';

/**
 * Why a gate has nothing to check, or `undefined` when it has something: no Kubernetes object
 * under the PATHs and none that failed to read (those fail on their own). After a strict
 * `cdk8s synth` fails, cdk8s leaves `dist/` empty: passing then would pass a broken build.
 */
export function nothingToCheck(input: ManifestInput, cwd: string): string | undefined {
  const { loaded } = input;
  if (loaded.documents.length > 0 || loaded.problems.some((p) => !/is not a Kubernetes object/.test(p.message))) return undefined;
  const where = input.given.map((p) => (p === STDIN_PATH ? 'standard input' : p)).join(', ');
  const found = input.defaultMissing
    ? `${DEFAULT_MANIFEST_DIR}/ does not exist`
    : loaded.files.length === 0 && !input.given.includes(STDIN_PATH)
      ? `no .yaml, .yml or .json file under ${where}`
      : `no Kubernetes object in ${input.given.includes(STDIN_PATH) && loaded.files.length === 0 ? where : `the ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'} under ${where}`}`;
  const kind = findProjectRoot(cwd)?.kind;
  const step = synthStep(kind);
  const why = kind === 'pulumi' ? 'a program that fails writes nothing' : 'a failed strict synth leaves dist/ empty';
  return `nothing to check: ${found}. The manifests were probably not written: did ${step} fail (${why})? Fix: run ${step} and look at its errors, or pass the directory it writes to; if no manifests is right, pass --allow-empty`;
}

/** `--verbose`: what was read, one line for stderr. */
export function describeInput(input: ManifestInput): string {
  const { files, documents } = input.loaded;
  const stdin = input.given.includes(STDIN_PATH) ? ' and standard input' : '';
  return `read ${files.length} file${files.length === 1 ? '' : 's'}${stdin} under ${input.given.join(', ')}: ${documents.length} Kubernetes object${documents.length === 1 ? '' : 's'}`;
}
