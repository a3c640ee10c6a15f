import * as fs from 'fs';

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

/** Reads a collect file: every recorded image, in order (a missing file is no images). */
export function readCollectedImages(file: string): CollectedImage[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as CollectedImage);
}
