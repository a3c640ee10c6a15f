import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes `text` to `file` so that readers see the old or the new content, never a mix.
 * @param mode permission bits of the new file (e.g. 0o600 for files holding credentials); when given, a file with the same text but other bits is rewritten.
 */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text && (mode === undefined || (fs.statSync(file).mode & 0o777) === mode)) return;
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
