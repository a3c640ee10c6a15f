import * as os from 'os';
import * as path from 'path';
import { KubepinError } from '../util/errors';
import { safeText } from '../util/printable';
import { ImageLock } from '../core/lock/image-lock';
import { writeFileAtomic } from '../util/fs/write-file-atomic';

/** A save of the lock that failed, and where the lock it would have written went instead. */
export interface UnsavedLock {
  /** Why the lock file could not be written (with the fix). */
  readonly error: string;
  /** The file holding the lock with this run's results, when one could be written. */
  readonly savedTo?: string;
  /** The lock text, for printing when no file could be written. */
  readonly text: string;
}

/**
 * Saves `lock`; when the lock file cannot be written (its lock file held too long, a directory
 * gone or full), the results of the run are not lost: the lock with them is written beside the
 * lock file as `<name>.unsaved`, else into the temporary directory, else returned for printing.
 * @returns `undefined` when the lock was saved
 */
export function saveLockOrKeepResults(lock: ImageLock): UnsavedLock | undefined {
  try {
    lock.save();
    return undefined;
  } catch (e) {
    if (!(e instanceof KubepinError)) throw e;
    const text = lock.serialize();
    const name = `${path.basename(lock.file)}.unsaved`;
    for (const dir of [path.dirname(path.resolve(lock.file)), os.tmpdir()]) {
      const file = path.join(dir, name);
      try {
        writeFileAtomic(file, text);
        return { error: e.message, savedTo: file, text };
      } catch {
        // Try the next place.
      }
    }
    return { error: e.message, text };
  }
}

/** The text lines `kubepin lock` prints for an unsaved lock: what failed, where the results are, the fix. */
export function unsavedLockText(unsaved: UnsavedLock, entries: number, shownLockFile: string, shownSavedTo?: string): string {
  const fix = safeText`Fix: once that is solved, move it to ${shownLockFile} (it is a complete lock) or run \`kubepin lock\` again`;
  if (shownSavedTo !== undefined) return safeText`error: ${unsaved.error}\nerror: the lock with this run's results (${entries} entries) was written to ${shownSavedTo} instead. ${fix}\n`;
  return safeText`error: ${unsaved.error}\nerror: no file could be written; the lock with this run's results (${entries} entries) follows. ${fix}\n` + unsaved.text;
}
