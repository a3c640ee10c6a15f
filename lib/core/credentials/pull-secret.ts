import * as path from 'path';
import { KubepinError, KubepinUsageError, describeType } from '../../util/errors';
import { DNS_SUBDOMAIN } from '../names/k8s-names';
import { Credential, DockerConfigError, MAX_DOCKER_CONFIG_BYTES, buildDockerConfigJson, readDockerConfig } from './docker-config';
import { readRegularFile } from '../../util/fs/read-regular-file';
import { normalizeConfigKey } from './keyring';
import { JsonObject } from '../objects/pod-templates';

/** A pull Secret the cluster has (or the app creates), and the registries it serves. */
export interface PullSecretDeclaration {
  /** The Secret's name, as pods reference it in `imagePullSecrets`. */
  readonly name: string;
  /** Registry keys it holds credentials for, in kubelet form: `ghcr.io`, `ghcr.io/acme`, `*.azurecr.io`. */
  readonly registries: readonly string[];
  /** The namespace the Secret lives in; pods elsewhere cannot use it. @default every namespace */
  readonly namespace?: string;
  /** The Secret lives in the cluster, not in the output: pods listing it get the kubepin.dev/existing-pull-secrets annotation, which `kubepin check` reads. @default false */
  readonly existing?: boolean;
}

/** A ServiceAccount whose `imagePullSecrets` the kubelet copies into pods that list none. */
export interface ServiceAccountPullSecrets {
  /** The ServiceAccount's name. */
  readonly name: string;
  /** Its namespace. @default "default" */
  readonly namespace?: string;
  /** Names of the pull secrets it lists (declared in `pullSecrets` to be matched to images). */
  readonly pullSecrets: readonly string[];
}

/** Annotation on every Secret kubepin writes, saying where its credential came from (never the credential). */
export const CREDENTIAL_SOURCE_ANNOTATION = 'kubepin.dev/credential-source';
/** Annotation on Secrets that carry a credential written in the program text (`unsafePlaintext`). */
export const PLAINTEXT_WARNING_ANNOTATION = 'kubepin.dev/warning';
/** The Secret type the kubelet reads `.auths` from. */
export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';

/** A pull secret's definition is wrong (missing environment variable, literal password, bad file…). Never contains a credential. */
export class PullSecretError extends KubepinError {}

/** One registry's credential for {@link DockerConfigAuths}: the password comes from the environment unless `unsafePlaintext`. */
export interface RegistryCredentials {
  /** Registry key in kubelet form: `ghcr.io`, `ghcr.io/acme`, `*.azurecr.io`, `https://index.docker.io/v1/`. */
  readonly registry: string;
  /** User name (for token registries often a fixed word such as `oauth2accesstoken`). */
  readonly username: string;
  /** Name of the environment variable that holds the password or token, read at synth time. @default none: `password` must be given */
  readonly passwordEnv?: string;
  /** A literal password. Refused unless `unsafePlaintext` is true, because it ends up in source control. @default none */
  readonly password?: string;
  /** Allow `password` as a literal; the Secret then carries a warning annotation. @default false */
  readonly unsafePlaintext?: boolean;
}

/**
 * Typed builder of a `.dockerconfigjson` payload. It writes the outer `auths` key that
 * hand-written payloads forget (cdk8s-plus #1243), checks each registry key the way the
 * kubelet parses it, and never puts a credential in an error message.
 *
 * @example
 * const payload = new DockerConfigAuths()
 *   .add({ registry: 'ghcr.io', username: 'bot', passwordEnv: 'GHCR_TOKEN' })
 *   .toJson(); // { auths: { 'ghcr.io': { username, password, auth } } }
 */
export class DockerConfigAuths {
  private readonly entries: Record<string, Credential> = {};
  private plaintext = false;
  private readonly sources: string[] = [];

