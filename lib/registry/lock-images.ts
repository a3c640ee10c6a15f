import { ImageReference, InvalidImageReferenceError } from '../core/names/image-reference';
import { ImageLock, LockEntry, lockReferenceOf } from '../core/lock/image-lock';
import { ManifestDocument } from '../core/manifests/manifests';
import { extractImages, objectRef } from '../core/objects/pod-templates';
import { ImageLocations } from '../core/objects/image-locations';
import { UnlocatedImage, unlocatedImages } from '../core/findings/unlocated-images';
import { RegistryClient, ResolvedImage } from './client';
import { RegistryError } from '../core/findings/registry-error';
import { platformOffered } from '../core/policy/platforms';
import { singleImagePlatform } from './image-platform';
import { platformMatch } from './index-platforms';
import type { SignaturePolicy } from '../signatures/policy';
import type { SignatureVerifier } from '../signatures/verifier';

/** One place a manifest names an image. */
export interface ImageLocation {
  /** The image as written. */
  readonly image: string;
  /** File it was read from (or, for images learned by running an app, the construct path or Pulumi resource). */
  readonly file: string;
  /** 1-based line of the image field (0 when the image was not read from a file). */
  readonly line: number;
  /** `Kind/name` of the object. */
  readonly object: string;
  /** JSON path of the field within the object. */
  readonly path: string;
  /** For images learned by running an app: set when kubepin itself added the image (`prepull-default-helper`, `prepull-default-pause`). */
  readonly origin?: string;
}

/** The images of a set of manifests, grouped by what they need. */
export interface ManifestImages {
  /** Every image field, in document order. */
  readonly locations: ImageLocation[];
  /** Normalized tagged references (digest dropped) → the places that name them. */
  readonly tagged: Map<string, ImageLocation[]>;
  /** Image fields that do not parse as references. */
  readonly invalid: Array<{ location: ImageLocation; error: InvalidImageReferenceError }>;
  /** Image fields of kinds no image location covers (not locked: the commands say so), per object. */
  readonly unlocated: Array<{ location: ImageLocation; kind: string; images: UnlocatedImage[] }>;
}

/**
 * Finds every image in `documents` (containers, init/ephemeral containers, image volumes, and
 * the image fields of custom resources `locations` covers) with file and line; adds to `into`
 * when given (for manifests read file by file).
 */
export function collectImages(documents: readonly ManifestDocument[], into?: ManifestImages, locations: ImageLocations = ImageLocations.DEFAULT): ManifestImages {
  const images = into ?? emptyImages();
  for (const doc of documents) {
    const uses = extractImages([doc.object], locations);
    for (const use of uses) {
      addImageLocation(images, {
        image: use.image,
        file: doc.file,
        // Lines are found only when a message needs one: finding them costs a second parse.
        get line() {
          return doc.lineOf(use.path);
        },
        object: `${use.object.kind}/${use.object.name}`,
        path: use.path,
      });
    }
    // An object whose images a location found has none left unlocated: no second walk.
    const unlocated = uses.length > 0 ? [] : unlocatedImages(doc.object, locations);
    if (unlocated.length > 0) {
      const ref = objectRef(doc.object);
      const object = `${ref.kind}/${ref.name}`;
      images.unlocated.push({
        kind: ref.kind,
        images: unlocated,
        location: { image: unlocated[0].image, file: doc.file, get line() { return doc.lineOf(unlocated[0].path); }, object, path: unlocated[0].path },
      });
    }
  }
  return images;
}

/** No images yet. */
export function emptyImages(): ManifestImages {
  return { locations: [], tagged: new Map<string, ImageLocation[]>(), invalid: [], unlocated: [] };
}

/** Adds one use of an image: to `tagged` under its lock key, to `invalid` when it does not parse. */
export function addImageLocation(images: ManifestImages, location: ImageLocation): void {
  images.locations.push(location);
  let ref: ImageReference;
  try {
    ref = ImageReference.parse(location.image);
  } catch (e) {
    if (!(e instanceof InvalidImageReferenceError)) throw e;
    images.invalid.push({ location, error: e });
    return;
  }
  const key = lockReferenceOf(ref);
  if (key === undefined) return; // Digest-only: pinned, nothing to look up.
  const list = images.tagged.get(key) ?? [];
  list.push(location);
  images.tagged.set(key, list);
}

