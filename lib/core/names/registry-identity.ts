import { DOCKER_HUB } from './image-reference';

/**
 * Hosts that serve Docker Hub's images: what a client reaches through any of them is what
 * `docker.io/…` names. distribution/reference rewrites only `index.docker.io`; the others are
 * Hub's API host and its old web name, which pull the same repositories.
 */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The port a registry is reached on when the reference names none (HTTPS). */
const DEFAULT_PORT = '443';

/**
 * The registry a host names, spelled one way: host names in lowercase (DNS and TLS ignore case),
 * the port without leading zeros and dropped when it is the default 443, and every Docker Hub
 * alias as `docker.io`. `GHCR.IO`, `ghcr.io:443` and `ghcr.io` are one registry; so are
 * `registry-1.docker.io` and `docker.io`. Glob characters in a pattern's labels are kept.
 */
export function canonicalRegistry(host: string): string {
  let name = host;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && colon > host.lastIndexOf(']')) {
    name = host.slice(0, colon);
    port = host.slice(colon + 1);
  }
  name = name.toLowerCase();
  if (/^[0-9]+$/.test(port)) port = port.replace(/^0+(?=[0-9])/, '');
  if (port === DEFAULT_PORT) port = '';
  if (port === '' && DOCKER_HUB_ALIASES.has(name)) return DOCKER_HUB;
  return port === '' ? name : `${name}:${port}`;
}

/**
 * `registry/repository` with the registry spelled by {@link canonicalRegistry}, and a Docker
 * Hub path of one component under `library/` (as `docker.io/nginx` is `docker.io/library/nginx`):
 * the name a signature requirement and a signature's `docker-reference` are compared by.
 */
export function canonicalImageName(registry: string, repository: string): string {
  const host = canonicalRegistry(registry);
  const path = host === DOCKER_HUB && repository !== '' && !repository.includes('/') ? `library/${repository}` : repository;
  return path === '' ? host : `${host}/${path}`;
}
