import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../core/credentials/keyring';
import { DockerConfigError } from '../core/credentials/docker-config';
import { KubepinUsageError, describeType } from '../util/errors';
import { ProjectConfigError, loadProjectConfig, projectConfigBeside } from '../core/config/project-config';
import { LOCK_FILE_NAME } from '../core/lock/image-lock';
import { ManifestDocument } from '../core/manifests/manifests';
import { RegistryClient, RegistryClientOptions, checkMirrorHost } from '../registry/client';
import { parsePlatform } from '../registry/manifest-verification';
import { ChainedCredentials, DockerConfigCredentials, KeyringCredentials, RegistryCredentialProvider } from '../registry/credentials';
import { OUTPUT_FLAGS, outputFlagsHelp } from './output-flags';
import { FlagSpecs, FlagValues, HELP_FLAG, TRANSPORT_FLAGS, parseFlags, readCaFile, secondsFlag, wholeNumberFlag } from './options';

/** `util.parseArgs` option specs shared by `kubepin lock` and `kubepin verify`. */
export const REGISTRY_FLAG_SPECS = {
  'lock-file': { type: 'string' },
  platform: { type: 'string', multiple: true },
  'docker-config': { type: 'string', multiple: true },
  'no-docker-login': { type: 'boolean' },
  ...TRANSPORT_FLAGS,
  mirror: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  ...OUTPUT_FLAGS,
  ...HELP_FLAG,
} as const;

/** Help lines for {@link REGISTRY_FLAG_SPECS}. */
export const REGISTRY_FLAGS_HELP = `  --lock-file PATH             the lock file (default: kubepin.lock.json in the working directory)
  --docker-config PATH         a .dockerconfigjson payload with registry credentials (repeatable);
                               tried before the Docker config of this machine
  --no-docker-login            do not read this machine's login files (podman/skopeo auth.json:
                               $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then
                               ~/.config/containers/auth.json; then $DOCKER_CONFIG/config.json or
                               ~/.docker/config.json)
  --ca-file PATH               trust this CA (PEM) for registry TLS, on top of the system CAs
  --insecure-registry HOST     allow plain HTTP (and unverified TLS) for HOST (repeatable);
                               loopback hosts (127.0.0.1, localhost) always may use plain HTTP
  --mirror REGISTRY=MIRROR     resolve REGISTRY's images through MIRROR, record them under REGISTRY
                               (e.g. docker.io=mirror.example:5000; repeatable); kubepin.config.json's
                               "mirrors" sets them for every run
  --concurrency N              requests in flight per registry host (default 16)
  --timeout SECONDS            per-request timeout (default 10)
  --retries N                  retries on 5xx, 408, 429, resets and timeouts (default 3)
${outputFlagsHelp(['text', 'json'])}
  -h, --help                   show this help`;

/** The values `util.parseArgs` produced for {@link REGISTRY_FLAG_SPECS}. */
export type RegistryFlagValues = FlagValues<typeof REGISTRY_FLAG_SPECS>;

/** Parses the shared flags plus `extra`; bad flags become {@link KubepinUsageError}. */
export function parseRegistryFlags<E extends FlagSpecs>(
  args: readonly string[],
  extra: E,
): { values: RegistryFlagValues & FlagValues<E>; positionals: string[] } {
  return parseFlags(args, { ...REGISTRY_FLAG_SPECS, ...extra }) as { values: RegistryFlagValues & FlagValues<E>; positionals: string[] };
}

/** Validated platforms of `--platform`. */
export function platformsFromFlags(values: RegistryFlagValues): string[] {
  const platforms = values.platform ?? [];
  for (const p of platforms) parsePlatform(p);
  return [...new Set(platforms)].sort();
}

/**
 * Builds the client the flags describe. Credentials, in order: `--docker-config` files and
 * pull Secrets found in `documents` (together, with the kubelet's matching rules), then this
 * machine's login files unless `--no-docker-login`: podman/skopeo's auth.json files, then the
 * Docker config, in the order containers-auth.json(5) reads them (each: credHelpers → credsStore → auths).
 */
