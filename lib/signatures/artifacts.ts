import { ImageReference } from '../core/names/image-reference';

/** Media type of a Sigstore bundle (the format cosign writes from v3 on), as layer and artifactType. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** A manifest fetched from a registry; its bytes hash to `digest` (checked by the source). */
export interface FetchedManifest {
  /** The body as served. */
  readonly body: Buffer;
  /** `sha256:` of the body. */
  readonly digest: string;
  /** Content-Type, or the body's `mediaType`. */
  readonly mediaType: string;
}

/**
 * What signature verification needs from a registry: manifests by tag or digest, blobs by
 * digest and the OCI 1.1 referrers list, all size-bounded and content-checked.
 * {@link RegistryClient} implements it with the credentials, mirrors and retries of resolution.
 */
export interface ArtifactSource {
  /** The manifest `reference` (tag or digest) of `image`'s repository; `undefined` when the registry answers 404. */
  fetchManifest(image: ImageReference, reference: string, accept: readonly string[], maxBytes: number): Promise<FetchedManifest | undefined>;
  /** The blob `digest` of `image`'s repository, at most `maxBytes`; its bytes must hash to `digest`. */
  fetchBlob(image: ImageReference, digest: string, maxBytes: number): Promise<Buffer>;
  /** The OCI 1.1 referrers index of `digest`; `undefined` when the registry lacks the API (404). */
  fetchReferrers(image: ImageReference, digest: string, artifactType: string, maxBytes: number): Promise<Buffer | undefined>;
}
