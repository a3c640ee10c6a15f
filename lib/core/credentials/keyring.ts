import { ImageReference } from '../names/image-reference';
import { KubepinUsageError, requireString } from '../../util/errors';
import { Credential, DockerConfig, readDockerConfig } from './docker-config';

/** One credential that applies to an image, in the order the kubelet tries them. */
export interface KeyringMatch {
  /** Where the credential came from (a Secret name, a file), as given to {@link CredentialKeyring.add}. */
  readonly source: string;
  /** The config key as the kubelet indexes it: scheme and `/v1/`, `/v2/` prefix stripped. */
  readonly key: string;
  /** The user name (never the password). */
  readonly username: string;
}

/** A match including the secret itself; for the registry client only, never for output. */
export interface KeyringCredential extends KeyringMatch {
  /** The password or token. */
  readonly password: string;
}

/** Docker Hub key that serves Hub images only when nothing else matched. */
const DEFAULT_REGISTRY_KEY = 'index.docker.io';

/**
 * The kubelet's credential matching (`BasicDockerKeyring` in pkg/credentialprovider):
 * every config key that matches an image contributes, in reverse byte order of the key,
 * and the `index.docker.io` key serves Docker Hub images only as a fallback.
 *
 * @see https://github.com/kubernetes/kubernetes/blob/master/pkg/credentialprovider/keyring.go (BasicDockerKeyring.Lookup)
 * @see https://kubernetes.io/docs/concepts/containers/images/#config-json (how keys match images)
 */
export class CredentialKeyring {
  private readonly creds = new Map<string, KeyringCredential[]>();
  private index: string[] = [];

  /**
   * Adds every entry of a Docker config (`.dockerconfigjson` payload or legacy `.dockercfg` map).
   * Keys that do not parse as URLs are ignored, as the kubelet ignores them.
   * @param source a label for the config (e.g. the Secret name); shown in matches and errors.
   * @throws DockerConfigError when an entry is malformed (e.g. an `auth` that is not base64 user:pass).
   */
  public add(source: string, config: DockerConfig | unknown): this {
    requireString(source, 'CredentialKeyring.add(source)');
    const entries = readDockerConfig(config, source);
    for (const [raw, credential] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      this.addEntry(source, raw, credential);
    }
    return this;
  }

  /** Adds one credential under `key` (any form the kubelet accepts: `https://host/v1/`, `host/path`). */
  public addEntry(source: string, key: string, credential: Credential): this {
    requireString(source, 'CredentialKeyring.addEntry(source)');
    requireString(key, 'CredentialKeyring.addEntry(key)');
    if (typeof credential !== 'object' || credential === null) {
      throw new KubepinUsageError(`CredentialKeyring.addEntry(${JSON.stringify(source)}, ${JSON.stringify(key)}): credential must be an object with username and password`);
    }
    const normalized = normalizeConfigKey(key);
    if (normalized === undefined) return this;
    const list = this.creds.get(normalized) ?? [];
    list.push({ source, key: normalized, username: credential.username, password: credential.password });
    this.creds.set(normalized, list);
    // Reverse byte order: more specific paths of one host come first.
    this.index = [...this.creds.keys()].sort(compareBytes).reverse();
    return this;
  }

  /** The credentials held under one normalized key (as listed by {@link keys}), with their secrets. */
  public credentialsForKey(key: string): readonly KeyringCredential[] {
    return this.creds.get(key) ?? [];
  }

  /** The config keys held, in lookup order. */
  public get keys(): readonly string[] {
    return this.index;
  }

  /**
   * The credentials the kubelet would try for `image`, in order; empty when none match
   * (the kubelet then pulls anonymously). Never includes passwords.
   */
  public lookup(image: string): KeyringMatch[] {
    return this.lookupCredentials(image).map(({ source, key, username }) => ({ source, key, username }));
  }

  /** Like {@link lookup}, with the secrets; for code that must authenticate. */
  public lookupCredentials(image: string): KeyringCredential[] {
    requireString(image, 'CredentialKeyring.lookup(image)');
    return this.lookupNameCredentials(lookupKey(image));
  }

  /**
   * `BasicDockerKeyring.Lookup` on a name exactly as given, without normalizing it first
   * (the kubelet passes normalized names such as `docker.io/library/nginx`).
   */
  public lookupName(name: string): KeyringMatch[] {
    requireString(name, 'CredentialKeyring.lookupName(name)');
    return this.lookupNameCredentials(name).map(({ source, key, username }) => ({ source, key, username }));
  }

  private lookupNameCredentials(target: string): KeyringCredential[] {
    const out: KeyringCredential[] = [];
    for (const key of this.index) {
      if (registryKeyMatches(key, target)) out.push(...this.creds.get(key)!);
    }
    if (out.length > 0) return out;
    if (isDefaultRegistryMatch(target)) return [...(this.creds.get(DEFAULT_REGISTRY_KEY) ?? [])];
    return [];
  }
}

/** The name the kubelet looks an image up by: `docker.io/library/nginx` for `nginx:1.27`. */
function lookupKey(image: string): string {
  const ref = ImageReference.tryParse(image);
  return ref ? ref.name : image;
}

