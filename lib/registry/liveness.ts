import { ImageReference } from '../core/names/image-reference';
import { RegistryError } from '../core/findings/registry-error';
import { LockEntry } from '../core/lock/image-lock';
import { RELOCK_FIX, kubeletPullMessage, manifestUrl } from '../core/names/kubelet-pull-errors';
import { ManifestPresence, RegistryClient } from './client';
import { platformOffered } from '../core/policy/platforms';
import { INDEX_TYPES, SHA256_DIGEST } from './manifest-verification';
import { indexPlatforms, platformMatch } from './index-platforms';

/**
 * Why a locked digest will not pull. Stable: tools may switch on it.
 * - `digest-gone`: the registry no longer serves the locked digest (deleted, garbage-collected).
 * - `child-gone`: the locked index is there, but a platform manifest it lists is not.
 * - `repository-gone`: the repository itself is unknown to the registry.
 * - `credential-gone`: the registry refuses the credentials at hand (401/403).
 * - `platform-not-found`: the index has no manifest for a platform the cluster needs.
 * - `digest-mismatch`: the lock names a platform digest the locked index does not list (a hand-edited lock).
 */
export type LivenessCode = 'digest-gone' | 'child-gone' | 'repository-gone' | 'credential-gone' | 'platform-not-found' | 'digest-mismatch';

/** A platform manifest asked for, and what came back. */
interface ChildProbe {
  readonly platform: string;
  readonly digest: string;
  readonly presence?: ManifestPresence;
  readonly error?: unknown;
}

/** One locked digest that will not pull, with the kubelet's message for it. */
export interface LivenessFinding {
  readonly code: LivenessCode;
  /** The locked tagged reference. */
  readonly reference: string;
  /** The digest that fails: the locked one, or a platform's. */
  readonly digest: string;
  /** The platform, for `child-gone`, `platform-not-found` and `digest-mismatch`. */
  readonly platform?: string;
  /** What is wrong, with the fix. */
  readonly message: string;
  /** What `kubectl describe pod` will show (ErrImagePull, then ImagePullBackOff). */
  readonly kubelet: string;
}

/**
 * A locked digest's manifest bytes, read from the registry at most once per run: liveness reads
 * an index only when it must (a platform the lock lacks, a child gone), `verify --remote`'s
 * signature check always (its platform digests against the signed index), and one GET serves
 * both. Made `wanted` (the caller will read it), liveness GETs the digest instead of its HEAD:
 * the GET proves it is there as well, one request instead of two.
 */
export class LockedManifest {
  private body?: Promise<Buffer | undefined>;
  private probed?: Promise<ManifestPresence>;

  constructor(
    private readonly client: RegistryClient,
    private readonly entry: LockEntry,
    /** The bytes will be read anyway: liveness asks with a GET, not a HEAD. */
    public readonly wanted = false,
  ) {}

  /** Whether the registry serves the digest: a HEAD, or (`wanted`) the GET that {@link read} shares. Asked once. */
  public probe(): Promise<ManifestPresence> {
    this.probed ??= this.client.probeManifest(repositoryOf(this.entry), this.entry.digest, { read: this.wanted });
    return this.probed;
  }

  /** The bytes (they hash to the locked digest), or `undefined` when the registry no longer serves it. */
  public read(): Promise<Buffer | undefined> {
    // A HEAD answered without the bytes: one GET for them (a `wanted` probe has them already).
    this.body ??= this.probe().then((p) => (!p.present ? undefined : (p.body ?? this.client.fetchManifest(repositoryOf(this.entry), this.entry.digest, [this.entry.mediaType]).then((m) => m?.body))));
    return this.body;
  }
}

function repositoryOf(entry: LockEntry): ImageReference {
  return ImageReference.parse(entry.reference).withoutTag().withoutDigest();
}

/**
 * Checks that the registry still serves `entry`'s digest and, for an index, every platform
 * manifest the lock records and every one of `needed` (the cluster's platforms): HEAD requests
 * only, unless the registry needs the GET fallback, a platform's digest must be read from the
 * index, or `manifest` is wanted by the caller (then one GET instead of the HEAD, its bytes kept
 * there). Returns what will not pull; `[]` when everything is there.
 * @throws RegistryError for failures that say nothing about the pin (network, 5xx, TLS).
 */
