import { RegistryError } from '../core/findings/registry-error';
import { platformOffered } from '../core/policy/platforms';
import { SHA256_DIGEST } from './manifest-verification';

/**
 * The platforms an index offers (`os/arch[/variant]` → manifest digest), sorted. Attestation
 * manifests (BuildKit's `unknown/unknown` entries, `vnd.docker.reference.type:
 * attestation-manifest`) are not platforms and are left out; so are entries without a
 * well-formed digest. Of two entries for one platform the first wins, as containerd picks.
 * Platforms are lower case (`Linux/AMD64` in an index is `linux/amd64`).
 */
export function indexPlatforms(body: Buffer): Map<string, string> {
  let index: { manifests?: unknown };
  try {
    index = JSON.parse(body.toString('utf8')) as { manifests?: unknown };
  } catch {
    return new Map();
  }
  const found: Array<[string, string]> = [];
  for (const m of Array.isArray(index?.manifests) ? index.manifests : []) {
    const entry = m as { digest?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown }; annotations?: Record<string, unknown> };
    const p = entry?.platform;
    if (typeof entry?.digest !== 'string' || !SHA256_DIGEST.test(entry.digest) || typeof p?.os !== 'string' || typeof p.architecture !== 'string') continue;
    if (p.os === 'unknown' || p.architecture === 'unknown' || entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const key = [p.os, p.architecture, ...(typeof p.variant === 'string' && p.variant !== '' ? [p.variant] : [])].join('/').toLowerCase();
    if (!/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/.test(key) || found.some(([k]) => k === key)) continue;
    found.push([key, entry.digest]);
  }
  return new Map(found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The platform of `offered` (an {@link indexPlatforms} map) that serves `wanted`: the same OS and
 * architecture (case aside), and the same variant when `wanted` names one; without a variant,
 * the entry without one first, else the first variant in order (a `linux/arm64` node runs
 * `linux/arm64/v8`, as containerd matches). `undefined` when none does.
 */
export function platformMatch(offered: ReadonlyMap<string, string>, wanted: string): string | undefined {
  const lower = wanted.toLowerCase();
  return [...offered.keys()].find((o) => platformOffered([o], lower));
}

/**
 * The digests of the `wanted` platforms' manifests in an index (read with {@link indexPlatforms}
 * and matched with {@link platformMatch}, the rules liveness and the lock's cluster platforms use).
 * @throws RegistryError `platform-not-found` naming what the index has, when one is missing.
 */
export function platformDigests(body: Buffer, wanted: readonly string[], host: string, image: string): Record<string, string> {
  const offered = indexPlatforms(body);
  const out: Record<string, string> = {};
  for (const platform of wanted) {
    const match = platformMatch(offered, platform);
    if (match === undefined) {
      // A registry decides how long this list is: name a few, count the rest (and the entries that name no platform kubepin can read).
      const available = [...offered.keys()];
      const more = available.length > 20 ? ` and ${available.length - 20} more` : '';
      const unreadable = unreadableEntries(body);
      const odd = unreadable > 0 ? `; ${unreadable} ${unreadable === 1 ? 'entry names' : 'entries name'} no platform of the form os/arch[/variant]` : '';
      throw new RegistryError('platform-not-found', host, `${image}: the index has no ${platform} manifest (it has ${available.slice(0, 20).join(', ') || 'none'}${more}${odd})`);
    }
    out[platform] = offered.get(match)!;
  }
  return out;
}

/** Entries of an index that are neither a platform {@link indexPlatforms} reads nor an attestation (for messages). */
function unreadableEntries(body: Buffer): number {
  let manifests: unknown;
  try {
    manifests = (JSON.parse(body.toString('utf8')) as { manifests?: unknown })?.manifests;
  } catch {
    return 0;
  }
  if (!Array.isArray(manifests)) return 0;
  const attestations = manifests.filter((m) => {
    const e = m as { platform?: { os?: unknown; architecture?: unknown }; annotations?: Record<string, unknown> } | null;
    return e?.platform?.os === 'unknown' || e?.platform?.architecture === 'unknown' || e?.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
  }).length;
  return Math.max(0, manifests.length - attestations - indexPlatforms(body).size);
}