function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash === -1 ? image : image.slice(0, slash);
  if (first.length === 0) return false;
  if (slash === -1) return true;
  if (first === 'docker.io' || first === DEFAULT_REGISTRY_KEY) return true;
  return !/[.:]/.test(first);
}

function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

interface SchemelessUrl {
  hostLabels: string[];
  port: string;
  path: string;
}

/**
 * Normalizes a config key the way `BasicDockerKeyring.Add` does: scheme stripped, a
 * `/v1/` or `/v2/` path prefix dropped, a bare "/" path dropped. `undefined` when the key
 * does not parse (the kubelet ignores those).
 */
export function normalizeConfigKey(key: string): string | undefined {
  let value = key;
  if (!value.startsWith('https://') && !value.startsWith('http://')) value = `https://${value}`;
  const parsed = parseUrl(value.slice(value.indexOf('://') + 3));
  if (!parsed) return undefined;
  let path = parsed.pathRaw;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path.length > 0 && path !== '/' ? parsed.host + path : parsed.host;
}

/**
 * The kubelet's `URLsMatchStr(key, image)`: ports equal, the same number of host labels
 * each glob-matched (`*` stays within one label), and the key's path a raw prefix of the
 * image's path. Both sides are schemeless (`host[:port][/path]`).
 *
 * @see https://github.com/kubernetes/kubernetes/blob/master/pkg/credentialprovider/keyring.go (URLsMatchStr, URLsMatch)
 */
export function registryKeyMatches(key: string, image: string): boolean {
  if (typeof key !== 'string' || typeof image !== 'string') {
    throw new KubepinUsageError('registryKeyMatches(key, image) takes two strings');
  }
  const glob = splitSchemeless(key);
  const target = splitSchemeless(image);
  if (!glob || !target) return false;
  if (glob.port !== target.port) return false;
  if (glob.hostLabels.length !== target.hostLabels.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return glob.hostLabels.every((label, i) => globMatch(label, target.hostLabels[i]) === true);
}

function splitSchemeless(text: string): SchemelessUrl | undefined {
  const parsed = parseUrl(text);
  if (!parsed) return undefined;
  const { host, port } = splitHostPort(parsed.host);
  return { hostLabels: host.split('.'), port, path: parsed.path };
}

/** Go's net.SplitHostPort, falling back to (whole, "") on error as the kubelet does. */
function splitHostPort(hostport: string): { host: string; port: string } {
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close !== -1 && hostport[close + 1] === ':' && !hostport.slice(close + 2).includes(':')) {
      return { host: hostport.slice(1, close), port: hostport.slice(close + 2) };
    }
    return { host: hostport, port: '' };
  }
  const first = hostport.indexOf(':');
  if (first === -1 || first !== hostport.lastIndexOf(':')) return { host: hostport, port: '' };
  return { host: hostport.slice(0, first), port: hostport.slice(first + 1) };
}

/**
 * Splits `host[:port][/path][?query][#fragment]` like Go's url.Parse of "https://" + text:
 * the path is percent-decoded; invalid escapes or characters Go refuses in a host fail.
 */
function parseUrl(text: string): { host: string; path: string; pathRaw: string } | undefined {
  let rest = text;
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q !== -1) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  let host = slash === -1 ? rest : rest.slice(0, slash);
  const pathRaw = slash === -1 ? '' : rest.slice(slash);
  const atSign = host.lastIndexOf('@');
  if (atSign !== -1) host = host.slice(atSign + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f<>"{}|\\^`]/.test(host) || /[\x00-\x1f\x7f ]/.test(pathRaw)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(pathRaw);
  } catch {
    return undefined;
  }
  return { host, path, pathRaw: path };
}

/**
 * Go's path/filepath.Match for one host label: `*` any run, `?` one character,
 * `[...]` classes with ranges and `^` negation, `\` escapes. `undefined` for a bad pattern.
 */
export function globMatch(pattern: string, name: string): boolean | undefined {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else if (c === '\\') {
      i++;
      if (i >= pattern.length) return undefined;
      source += escapeRegex(pattern[i]);
    } else if (c === '[') {
      const close = findClassEnd(pattern, i);
      if (close === -1) return undefined;
      let body = pattern.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      if (body.length === 0) return undefined;
      source += `[${negate ? '^' : ''}${classBody(body)}]`;
      i = close;
    } else {
      source += escapeRegex(c);
    }
  }
  try {
    return new RegExp(`${source}$`, 'su').test(name);
  } catch {
    return undefined;
  }
}

function findClassEnd(pattern: string, open: number): number {
  for (let j = open + 1; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++;
    else if (pattern[j] === ']' && j > open + 1 && !(j === open + 2 && pattern[open + 1] === '^')) return j;
  }
  return -1;
}

/** A glob class body as a regex class body: `\\x` stays literal, `-` stays a range operator. */
function classBody(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    let c = body[i];
    if (c === '\\' && i + 1 < body.length) c = body[++i];
    else if (c === '-') {
      out += '-';
      continue;
    }
    out += /[\]\\[^-]/.test(c) ? `\\${c}` : c;
  }
  return out;
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
}
