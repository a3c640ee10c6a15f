import * as path from 'path';
import { ImageLock, LOCK_FILE_NAME } from '../core/lock/image-lock';
import { LoadedManifests } from '../core/manifests/manifests';
import { CliIo } from './io';
import { DEFAULT_MANIFEST_DIR, ManifestInput, STDIN_PATH, readManifestInput } from './manifest-input';
import type { CheckFinding } from '../check/check';
import { problemFindings } from '../check/report';
import { ManifestImages, collectImages } from '../registry/lock-images';
import { RegistryFlagValues } from './registry-options';
import { SignaturePolicy } from '../signatures/policy';
import { ImageLocations } from '../core/objects/image-locations';
import { projectConfigBeside } from '../core/config/project-config';

/** What `kubepin lock` and `kubepin verify` read: the lock file and the images of the manifests. */
export interface LockProject {
  /** The manifest paths (PATH arguments, default `dist`), absolute, or `-`. */
  readonly paths: string[];
  /** The lock file, absolute. */
  readonly lockFile: string;
  /** The lock as loaded (empty when the file does not exist). */
  readonly lock: ImageLock;
  /** The manifests read. */
  readonly manifests: LoadedManifests;
  /** How they were given (for the empty gate). */
  readonly input: ManifestInput;
  /** Their images, with locations. */
  readonly images: ManifestImages;
  /** Which images must be signed: `kubepin.config.json` next to the lock file (docs/signatures.md). */
  readonly signatures: SignaturePolicy;
  /** Where custom resources keep images: `kubepin.config.json` next to the lock file (docs/image-locations.md). */
  readonly locations: ImageLocations;
  /** That `kubepin.config.json`. */
  readonly configFile: string;
}

/**
 * Loads the lock (`--lock-file`, default kubepin.lock.json) and the manifests under the PATH
 * arguments (default `dist`; `-` is standard input). A path that does not exist is a usage
 * error (exit code 2).
 */
export async function loadLockProject(values: RegistryFlagValues, positionals: readonly string[], io: CliIo): Promise<LockProject> {
  const paths = (positionals.length > 0 ? positionals : [DEFAULT_MANIFEST_DIR]).map((p) => (p === STDIN_PATH ? p : path.resolve(io.cwd, p)));
  const lockSide = loadLock(values, io.cwd);
  // A missing PATH throws ManifestReadError, which the CLI reports as a usage error (exit code 2).
  const input = await readManifestInput(positionals, io, { relativeFiles: false });
  const manifests = input.loaded;
  return { paths, input, ...lockSide, manifests, images: collectImages(manifests.documents, undefined, lockSide.locations) };
}

/**
 * The lock file (`--lock-file`, relative to `cwd`; default kubepin.lock.json in `projectDir`),
 * its lock, and the project configuration beside it.
 */
export function loadLock(values: RegistryFlagValues, cwd: string, projectDir: string = cwd): Pick<LockProject, 'lockFile' | 'lock' | 'signatures' | 'locations' | 'configFile'> {
  const lockFile = values['lock-file'] !== undefined ? path.resolve(cwd, values['lock-file']) : path.join(path.resolve(cwd, projectDir), LOCK_FILE_NAME);
  return {
    lockFile,
    lock: ImageLock.load(lockFile),
    signatures: SignaturePolicy.forLockFile(lockFile),
    locations: ImageLocations.forLockFile(lockFile),
    configFile: projectConfigBeside(lockFile),
  };
}

/** A manifest that cannot be read, as `kubepin check` reports it (`unreadable-manifest`, `not-kubernetes`). */
export interface ManifestProblemReport {
  /** `error` fails the command: nothing unreadable passes silently. */
  readonly severity: 'error' | 'warning';
  /** `file:line: message`, the file relative to `cwd`. */
  readonly text: string;
  /** The check finding it comes from. */
  readonly finding: CheckFinding;
}

/** The loader's problems as `kubepin check` reports them (one rule for every command), located relative to `cwd`. */
export function manifestProblemReports(manifests: LoadedManifests, cwd: string): ManifestProblemReport[] {
  return problemFindings(manifests.problems, manifests.documents).map((finding) => {
    const file = finding.file ?? '';
    const r = path.isAbsolute(file) ? path.relative(cwd, file) : file;
    const shown = r === '' || r.startsWith('..') ? file : r;
    return {
      severity: finding.severity === 'error' ? 'error' : 'warning',
      text: `${shown}${finding.line ? `:${finding.line}` : ''}: ${finding.message}`,
      finding,
    };
  });
}

/** Image fields of kinds no image location covers, for `--json` (the same for lock and verify). */
export function unlocatedJson(cwd: string, images: ManifestImages): Array<Record<string, unknown>> {
  return images.unlocated.flatMap((u) => u.images.map((i) => ({ file: relativePath(cwd, u.location.file), object: u.location.object, path: i.path, image: i.image, suggestion: i.suggestion })));
}

/** `file` relative to `cwd` when inside it, as the commands print paths. */
export function relativePath(cwd: string, file: string): string {
  const r = path.relative(cwd, file);
  return r === '' ? '.' : r.startsWith('..') ? file : r;
}