  /**
   * @param env where `passwordEnv` variables are read. @default process.env
   */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /**
   * Adds (or replaces) the credential for one registry key.
   * @throws PullSecretError for an unparseable key, a missing variable, or a literal password without `unsafePlaintext`.
   */
  public add(credentials: RegistryCredentials, where = 'DockerConfigAuths'): this {
    if (typeof credentials !== 'object' || credentials === null) {
      throw new KubepinUsageError(`${where}: credentials must be an object { registry, username, passwordEnv }, got ${describeType(credentials)}`);
    }
    const { registry, username } = credentials;
    if (typeof registry !== 'string' || normalizeConfigKey(registry) === undefined) {
      throw new PullSecretError(`${where}: registry ${JSON.stringify(registry)} is not a registry key the kubelet can parse. Fix: use a host such as "ghcr.io" or "ghcr.io/acme"`);
    }
    if (typeof username !== 'string') {
      throw new PullSecretError(`${where}: username for ${registry} must be a string, got ${describeType(username)}`);
    }
    this.entries[registry] = { username, password: this.password(credentials, where) };
    return this;
  }

  /**
   * Adds a credential already read from somewhere safe (a Docker config file, a vault client).
   * @param source where it came from, for the source annotation, e.g. `file:config.json`.
   */
  public addCredential(registry: string, credential: Credential, source: string, where = 'DockerConfigAuths'): this {
    if (typeof registry !== 'string' || normalizeConfigKey(registry) === undefined) {
      throw new PullSecretError(`${where}: registry ${JSON.stringify(registry)} is not a registry key the kubelet can parse. Fix: use a host such as "ghcr.io" or "ghcr.io/acme"`);
    }
    if (typeof credential !== 'object' || credential === null || typeof credential.username !== 'string' || typeof credential.password !== 'string') {
      throw new PullSecretError(`${where}: the credential for ${registry} needs a string username and password`);
    }
    this.entries[registry] = { username: credential.username, password: credential.password };
    this.sources.push(source);
    return this;
  }

  /** True when some entry holds a literal password (`unsafePlaintext`). */
  public get hasPlaintext(): boolean {
    return this.plaintext;
  }

  /** Where the credentials came from, e.g. `env:GHCR_TOKEN`, `plaintext`: for the source annotation. */
  public get credentialSources(): readonly string[] {
    return [...new Set(this.sources)].sort();
  }

  /** The registry keys added, sorted. */
  public get registries(): string[] {
    return Object.keys(this.entries).sort();
  }

  /** The payload: `{ auths: { <registry>: { username, password, auth } } }`, keys sorted. */
  public toJson(): ReturnType<typeof buildDockerConfigJson> {
    return buildDockerConfigJson(this.entries);
  }

  private password(c: RegistryCredentials, where: string): string {
    const hasEnv = c.passwordEnv !== undefined;
    const hasLiteral = c.password !== undefined;
    if (hasEnv === hasLiteral) {
      throw new PullSecretError(`${where}: give exactly one of passwordEnv and password for ${c.registry}. Fix: set passwordEnv to the name of an environment variable holding the token`);
    }
    if (hasLiteral) {
      if (c.unsafePlaintext !== true) {
        throw new PullSecretError(`${where}: a literal password for ${c.registry} would be committed with the source and the YAML. Fix: use passwordEnv (read at synth time), fromExistingSecret or fromExternalSecret; or set unsafePlaintext: true to accept the risk`);
      }
      if (typeof c.password !== 'string') throw new PullSecretError(`${where}: password for ${c.registry} must be a string, got ${describeType(c.password)}`);
      this.plaintext = true;
      this.sources.push('plaintext');
      return c.password;
    }
    if (typeof c.passwordEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.passwordEnv)) {
      throw new PullSecretError(`${where}: passwordEnv for ${c.registry} must be an environment variable name, got ${JSON.stringify(c.passwordEnv)}`);
    }
    const value = this.env[c.passwordEnv];
    if (value === undefined || value === '') {
      throw new PullSecretError(`${where}: environment variable ${c.passwordEnv} (password for ${c.registry}) is not set or empty. Fix: export ${c.passwordEnv} before synth, or use fromExistingSecret to reference a Secret the cluster already has`);
    }
    this.sources.push(`env:${c.passwordEnv}`);
    return value;
  }
}

