import * as fs from 'fs';
import * as path from 'path';
import { IConstruct } from 'constructs';
import { ImageLock, LOCK_FILE_NAME } from '../core/lock/image-lock';



/**
 * Context key naming the lock file; the same key as `PrePullDaemonSet`'s exported
 * `LOCK_FILE_CONTEXT` (kept private here so this module does not import that one, which imports it).
 */
const LOCK_FILE_CONTEXT = 'kubepin:lockFile';
const CDK8S_CONFIG = 'cdk8s.yaml';
const MAX_PARENT_DIRS = 64;

/**
 * The lock file a construct uses when none is given: the `kubepin:lockFile` context value,
 * else `kubepin.lock.json` next to the nearest `cdk8s.yaml` at or above the working
 * directory (where `cdk8s synth` runs the app), else in the working directory.
 */
export function defaultLockFile(scope?: IConstruct): string {
  const fromContext = scope?.node.tryGetContext(LOCK_FILE_CONTEXT);
  if (typeof fromContext === 'string' && fromContext !== '') return path.resolve(fromContext);
  const config = findCdk8sConfig();
  return config !== undefined ? path.join(path.dirname(config), LOCK_FILE_NAME) : path.resolve(LOCK_FILE_NAME);
}

/** The nearest `cdk8s.yaml` at or above the working directory (where `cdk8s synth` runs the app), if any. */
export function findCdk8sConfig(): string | undefined {
  let dir = process.cwd();
  for (let i = 0; i < MAX_PARENT_DIRS; i++) {
    if (fs.existsSync(path.join(dir, CDK8S_CONFIG))) return path.join(dir, CDK8S_CONFIG);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Loads `lock` when it is a path (relative paths resolve against the working directory). */
export function resolveLock(scope: IConstruct, lock: ImageLock | string | undefined): ImageLock {
  if (lock instanceof ImageLock) return lock;
  return ImageLock.load(lock === undefined ? defaultLockFile(scope) : path.resolve(lock));
}
