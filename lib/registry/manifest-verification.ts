import * as crypto from 'crypto';
import { KubepinUsageError } from '../errors';
import { RegistryError } from './errors';
import type { HttpAnswer } from './transport';

/** The manifest media types asked for, indexes first: without them registries down-convert to one platform. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Media types of multi-platform indexes. */
export const INDEX_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Media types a tag may resolve to. */
export const KNOWN_TYPES: ReadonlySet<string> = new Set([
  ...INDEX_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);

/** A well-formed `sha256:` digest. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** The `Docker-Content-Digest` header, when it is a well-formed sha256 digest. */
export function headerDigest(res: HttpAnswer): string | undefined {
  const value = res.headers['docker-content-digest'];
  const text = Array.isArray(value) ? value[0] : value;
  return text && SHA256_DIGEST.test(text.trim()) ? text.trim() : undefined;
}

/** The media type of the `Content-Type` header, parameters dropped. */
export function contentType(res: HttpAnswer): string | undefined {
  const value = res.headers['content-type'];
  return value ? value.split(';')[0].trim() : undefined;
}

/** Hashes a manifest body; a digest header, when present, must agree. */
export function verifyBody(res: HttpAnswer, host: string, image: string): { digest: string; mediaType: string } {
  const digest = sha256Digest(res.body);
  const header = res.headers['docker-content-digest'];
  const claimed = Array.isArray(header) ? header[0] : header;
  if (claimed !== undefined && claimed.trim() !== digest) {
    throw new RegistryError('digest-mismatch', host, `${image}: ${host} says the manifest is ${JSON.stringify(claimed.slice(0, 80))} but its bytes hash to ${digest}; refusing to record either`);
  }
  let mediaType = contentType(res);
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    try {
      const parsed = JSON.parse(res.body.toString('utf8')) as { mediaType?: unknown };
      if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
    } catch {
      throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest that is not JSON`);
    }
  }
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest of unsupported type ${JSON.stringify(mediaType ?? '(none)')}`);
  }
  return { digest, mediaType };
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const parts = typeof platform === 'string' ? platform.split('/') : [];
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new KubepinUsageError(`platform ${JSON.stringify(platform)} must look like os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`);
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** The digests of the wanted platforms' manifests in a verified index; every platform must be there. */
export function platformDigests(body: Buffer, platforms: string[], host: string, image: string): Record<string, string> {
  let index: { manifests?: Array<{ digest?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }> };
  try {
    index = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('bad-response', host, `${image}: the index from ${host} is not JSON`);
  }
  const entries = Array.isArray(index.manifests) ? index.manifests : [];
  const out: Record<string, string> = {};
  for (const wanted of platforms) {
    const p = parsePlatform(wanted);
    const candidates = entries.filter((e) => e.platform?.os === p.os && e.platform?.architecture === p.architecture && typeof e.digest === 'string' && SHA256_DIGEST.test(e.digest));
    const match = p.variant ? candidates.find((e) => e.platform?.variant === p.variant) : (candidates.find((e) => e.platform?.variant === undefined) ?? candidates[0]);
    if (!match) {
      const available = entries.map((e) => [e.platform?.os, e.platform?.architecture, e.platform?.variant].filter((x) => typeof x === 'string').join('/')).filter(Boolean);
      throw new RegistryError('platform-not-found', host, `${image}: the index has no ${wanted} manifest (it has ${available.join(', ') || 'none'})`);
    }
    out[wanted] = match.digest as string;
  }
  return out;
}