/** Where a pull secret comes from; one variant per `RegistryPullSecret.fromXxx` factory. */
export type PullSecretSource =
  | ExistingPullSecretSource
  | ExternalPullSecretSource
  | DockerConfigFilePullSecretSource
  | CredentialsPullSecretSource;

/** A Secret the cluster already has: nothing secret in the output. */
export interface ExistingPullSecretSource {
  /** Discriminator. */
  readonly type: 'existing';
  /** The Secret's name. */
  readonly name: string;
  /** Registry keys it serves (kubelet form). */
  readonly registries: readonly string[];
  /** The Secret's namespace. @default every namespace (pods anywhere may use it) */
  readonly namespace?: string;
}

/** An external-secrets.io `ExternalSecret` that yields a `kubernetes.io/dockerconfigjson` Secret. */
export interface ExternalPullSecretSource {
  /** Discriminator. */
  readonly type: 'external';
  /** Name of the Secret the operator creates (and of the ExternalSecret). */
  readonly name: string;
  /** Registry keys it serves (kubelet form). */
  readonly registries: readonly string[];
  /** The SecretStore or ClusterSecretStore to read from. */
  readonly secretStore: { readonly name: string; readonly kind?: 'SecretStore' | 'ClusterSecretStore' };
  /**
   * What to read: `remoteKey` holding a whole `.dockerconfigjson` document (with `property`
   * when it is one field of the remote secret), or `username`/`password` remote refs from
   * which the template builds `auths` for every registry key.
   */
  readonly remote:
    | { readonly key: string; readonly property?: string }
    | { readonly username: { readonly key: string; readonly property?: string }; readonly password: { readonly key: string; readonly property?: string } };
  /** How often the operator refreshes. @default '1h' */
  readonly refreshInterval?: string;
  /** Namespace of the ExternalSecret and the Secret. @default the chart's / stack's namespace (none written) */
  readonly namespace?: string;
  /** apiVersion of the ExternalSecret. @default 'external-secrets.io/v1beta1' */
  readonly apiVersion?: string;
}

/** A Docker config file read at synth time (e.g. one written by `docker login` in CI). */
export interface DockerConfigFilePullSecretSource {
  /** Discriminator. */
  readonly type: 'dockerConfigFile';
  /** Name of the Secret to create. */
  readonly name: string;
  /** Path of the config.json. */
  readonly path: string;
  /** Registry keys to copy from the file. @default every key under `auths` */
  readonly registries?: readonly string[];
  /** Namespace of the Secret. @default none written */
  readonly namespace?: string;
}

/** Credentials given in code, the password from an environment variable. */
export interface CredentialsPullSecretSource {
  /** Discriminator. */
  readonly type: 'credentials';
  /** Name of the Secret to create. */
  readonly name: string;
  /** One entry per registry key. */
  readonly credentials: readonly RegistryCredentials[];
  /** Namespace of the Secret. @default none written */
  readonly namespace?: string;
}

/** What {@link buildPullSecret} returns. */
export interface PullSecretBuild {
  /** What the policy engine needs: the name and the registries served. */
  readonly declaration: PullSecretDeclaration;
  /** Kubernetes objects to add to the output (a Secret, an ExternalSecret, or none). */
  readonly objects: JsonObject[];
}

/** Options of {@link buildPullSecret}. */
export interface BuildPullSecretOptions {
  /** Prefix of error messages: a construct path or resource name. @default 'pull secret <name>' */
  readonly where?: string;
  /** Where `passwordEnv` is read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory a relative `path` is resolved against. @default process.cwd() */
  readonly baseDir?: string;
}


/**
 * Builds the Kubernetes objects and the policy declaration for one pull secret. Both faces
 * call this, so a cdk8s app and a Pulumi program produce the same objects.
 * @throws PullSecretError (never containing a credential) when the definition is wrong.
 */
