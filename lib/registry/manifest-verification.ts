import * as crypto from 'crypto';
import { KubepinUsageError } from '../util/errors';
import { RegistryError } from '../core/findings/registry-error';
import { sanitizeRegistryText } from './registry-text';
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

/** Image manifest media types whose documents say `schemaVersion: 1`. */
const SCHEMA1_TYPES: ReadonlySet<string> = new Set(['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json']);

/**
 * Hashes a manifest body and checks it is what it claims: a digest header, when present, must
 * agree; the body must be encoded as sent (no `Content-Encoding`: the hash of compressed bytes
 * is not the manifest's digest) and parse as the manifest its media type says (a JSON object with
 * the right `schemaVersion`, a `mediaType` field, when present, equal to the type, and the
 * `manifests` array of an index or the `config`/`layers` of an image manifest). Anything else
 * is refused: a wrong digest must never reach the lock.
 */
export function verifyBody(res: HttpAnswer, host: string, image: string): { digest: string; mediaType: string } {
  refuseEncodedBody(res, host, image);
  const digest = sha256Digest(res.body);
  const header = res.headers['docker-content-digest'];
  const claimed = Array.isArray(header) ? header[0] : header;
  if (claimed !== undefined && claimed.trim() !== digest) {
    throw new RegistryError('digest-mismatch', host, `${image}: ${host} says the manifest is ${JSON.stringify(sanitizeRegistryText(claimed, 80))} but its bytes hash to ${digest}; refusing to record either`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest that is not JSON (${res.body.length} bytes); refusing to record its hash`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest that is not a JSON object; refusing to record its hash`);
  }
  const manifest = parsed as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; fsLayers?: unknown };
  let mediaType = contentType(res);
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    if (typeof manifest.mediaType === 'string') mediaType = manifest.mediaType;
  }
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest of unsupported type ${JSON.stringify(sanitizeRegistryText(mediaType ?? '(none)', 80))}`);
  }
  const problem = manifestShapeProblem(manifest, mediaType);
  if (problem) {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a body served as ${mediaType} that is not one (${problem}); refusing to record its hash`);
  }
  return { digest, mediaType };
}

/** Why a parsed manifest is not a document of `mediaType`, or `undefined` when it is. */
function manifestShapeProblem(manifest: { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; fsLayers?: unknown }, mediaType: string): string | undefined {
  const schema1 = SCHEMA1_TYPES.has(mediaType);
  if (manifest.schemaVersion !== (schema1 ? 1 : 2)) return `schemaVersion is ${JSON.stringify(manifest.schemaVersion ?? null)}, not ${schema1 ? 1 : 2}`;
  if (manifest.mediaType !== undefined && manifest.mediaType !== mediaType) return `its mediaType field says ${JSON.stringify(sanitizeRegistryText(String(manifest.mediaType), 80))}`;
  if (schema1) return Array.isArray(manifest.fsLayers) ? undefined : 'no fsLayers array';
  if (INDEX_TYPES.has(mediaType)) return Array.isArray(manifest.manifests) ? undefined : 'no manifests array';
  if (typeof manifest.config !== 'object' || manifest.config === null || Array.isArray(manifest.config)) return 'no config object';
  return Array.isArray(manifest.layers) ? undefined : 'no layers array';
}

/**
 * Refuses a body sent with a `Content-Encoding` (kubepin asks for `identity`): Node does not
 * decode it, and the hash of encoded bytes is not the manifest's digest.
 */
export function refuseEncodedBody(res: HttpAnswer, host: string, what: string): void {
  const encoding = res.headers['content-encoding'];
  if (encoding === undefined || encoding.trim() === '' || encoding.trim().toLowerCase() === 'identity') return;
  throw new RegistryError('bad-response', host, `${what}: ${host} sent the body with Content-Encoding ${JSON.stringify(sanitizeRegistryText(encoding, 40))} although kubepin asked for identity; its hash would not be the digest, refused`);
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const parts = typeof platform === 'string' ? platform.split('/') : [];
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new KubepinUsageError(`platform ${JSON.stringify(platform)} must look like os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`);
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}
