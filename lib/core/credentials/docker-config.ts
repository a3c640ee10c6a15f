import { KubepinError, describeType } from '../../util/errors';

/** One registry credential as it appears under `auths` in a Docker config. */
export interface DockerConfigEntry {
  /** User name (from `username`, or decoded from `auth`). */
  readonly username?: string;
  /** Password or token (from `password`, or decoded from `auth`). */
  readonly password?: string;
  /** base64 of `username:password`; overrides `username`/`password` when set, as in the kubelet. */
  readonly auth?: string;
  /** Ignored; kept because old configs carry it. */
  readonly email?: string;
}

/** A `.dockerconfigjson` payload (`{ auths: {...} }`) or a legacy flat `.dockercfg` map. */
export type DockerConfig = { readonly auths: Record<string, DockerConfigEntry> } | Record<string, DockerConfigEntry>;

/** A credential read from a Docker config, with `auth` already decoded. */
export interface Credential {
  /** User name; empty for token-only entries. */
  readonly username: string;
  /** Password or token; never logged. */
  readonly password: string;
}

/** A Docker config (or pull secret payload) is malformed. The message never includes secret values. */
export class DockerConfigError extends KubepinError {}

/** Largest Docker config file read: it holds a few credentials; a device or a runaway file is refused, not read whole. */
export const MAX_DOCKER_CONFIG_BYTES = 1024 * 1024;

const BASE64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_RAW = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/;

/**
 * Decodes an `auth` field exactly as the kubelet does (`decodeDockerConfigFieldAuth`):
 * padded base64 when it ends in "=", unpadded otherwise, then split at the first ":".
 * @throws DockerConfigError naming `source` and `key`, never the value.
 */
export function decodeAuthField(auth: string, source: string, key: string): Credential {
  const padded = auth.trim().endsWith('=');
  const valid = padded ? BASE64_PADDED.test(auth) : BASE64_RAW.test(auth);
  if (!valid) {
    throw new DockerConfigError(`${source}: the "auth" field of "${key}" is not valid base64; the kubelet then fails every pull of the pod. Fix: set auth to base64("username:password")`);
  }
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) {
    throw new DockerConfigError(`${source}: the "auth" field of "${key}" does not decode to "username:password"; the kubelet then fails every pull of the pod. Fix: set auth to base64("username:password")`);
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Reads the `auths` map of a `.dockerconfigjson` payload, or a legacy `.dockercfg` flat map,
 * into credentials keyed as written. Checks every entry.
 * @throws DockerConfigError naming `source` for anything malformed.
 */
export function readDockerConfig(config: unknown, source: string): Map<string, Credential> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new DockerConfigError(`${source}: a Docker config must be a JSON object, got ${describeType(config)}`);
  }
  const record = config as Record<string, unknown>;
  let auths: unknown = record;
  if ('auths' in record) {
    auths = record.auths;
    if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
      throw new DockerConfigError(`${source}: "auths" must be an object mapping registry to credentials, got ${describeType(auths)}`);
    }
  } else if ('credHelpers' in record || 'credsStore' in record) {
    auths = {};
  }
  const out = new Map<string, Credential>();
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DockerConfigError(`${source}: the entry for "${key}" must be an object with username/password or auth, got ${describeType(value)}. Fix: did you forget the outer "auths" key?`);
    }
    const entry = value as Record<string, unknown>;
    for (const field of ['username', 'password', 'auth'] as const) {
      if (entry[field] !== undefined && typeof entry[field] !== 'string') {
        throw new DockerConfigError(`${source}: "${field}" of "${key}" must be a string, got ${describeType(entry[field])}`);
      }
    }
    if (typeof entry.auth === 'string' && entry.auth.length > 0) {
      out.set(key, decodeAuthField(entry.auth, source, key));
    } else {
      out.set(key, { username: (entry.username as string) ?? '', password: (entry.password as string) ?? '' });
    }
  }
  return out;
}

/** Builds a `.dockerconfigjson` payload with the outer `auths` key people forget. */
export function buildDockerConfigJson(entries: Record<string, Credential>): { auths: Record<string, { username: string; password: string; auth: string }> } {
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  for (const key of Object.keys(entries).sort()) {
    const { username, password } = entries[key];
    auths[key] = { username, password, auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  }
  return { auths };
}