export function buildPullSecret(source: PullSecretSource, options: BuildPullSecretOptions = {}): PullSecretBuild {
  if (typeof source !== 'object' || source === null) {
    throw new KubepinUsageError(`buildPullSecret(source) takes a pull secret source object, got ${describeType(source)}`);
  }
  const where = options.where ?? `pull secret ${JSON.stringify(source.name)}`;
  if (typeof source.name !== 'string' || source.name.length > 253 || !DNS_SUBDOMAIN.test(source.name)) {
    throw new PullSecretError(`${where}: Secret name ${JSON.stringify(source.name)} is not a valid Kubernetes name (lowercase letters, digits, "-" and "."). Fix: use a name such as "ghcr-pull"`);
  }
  const namespace = source.namespace;
  const declare = (registries: readonly string[]): PullSecretDeclaration => ({
    name: source.name,
    registries: checkRegistries(registries, where),
    ...(namespace !== undefined ? { namespace } : {}),
  });
  switch (source.type) {
    case 'existing':
      return { declaration: { ...declare(source.registries), existing: true }, objects: [] };
    case 'external':
      return { declaration: declare(source.registries), objects: [externalSecret(source, checkRegistries(source.registries, where), where)] };
    case 'dockerConfigFile': {
      const { auths, registries } = fromFile(source, options, where);
      const secret = dockerConfigSecret(source.name, namespace, auths.toJson(), auths.credentialSources.join(','), false);
      return { declaration: declare(registries), objects: [secret] };
    }
    case 'credentials': {
      if (!Array.isArray(source.credentials) || source.credentials.length === 0) {
        throw new PullSecretError(`${where}: give at least one { registry, username, passwordEnv } entry`);
      }
      const auths = new DockerConfigAuths(options.env);
      for (const c of source.credentials) auths.add(c, where);
      const secret = dockerConfigSecret(source.name, namespace, auths.toJson(), auths.credentialSources.join(','), auths.hasPlaintext);
      return { declaration: declare(auths.registries), objects: [secret] };
    }
    default:
      throw new KubepinUsageError(`${where}: unknown pull secret source type ${JSON.stringify((source as { type?: unknown }).type)}`);
  }
}

function checkRegistries(registries: readonly string[], where: string): string[] {
  if (!Array.isArray(registries) || registries.length === 0) {
    throw new PullSecretError(`${where}: list the registries the secret serves, e.g. registries: ["ghcr.io"]; the policy attaches it only to pods pulling from them`);
  }
  for (const r of registries) {
    const key = typeof r === 'string' ? normalizeConfigKey(r) : undefined;
    if (key === undefined) {
      throw new PullSecretError(`${where}: registry ${JSON.stringify(r)} is not a registry key the kubelet can parse. Fix: use a host such as "ghcr.io" or "ghcr.io/acme"`);
    }
    // The kubelet accepts a key with no host, and it matches no image: the secret would serve no pod.
    if (key === '') {
      throw new PullSecretError(`${where}: registry ${JSON.stringify(r)} names no host, so it matches no image and the secret would be attached to no pod. Fix: use a host such as "ghcr.io" or "ghcr.io/acme"`);
    }
  }
  return [...registries];
}

function dockerConfigSecret(name: string, namespace: string | undefined, payload: object, source: string, plaintext: boolean): JsonObject {
  const annotations: Record<string, string> = { [CREDENTIAL_SOURCE_ANNOTATION]: source };
  if (plaintext) {
    annotations[PLAINTEXT_WARNING_ANNOTATION] = 'contains a credential written in plain text in the program (unsafePlaintext); rotate it and switch to passwordEnv, fromExistingSecret or fromExternalSecret';
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), annotations },
    type: DOCKER_CONFIG_JSON_TYPE,
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(payload), 'utf8').toString('base64') },
  };
}

