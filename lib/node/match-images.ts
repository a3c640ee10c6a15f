import { ImageReference } from '../core/names/image-reference';
import { KubepinError, KubepinUsageError, requireString } from '../util/errors';
import { globMatch, normalizeConfigKey, registryKeyMatches } from '../core/credentials/keyring';

/** Node-side credential configuration (provider config, node config.json) is wrong or cannot be built. */
export class NodeConfigError extends KubepinError {}

/** What {@link computeMatchImages} needs. */
export interface MatchImagesInput {
  /** Every image of the app (any spelling: `nginx:1.27`, `ghcr.io/acme/api@sha256:…`). */
  readonly images: readonly string[];
  /** Registry keys assigned to the provider, kubelet style: `123.dkr.ecr.eu-west-1.amazonaws.com`, `*.azurecr.io`, `ghcr.io/acme`. */
  readonly registries: readonly string[];
  /** Registries, keys or image names the result must never match (e.g. other providers' registries, public mirrors). */
  readonly exclude?: readonly string[];
  /** Lookup names in `registries` that belong to someone else (a provider with a more specific key): neither covered nor matched. */
  readonly claimedByOthers?: readonly string[];
  /** Label for error messages, e.g. the provider name. */
  readonly label?: string;
}

/** The result of {@link computeMatchImages}. */
export interface MatchImagesResult {
  /** The smallest set of kubelet-style globs covering {@link covered}, sorted. */
  readonly matchImages: string[];
  /** Names (`registry/repository`) of the app's images assigned to the provider, sorted. */
  readonly covered: string[];
  /** Names of the app's images not assigned to the provider, sorted (they need another credential path). */
  readonly notCovered: string[];
  /** Whether the search proved the set minimal (false only for very large inputs, where a greedy cover is returned). */
  readonly minimal: boolean;
  /** Lookup names of app images in the assigned registries that fall under an `exclude` key: left to no provider. */
  readonly excluded: string[];
}

