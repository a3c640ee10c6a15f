import { DOCKER_HUB, ImageReference } from '../core/names/image-reference';
import { canonicalImageName, canonicalRegistry } from '../core/names/registry-identity';
import { registryKeyMatches } from '../core/credentials/keyring';

/** The pattern that covers every image of every registry. */
export const EVERY_IMAGE = '*';

/** A pattern of `signatures.require[].images`, normalized like an image name. */
export interface ImagePattern {
  /** As written in the configuration, for messages. */
  readonly written: string;
  /** kubelet-style keys (`host[:port][/path]`, globs in host labels) over canonical names; none for {@link EVERY_IMAGE}. */
  readonly keys: readonly string[];
  /** How specific it is: the longest pattern covering an image decides. */
  readonly length: number;
}

const HOST_LABEL = /^(?:[a-z0-9*?]|[a-z0-9*?][a-z0-9*?-]*[a-z0-9*?])$/;
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/?$/;

/**
 * Reads one pattern the way the kubelet reads an image name (the first component is a host
 * only when it has a `.` or `:`, is `localhost` or has an uppercase letter; else the image is
 * Docker Hub's, `library/` in front of a single name), with the host spelled by
 * {@link canonicalRegistry}. `*` covers every image. A Hub pattern of one component
 * (`docker.io/acme`) covers both the organisation `acme/…` and the official image `library/acme`.
 * @returns the pattern, or why no image can ever match it (with the fix)
 */
export function parseImagePattern(written: string): ImagePattern | { problem: string } {
  if (written === EVERY_IMAGE) return { written, keys: [], length: 0 };
  if (written.includes('://')) return { problem: 'a pattern is a registry/repository name, not a URL: drop the scheme' };
  if (written.includes('@')) return { problem: 'a pattern names repositories, not digests: drop "@…"' };
  const slash = written.indexOf('/');
  const first = slash === -1 ? written : written.slice(0, slash);
  const hostLike = /[.:*?]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
  const host = hostLike ? first : DOCKER_HUB;
  const path = hostLike ? (slash === -1 ? '' : written.slice(slash + 1)) : written;
  const hostProblem = checkHost(host);
  if (hostProblem) return { problem: hostProblem };
  if (path !== '' && !PATH.test(path)) {
    const fix = path.toLowerCase() !== path ? 'repository paths are lowercase (the kubelet refuses any other), so write it in lowercase' : path.includes(':') ? 'a pattern has no tag: drop ":…"' : 'a repository path is lowercase letters, digits and ".", "_", "-" separators joined by "/", with no wildcard (globs cover host labels only)';
    return { problem: `the repository part ${JSON.stringify(path)} can match no image: ${fix}` };
  }
  const registry = canonicalRegistry(host);
  const trimmed = path.replace(/\/$/, '');
  const keys = [registry === DOCKER_HUB && path === '' ? DOCKER_HUB : `${registry}${path === '' ? '' : `/${path}`}`];
  // `docker.io/acme` is both the organisation acme and, as an image name, library/acme.
  if (registry === DOCKER_HUB && trimmed !== '' && !trimmed.includes('/')) keys.push(canonicalImageName(DOCKER_HUB, trimmed));
  return { written, keys, length: Math.max(...keys.map((k) => k.length)) };
}

function checkHost(host: string): string | undefined {
  const colon = host.lastIndexOf(':');
  const name = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
  const port = colon > host.lastIndexOf(']') ? host.slice(colon + 1) : undefined;
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) <= 65535)) {
    return `the port ${JSON.stringify(port)} can match no image (a port is matched exactly, never as a glob): write the registry's port, or "*" to cover every registry`;
  }
  if (/^\[[a-fA-F0-9:]+\]$/.test(name)) return undefined;
  const labels = name.toLowerCase().split('.');
  if (labels.some((l) => !HOST_LABEL.test(l))) {
    return `the registry host ${JSON.stringify(name)} can match no image: a host is labels of letters, digits and inner "-" (or the globs "*" and "?", one label each) joined by ".", e.g. "ghcr.io" or "*.example.com"`;
  }
  return undefined;
}

/** True when `pattern` covers `image` (a parsed reference): its canonical name is compared, as the kubelet compares credential keys. */
export function patternCovers(pattern: ImagePattern, image: ImageReference): boolean {
  if (pattern.keys.length === 0) return true;
  const name = canonicalImageName(image.registry, image.repository);
  return pattern.keys.some((key) => registryKeyMatches(key, name));
}