export function registryClientFromFlags(values: RegistryFlagValues, cwd: string, env: NodeJS.ProcessEnv, documents: readonly ManifestDocument[] = []): RegistryClient {
  const keyring = new CredentialKeyring();
  for (const file of values['docker-config'] ?? []) {
    const full = path.resolve(cwd, file);
    let payload: unknown;
    try {
      payload = JSON.parse(fs.readFileSync(full, 'utf8'));
    } catch (e) {
      throw new DockerConfigError(`--docker-config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not a readable JSON .dockerconfigjson payload'}`);
    }
    keyring.add(file, payload);
  }
  if (documents.some((d) => d.object.kind === 'Secret')) {
    // Loaded here: most runs have no Secrets to read, and start-up time is part of every run.
    const { readPullSecretObject } = require('../check/pull-secrets') as typeof import('../check/pull-secrets');
    for (const doc of documents) {
      const secret = readPullSecretObject(doc.object);
      if (secret?.config === undefined || secret.error) continue;
      try {
        keyring.add(`Secret ${secret.name} (${doc.file})`, secret.config);
      } catch (e) {
        // A malformed secret is `kubepin check`'s finding; here it just provides nothing.
        if (!(e instanceof DockerConfigError)) throw e;
      }
    }
  }
  const providers: RegistryCredentialProvider[] = [new KeyringCredentials(keyring)];
  if (!values['no-docker-login']) providers.push(...machineLoginFiles(env).map((file) => DockerConfigCredentials.fromFile(file, true, env)));
  // kubepin.config.json's "mirrors" (beside the lock file), each overridden by a --mirror for the same registry.
  const mirrors = { ...configuredMirrors(projectConfigBeside(path.resolve(cwd, values['lock-file'] ?? LOCK_FILE_NAME))), ...mirrorsFromFlags(values) };
  const ca = readCaFile(values['ca-file'], cwd);
  const options: RegistryClientOptions = {
    credentials: new ChainedCredentials(...providers),
    ca,
    insecureRegistries: values['insecure-registry'] ?? [],
    mirrors,
    concurrency: wholeNumberFlag(values.concurrency, 'concurrency', 1),
    timeoutMs: values.timeout === undefined ? undefined : secondsFlag(values.timeout, 'timeout')! * 1000,
    retries: wholeNumberFlag(values.retries, 'retries', 0),
  };
  return new RegistryClient(options);
}

/** `--mirror REGISTRY=MIRROR` values as a map. @throws KubepinUsageError for a malformed value */
export function mirrorsFromFlags(values: RegistryFlagValues): Record<string, string> {
  const mirrors: Record<string, string> = {};
  for (const m of values.mirror ?? []) {
    const eq = m.indexOf('=');
    if (eq <= 0 || eq === m.length - 1) throw new KubepinUsageError(`--mirror ${JSON.stringify(m)} must look like REGISTRY=MIRROR, e.g. docker.io=mirror.example:5000`);
    checkMirrorHost(m.slice(0, eq), m.slice(eq + 1));
    mirrors[m.slice(0, eq)] = m.slice(eq + 1);
  }
  return mirrors;
}

/** Checks the flags that need no file access, so usage errors come before any work. */
export function validateRegistryFlags(values: RegistryFlagValues): void {
  mirrorsFromFlags(values);
  wholeNumberFlag(values.concurrency, 'concurrency', 1);
  wholeNumberFlag(values.retries, 'retries', 0);
  secondsFlag(values.timeout, 'timeout');
}

/**
 * The login files of this machine, in the order containers-auth.json(5) searches them (skopeo,
 * podman and buildah read them so): the primary file (`REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`), `$XDG_CONFIG_HOME/containers/auth.json` (default
 * `~/.config`), then Docker's (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`).
 * Missing files are skipped. The legacy `~/.dockercfg` is not read.
 */
export function machineLoginFiles(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? os.homedir();
  const primary = env.REGISTRY_AUTH_FILE ? path.resolve(env.REGISTRY_AUTH_FILE) : env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined;
  const files = [
    ...(primary ? [primary] : []),
    path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'),
    path.join(env.DOCKER_CONFIG ?? path.join(home, '.docker'), 'config.json'),
  ];
  return [...new Set(files)];
}

/**
 * The `mirrors` section of kubepin.config.json (`{ "docker.io": "mirror.example:5000" }`), so
 * `--mirror` need not be repeated on every command.
 * @throws ProjectConfigError for a malformed section
 */
export function configuredMirrors(configFile: string): Record<string, string> {
  const config = loadProjectConfig(configFile);
  const section = config?.data.mirrors;
  if (!config || section === undefined) return {};
  const where = `${config.display}: mirrors`;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new ProjectConfigError(`${where} must be an object mapping a registry to its mirror, e.g. { "docker.io": "mirror.example:5000" }, got ${describeType(section)}`);
  }
  const out: Record<string, string> = {};
  for (const [registry, mirror] of Object.entries(section)) {
    if (typeof mirror !== 'string' || mirror === '' || registry === '') throw new ProjectConfigError(`${where}.${registry}: the mirror must be a host[:port] string, e.g. "mirror.example:5000"`);
    try {
      checkMirrorHost(registry, mirror);
    } catch (e) {
      throw e instanceof KubepinUsageError ? new ProjectConfigError(`${where}: ${e.message}`) : e;
    }
    out[registry] = mirror;
  }
  return out;
}