function fromFile(source: DockerConfigFilePullSecretSource, options: BuildPullSecretOptions, where: string): { auths: DockerConfigAuths; registries: string[] } {
  if (typeof source.path !== 'string' || source.path === '') {
    throw new PullSecretError(`${where}: path must name a Docker config file such as ~/.docker/config.json`);
  }
  const file = path.resolve(options.baseDir ?? process.cwd(), source.path);
  const text = readRegularFile(file, MAX_DOCKER_CONFIG_BYTES);
  if (typeof text !== 'string') {
    const problem = text.problem.replace(/^cannot read: /, '');
    throw new PullSecretError(`${where}: cannot read Docker config ${file}: ${problem}${problem.includes('Fix:') ? '' : '. Fix: run `docker login` (or write the file) before synth, or point path at the right file'}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // The parser's message can quote the file's content: keep it out.
    throw new PullSecretError(`${where}: ${file} is not valid JSON. Fix: check the file written by \`docker login\``);
  }
  let entries: Map<string, Credential>;
  try {
    entries = readDockerConfig(data, file);
  } catch (e) {
    if (e instanceof DockerConfigError) throw new PullSecretError(`${where}: ${e.message}`);
    throw e;
  }
  const wanted = source.registries;
  const keys = [...entries.keys()].filter((k) => wanted === undefined || wanted.includes(k)).sort();
  if (wanted) {
    const missing = wanted.filter((k) => !entries.has(k));
    if (missing.length > 0) {
      throw new PullSecretError(`${where}: ${file} has no "auths" entry for ${missing.join(', ')} (it has ${[...entries.keys()].sort().join(', ') || 'none'}). Fix: log in to that registry, or fix registries`);
    }
  }
  if (keys.length === 0) {
    throw new PullSecretError(`${where}: ${file} has no credentials under "auths"; the kubelet ignores credsStore and credHelpers. Fix: log in with a config that stores credentials in the file (e.g. DOCKER_CONFIG=$(mktemp -d) docker login …)`);
  }
  const auths = new DockerConfigAuths();
  // Re-build through the typed builder so the Secret gets the same canonical form as the other sources.
  for (const k of keys) auths.addCredential(k, entries.get(k)!, `file:${path.basename(file)}`, where);
  return { auths, registries: keys };
}

function externalSecret(source: ExternalPullSecretSource, registries: string[], where: string): JsonObject {
  const store = source.secretStore;
  if (typeof store !== 'object' || store === null || typeof store.name !== 'string' || store.name === '') {
    throw new PullSecretError(`${where}: secretStore needs a name, e.g. { name: "vault", kind: "ClusterSecretStore" }`);
  }
  const remote = source.remote as Record<string, unknown>;
  let data: JsonObject[];
  let payload: string;
  const ref = (r: { key: string; property?: string }, what: string): JsonObject => {
    if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || r.key === '') {
      throw new PullSecretError(`${where}: remote ${what} needs a key naming the secret in the store`);
    }
    return { key: r.key, ...(r.property !== undefined ? { property: r.property } : {}) };
  };
  if (remote && 'key' in remote) {
    data = [{ secretKey: 'dockerconfigjson', remoteRef: ref(remote as { key: string; property?: string }, 'key') }];
    payload = '{{ .dockerconfigjson | toString }}';
  } else if (remote && 'username' in remote && 'password' in remote) {
    data = [
      { secretKey: 'username', remoteRef: ref(remote.username as { key: string }, 'username') },
      { secretKey: 'password', remoteRef: ref(remote.password as { key: string }, 'password') },
    ];
    // One auths entry per registry key, built by the operator's template engine: the
    // credential never passes through the synthesized YAML. toJson quotes and escapes values.
    const entries = registries.map((r) => `${JSON.stringify(r)}:{"username":{{ .username | toJson }},"password":{{ .password | toJson }},"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}`);
    payload = `{"auths":{${entries.join(',')}}}`;
  } else {
    throw new PullSecretError(`${where}: remote must be { key } (a whole .dockerconfigjson) or { username: { key }, password: { key } }`);
  }
  return {
    apiVersion: source.apiVersion ?? 'external-secrets.io/v1beta1',
    kind: 'ExternalSecret',
    metadata: { name: source.name, ...(source.namespace !== undefined ? { namespace: source.namespace } : {}) },
    spec: {
      refreshInterval: source.refreshInterval ?? '1h',
      secretStoreRef: { name: store.name, kind: store.kind ?? 'SecretStore' },
      target: {
        name: source.name,
        creationPolicy: 'Owner',
        template: { type: DOCKER_CONFIG_JSON_TYPE, engineVersion: 'v2', data: { '.dockerconfigjson': payload } },
      },
      data,
    },
  };
}
