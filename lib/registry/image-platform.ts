import { ImageReference } from '../core/names/image-reference';
import { RegistryError } from '../core/findings/registry-error';
import { PLATFORM_PATTERN } from '../core/policy/platforms';
import { RegistryClient } from './client';
import { SHA256_DIGEST } from './manifest-verification';

/** Largest image config read: configs are a few KiB; 1 MiB leaves room for long histories. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The platform (`os/arch[/variant]`) of a single-platform image `digest`, read from its config
 * blob (a schema-1 manifest names its architecture itself, on Linux); `undefined` when the
 * manifest or config does not say. Both are fetched by digest and their bytes checked.
 */
export async function singleImagePlatform(client: RegistryClient, image: ImageReference, digest: string, mediaType: string): Promise<string | undefined> {
  const manifest = await client.fetchManifest(image, digest, [mediaType]);
  if (!manifest) return undefined;
  const doc = parse(manifest.body) as { architecture?: unknown; config?: { digest?: unknown } } | undefined;
  if (typeof doc?.architecture === 'string') return platformKey('linux', doc.architecture, undefined);
  const configDigest = doc?.config?.digest;
  if (typeof configDigest !== 'string' || !SHA256_DIGEST.test(configDigest)) return undefined;
  let blob: Buffer;
  try {
    blob = await client.fetchBlob(image, configDigest, MAX_CONFIG_BYTES);
  } catch (e) {
    // A config the registry lost does not make the pin wrong; its platform is just not known.
    if (e instanceof RegistryError && e.kind === 'not-found') return undefined;
    throw e;
  }
  const config = parse(blob) as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
  return typeof config?.os === 'string' && typeof config.architecture === 'string' ? platformKey(config.os, config.architecture, config.variant) : undefined;
}

function platformKey(os: string, architecture: string, variant: unknown): string | undefined {
  const key = [os, architecture, ...(typeof variant === 'string' && variant !== '' ? [variant] : [])].join('/').toLowerCase();
  return PLATFORM_PATTERN.test(key) ? key : undefined;
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
