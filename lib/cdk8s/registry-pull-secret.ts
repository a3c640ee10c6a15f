import * as path from 'path';
import { ApiObject, Chart, Names } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { PullSecretDeclaration } from '../core/policy/engine';
import {
  ExternalPullSecretSource,
  PullSecretError,
  PullSecretSource,
  RegistryCredentials,
  buildPullSecret,
} from '../core/credentials/pull-secret';
import { JsonObject, isObject } from '../core/objects/pod-templates';
import { PULL_SECRET_SYMBOL, PullSecretConstruct } from './policy-runtime';

type WithOptionalName<T> = T extends { name: string } ? Omit<T, 'name'> & { readonly name?: string } : never;

/** A {@link PullSecretSource} whose `name` may be left out (the construct then generates one). */
export type PullSecretSourceInput = WithOptionalName<PullSecretSource>;

/** Props of {@link RegistryPullSecret}: where the secret comes from. */
export interface RegistryPullSecretProps {
  /** The source: an existing Secret, an ExternalSecret, a Docker config file or credentials. Its `name` defaults to a name generated from the construct path. */
  readonly source: PullSecretSourceInput;
}

/** Options of {@link RegistryPullSecret.fromExistingSecret}. */
export interface ExistingSecretOptions {
  /** Registry keys the Secret holds credentials for (kubelet form: `ghcr.io`, `ghcr.io/acme`, `*.azurecr.io`). */
  readonly registries: readonly string[];
  /** Namespace the Secret lives in. @default every namespace (the policy assumes it exists where pods run) */
  readonly namespace?: string;
}

/** Options of {@link RegistryPullSecret.fromExternalSecret}. */
export interface ExternalSecretOptions extends Omit<ExternalPullSecretSource, 'type' | 'name' | 'namespace'> {
  /** Name of the ExternalSecret and of the Secret it yields. @default the construct's generated name */
  readonly name?: string;
  /** Namespace. @default the chart's namespace */
  readonly namespace?: string;
}

/** Options of {@link RegistryPullSecret.fromDockerConfigFile}. */
export interface DockerConfigFileOptions {
  /** Name of the Secret. @default the construct's generated name */
  readonly name?: string;
  /** Registry keys to copy from the file. @default every key under `auths` */
  readonly registries?: readonly string[];
  /** Namespace. @default the chart's namespace */
  readonly namespace?: string;
}

/** Options of {@link RegistryPullSecret.fromCredentials}. */
export interface CredentialsOptions extends RegistryCredentials {
  /** Name of the Secret. @default the construct's generated name */
  readonly name?: string;
  /** More registries in the same Secret. @default none */
  readonly additional?: readonly RegistryCredentials[];
  /** Namespace. @default the chart's namespace */
  readonly namespace?: string;
}

/**
 * The pull secret a registry needs, serving one or more registry keys matched with the
 * kubelet's rules. An `ImagePolicy` attaches it to every pod whose images it serves (as many
 * secrets per pod as needed), and {@link addToServiceAccount} lists it on a ServiceAccount.
 *
 * Prefer {@link fromExistingSecret} (nothing secret in the YAML) or {@link fromExternalSecret}.
 */
export class RegistryPullSecret extends Construct implements PullSecretConstruct {
  /** A Secret the cluster already has; nothing is synthesized. */
  public static fromExistingSecret(scope: Construct, id: string, name: string, options: ExistingSecretOptions): RegistryPullSecret {
    return new RegistryPullSecret(scope, id, { source: { type: 'existing', name, registries: options?.registries, namespace: options?.namespace } });
  }

  /** An external-secrets.io `ExternalSecret` whose template yields a `kubernetes.io/dockerconfigjson` Secret. */
  public static fromExternalSecret(scope: Construct, id: string, options: ExternalSecretOptions): RegistryPullSecret {
    const { name, namespace, ...rest } = options;
    return new RegistryPullSecret(scope, id, {
      source: { ...rest, type: 'external', name, namespace: namespace ?? Chart.of(scope).namespace },
    });
  }

  /** A Secret built from a Docker config file at synth time (relative paths resolve against the working directory). */
  public static fromDockerConfigFile(scope: Construct, id: string, file: string, options: DockerConfigFileOptions = {}): RegistryPullSecret {
    return new RegistryPullSecret(scope, id, {
      source: {
        type: 'dockerConfigFile',
        name: options.name,
        path: typeof file === 'string' ? path.resolve(file) : file,
        registries: options.registries,
        namespace: options.namespace ?? Chart.of(scope).namespace,
      },
    });
  }

  /**
   * A Secret built from credentials: the password is read from the environment variable
   * `passwordEnv` at synth time. A literal `password` is refused unless `unsafePlaintext`.
   */
  public static fromCredentials(scope: Construct, id: string, options: CredentialsOptions): RegistryPullSecret {
    const { name, namespace, additional, ...first } = options;
    return new RegistryPullSecret(scope, id, {
      source: {
        type: 'credentials',
        name,
        credentials: [first, ...(additional ?? [])],
        namespace: namespace ?? Chart.of(scope).namespace,
      },
    });
  }

