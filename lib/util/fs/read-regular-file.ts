import * as fs from 'fs';

/**
 * Reads a file kubepin was pointed at (a manifest, the lock, a configuration or key file):
 * regular files only (a FIFO would block, `/dev/zero` never ends), opened without blocking and checked on the open descriptor, and capped by the bytes
 * actually read (`stat().size` is 0 for devices and can change while reading).
 */
export function readRegularFile(file: string, maxBytes: number): string | { problem: string; tooLarge?: true } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return { problem: `cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { problem: `not a regular file (${describeFileType(stat)}); only regular files are read. Fix: remove it or point kubepin at the files themselves` };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) return { problem: `file is larger than ${maxBytes} bytes`, tooLarge: true };
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (e) {
    return { problem: `cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}` };
  } finally {
    fs.closeSync(fd);
  }
}

/** What a non-regular file is, for messages: "a directory", "a FIFO", "a device", "a socket". */
export function describeFileType(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symlink';
  return 'not a file';
}
