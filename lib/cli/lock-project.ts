import * as path from 'path';
import { UsageError } from './main';
import { KubepinUsageError } from '../errors';
import { ImageLock, LOCK_FILE_NAME } from '../lock';
import { LoadedManifests, loadManifests } from '../manifests';
import { ManifestImages, collectImages } from '../registry/lock-images';
import { RegistryFlagValues } from '../registry/cli-options';
import { SignaturePolicy } from '../signatures/policy';

/** Runs flag parsing and checks, turning a bad flag into a {@link UsageError} (exit code 2). */
export function usageChecked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof KubepinUsageError) throw new UsageError(e.message);
    throw e;
  }
}

/** What `kubepin lock` and `kubepin verify` read: the lock file and the images of the manifests. */
export interface LockProject {
  /** The manifest paths (PATH arguments, default `dist`), absolute. */
  readonly paths: string[];
  /** The lock file, absolute. */
  readonly lockFile: string;
  /** The lock as loaded (empty when the file does not exist). */
  readonly lock: ImageLock;
  /** The manifests read. */
  readonly manifests: LoadedManifests;
  /** Their images, with locations. */
  readonly images: ManifestImages;
  /** Which images must be signed: `kubepin.config.json` next to the lock file (docs/signatures.md). */
  readonly signatures: SignaturePolicy;
}

/** Loads the lock (`--lock-file`, default kubepin.lock.json) and the manifests under the PATH arguments. */
export function loadLockProject(values: RegistryFlagValues, positionals: readonly string[], cwd: string): LockProject {
  const paths = (positionals.length > 0 ? positionals : ['dist']).map((p) => path.resolve(cwd, p));
  const lockFile = path.resolve(cwd, values['lock-file'] ?? LOCK_FILE_NAME);
  const lock = ImageLock.load(lockFile);
  const signatures = SignaturePolicy.forLockFile(lockFile);
  const manifests = loadManifests(paths);
  return { paths, lockFile, lock, manifests, images: collectImages(manifests.documents), signatures };
}
