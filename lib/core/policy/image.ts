import { ImageReference, InvalidImageReferenceError } from '../names/image-reference';
import { KubepinUsageError, describeType } from '../../util/errors';
import { DigestSource } from '../lock/image-lock';

const IMAGE_SYMBOL = Symbol.for('kubepin.Image');

/**
 * A container image as the typed workloads of both faces take it (instead of a bare string).
 *
 * `Image.of` does not throw on a malformed reference: the error is kept in {@link Image.error}
 * so the construct or component that uses the image can report it with its own path
 * (a construct path in cdk8s, a resource URN in Pulumi). Use {@link Image.parse} to fail at once.
 *
 * @example
 * const api = Image.of('ghcr.io/acme/api:1.4.2');
 * const pause = Image.fromDigest('registry.k8s.io/pause', 'sha256:ee6521f2…', { tag: '3.10' });
 */
export class Image {
  /**
   * An image from a reference string (`nginx:1.27.5`, `ghcr.io/acme/api:1.4.2`,
   * `repo@sha256:…`). The reference is checked with the kubelet's grammar; a bad one is
   * recorded in {@link error}, not thrown.
   * @throws KubepinUsageError when `reference` is not a string.
   */
  public static of(reference: string): Image {
    if (typeof reference !== 'string') {
      throw new KubepinUsageError(`Image.of(reference) takes an image reference string such as "ghcr.io/acme/api:1.4.2", got ${describeType(reference)}`);
    }
    try {
      return new Image(reference, ImageReference.parse(reference), undefined);
    } catch (e) {
      if (e instanceof InvalidImageReferenceError) return new Image(reference, undefined, e);
      throw e;
    }
  }

  /**
   * Like {@link of}, but throws when the reference is invalid.
   * @throws InvalidImageReferenceError naming the rule broken and the fix.
   */
  public static parse(reference: string): Image {
    const image = Image.of(reference);
    if (image.error) throw image.error;
    return image;
  }

  /**
   * An image already pinned to `digest` (`sha256:<64 hex>`), so no lock entry is needed.
   * @param repository the image name without tag or digest, e.g. `registry.k8s.io/pause`.
   * @param digest the manifest digest (the index digest for multi-arch images).
   * @param options `tag`: kept next to the digest for readers (`repo:tag@digest`).
   * @throws InvalidImageReferenceError when the name, tag or digest is invalid.
   */
  public static fromDigest(repository: string, digest: string, options: { readonly tag?: string } = {}): Image {
    if (typeof repository !== 'string' || typeof digest !== 'string') {
      throw new KubepinUsageError('Image.fromDigest(repository, digest) takes two strings, e.g. ("registry.k8s.io/pause", "sha256:…")');
    }
    const base = ImageReference.parse(repository);
    if (base.tag !== undefined || base.digest !== undefined) {
      throw new InvalidImageReferenceError(repository, 'invalid-format', 'Image.fromDigest takes the repository without tag or digest',
        'pass the tag as { tag } and the digest as the second argument');
    }
    ImageReference.validateDigest(digest);
    const text = `${repository}${options.tag !== undefined ? `:${options.tag}` : ''}@${digest}`;
    return Image.parse(text);
  }

  /** True for {@link Image} instances, also across copies of the library. */
  public static isImage(x: unknown): x is Image {
    return typeof x === 'object' && x !== null && IMAGE_SYMBOL in x;
  }

  private constructor(
    /** The reference exactly as written; this is what goes into the manifest before pinning. */
    public readonly text: string,
    private readonly parsed: ImageReference | undefined,
    /** Why the reference is invalid, when it is; `undefined` for a valid image. */
    public readonly error: InvalidImageReferenceError | undefined,
  ) {
    Object.defineProperty(this, IMAGE_SYMBOL, { value: true });
  }

  /**
   * The parsed, normalized reference.
   * @throws InvalidImageReferenceError when the image is invalid (see {@link error}).
   */
  public get reference(): ImageReference {
    if (!this.parsed) throw this.error!;
    return this.parsed;
  }

  /** True when the reference parses. */
  public get isValid(): boolean {
    return this.parsed !== undefined;
  }

  /** True when the reference carries a digest already. */
  public get isPinned(): boolean {
    return this.parsed?.digest !== undefined;
  }

  /** `registry/repository`, the name the kubelet looks credentials up by; the text for an invalid image. */
  public get name(): string {
    return this.parsed?.name ?? this.text;
  }

  /**
   * The reference pinned from `lock` (`repo:tag@sha256:…`), or as written when the lock has
   * no entry or the image already has a digest. The policy engine does the same (and reports
   * findings); this is for code that needs the string early.
   */
  public pinned(lock?: DigestSource): string {
    const ref = this.reference;
    if (ref.digest !== undefined || ref.tag === undefined || !lock) return this.text;
    const entry = lock.get(ref.toString());
    return entry ? ref.withDigest(entry.digest).toString() : this.text;
  }

  /** The reference as written. */
  public toString(): string {
    return this.text;
  }
}
