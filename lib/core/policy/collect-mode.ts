import * as fs from 'fs';
import { KubepinError, describeType } from '../../util/errors';
import { describeFileType } from '../../util/fs/read-regular-file';

/**
 * Environment variable that switches the policy engine into collect mode: its value is a file
 * to which every image the engine sees is appended (one JSON object per line) when the process
 * exits. `kubepin lock` sets it when it runs a cdk8s app or a Pulumi program to learn its images.
 * In collect mode an image missing from the lock fails nothing (not even with `strict`): that
 * is what the lock is about to fix. Every other error still fails.
 */
export const COLLECT_IMAGES_ENV = 'KUBEPIN_COLLECT_IMAGES';

/** One image an app uses, as recorded in collect mode. */
export interface CollectedImage {
  /** The image as written. */
  readonly image: string;
  /** `Kind/name` of the object. */
  readonly object: string;
  /** JSON path of the field within the object. */
  readonly path: string;
  /** Where the object comes from: a construct path, a Pulumi resource. */
  readonly source?: string;
  /** Set for an image kubepin itself added: `prepull-default-helper`, `prepull-default-pause` (a pre-puller's default images). */
  readonly origin?: string;
}

/** Records the images seen in this process and writes them to the collect file at exit. */
export class ImageCollector {
  private readonly seen = new Map<string, CollectedImage>();

  constructor(
    /** The file the images are appended to. */
    public readonly file: string,
  ) {
    process.once('exit', () => {
      try {
        this.flush();
      } catch (e) {
        // Exiting anyway: say it, so `kubepin lock` can tell a lost record from no images.
        process.stderr.write(`kubepin: cannot record images to ${this.file}: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  }

  /** Records one use of an image (the same image at the same place is kept once). */
  public record(image: CollectedImage): void {
    const key = `${image.image}\0${image.object}\0${image.path}\0${image.source ?? ''}`;
    if (!this.seen.has(key)) this.seen.set(key, image);
  }

  /** Appends what was recorded so far to the file (append: several processes may write one file). */
  public flush(): void {
    if (this.seen.size === 0) return;
    const text = [...this.seen.values()].map((i) => `${JSON.stringify(i)}\n`).join('');
    this.seen.clear();
    fs.appendFileSync(this.file, text);
  }
}

// One collector per process, shared by every copy of kubepin loaded in it.
const COLLECTOR = Symbol.for('kubepin.imageCollector');

/** The collector of this process when {@link COLLECT_IMAGES_ENV} is set, else `undefined`. */
export function activeCollector(): ImageCollector | undefined {
  const file = process.env[COLLECT_IMAGES_ENV];
  if (!file) return undefined;
  const holder = globalThis as unknown as Record<symbol, ImageCollector | undefined>;
  if (holder[COLLECTOR]?.file !== file) holder[COLLECTOR] = new ImageCollector(file);
  return holder[COLLECTOR];
}

/** The collect file cannot be read as a whole (too large, not a regular file). */
export class ImageRecordError extends KubepinError {}

/** Largest collect file read: 64 MiB is some 200,000 records. */
export const MAX_RECORD_FILE_BYTES = 64 * 1024 * 1024;
/** Longest record line: an image reference is at most a few kilobytes, its object and path too. */
const MAX_RECORD_LINE_BYTES = 64 * 1024;

/** A line of a collect file that is not a record, by its 1-based line number. */
export interface ImageRecordProblem {
  /** The line number. */
  readonly line: number;
  /** What is wrong with it. */
  readonly message: string;
}

/**
 * Reads a collect file line by line: the records, and each line that is not one (truncated, not
 * JSON, a field of the wrong type, too long) as a problem with its line number. A missing file is
 * no records. Memory stays bounded: at most `maxBytes` are read, one line at a time.
 * @throws ImageRecordError when the file is not a regular file or larger than `maxBytes`
 */
export function readImageRecords(file: string, maxBytes: number = MAX_RECORD_FILE_BYTES): { images: CollectedImage[]; problems: ImageRecordProblem[] } {
  const images: CollectedImage[] = [];
  const problems: ImageRecordProblem[] = [];
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { images, problems };
    throw new ImageRecordError(`${file}: cannot read the image records (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new ImageRecordError(`${file}: the image records are ${describeFileType(stat)}, not a regular file`);
    const tooLarge = () => new ImageRecordError(`${file}: the image records are larger than ${maxBytes} bytes (${stat.size}), more than any app records; something other than kubepin wrote to it`);
    if (stat.size > maxBytes) throw tooLarge();
    let lineNumber = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let overlong = false;
    const endLine = () => {
      lineNumber++;
      const text = Buffer.concat(pending, pendingBytes).toString('utf8');
      pending = [];
      pendingBytes = 0;
      if (overlong) problems.push({ line: lineNumber, message: `longer than ${MAX_RECORD_LINE_BYTES} bytes` });
      else if (text !== '') {
        const parsed = parseRecord(text);
        if (typeof parsed === 'string') problems.push({ line: lineNumber, message: parsed });
        else images.push(parsed);
      }
      overlong = false;
    };
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge();
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1 && nl < n; nl = chunk.indexOf(10, from)) {
        keep(chunk.subarray(from, nl));
        endLine();
        from = nl + 1;
      }
      keep(chunk.subarray(from, n));
    }
    if (pendingBytes > 0 || overlong) endLine();
    return { images, problems };

    function keep(part: Buffer): void {
      if (overlong || part.length === 0) return;
      if (pendingBytes + part.length > MAX_RECORD_LINE_BYTES) {
        overlong = true;
        pending = [];
        pendingBytes = 0;
        return;
      }
      pending.push(Buffer.from(part));
      pendingBytes += part.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One record line as a {@link CollectedImage}, or what is wrong with it. */
function parseRecord(text: string): CollectedImage | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not a JSON record (cut short?)';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `a record must be a JSON object, got ${describeType(value)}`;
  const record = value as Record<string, unknown>;
  for (const field of ['image', 'object', 'path'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') return `"${field}" must be a non-empty string, got ${record[field] === '' ? 'an empty one' : describeType(record[field])}`;
  }
  for (const field of ['source', 'origin'] as const) {
    if (record[field] !== undefined && typeof record[field] !== 'string') return `"${field}" must be a string when present, got ${describeType(record[field])}`;
  }
  return {
    image: record.image as string,
    object: record.object as string,
    path: record.path as string,
    ...(record.source !== undefined ? { source: record.source as string } : {}),
    ...(record.origin !== undefined ? { origin: record.origin as string } : {}),
  };
}

/**
 * Reads a collect file: every recorded image, in order (a missing file is no images).
 * @throws ImageRecordError naming the first line that is not a record, or a file too large to be one
 */
export function readCollectedImages(file: string): CollectedImage[] {
  const { images, problems } = readImageRecords(file);
  if (problems.length > 0) throw new ImageRecordError(`${file}: line ${problems[0].line}: ${problems[0].message}`);
  return images;
}
