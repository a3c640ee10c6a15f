import * as fs from 'fs';
import { ImageReference, InvalidImageReferenceError } from '../names/image-reference';
import { KubepinError, describeType, requireString } from '../../util/errors';
import { readRegularFile } from '../../util/fs/read-regular-file';
import { sortRecord } from '../../util/records';
import { writeFileAtomic } from '../../util/fs/write-file-atomic';
import { LockFileError, checkLockWritable, withLockFile } from '../../util/fs/file-mutex';
import { LockedSignature, normalizeLockedSignature, readLockedSignature } from './signature-record';

/** `os/arch[/variant]`, lower case, as the lock records platforms. */
export const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export { LockFileError, withLockFile } from '../../util/fs/file-mutex';

/** Default lock file name, looked up next to `cdk8s.yaml` or in the working directory. */
export const LOCK_FILE_NAME = 'kubepin.lock.json';
/** The lock format this version reads and writes. */
export const LOCK_FORMAT_VERSION = 1;

/** What the lock records for one tagged image. */
export interface LockEntry {
  /** The reference as first written by the user, e.g. `nginx:1.27.5`. */
  readonly requested: string;
  /** The fully-qualified normalized reference, e.g. `docker.io/library/nginx:1.27.5`. */
  readonly reference: string;
  /** The digest the tag resolved to: the index digest for multi-arch images. */
  readonly digest: string;
  /** Media type of the manifest the digest names (OCI index, Docker manifest list, …). */
  readonly mediaType: string;
  /** Optional per-platform manifest digests (`linux/amd64` → digest), taken from the verified index. */
  readonly platforms?: Readonly<Record<string, string>>;
  /**
   * Every platform the index offers (`os/arch[/variant]`, attestation manifests left out),
   * sorted: recorded when kubepin.config.json names the cluster's `platforms`, so synthesis and
   * `kubepin check` can tell which nodes the image runs on (lib/platforms.ts).
   */
  readonly offeredPlatforms?: readonly string[];
  /** The signature `kubepin lock` verified for `digest`, when a signature policy covers the image (docs/signatures.md). */
  readonly signature?: LockedSignature;
}

export type { LockedSignature } from './signature-record';

/** Read access to resolved digests; what the policy engine needs from a lock. */
export interface DigestSource {
  /** The entry for `image` (any spelling of the same tagged reference), if locked. */
  get(image: string): LockEntry | undefined;
  /** The lock file, when there is one: the project's `kubepin.config.json` (signature policy) sits next to it. */
  readonly file?: string;
}

const DIGEST_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);

/**
 * `kubepin.lock.json`: tag → digest, so synthesis is offline and deterministic.
 *
 * The file is sorted and stably formatted (saving an unchanged lock rewrites the same
 * bytes) and is written atomically: a crash leaves the old or the new file, never a torn one.
 */
export class ImageLock implements DigestSource {
  /**
   * Loads `file`; a missing file is an empty lock.
   * @throws LockFileError when the file exists but is not a valid lock (it is never overwritten then).
   */
  public static load(file: string): ImageLock {
    requireString(file, 'ImageLock.load(path)');
    const text = readLockText(file);
    return new ImageLock(file, text === undefined ? new Map() : parseLock(file, text));
  }

  /** An empty lock that will be saved to `file`. */
  public static empty(file: string = LOCK_FILE_NAME): ImageLock {
    return new ImageLock(file, new Map());
  }

  /** Entries set (or deleted: `null`) since the lock was read: what {@link save} merges into the file. */
  private readonly changes = new Map<string, LockEntry | null>();

  private constructor(
    /** Where {@link save} writes. */
    public readonly file: string,
    private entries: Map<string, LockEntry>,
  ) {}

  /** Number of locked references. */
  public get size(): number {
    return this.entries.size;
  }

  /** All entries, sorted by normalized reference. */
  public list(): LockEntry[] {
    return [...this.entries.keys()].sort().map((k) => this.entries.get(k)!);
  }

  /**
   * The entry for `image`. Any spelling of the same tagged reference finds it (`nginx:1.27`
   * and `docker.io/library/nginx:1.27`); a digest in `image` is ignored for the lookup.
   */
  public get(image: string): LockEntry | undefined {
    const key = ImageLock.keyOf(image);
    return key === undefined ? undefined : this.entries.get(key);
  }

