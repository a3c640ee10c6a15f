import * as fs from 'fs';
import * as path from 'path';
import { KubepinUsageError } from '../errors';
import { readRegularFile } from './read-regular-file';

/**
 * Writes `text` to `file` so that readers see the old or the new content, never a mix.
 * A symlink is followed: the file it names is replaced and the link stays (a lock file kept
 * elsewhere and linked into the project stays linked). A directory is refused with a usage
 * error. Temporaries a killed writer left beside the file (`.<name>.<pid>.<time>.tmp` of a
 * process that no longer runs) are removed.
 * @param mode permission bits of the new file (e.g. 0o600 for files holding credentials); when given, a file with the same text but other bits is rewritten.
 */
export function writeFileAtomic(target: string, text: string, mode?: number): void {
  const file = resolveWriteTarget(target);
  removeStaleTemporaries(file);
  try {
    // Read without blocking, regular files only: a FIFO at the target is replaced, never waited on.
    if (readRegularFile(file, Buffer.byteLength(text)) === text && (mode === undefined || (fs.statSync(file).mode & 0o777) === mode)) return;
  } catch {
    // Missing or unreadable: write it.
  }
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode ?? 0o644);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/** Where writing `file` lands: the end of its symlink chain; a directory is refused. */
export function resolveWriteTarget(file: string): string {
  // Follow the link chain by hand: realpath fails on a link to a file not written yet.
  let resolved = file;
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(resolved);
    } catch {
      break; // Not a symlink (or missing): this is the file.
    }
    resolved = path.resolve(path.dirname(resolved), link);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(resolved);
  } catch {
    return resolved;
  }
  if (stat.isDirectory()) throw new KubepinUsageError(`${file} is a directory, not a file. Fix: give the path of the file to write (a name inside that directory, if you meant it)`);
  return resolved;
}

/** Removes `.<name>.<pid>.<time>.tmp` files beside `file` whose writer is gone (killed mid-write); other things of such a name are left alone. */
function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    const stale = path.join(dir, name);
    try {
      // Only a file this code could have made: a directory or anything else of that name is not ours to remove.
      if (fs.lstatSync(stale).isFile()) fs.rmSync(stale, { force: true });
    } catch {
      // Tidying up is never a reason to fail the write.
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
