import { SHA256_DIGEST } from './manifest-verification';

/**
 * The platforms an index offers (`os/arch[/variant]` → manifest digest), sorted. Attestation
 * manifests (BuildKit's `unknown/unknown` entries, `vnd.docker.reference.type:
 * attestation-manifest`) are not platforms and are left out; so are entries without a
 * well-formed digest. Of two entries for one platform the first wins, as containerd picks.
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