/** Outcome of resolving one reference for the lock. */
export type LockOutcome =
  | { readonly reference: string; readonly status: 'resolved'; readonly entry: LockEntry; readonly previous?: LockEntry; readonly result: ResolvedImage }
  | { readonly reference: string; readonly status: 'failed'; readonly error: RegistryError };

/** Options of {@link resolveIntoLock}. */
export interface ResolveIntoLockOptions {
  /** Re-resolve references the lock already has. @default false */
  readonly update?: boolean;
  /** Platforms whose digests to record as well. @default none */
  readonly platforms?: readonly string[];
  /**
   * The cluster's node platforms (kubepin.config.json `"platforms"`): each index must offer every
   * one (else `platform-not-found`), its offered platforms and these platforms' digests are
   * recorded, and a single-platform image fails when more than one is named. @default not checked
   */
  readonly clusterPlatforms?: readonly string[];
  /** The image as the user wrote it, per reference (recorded as `requested`). @default the reference */
  readonly requested?: ReadonlyMap<string, string>;
  /** Called as each reference finishes. */
  readonly onOutcome?: (outcome: LockOutcome, done: number, total: number) => void;
  /**
   * Images that must be signed: their digest is recorded only with a verified signature (the
   * key's fingerprint goes into the entry); a missing or invalid one fails the image. @default none
   */
  readonly signatures?: SignaturePolicy;
}

/**
 * Which of `references` need a registry lookup: missing from the lock, `update` set, or
 * lacking a requested platform digest.
 */
export function referencesToResolve(lock: ImageLock, references: Iterable<string>, options: Pick<ResolveIntoLockOptions, 'update' | 'platforms' | 'signatures' | 'clusterPlatforms'> = {}): string[] {
  const out: string[] = [];
  const cluster = options.clusterPlatforms ?? [];
  for (const reference of references) {
    const entry = lock.get(reference);
    // A locked single-platform image is asked again under several cluster platforms: it fails every run, not just the first.
    const missingPlatform = entry !== undefined && (isIndex(entry.mediaType)
      ? (options.platforms ?? []).some((p) => entry.platforms?.[p] === undefined) || (cluster.length > 0 && (entry.offeredPlatforms === undefined || cluster.some((p) => entry.platforms?.[p] === undefined)))
      : cluster.length > 1 || (cluster.length === 1 && (entry.offeredPlatforms === undefined || !platformOffered(entry.offeredPlatforms, cluster[0]))));
    if (options.update || !entry || missingPlatform || (entry && options.signatures && !options.signatures.vouches(entry))) out.push(reference);
  }
  return out.sort();
}

/**
 * Resolves references for a lock: {@link add} starts a lookup at once (the client limits
 * concurrency per host and shares identical lookups). Successes are recorded in the lock in memory (call `lock.save()`); failures are returned,
 * never thrown, so one bad image does not lose the others.
 */
export class LockUpdater {
  private readonly pending = new Map<string, Promise<LockOutcome>>();
  private verifierCache?: SignatureVerifier;
  private done = 0;

  constructor(
    private readonly client: RegistryClient,
    private readonly lock: ImageLock,
    private readonly options: ResolveIntoLockOptions = {},
  ) {}

  /** Loaded at the first image that needs a signature: `require('kubepin/registry')` stays lean. */
  private get verifier(): SignatureVerifier {
    if (!this.verifierCache) {
      const { SignatureVerifier: Verifier } = require('../signatures/verifier') as typeof import('../signatures/verifier');
      this.verifierCache = new Verifier(this.client);
    }
    return this.verifierCache;
  }

  /** References being resolved so far. */
  public get size(): number {
    return this.pending.size;
  }

  /**
   * Starts resolving `reference` (normalized, tagged) unless the lock already has it (see
   * {@link referencesToResolve}) or it was added before. Returns whether a lookup started.
   */
  public add(reference: string, requested?: string): boolean {
    if (this.pending.has(reference) || referencesToResolve(this.lock, [reference], this.options).length === 0) return false;
    this.pending.set(reference, this.resolve(reference, requested));
    return true;
  }

  /** Waits for every lookup; outcomes sorted by reference. */
  public async finish(): Promise<LockOutcome[]> {
    const outcomes = await Promise.all(this.pending.values());
    return outcomes.sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  }

