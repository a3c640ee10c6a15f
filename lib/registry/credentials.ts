import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring, KeyringCredential } from '../core/credentials/keyring';
import { DockerConfigError, MAX_DOCKER_CONFIG_BYTES } from '../core/credentials/docker-config';
import { readRegularFile } from '../util/fs/read-regular-file';
import { KubepinError } from '../util/errors';

/** A credential the registry client may present. The password never appears in output. */
export interface RegistryCredential {
  /** Where it came from, for messages: a file, a Secret name, `docker-credential-osxkeychain`. */
  readonly source: string;
  /** User name (shown in messages). */
  readonly username: string;
  /** Password or token (never shown). */
  readonly password: string;
}

/** Supplies credentials for an image; the client tries them in order, first success wins. */
export interface RegistryCredentialProvider {
  /**
   * Credentials for `name` (`host/repository` with the host actually contacted: the mirror
   * when one is configured; `docker.io/…` for Docker Hub) on `host`.
   */
  credentialsFor(name: string, host: string): Promise<RegistryCredential[]>;
}

/** A credential helper failed or answered garbage. */
export class CredentialHelperError extends KubepinError {}

/** Keys that name Docker Hub in a developer's config (`docker login` writes the first). */
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'];

/** Hosts that are Docker Hub when the client contacts them. */
function isDockerHubHost(host: string): boolean {
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io';
}

/**
 * The credentials of `keyring` the registry client may send to `host` for `name`, by the
 * Docker CLI's rule, not the kubelet's: a key serves only the host it names exactly (scheme
 * and `/v1/` dropped; `docker.io`, `index.docker.io` and `https://index.docker.io/v1/` all
 * name Docker Hub). No globs and no Docker Hub fallback: the kubelet's fallback would send a
 * Hub credential to `localhost/tools/app`. A key with a path (`host/team`) narrows further,
 * to repositories under that path, most specific first. (`kubepin check` predicts the kubelet
 * with {@link CredentialKeyring.lookup} and its rules.)
 */
export function exactHostCredentials(keyring: CredentialKeyring, name: string, host: string): KeyringCredential[] {
  const hub = isDockerHubHost(host);
  const slash = name.indexOf('/');
  const repository = slash === -1 ? '' : name.slice(slash);
  const out: KeyringCredential[] = [];
  for (const key of keyring.keys) {
    const keySlash = key.indexOf('/');
    const keyHost = keySlash === -1 ? key : key.slice(0, keySlash);
    const keyPath = keySlash === -1 ? '' : key.slice(keySlash);
    const sameHost = hub ? keyHost === 'docker.io' || keyHost === 'index.docker.io' : keyHost === host;
    if (sameHost && repository.startsWith(keyPath)) out.push(...keyring.credentialsForKey(key));
  }
  return out;
}

/** Runs `docker-credential-<name> get` with the server URL on stdin; `undefined` when it has none. */
export function runCredentialHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 10000): Promise<{ username: string; password: string } | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    return Promise.reject(new CredentialHelperError(`credential helper name ${JSON.stringify(helper)} is not a plain program name`));
  }
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { timeout: timeoutMs, maxBuffer: 1024 * 1024, env }, (error, stdout) => {
      if (error) {
        // Helpers print "credentials not found in native keychain" when they have nothing.
        if (/not found/i.test(String(stdout))) return resolve(undefined);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(new CredentialHelperError(`${program} is configured in your Docker config but is not on PATH; install it or remove it from credHelpers/credsStore`));
        }
        return reject(new CredentialHelperError(`${program} get failed for ${serverUrl} (${error.killed ? 'timed out' : `exit code ${String(error.code)}`})`));
      }
      let data: { Username?: unknown; Secret?: unknown };
      try {
        data = JSON.parse(String(stdout));
      } catch {
        return reject(new CredentialHelperError(`${program} get printed something that is not JSON for ${serverUrl}`));
      }
      if (typeof data.Secret !== 'string' || data.Secret === '') return resolve(undefined);
      resolve({ username: typeof data.Username === 'string' ? data.Username : '', password: data.Secret });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(serverUrl);
  });
}

/**
 * The credentials of a developer or CI machine: `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`, looked up per host as the Docker CLI does, the exact host only:
 * `credHelpers[host]` (for Docker Hub: `https://index.docker.io/v1/`, `index.docker.io` or
 * `docker.io`), then `credsStore` asked for the host (Hub: `https://index.docker.io/v1/`), then
 * the `auths` entries naming that host ({@link exactHostCredentials}).
 */