  /** Records `entry` for `image`, replacing any previous entry. Validates the digest. */
  public set(image: string, entry: Omit<LockEntry, 'reference' | 'requested'> & { requested?: string }): LockEntry {
    requireString(image, 'ImageLock.set(image)');
    if (typeof entry !== 'object' || entry === null) {
      throw new LockFileError(`ImageLock.set(${JSON.stringify(image)}, entry): entry must be an object with digest and mediaType, got ${describeType(entry)}`);
    }
    const key = lockReferenceOf(ImageReference.parse(image));
    if (key === undefined) {
      throw new LockFileError(`cannot lock ${JSON.stringify(image)}: only tagged references need a lock entry (a digest-only reference is already pinned)`);
    }
    const stored = validateEntry(this.file, key, {
      requested: entry.requested ?? this.entries.get(key)?.requested ?? image,
      reference: key,
      digest: entry.digest,
      mediaType: entry.mediaType,
      ...(entry.platforms && Object.keys(entry.platforms).length > 0 ? { platforms: sortRecord(entry.platforms) } : {}),
      ...(entry.offeredPlatforms ? { offeredPlatforms: [...new Set(entry.offeredPlatforms)].sort() } : {}),
      ...(entry.signature ? { signature: normalizeLockedSignature(entry.signature) } : {}),
    });
    this.entries.set(key, stored);
    this.changes.set(key, stored);
    return stored;
  }

  /** Removes the entry for `image`; returns whether there was one. */
  public delete(image: string): boolean {
    const key = ImageLock.keyOf(image);
    if (key === undefined || !this.entries.delete(key)) return false;
    this.changes.set(key, null);
    return true;
  }

  /** The lock as the exact text {@link save} writes. */
  public serialize(): string {
    return serializeEntries(this.entries);
  }

  /**
   * Writes the lock so that concurrent writers lose nothing: under an exclusive lock file
   * (`<file>.lock` beside the file that is replaced, a symlink's target; see {@link withLockFile})
   * it reads the file again, applies the entries set or deleted since this lock was read, and
   * replaces the file atomically (a temporary file in the same directory, fsync, rename, fsync of
   * the directory). Skips the write when the file already has these bytes. Afterwards this lock
   * holds the merged entries.
   * @throws LockFileError when another process holds the lock file for longer than the wait
   *   (`KUBEPIN_LOCK_WAIT_MS`, default 60 s), when the file on disk is not a valid lock, or when
   *   the file cannot be written (this lock keeps its entries: {@link serialize} still has them).
   */
  public save(): void {
    withLockFile(this.file, () => {
      const text = readLockText(this.file);
      const onDisk = text === undefined ? undefined : parseLock(this.file, text);
      // Gone from disk (or never written): what this lock read is the base.
      const merged = onDisk ?? new Map(this.entries);
      for (const [key, entry] of this.changes) {
        if (entry === null) merged.delete(key);
        else merged.set(key, entry);
      }
      try {
        writeFileAtomic(this.file, serializeEntries(merged));
      } catch (e) {
        if (e instanceof KubepinError) throw e;
        throw new LockFileError(`${this.file}: cannot write the lock (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${(e as Error).message})`);
      }
      this.entries = merged;
      this.changes.clear();
    });
  }

  /**
   * Checks what can be checked of {@link save} before the work whose results it will record:
   * the lock's directory (a symlink's target's) exists and is writable, and nothing but a regular
   * file sits where its lock file goes (a FIFO there would otherwise be waited on).
   * @throws LockFileError naming the problem and the fix
   */
  public checkWritable(): void {
    checkLockWritable(this.file);
  }

  private static keyOf(image: string): string | undefined {
    requireString(image, 'ImageLock.get(image)');
    const ref = ImageReference.tryParse(image);
    return ref ? lockReferenceOf(ref) : undefined;
  }
}

/**
 * The lock key of an image: its normalized tagged reference without digest. An image with
 * neither tag nor digest is keyed as the kubelet pulls it, with tag `latest`
 * (`nginx` → `docker.io/library/nginx:latest`); a digest-only reference needs no entry (`undefined`).
 */
export function lockReferenceOf(ref: ImageReference): string | undefined {
  if (ref.tag !== undefined) return ref.withoutDigest().toString();
  if (ref.digest !== undefined) return undefined;
  return `${ref.name}:latest`;
}

/** The text of a lock holding `entries`: sorted by reference, stably formatted. */
function serializeEntries(entries: ReadonlyMap<string, LockEntry>): string {
  const images: Record<string, LockEntry> = {};
  for (const reference of [...entries.keys()].sort()) {
    const { requested, digest, mediaType, platforms, offeredPlatforms, signature } = entries.get(reference)!;
    images[reference] = { requested, reference, digest, mediaType, ...(platforms ? { platforms } : {}), ...(offeredPlatforms ? { offeredPlatforms } : {}), ...(signature ? { signature } : {}) };
  }
  return `${JSON.stringify({ version: LOCK_FORMAT_VERSION, images }, null, 2)}\n`;
}

/** Largest lock file read (a lock of 100,000 images is about 40 MB). */
const MAX_LOCK_BYTES = 64 * 1024 * 1024;

/**
 * The lock file's text, `undefined` when it does not exist. Regular files only (a symlink to
 * one is followed: the lock it names is read and, on save, replaced), capped by bytes read.
 */