export async function checkLiveness(client: RegistryClient, entry: LockEntry, needed: readonly string[] = [], manifest: LockedManifest = new LockedManifest(client, entry)): Promise<LivenessFinding[]> {
  const repo = repositoryOf(entry);
  const pinned = repo.withDigest(entry.digest).toString();
  const base = { reference: entry.reference, digest: entry.digest };
  const isIndex = INDEX_TYPES.has(entry.mediaType);
  // The platform manifests the lock records are asked for with the index, not after it: one round trip.
  const probe = (platform: string, digest: string): Promise<ChildProbe> =>
    client.probeManifest(repo, digest).then((presence) => ({ platform, digest, presence }), (error: unknown) => ({ platform, digest, error }));
  const children = isIndex ? Object.entries(entry.platforms ?? {}).filter(([, d]) => SHA256_DIGEST.test(d)).map(([p, d]) => probe(p, d)) : [];
  try {
    const top = await manifest.probe();
    if (!top.present) {
      await Promise.all(children);
      if (top.code === 'NAME_UNKNOWN') {
        return [{ ...base, code: 'repository-gone', message: `${entry.reference}: the registry no longer knows the repository ${repo.name} (${top.code}), so ${entry.digest} will not pull (a registry that hides private repositories answers the same to a missing or wrong credential: check it first). Fix: restore the repository, or move the image elsewhere and ${RELOCK_FIX}`, kubelet: kubeletPullMessage({ kind: 'not-found', image: pinned }) }];
      }
      return [{ ...base, code: 'digest-gone', message: `${entry.reference}: the registry no longer serves the locked digest ${entry.digest}${top.code ? ` (${top.code})` : ''}: it was deleted or garbage-collected. Fix: ${RELOCK_FIX}`, kubelet: kubeletPullMessage({ kind: 'not-found', image: pinned }) }];
    }
  } catch (e) {
    await Promise.all(children);
    if (e instanceof RegistryError && (e.kind === 'unauthorized' || e.kind === 'forbidden')) {
      return [{ ...base, code: 'credential-gone', message: `${e.message} (${entry.digest} cannot be read with the credentials at hand). Fix: renew the credential or the nodes' pull secret; the nodes will fail the same way`, kubelet: kubeletPullMessage({ kind: e.kind, image: pinned, url: manifestUrl(repo.registry, repo.repository, entry.digest) }) }];
    }
    throw e;
  }
  if (!isIndex) {
    // A single-platform image runs on its one platform (recorded by `kubepin lock` under "platforms").
    const own = entry.offeredPlatforms;
    return own === undefined ? [] : needed.filter((p) => !platformOffered(own, p)).map((platform) => ({
      ...base, code: 'platform-not-found' as const, platform,
      message: `${entry.reference}@${entry.digest} is a single-platform image (${own.join(', ')}), and kubepin.config.json's "platforms" says the cluster has ${platform} nodes: pods there will not start. Fix: pin a multi-platform index that includes ${platform} and \`kubepin lock --update\`, or keep the workload off those nodes`,
      kubelet: kubeletPullMessage({ kind: 'no-platform', image: pinned }),
    }));
  }

  // Parsed once, when first needed.
  let platforms: Promise<Map<string, string>> | undefined;
  const readIndex = (): Promise<Map<string, string>> => (platforms ??= manifest.read().then((index) => (index ? indexPlatforms(index) : new Map<string, string>())));
  const findings: LivenessFinding[] = [];
  for (const platform of needed) {
    if (entry.platforms?.[platform] !== undefined) continue;
    const listed = await readIndex();
    const match = platformMatch(listed, platform);
    if (match) {
      children.push(probe(platform, listed.get(match)!));
      continue;
    }
    findings.push({
      ...base, code: 'platform-not-found', platform,
      message: `${entry.reference}@${entry.digest}: the index has no ${platform} manifest (it has ${[...listed.keys()].join(', ') || 'none'}), and kubepin.config.json's "platforms" says the cluster has ${platform} nodes: pods there will not start. Fix: publish a ${platform} image and \`kubepin lock --update\`, or keep the workload off those nodes`,
      kubelet: kubeletPullMessage({ kind: 'no-platform', image: pinned }),
    });
  }
  for (const { platform, digest, presence, error } of await Promise.all(children)) {
    if (error !== undefined) throw error;
    if (presence!.present) continue;
    const url = manifestUrl(repo.registry, repo.repository, digest);
    // Told apart only on failure (a GET of the index): a child the index never listed is a hand-edited lock.
    if (![...(await readIndex()).values()].includes(digest)) {
      findings.push({
        ...base, code: 'digest-mismatch', digest, platform,
        message: `${entry.reference}: the lock records ${digest} for ${platform}, but the locked index ${entry.digest} does not list it (the lock was edited by hand?). Fix: run \`kubepin lock --update\` to record the index's own platform digests`,
        kubelet: kubeletPullMessage({ kind: 'child-not-found', image: pinned, url }),
      });
      continue;
    }
    findings.push({
      ...base, code: 'child-gone', digest, platform,
      message: `${entry.reference}@${entry.digest}: the index is there but its ${platform} manifest ${digest} is gone (deleted or garbage-collected): ${platform} nodes will fail to pull it. Fix: ${RELOCK_FIX}`,
      kubelet: kubeletPullMessage({ kind: 'child-not-found', image: pinned, url }),
    });
  }
  return findings.sort((a, b) => (a.platform ?? '').localeCompare(b.platform ?? ''));
}
