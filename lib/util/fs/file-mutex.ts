import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubepinError, capMessage } from '../errors';
import { describeFileType, readRegularFile } from './read-regular-file';
import { resolveWriteTarget } from './write-file-atomic';

/** The lock file is unreadable, corrupt, from an unknown format version, or cannot be written. */
export class LockFileError extends KubepinError {
  constructor(message: string) {
    // A lock can hold thousands of entries: a message quoting many of them is capped.
    super(capMessage(message));
  }
}

/** Default bound on waiting for another writer's lock file. */
const LOCK_WAIT_MS = 60_000;
/** A lock file without a readable owner (a writer died before writing its pid) counts as stale after this long. */
const UNOWNED_STALE_MS = 10_000;

/**
 * The exclusive lock file that guards writes of `file`: `<target>.lock` beside the file that is
 * actually replaced. Through a symlink that is the link's target, so runs that reach one lock by
 * different links (or directly) exclude each other.
 */
export function lockFilePathOf(file: string): string {
  return `${path.resolve(resolveWriteTarget(file))}.lock`;
}

/**
 * Runs `fn` holding the lock file of `file` ({@link lockFilePathOf}), created with `O_EXCL` and
 * holding `pid@host`. A lock file whose process is gone on this host is stale and taken over;
 * otherwise waits (bounded by `KUBEPIN_LOCK_WAIT_MS`, default 60 s) and then fails naming the
 * holder and the fix. Something other than a regular file at that path (a FIFO, a directory) is
 * refused at once: kubepin never reads it.
 */
export function withLockFile<T>(file: string, fn: () => T): T {
  const lockPath = lockFilePathOf(file);
  const owner = `${process.pid}@${os.hostname()}\n`;
  const waitMs = Number(process.env.KUBEPIN_LOCK_WAIT_MS) >= 0 ? Number(process.env.KUBEPIN_LOCK_WAIT_MS) : LOCK_WAIT_MS;
  const deadline = Date.now() + waitMs;
  let pause = 2;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(lockPath, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new LockFileError(`${file}: cannot create the lock file ${lockPath}: ${(e as Error).message}`);
    }
    if (fd !== undefined) {
      try {
        fs.writeSync(fd, owner);
      } finally {
        fs.closeSync(fd);
      }
      try {
        return fn();
      } finally {
        fs.rmSync(lockPath, { force: true });
      }
    }
    const holder = readHolder(file, lockPath);
    if (holder.stale) {
      // Renamed first so that of two processes finding the same stale file only one removes it.
      const moved = `${lockPath}.${process.pid}.stale`;
      try {
        fs.renameSync(lockPath, moved);
        fs.rmSync(moved, { force: true });
      } catch {
        // Someone else took it over first: try again.
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockFileError(`${file}: another kubepin (${holder.owner ?? 'unknown process'}) has held ${lockPath} for more than ${Math.round(waitMs / 1000)} s. Fix: wait for it to finish; if no kubepin is running, remove ${lockPath}`);
    }
    sleepSync(pause);
    pause = Math.min(pause * 2, 50);
  }
}

/**
 * Checks, before any work whose results the lock would record, what can be checked of writing
 * `file`: the directory of the file that is replaced exists and is writable, and nothing but a
 * regular file sits where the lock file goes.
 * @throws LockFileError naming the problem and the fix
 */
export function checkLockWritable(file: string): void {
  const target = path.resolve(resolveWriteTarget(file));
  const shown = target === path.resolve(file) ? file : `${file} (a symlink to ${target})`;
  const dir = path.dirname(target);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    // Reported below.
  }
  if (!stat?.isDirectory()) {
    throw new LockFileError(`${shown} cannot be written: the directory ${dir} does not exist. Fix: create it, or point ${target === path.resolve(file) ? '--lock-file' : 'the symlink'} at a lock in an existing directory`);
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new LockFileError(`${shown} cannot be written: the directory ${dir} is not writable. Fix: make it writable, or give --lock-file a writable place`);
  }
  refuseIrregularLockFile(file, `${target}.lock`);
}

function refuseIrregularLockFile(file: string, lockPath: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(lockPath);
  } catch {
    return; // Nothing there: the usual case.
  }
  if (!stat.isFile()) {
    throw new LockFileError(`${file}: ${lockPath} is ${describeFileType(stat)}, not a lock file kubepin made (those are regular files holding pid@host). Fix: remove it`);
  }
}

function readHolder(file: string, lockPath: string): { owner?: string; stale: boolean } {
  refuseIrregularLockFile(file, lockPath);
  // Opened without blocking: something swapped in since the check is read as no owner, never waited on.
  const text = readRegularFile(lockPath, 4096);
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(lockPath).mtimeMs;
  } catch {
    return { stale: false }; // Released meanwhile: the next attempt takes it.
  }
  const match = typeof text === 'string' ? /^(\d+)@(.*)\n$/.exec(text) : null;
  if (!match) return { stale: Date.now() - mtimeMs > UNOWNED_STALE_MS };
  const owner = `pid ${match[1]} on ${match[2]}`;
  if (match[2] !== os.hostname()) return { owner, stale: false }; // Cannot check a process on another host.
  try {
    process.kill(Number(match[1]), 0);
    return { owner, stale: false };
  } catch (e) {
    return { owner, stale: (e as NodeJS.ErrnoException).code === 'ESRCH' };
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