function readLockText(file: string): string | undefined {
  try {
    fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  const read = readRegularFile(file, MAX_LOCK_BYTES);
  if (typeof read !== 'string') throw new LockFileError(`${file}: cannot read the lock file: ${read.problem.replace(/^cannot read: /, '')}`);
  return read;
}

function parseLock(file: string, text: string): Map<string, LockEntry> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Never the text: the file may be anything (a lock symlinked to /etc/passwd), and
    // JSON.parse's message quotes it.
    throw new LockFileError(`${file}: not valid JSON, so not a kubepin lock. The file was left as it is; fix it by hand or restore it from version control, then run \`kubepin lock\``);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new LockFileError(`${file}: a lock file must be a JSON object with "version" and "images", got ${describeType(data)}`);
  }
  const record = data as Record<string, unknown>;
  if (record.version !== LOCK_FORMAT_VERSION) {
    throw new LockFileError(`${file}: lock format version ${JSON.stringify(record.version)} is not supported (this kubepin reads version ${LOCK_FORMAT_VERSION}); upgrade kubepin or regenerate the lock with \`kubepin lock --update\``);
  }
  const images = record.images;
  if (typeof images !== 'object' || images === null || Array.isArray(images)) {
    throw new LockFileError(`${file}: "images" must be an object mapping references to entries, got ${describeType(images)}`);
  }
  const out = new Map<string, LockEntry>();
  for (const [key, value] of Object.entries(images as Record<string, unknown>)) {
    out.set(key, validateEntry(file, key, value));
  }
  return out;
}

function validateEntry(file: string, key: string, value: unknown): LockEntry {
  const where = `${file}: entry ${JSON.stringify(key)}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LockFileError(`${where} must be an object, got ${describeType(value)}`);
  }
  const entry = value as Record<string, unknown>;
  for (const field of ['requested', 'reference', 'digest', 'mediaType']) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      throw new LockFileError(`${where}: "${field}" must be a non-empty string`);
    }
  }
  let ref: ImageReference;
  try {
    ref = ImageReference.parse(entry.reference as string);
    ImageReference.validateDigest(entry.digest as string);
  } catch (e) {
    if (e instanceof InvalidImageReferenceError) throw new LockFileError(`${where}: ${e.message}`);
    throw e;
  }
  if (ref.toString() !== key || ref.digest !== undefined || ref.tag === undefined) {
    throw new LockFileError(`${where}: "reference" must be the normalized tagged reference ${JSON.stringify(key)}, got ${JSON.stringify(entry.reference)}`);
  }
  if (!DIGEST_MEDIA_TYPES.has(entry.mediaType as string)) {
    throw new LockFileError(`${where}: unknown manifest media type ${JSON.stringify(entry.mediaType)}`);
  }
  let platforms: Record<string, string> | undefined;
  if (entry.platforms !== undefined) {
    if (typeof entry.platforms !== 'object' || entry.platforms === null || Array.isArray(entry.platforms)) {
      throw new LockFileError(`${where}: "platforms" must map "os/arch[/variant]" to digests`);
    }
    platforms = {};
    for (const [platform, digest] of Object.entries(entry.platforms as Record<string, unknown>)) {
      if (!PLATFORM_PATTERN.test(platform) || typeof digest !== 'string') {
        throw new LockFileError(`${where}: platform entry ${JSON.stringify(platform)} must be "os/arch[/variant]" mapped to a digest`);
      }
      try {
        ImageReference.validateDigest(digest);
      } catch (e) {
        throw new LockFileError(`${where}: platform ${platform}: ${(e as Error).message}`);
      }
      platforms[platform] = digest;
    }
    platforms = sortRecord(platforms);
  }
  const offered = entry.offeredPlatforms;
  if (offered !== undefined && (!Array.isArray(offered) || offered.some((p) => typeof p !== 'string' || !PLATFORM_PATTERN.test(p)))) {
    throw new LockFileError(`${where}: "offeredPlatforms" must be a list of "os/arch[/variant]"; run \`kubepin lock --update\` to record it again`);
  }
  let signature: LockedSignature | undefined;
  if (entry.signature !== undefined) {
    const read = readLockedSignature(entry.signature);
    if ('problem' in read) throw new LockFileError(`${where}: ${read.problem}; run \`kubepin lock --update\` to record it again`);
    signature = read;
  }
  const known = new Set(['requested', 'reference', 'digest', 'mediaType', 'platforms', 'offeredPlatforms', 'signature']);
  const unknown = Object.keys(entry).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new LockFileError(`${where}: unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  }
  return {
    requested: entry.requested as string,
    reference: entry.reference as string,
    digest: entry.digest as string,
    mediaType: entry.mediaType as string,
    ...(platforms ? { platforms } : {}),
    ...(offered ? { offeredPlatforms: [...new Set(offered as string[])].sort() } : {}),
    ...(signature ? { signature } : {}),
  };
}
