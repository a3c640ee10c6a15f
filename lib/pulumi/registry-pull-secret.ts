import * as pulumi from '@pulumi/pulumi';
import { PullSecretDeclaration } from '../core/policy/engine';
import {
  CredentialsPullSecretSource, DockerConfigFilePullSecretSource, ExistingPullSecretSource, ExternalPullSecretSource,
  PullSecretSource, buildPullSecret,
} from '../core/credentials/pull-secret';
import { JsonObject } from '../core/objects/pod-templates';
import { registryKeyMatches } from '../core/credentials/keyring';
import { createObject } from './objects';
import { stackState } from './stack-state';

/** Props of {@link RegistryPullSecret}. */
export interface RegistryPullSecretArgs {
  /** Where the secret comes from (the engine-neutral source the cdk8s face uses too). */
  readonly source: PullSecretSource;
  /** Where `passwordEnv` variables are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Options shared by the factories: the Kubernetes Secret's name and namespace. */
export interface RegistryPullSecretNaming {
  /** Name of the Kubernetes Secret pods reference. @default the resource name */
  readonly secretName?: string;
  /** Namespace of the Secret; only pods there can use it. @default none written (every namespace may reference the name) */
  readonly namespace?: string;
}

/** Pulumi type token of {@link RegistryPullSecret}. */
export const REGISTRY_PULL_SECRET_TYPE = 'kubepin:index:RegistryPullSecret';

/**
 * The pull Secret a registry needs, serving one or more registry keys (kubelet matching). Pass it
 * in a workload's `pullSecrets` (or the policy's, through {@link declaration}) and kubepin attaches
 * it to exactly the pods whose images it serves. Built by the same core builder as the cdk8s
 * face; Secret data is marked secret so Pulumi encrypts it in state and hides it in diffs.
 */
export class RegistryPullSecret extends pulumi.ComponentResource {
  /** A Secret the cluster already has (the one to reach for: nothing secret in the program). */
  public static fromExistingSecret(name: string, args: Omit<ExistingPullSecretSource, 'type' | 'name'> & RegistryPullSecretNaming, opts?: pulumi.ComponentResourceOptions): RegistryPullSecret {
    const { secretName, ...rest } = args;
    return new RegistryPullSecret(name, { source: { type: 'existing', name: secretName ?? name, ...rest } }, opts);
  }

  /** An external-secrets.io `ExternalSecret` whose template yields a `kubernetes.io/dockerconfigjson` Secret. */
  public static fromExternalSecret(name: string, args: Omit<ExternalPullSecretSource, 'type' | 'name'> & RegistryPullSecretNaming, opts?: pulumi.ComponentResourceOptions): RegistryPullSecret {
    const { secretName, ...rest } = args;
    return new RegistryPullSecret(name, { source: { type: 'external', name: secretName ?? name, ...rest } }, opts);
  }

  /** A Secret built from a Docker config file read when the program runs (e.g. written by `docker login` in CI). */
  public static fromDockerConfigFile(name: string, args: Omit<DockerConfigFilePullSecretSource, 'type' | 'name'> & RegistryPullSecretNaming, opts?: pulumi.ComponentResourceOptions): RegistryPullSecret {
    const { secretName, ...rest } = args;
    return new RegistryPullSecret(name, { source: { type: 'dockerConfigFile', name: secretName ?? name, ...rest } }, opts);
  }

  /** A Secret built from credentials whose passwords come from environment variables (literals need `unsafePlaintext`). */
  public static fromCredentials(name: string, args: Omit<CredentialsPullSecretSource, 'type' | 'name'> & RegistryPullSecretNaming & { readonly env?: NodeJS.ProcessEnv }, opts?: pulumi.ComponentResourceOptions): RegistryPullSecret {
    const { secretName, env, ...rest } = args;
    return new RegistryPullSecret(name, { source: { type: 'credentials', name: secretName ?? name, ...rest }, env }, opts);
  }

  /** What the image policy needs: the Secret's name and the registry keys it serves. */
  public readonly declaration: PullSecretDeclaration;
  /** Name of the Kubernetes Secret. */
  public readonly secretName: string;
  /** The Kubernetes resources made (a Secret, an ExternalSecret, or none for an existing Secret). */
  public readonly resources: pulumi.CustomResource[];

  /**
   * @throws PullSecretError naming this resource when the definition is wrong (a literal password,
   *   a missing environment variable, …); the message never holds a credential.
   */
  constructor(name: string, args: RegistryPullSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super(REGISTRY_PULL_SECRET_TYPE, name, {}, opts);
    const built = buildPullSecret(args?.source, { where: `${REGISTRY_PULL_SECRET_TYPE} "${name}"`, env: args?.env });
    this.declaration = built.declaration;
    this.secretName = built.declaration.name;
    const state = stackState();
    // Workloads are pinned when they are created: a secret declared after them cannot reach them.
    const missed = state.pinned.filter((p) => this.declaration.registries.some((r) => registryKeyMatches(r.replace(/^https?:\/\//, ''), p.name)));
    if (missed.length > 0) {
      void pulumi.log.warn(`kubepin: ${REGISTRY_PULL_SECRET_TYPE} "${name}" serves images of resources created before it (${[...new Set(missed.map((m) => m.label))].join(', ')}), which were pinned without it. Fix: create pull secrets before the workloads that use them`);
    }
    state.pullSecrets.push(this.declaration);
    this.resources = built.objects.map((object, i) => createObject(built.objects.length === 1 ? name : `${name}-${i + 1}`, markSecret(object), { parent: this }));
    this.registerOutputs({ secretName: this.secretName, registries: this.declaration.registries });
  }
}

/** Secret payloads go to Pulumi as secrets: encrypted in state, hidden in previews and logs. */
function markSecret(object: JsonObject): pulumi.Inputs {
  if (object.kind !== 'Secret' || object.data === undefined) return object;
  return { ...object, data: pulumi.secret(object.data as Record<string, string>) };
}

/** Re-exported so users can type a pull secret reference without importing the core. */
export type { PullSecretSource };