/** Largest number of search nodes the exact set-cover search visits before falling back to greedy. */
const SEARCH_BUDGET = 200_000;
const GLOB_META = /[*?[\\]/;

interface SplitKey {
  hostLabels: string[];
  port: string;
  path: string;
  ipv6: boolean;
}

/**
 * The lookup name of an image as the kubelet builds it (`docker.io/library/nginx` for
 * `nginx:1.27`): credential keys and `matchImages` are matched against this name.
 * @throws NodeConfigError when the image does not parse.
 */
export function imageLookupName(image: string): string {
  requireString(image, 'image');
  const ref = ImageReference.tryParse(image);
  if (!ref) {
    throw new NodeConfigError(`image ${JSON.stringify(image.slice(0, 200))} is not a valid image reference, so no credential path can be computed for it. Fix the image first (kubepin check lists why)`);
  }
  return ref.name;
}

/**
 * Normalizes a registry key the way the kubelet reads config keys (scheme, `/v1/` and
 * `/v2/` stripped). @throws NodeConfigError when the kubelet could not parse it.
 */
export function normalizeRegistryKey(key: string, what = 'registry'): string {
  requireString(key, what);
  const normalized = key.trim() === '' ? undefined : normalizeConfigKey(key);
  if (normalized === undefined) {
    throw new NodeConfigError(`${what} ${JSON.stringify(key.slice(0, 200))} is not a registry key the kubelet can parse. Fix: write host[:port][/path], e.g. "ghcr.io/acme" or "*.azurecr.io"`);
  }
  return normalized;
}

/**
 * Computes a provider's `matchImages`: the smallest set of kubelet-style globs that matches
 * (by the kubelet's own rule, {@link registryKeyMatches}) every image of the app whose
 * lookup name falls under one of `registries`, and nothing listed in `exclude` nor any other
 * image of the app.
 *
 * Every pattern is built from one assigned key by keeping its glob labels or replacing them
 * with a literal label of an image, and by lengthening its path only at `/` boundaries of an
 * image; so every pattern's matches are a subset of that key's: the result never covers a
 * registry that was not assigned. Ties between covers of equal size go to fewer wildcards,
 * then shorter paths, then byte order, so the output is deterministic.
 * @throws NodeConfigError for an unparseable image or registry key, or when the excluded
 *   names make some assigned image impossible to cover.
 */
export function computeMatchImages(input: MatchImagesInput): MatchImagesResult {
  if (!input || !Array.isArray(input.images) || !Array.isArray(input.registries)) {
    throw new KubepinUsageError('computeMatchImages({ images, registries }) takes two arrays of strings');
  }
  const label = input.label ?? 'provider';
  const keys = input.registries.map((r) => normalizeRegistryKey(r, `${label}: registry`));
  const names = [...new Set(input.images.map(imageLookupName))].sort(compareBytes);
  const claimed = new Set(input.claimedByOthers ?? []);
  // App images outside the assignment are exact names; `exclude` entries are keys: nothing under them may match.
  const excluded = (input.exclude ?? []).map((e) => normalizeConfigKey(requireString(e, `${label}: exclude`)) ?? e);
  // An app image inside an excluded registry is left to no provider (it is not an error: that is what exclude is for).
  const inExcluded = names.filter((n) => excluded.some((e) => registryKeyMatches(e, n)));
  const covered = names.filter((n) => !claimed.has(n) && !inExcluded.includes(n) && keys.some((k) => registryKeyMatches(k, n)));
  const coveredSet = new Set(covered);
  const notCovered = names.filter((n) => !coveredSet.has(n));
  const forbidden = [...notCovered, ...excluded];
  const isForbidden = (pattern: string): boolean => forbiddenReason(pattern) !== undefined;
  // 'final' when no longer path can help: an exclusion whose path is a prefix of the pattern's.
  const forbiddenReason = (pattern: string): 'final' | 'retry' | undefined => {
    let reason: 'retry' | undefined;
    for (const e of excluded) {
      if (keysIntersect(pattern, e)) {
        if (pathOf(pattern).startsWith(pathOf(e))) return 'final';
        reason = 'retry';
      }
    }
    return reason ?? (notCovered.some((n) => registryKeyMatches(pattern, n)) ? 'retry' : undefined);
  };

  // Candidate patterns, each with the set of covered names it matches.
  const candidates = new Map<string, Set<number>>();
  const rejected = new Map<string, 'final' | 'retry'>();
  covered.forEach((name) => {
    for (const key of keys) {
      if (!registryKeyMatches(key, name)) continue;
      for (const { host, paths } of generalizations(key, name)) {
        // Shortest allowed path only: a longer one matches a subset and is never preferred.
        for (const p of paths) {
          const pattern = host + p;
          const seen = rejected.get(pattern);
          if (seen === 'final') break;
          if (seen === 'retry') continue;
          if (candidates.has(pattern)) break;
          const reason = forbiddenReason(pattern);
          if (reason !== undefined) {
            rejected.set(pattern, reason);
            if (reason === 'final') break;
            continue;
          }
          const cover = new Set<number>();
          covered.forEach((other, j) => {
            if (registryKeyMatches(pattern, other)) cover.add(j);
          });
          candidates.set(pattern, cover);
          break;
        }
      }
    }
  });
  for (let i = 0; i < covered.length; i++) {
    if (![...candidates.values()].some((c) => c.has(i))) {
      throw new NodeConfigError(`${label}: no pattern within the assigned registries matches ${covered[i]} without also matching an excluded name (${forbidden.filter((f) => f.startsWith(covered[i].split('/')[0])).slice(0, 3).join(', ') || 'see exclude'}). Fix: narrow "exclude" or assign a more specific registry key`);
    }
  }
  const { chosen, minimal } = minimumCover(covered.length, candidates);
  const matchImages = chosen.sort(compareBytes);
  // The kubelet's rule decides, not the construction: re-check the result with it.
  for (const name of covered) {
    if (!matchImages.some((m) => registryKeyMatches(m, name))) throw new Error(`kubepin bug: ${name} not covered by ${matchImages.join(', ')}`);
  }
  for (const m of matchImages) {
    if (isForbidden(m)) throw new Error(`kubepin bug: ${m} reaches an excluded name`);
  }
  return { matchImages, covered, notCovered, minimal, excluded: inExcluded.filter((n) => keys.some((k) => registryKeyMatches(k, n))) };
}

/**
 * Whether some image name could match both `a` and `b` (kubelet-style keys): same port and
 * label count, each pair of labels compatible, one path a prefix of the other. Two glob labels
 * are taken to overlap (conservative: an exclusion is never crossed).
 */
export function keysIntersect(a: string, b: string): boolean {
  const x = splitKey(a);
  const y = splitKey(b);
  if (x.ipv6 || y.ipv6) return registryKeyMatches(a, b) || registryKeyMatches(b, a);
  if (x.port !== y.port || x.hostLabels.length !== y.hostLabels.length) return false;
  if (!x.path.startsWith(y.path) && !y.path.startsWith(x.path)) return false;
  return x.hostLabels.every((xl, i) => {
    const yl = y.hostLabels[i];
    if (!GLOB_META.test(yl)) return globMatch(xl, yl) === true;
    if (!GLOB_META.test(xl)) return globMatch(yl, xl) === true;
    return true;
  });
}

/** Patterns no wider than `key` that still match `name`: host globs, each with its paths from shortest to longest. */
function generalizations(key: string, name: string): Array<{ host: string; paths: string[] }> {
  const k = splitKey(key);
  const n = splitKey(name);
  let hosts: string[];
  if (k.ipv6 || n.ipv6) {
    hosts = [name.slice(0, name.indexOf('/') === -1 ? name.length : name.indexOf('/'))];
  } else {
    let partial: string[][] = [[]];
    k.hostLabels.forEach((kl, i) => {
      const options = GLOB_META.test(kl) ? [n.hostLabels[i], kl] : [n.hostLabels[i]];
      partial = partial.flatMap((p) => options.map((o) => [...p, o]));
    });
    const port = n.port ? `:${n.port}` : '';
    hosts = partial.map((labels) => labels.join('.') + port);
  }
  const paths = [k.path];
  for (let i = 1; i <= n.path.length; i++) {
    if (i === n.path.length || n.path[i] === '/') {
      const prefix = n.path.slice(0, i);
      if (prefix.startsWith(k.path) && prefix.length > k.path.length) paths.push(prefix);
    }
  }
  return hosts.map((host) => ({ host, paths }));
}

function pathOf(key: string): string {
  const slash = key.indexOf('/');
  return slash === -1 ? '' : key.slice(slash);
}

function splitKey(text: string): SplitKey {
  const slash = text.indexOf('/');
  const hostport = slash === -1 ? text : text.slice(0, slash);
  const path = slash === -1 ? '' : text.slice(slash);
  if (hostport.startsWith('[')) return { hostLabels: [hostport], port: '', path, ipv6: true };
  const colon = hostport.lastIndexOf(':');
  const host = colon === -1 ? hostport : hostport.slice(0, colon);
  const port = colon === -1 ? '' : hostport.slice(colon + 1);
  return { hostLabels: host.split('.'), port, path, ipv6: false };
}

function wildcardCount(pattern: string): number {
  const host = pattern.split('/')[0];
  return host.split('.').filter((l) => GLOB_META.test(l)).length;
}

function preference(a: string, b: string): number {
  const w = wildcardCount(a) - wildcardCount(b);
  if (w !== 0) return w;
  const pa = a.indexOf('/') === -1 ? 0 : a.length - a.indexOf('/');
  const pb = b.indexOf('/') === -1 ? 0 : b.length - b.indexOf('/');
  if (pa !== pb) return pa - pb;
  return compareBytes(a, b);
}

/** Exact minimum set cover by iterative deepening (inputs are small); greedy past the budget. */
function minimumCover(size: number, candidates: Map<string, Set<number>>): { chosen: string[]; minimal: boolean } {
  if (size === 0) return { chosen: [], minimal: true };
  // Keep one pattern per distinct cover set: the preferred one.
  const byCover = new Map<string, string>();
  for (const [pattern, cover] of candidates) {
    const sig = [...cover].sort((x, y) => x - y).join(',');
    const current = byCover.get(sig);
    if (current === undefined || preference(pattern, current) < 0) byCover.set(sig, pattern);
  }
  const list = [...byCover.values()].sort(preference).map((p) => ({ pattern: p, cover: candidates.get(p)! }));
  const greedy = greedyCover(size, list);
  let budget = SEARCH_BUDGET;
  for (let depth = 1; depth < greedy.length; depth++) {
    const found = search(size, list, depth, new Set(), [], () => --budget > 0);
    if (found) return { chosen: found, minimal: true };
    if (budget <= 0) return { chosen: greedy, minimal: false };
  }
  return { chosen: greedy, minimal: true };
}

function search(
  size: number,
  list: Array<{ pattern: string; cover: Set<number> }>,
  depth: number,
  done: Set<number>,
  picked: string[],
  tick: () => boolean,
): string[] | undefined {
  if (done.size === size) return picked;
  if (depth === 0 || !tick()) return undefined;
  // Branch on the uncovered element with the fewest candidates.
  let best = -1;
  let bestOptions: typeof list = [];
  for (let i = 0; i < size; i++) {
    if (done.has(i)) continue;
    const options = list.filter((c) => c.cover.has(i));
    if (best === -1 || options.length < bestOptions.length) {
      best = i;
      bestOptions = options;
    }
  }
  const maxCover = Math.max(...list.map((c) => [...c.cover].filter((x) => !done.has(x)).length));
  if (maxCover * depth < size - done.size) return undefined;
  for (const option of bestOptions) {
    const next = new Set(done);
    option.cover.forEach((x) => next.add(x));
    const found = search(size, list, depth - 1, next, [...picked, option.pattern], tick);
    if (found) return found;
  }
  return undefined;
}

function greedyCover(size: number, list: Array<{ pattern: string; cover: Set<number> }>): string[] {
  const done = new Set<number>();
  const chosen: string[] = [];
  while (done.size < size) {
    let best = list[0];
    let bestGain = -1;
    for (const c of list) {
      const gain = [...c.cover].filter((x) => !done.has(x)).length;
      if (gain > bestGain) {
        best = c;
        bestGain = gain;
      }
    }
    chosen.push(best.pattern);
    best.cover.forEach((x) => done.add(x));
  }
  return chosen;
}

/**
 * How specific a key is for ownership decisions: literal host labels first, then path length.
 * A name matched by keys of two providers belongs to the one whose key is more specific.
 */
export function keySpecificity(key: string): [number, number] {
  const slash = key.indexOf('/');
  const host = slash === -1 ? key : key.slice(0, slash);
  return [host.split('.').filter((l) => !GLOB_META.test(l)).length, slash === -1 ? 0 : key.length - slash];
}

/** Byte-order comparison (the kubelet sorts keys by bytes, not by locale). */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