  /** True for {@link RegistryPullSecret} constructs. */
  public static isRegistryPullSecret(x: unknown): x is RegistryPullSecret {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PULL_SECRET_SYMBOL] === true;
  }

  /** The Secret's name, as pods list it. */
  public readonly name: string;
  /** The objects synthesized (a Secret or an ExternalSecret; none for an existing Secret). */
  public readonly apiObjects: readonly ApiObject[];
  private readonly built?: PullSecretDeclaration;
  private readonly targets: Array<{ name: string; namespace?: string }> = [];

  constructor(scope: Construct, id: string, props: RegistryPullSecretProps) {
    super(scope, id);
    Object.defineProperty(this, PULL_SECRET_SYMBOL, { value: true });
    const input = props?.source;
    const source = { ...input, name: input?.name ?? Names.toDnsLabel(this) } as PullSecretSource;
    this.name = typeof source.name === 'string' ? source.name : '';
    const objects: ApiObject[] = [];
    try {
      const result = buildPullSecret(source, { where: 'RegistryPullSecret' });
      this.built = result.declaration;
      result.objects.forEach((json, i) => objects.push(new ApiObject(this, i === 0 ? 'Resource' : `Resource${i}`, json as never)));
    } catch (e) {
      if (!(e instanceof PullSecretError) && !(e instanceof Error && e.name === 'KubepinUsageError')) throw e;
      const message = e.message;
      // Reported at synthesis with every other problem, under this construct's path.
      this.node.addValidation({ validate: () => [message] });
    }
    this.apiObjects = objects;
    if (this.built && (source.type === 'credentials' || source.type === 'dockerConfigFile')) this.warnCredentialInOutput();
  }

  /**
   * A Secret built from credentials or a Docker config file carries the real credential in the
   * synthesized YAML: say so at every synthesis (names and registries only, never the secret).
   */
  private warnCredentialInOutput(): void {
    const root = this.node.root as { outdir?: unknown };
    const relative = typeof root.outdir === 'string' ? path.relative(process.cwd(), root.outdir) : undefined;
    const outdir = relative === undefined ? 'the output directory' : relative === '' ? '.' : relative.startsWith('..') ? root.outdir as string : relative;
    const registries = this.built!.registries.join(', ');
    // cdk8s validates the app once in App.synth and again for each chart's toJson: say it once.
    let warned = false;
    this.node.addValidation({
      validate: () => {
        if (warned) return [];
        warned = true;
        process.stderr.write(`kubepin: [${this.node.path}] warning: Secret ${this.name} holds the registry credential for ${registries} in plain base64, and cdk8s writes it to ${outdir}/: do not commit or publish ${outdir}/ (add it to .gitignore), and keep CI artifacts of it private. Fix: use RegistryPullSecret.fromExistingSecret or fromExternalSecret so no credential is synthesized\n`);
        return [];
      },
    });
  }

  /** The name and registries for the policy. @throws when the secret's definition is wrong. */
  public get declaration(): PullSecretDeclaration {
    if (!this.built) throw new PullSecretError(`${this.node.path}: this pull secret is invalid; see the validation error`);
    return this.built;
  }

  /** The declaration, or `undefined` when the definition is wrong (the construct reports that itself). */
  public get declarationOrUndefined(): PullSecretDeclaration | undefined {
    return this.built;
  }

  /** The registry keys served. */
  public get registries(): readonly string[] {
    return this.built?.registries ?? [];
  }

  /** ServiceAccounts listing this secret. */
  public get serviceAccountTargets(): ReadonlyArray<{ readonly name: string; readonly namespace?: string }> {
    return this.targets;
  }

  /**
   * Lists this secret in a ServiceAccount's `imagePullSecrets` (cdk8s-plus has no prop for it):
   * a cdk8s-plus `ServiceAccount` of any major, or a `KubeServiceAccount`.
   * Pods running as that ServiceAccount get it from there; a pod that lists secrets of its own
   * makes the kubelet ignore the ServiceAccount's, so the policy then adds this one to the pod
   * and warns.
   */
  public addToServiceAccount(serviceAccount: IConstruct): void {
    const api: ApiObject = ApiObject.of(serviceAccount);
    if (!ApiObject.isApiObject(api) || api.kind !== 'ServiceAccount') {
      this.node.addValidation({ validate: () => ['addToServiceAccount() takes a cdk8s-plus ServiceAccount or a KubeServiceAccount'] });
      return;
    }
    this.targets.push({ name: api.name, ...(api.metadata.namespace !== undefined ? { namespace: api.metadata.namespace } : {}) });
    addServiceAccountSecret(api, this);
  }
}

const SA_SECRETS = Symbol.for('kubepin.cdk8s.serviceAccountSecrets');

function addServiceAccountSecret(api: ApiObject, secret: RegistryPullSecret): void {
  const holder = api as unknown as Record<symbol, RegistryPullSecret[] | undefined>;
  if (holder[SA_SECRETS]) {
    holder[SA_SECRETS]!.push(secret);
    return;
  }
  const secrets = [secret];
  holder[SA_SECRETS] = secrets;
  const original = api.toJson.bind(api);
  api.toJson = (): JsonObject => {
    const json = original() as JsonObject;
    const list = Array.isArray(json.imagePullSecrets) ? [...json.imagePullSecrets] : [];
    for (const s of secrets) {
      if (s.name && !list.some((e) => isObject(e) && e.name === s.name)) list.push({ name: s.name });
    }
    if (list.length > 0) json.imagePullSecrets = list;
    return json;
  };
}
