import { ImageReference } from '../core/names/image-reference';
import type { RegistryClient } from './client';

/** Largest listing read. */
const MAX_LISTING_BYTES = 1024 * 1024;

/**
 * The tags of `image`'s repository (`/v2/<name>/tags/list`, first page); `undefined` when the
 * registry answers 404 (no such repository), `null` when it does not say. Tells a missing
 * repository from a missing tag, and gives near tags.
 * @throws RegistryError when the registry cannot be asked
 */
export async function listTags(client: RegistryClient, image: ImageReference): Promise<string[] | undefined | null> {
  const res = await client.fetchApi(image, `${image.repository}/tags/list?n=1000`, `repository:${image.repository}:pull`, MAX_LISTING_BYTES);
  if (res.status === 404) return undefined;
  return res.status === 200 ? stringList(res.body, 'tags') ?? null : null;
}

/**
 * The repositories of `image`'s registry (`/v2/_catalog`, first page), or `null` when it does not
 * list them (many public registries do not). Gives near names.
 * @throws RegistryError when the registry cannot be asked
 */
export async function listRepositories(client: RegistryClient, image: ImageReference): Promise<string[] | null> {
  const res = await client.fetchApi(image, '_catalog?n=1000', 'registry:catalog:*', MAX_LISTING_BYTES);
  return res.status === 200 ? stringList(res.body, 'repositories') ?? null : null;
}

/** The strings of `body`'s JSON list `key` (`{"tags": […]}`), at most 10,000; `undefined` when it is not one. */
function stringList(body: Buffer, key: string): string[] | undefined {
  try {
    const list = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[key];
    return Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string').slice(0, 10000) : undefined;
  } catch {
    return undefined;
  }
}