  private async resolve(reference: string, requested: string | undefined): Promise<LockOutcome> {
    let outcome: LockOutcome;
    try {
      const cluster = this.options.clusterPlatforms ?? [];
      const result = await this.client.resolve(reference, { platforms: this.options.platforms, listPlatforms: cluster.length > 0 });
      // A single-platform image's platform is in its config: read only when the cluster's platforms are named.
      const own = cluster.length > 0 && !result.offeredPlatforms ? await singleImagePlatform(this.client, ImageReference.parse(reference), result.digest, result.mediaType) : undefined;
      const needed = cluster.length > 0 ? requiredPlatformDigests(reference, result, cluster, own) : undefined;
      // Verified before anything is recorded: a digest whose required signature fails is not locked.
      const requirement = this.options.signatures?.requirementFor(reference);
      const signature = requirement ? await this.verifier.verify(ImageReference.parse(reference), result.digest, requirement) : undefined;
      const previous = this.lock.get(reference);
      const entry = this.lock.set(reference, {
        // An unchanged digest keeps the spelling the lock already has: no noise in lock diffs.
        requested: (previous?.digest === result.digest ? previous.requested : undefined) ?? requested ?? this.options.requested?.get(reference) ?? previous?.requested ?? reference,
        digest: result.digest,
        mediaType: result.mediaType,
        ...(result.platforms || needed ? { platforms: { ...result.platforms, ...needed } } : {}),
        ...(result.offeredPlatforms ? { offeredPlatforms: Object.keys(result.offeredPlatforms) } : own ? { offeredPlatforms: [own] } : {}),
        ...(signature ? { signature } : {}),
      });
      outcome = { reference, status: 'resolved', entry, previous, result };
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      outcome = { reference, status: 'failed', error: e };
    }
    this.done++;
    this.options.onOutcome?.(outcome, this.done, this.pending.size);
    return outcome;
  }
}

/**
 * Resolves `references` concurrently and records every success in `lock` (in memory; call
 * `lock.save()` to write it). Failures are returned, never thrown.
 */
export async function resolveIntoLock(client: RegistryClient, lock: ImageLock, references: readonly string[], options: ResolveIntoLockOptions = {}): Promise<LockOutcome[]> {
  const updater = new LockUpdater(client, lock, options);
  for (const reference of references) updater.add(reference);
  return updater.finish();
}

function isIndex(mediaType: string): boolean {
  return mediaType === 'application/vnd.oci.image.index.v1+json' || mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json';
}

/**
 * The digests of the cluster's platforms in a resolved index (a node platform `linux/arm64`
 * is served by a `linux/arm64/v8` manifest, as containerd matches).
 * @throws RegistryError `platform-not-found` when the index lacks one, or when a single-platform
 *   image is locked where the cluster has several platforms.
 */
function requiredPlatformDigests(reference: string, result: ResolvedImage, cluster: readonly string[], own: string | undefined): Record<string, string> | undefined {
  const nodes = `kubepin.config.json's "platforms" says the cluster's nodes run ${cluster.join(', ')}`;
  if (!result.offeredPlatforms) {
    const missing = own ? cluster.filter((p) => !platformOffered([own], p)) : cluster.slice(1);
    if (missing.length === 0 || (cluster.length === 1 && !own)) return undefined;
    throw new RegistryError('platform-not-found', result.resolvedFrom, `${reference}: the tag names a single-platform image (${own ?? 'platform not stated'}; ${result.mediaType}, ${result.digest}), but ${nodes}: the ${own ? missing.join(', ') : 'other'} nodes cannot run it (ErrImagePull: "no match for platform in manifest"). Fix: pin the multi-platform index (the tag that names the index, not a platform's tag or digest), or publish the image for ${own ? missing.join(', ') : 'the other platforms'} as one index`);
  }
  const listed = new Map(Object.entries(result.offeredPlatforms));
  const offered = [...listed.keys()];
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const platform of cluster) {
    const match = platformMatch(listed, platform);
    if (match) out[platform] = result.offeredPlatforms[match];
    else missing.push(platform);
  }
  if (missing.length > 0) {
    throw new RegistryError('platform-not-found', result.resolvedFrom, `${reference}: the index ${result.digest} has no manifest for ${missing.join(', ')} (it offers ${offered.join(', ') || 'no platform'}), and ${nodes}: the ${missing.join(', ')} nodes cannot run it (ErrImagePull: "no match for platform in manifest"). Fix: publish the image for ${missing.join(', ')} and run \`kubepin lock\` again, or remove ${missing.join(', ')} from "platforms" if no such nodes run it`);
  }
  return out;
}
