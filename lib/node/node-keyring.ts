import { describeType } from '../util/errors';
import { readRegularFile } from '../util/fs/read-regular-file';
import { DockerConfigError, MAX_DOCKER_CONFIG_BYTES } from '../core/credentials/docker-config';
import { CredentialKeyring, KeyringMatch } from '../core/credentials/keyring';
import { CredentialProviderConfig, NodeConfigProblem } from './credential-provider-types';
import { LoadedCredentialProviderConfig, loadCredentialProviderConfig, providersForImage } from './credential-provider-validate';
import { NodeConfigError, imageLookupName } from './match-images';

/** The three places the kubelet takes pull credentials from, in the order it tries them. */
export type CredentialStage = 'pod-secret' | 'node-config' | 'credential-provider';

/** One credential the kubelet will try for an image. Never holds a password. */
export interface PredictedCredential {
  /** Where it comes from. */
  readonly stage: CredentialStage;
  /** The Secret name, the config.json path, or the provider (plugin) name. */
  readonly source: string;
  /** The config key (pod secret, node config) or the `matchImages` pattern (provider) that matched. */
  readonly key: string;
  /** The user name, for pod secrets and node config.json (a provider's is known only when it runs). */
  readonly username?: string;
}

/** Options of {@link nodeKeyring}. */
export interface NodeKeyringOptions {
  /** The pod's pull secrets, already in a keyring (its sources name the Secrets). @default - none */
  readonly podSecrets?: CredentialKeyring;
  /** Path(s) of node config.json files (as `kubepin check --node-config`). @default - none */
  readonly nodeConfig?: string | readonly string[];
  /** Path of the kubelet's `--image-credential-provider-config` file or directory. @default - none */
  readonly credentialProviderConfig?: string;
  /** An already parsed CredentialProviderConfig, instead of a path. @default - none */
  readonly credentialProviders?: CredentialProviderConfig;
}

/**
 * What the kubelet will try for each image: pod pull secrets first, then the node's
 * config.json, then the credential-provider plugins whose `matchImages` match (in config
 * order; each plugin's answer is only known when it runs). Built by {@link nodeKeyring}.
 */
export class NodeKeyring {
  /** @internal */
  constructor(
    private readonly podSecrets: CredentialKeyring | undefined,
    private readonly node: CredentialKeyring,
    private readonly providers: CredentialProviderConfig | undefined,
    /** Problems found reading the node files (with file and line); errors mean the kubelet would not use that file. */
    public readonly problems: NodeConfigProblem[],
  ) {}

  /**
   * The credentials the kubelet tries for `image`, in order. Empty means an anonymous pull.
   * When the list is not empty and every entry fails, the kubelet does NOT retry anonymously.
   * @throws NodeConfigError when `image` does not parse.
   */
  public lookup(image: string): PredictedCredential[] {
    const name = imageLookupName(image);
    const fromKeyring = (stage: CredentialStage, matches: KeyringMatch[]): PredictedCredential[] =>
      matches.map((m) => ({ stage, source: m.source, key: m.key, username: m.username }));
    return [
      ...fromKeyring('pod-secret', this.podSecrets?.lookupName(name) ?? []),
      ...fromKeyring('node-config', this.node.lookupName(name)),
      ...(this.providers ? providersForImage(this.providers, name).map((p) => ({ stage: 'credential-provider' as const, source: p.provider, key: p.pattern })) : []),
    ];
  }

  /** The credential-provider plugins configured (empty without a config). */
  public get providerNames(): string[] {
    return this.providers ? this.providers.providers.map((p) => p.name) : [];
  }
}

/**
 * Reads the node-side credential files the kubelet would use and returns a {@link NodeKeyring}
 * that predicts which credentials it tries per image. Unreadable or invalid files become
 * `problems` (and contribute nothing, as on a node); a missing path throws.
 * @throws NodeConfigError when a path does not exist.
 */
export function nodeKeyring(options: NodeKeyringOptions = {}): NodeKeyring {
  const problems: NodeConfigProblem[] = [];
  const node = new CredentialKeyring();
  const files = options.nodeConfig === undefined ? [] : typeof options.nodeConfig === 'string' ? [options.nodeConfig] : [...options.nodeConfig];
  for (const file of files) problems.push(...addNodeDockerConfigFile(node, file));
  let providers = options.credentialProviders;
  if (options.credentialProviderConfig !== undefined) {
    const loaded: LoadedCredentialProviderConfig = loadCredentialProviderConfig(options.credentialProviderConfig);
    problems.push(...loaded.problems);
    // The kubelet refuses to start with an invalid provider config: predict no providers then.
    if (!loaded.problems.some((p) => p.severity === 'error')) providers = loaded.config;
  }
  return new NodeKeyring(options.podSecrets, node, providers, problems);
}

/**
 * Adds a node config.json to `keyring` as the kubelet reads it: only `auths` counts
 * (`credsStore`, `credHelpers` are ignored); a malformed entry makes the kubelet ignore the
 * whole file. Returns the problems (never a secret).
 * @throws NodeConfigError when the file does not exist or cannot be read.
 */
export function addNodeDockerConfigFile(keyring: CredentialKeyring, file: string): NodeConfigProblem[] {
  const text = readRegularFile(file, MAX_DOCKER_CONFIG_BYTES);
  if (typeof text !== 'string') throw new NodeConfigError(`${file}: cannot read the node config.json (${text.problem.replace(/^cannot read: /, '')})`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [{ severity: 'error', path: '', file, message: 'not valid JSON; the kubelet ignores this file' }];
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return [{ severity: 'error', path: '', file, message: `must be a JSON object with "auths", got ${describeType(data)}; the kubelet ignores this file` }];
  }
  const record = data as Record<string, unknown>;
  const problems: NodeConfigProblem[] = [];
  for (const field of ['credsStore', 'credHelpers'] as const) {
    if (record[field] !== undefined) problems.push({ severity: 'warning', path: field, file, message: `"${field}" is ignored by the kubelet, which reads only "auths"; registries served only by it get no node credential` });
  }
  if (record.auths === undefined) {
    problems.push({ severity: 'warning', path: 'auths', file, message: 'has no "auths"; the kubelet finds no credential in this file' });
    return problems;
  }
  try {
    // add() reads every entry before adding any, so a bad entry adds nothing, as on a node.
    keyring.add(file, { auths: record.auths } as never);
  } catch (e) {
    if (!(e instanceof DockerConfigError)) throw e;
    problems.push({ severity: 'error', path: 'auths', file, message: `${e.message.replace(`${file}: `, '')} (the kubelet then ignores the whole file)` });
  }
  return problems;
}