export class DockerConfigCredentials implements RegistryCredentialProvider {
  /**
   * Reads the Docker config of this environment (`DOCKER_CONFIG`, else `HOME/.docker`).
   * A missing file means no credentials.
   */
  public static fromEnvironment(env: NodeJS.ProcessEnv = process.env): DockerConfigCredentials {
    const dir = env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker');
    return DockerConfigCredentials.fromFile(path.join(dir, 'config.json'), true, env);
  }

  /**
   * Reads a Docker config file; `optional` makes a missing file an empty config. Credential
   * helpers run with `env` (their PATH and whatever else they need).
   */
  public static fromFile(file: string, optional = false, env: NodeJS.ProcessEnv = process.env): DockerConfigCredentials {
    if (optional && !fs.existsSync(file)) return new DockerConfigCredentials(file, {}, env);
    // Regular files only, capped: a FIFO or a device where the config should be must not hang `kubepin lock`.
    const text = readRegularFile(file, MAX_DOCKER_CONFIG_BYTES);
    if (typeof text !== 'string') throw new DockerConfigError(`${file}: cannot read the Docker config: ${text.problem.replace(/^cannot read: /, '')}`);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new DockerConfigError(`${file}: not valid JSON; fix the file or point DOCKER_CONFIG elsewhere`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new DockerConfigError(`${file}: a Docker config must be a JSON object`);
    }
    return new DockerConfigCredentials(file, data as Record<string, unknown>, env);
  }

  private readonly keyring = new CredentialKeyring();
  private readonly credHelpers: Record<string, string>;
  private readonly credsStore?: string;
  private readonly helperCache = new Map<string, Promise<RegistryCredential | undefined>>();

  private constructor(
    /** The config file read. */
    public readonly file: string,
    config: Record<string, unknown>,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    if (config.auths !== undefined) this.keyring.add(file, { auths: config.auths as Record<string, never> });
    const helpers = config.credHelpers;
    this.credHelpers = typeof helpers === 'object' && helpers !== null && !Array.isArray(helpers) ? (helpers as Record<string, string>) : {};
    this.credsStore = typeof config.credsStore === 'string' && config.credsStore !== '' ? config.credsStore : undefined;
  }

  public async credentialsFor(name: string, host: string): Promise<RegistryCredential[]> {
    const hub = isDockerHubHost(host);
    const keys = hub ? DOCKER_HUB_KEYS : [host, `https://${host}`, `http://${host}`];
    for (const key of keys) {
      const helper = this.credHelpers[key];
      if (typeof helper === 'string' && helper !== '') {
        const found = await this.fromHelper(helper, key);
        return found ? [found] : [];
      }
    }
    if (this.credsStore) {
      for (const key of hub ? DOCKER_HUB_KEYS.slice(0, 1) : [host]) {
        const found = await this.fromHelper(this.credsStore, key);
        if (found) return [found];
      }
    }
    return exactHostCredentials(this.keyring, name, host).map(({ username, password }) => ({ source: this.file, username, password }));
  }

  private fromHelper(helper: string, serverUrl: string): Promise<RegistryCredential | undefined> {
    const key = `${helper}\0${serverUrl}`;
    let pending = this.helperCache.get(key);
    if (!pending) {
      pending = runCredentialHelper(helper, serverUrl, this.env).then((c) => (c ? { source: `docker-credential-${helper}`, ...c } : undefined));
      this.helperCache.set(key, pending);
    }
    return pending;
  }
}

/**
 * Credentials from `.dockerconfigjson` payloads (`--docker-config` files, pull Secrets) for
 * the registry client: only keys naming the contacted host exactly ({@link exactHostCredentials}),
 * most specific path first.
 */
export class KeyringCredentials implements RegistryCredentialProvider {
  constructor(private readonly keyring: CredentialKeyring) {}

  public async credentialsFor(name: string, host: string): Promise<RegistryCredential[]> {
    return exactHostCredentials(this.keyring, name, host).map(({ source, username, password }) => ({ source, username, password }));
  }
}

/** Several providers in priority order; their credentials are concatenated (duplicates dropped). */
export class ChainedCredentials implements RegistryCredentialProvider {
  private readonly providers: RegistryCredentialProvider[];

  constructor(...providers: RegistryCredentialProvider[]) {
    this.providers = providers;
  }

  public async credentialsFor(name: string, host: string): Promise<RegistryCredential[]> {
    const out: RegistryCredential[] = [];
    const seen = new Set<string>();
    for (const provider of this.providers) {
      for (const credential of await provider.credentialsFor(name, host)) {
        const id = `${credential.username}\0${credential.password}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(credential);
      }
    }
    return out;
  }
}
