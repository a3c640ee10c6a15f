import * as pulumi from '@pulumi/pulumi';
import { DigestSource } from '../core/lock/image-lock';
import { PullSecretDeclaration } from '../core/policy/engine';
import { PrePullOptions, buildPrePull, configuredPrePullHelpers, mergePrePullHelpers } from '../prepull';
import { reportFindings } from './findings';
import { createObject } from './objects';
import { RegistryPullSecret } from './registry-pull-secret';
import { lockFrom, stackState } from './stack-state';

/** A pull secret as components take it: a {@link RegistryPullSecret} or a plain declaration. */
export type PullSecretRef = RegistryPullSecret | PullSecretDeclaration;

/** Props of {@link PrePullDaemonSet}: the core pre-pull options plus Pulumi's await choices. */
export interface PrePullDaemonSetArgs extends Omit<PrePullOptions, 'lock' | 'pullSecrets'> {
  /** Where digests come from: a lock or a lock file path. @default the stack policy's lock, else `kubepin.lock.json` in the program directory */
  readonly lock?: DigestSource | string;
  /** Pull secrets, matched to the images by the kubelet's rules. @default the stack policy's */
  readonly pullSecrets?: readonly PullSecretRef[];
  /**
   * Do not wait for the DaemonSet to be ready. Since pulumi-kubernetes 4.12 `pulumi up` waits until
   * every node has pulled every image (the pods are ready only then), which is the point on a small
   * cluster and slow on a big one. `true` writes the `pulumi.com/skipAwait` annotation.
   * @default false (wait)
   */
  readonly skipAwait?: boolean;
  /** How long Pulumi waits for the rollout (`create`/`update`). @default the provider's (10 minutes) */
  readonly customTimeouts?: pulumi.CustomTimeouts;
}

/** Pulumi type token of {@link PrePullDaemonSet}. */
export const PREPULL_DAEMONSET_TYPE = 'kubepin:index:PrePullDaemonSet';

/**
 * Puts images on the nodes before workloads need them: a ServiceAccount and DaemonSet(s) from the
 * core pre-pull builder (one no-op init container per image, `pause` as main container), pinned
 * through the same lock. Workloads that use `imagePullPolicy: Never` should take it as `prePull`
 * so they depend on it. Note: a pre-pulled image is usable by every pod on the node.
 */
export class PrePullDaemonSet extends pulumi.ComponentResource {
  /** The pre-pulled images as they appear in the DaemonSets (pinned when locked), sorted. */
  public readonly images: string[];
  /** The DaemonSet resources (one, or several when `split`). */
  public readonly daemonSets: pulumi.CustomResource[];
  /** The ServiceAccount resource (no RBAC, no token). */
  public readonly serviceAccount: pulumi.CustomResource;

  /** @throws ImagePolicyViolationError naming this resource when an image is invalid or (strict) unpinned. */
  constructor(name: string, args: PrePullDaemonSetArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super(PREPULL_DAEMONSET_TYPE, name, {}, opts);
    const { lock, pullSecrets, skipAwait, customTimeouts, ...core } = args ?? {};
    const policy = stackState().policy;
    const digests = lockFrom(lock);
    const result = buildPrePull({
      ...core,
      ...mergePrePullHelpers(core, policy?.prePullHelpers, configuredPrePullHelpers(digests.file)),
      strict: core.strict ?? policy?.strict,
      lock: digests,
      pullSecrets: pullSecrets ? declarationsOf(pullSecrets) : (policy?.pullSecrets ?? stackState().pullSecrets),
    });
    const label = `${PREPULL_DAEMONSET_TYPE} "${name}"`;
    reportFindings(label, result.findings, policy?.onWarning);
    this.images = result.images;
    // Workloads of this stack may now use `Never` for these images.
    stackState().prePulled.push(...result.images);
    stackState().prePullers.push({ resource: this, images: result.images });
    this.serviceAccount = createObject(`${name}-sa`, result.serviceAccount, { parent: this });
    this.daemonSets = result.daemonSets.map((ds, i) => {
      const object = skipAwait ? withAnnotation(ds, 'pulumi.com/skipAwait', 'true') : ds;
      return createObject(result.daemonSets.length === 1 ? name : `${name}-${i + 1}`, object, {
        parent: this,
        dependsOn: [this.serviceAccount],
        ...(customTimeouts ? { customTimeouts } : {}),
      });
    });
    this.registerOutputs({ images: this.images });
  }

  /** True when this pre-puller covers `image` (as written or pinned). */
  public covers(image: string): boolean {
    return this.images.includes(image);
  }
}

/** The policy declarations of pull secret references. */
export function declarationsOf(refs: readonly PullSecretRef[]): PullSecretDeclaration[] {
  return refs.map((ref) => (ref instanceof RegistryPullSecret ? ref.declaration : ref));
}

function withAnnotation<T extends Record<string, unknown>>(object: T, key: string, value: string): T {
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const annotations = (metadata.annotations ?? {}) as Record<string, string>;
  return { ...object, metadata: { ...metadata, annotations: { ...annotations, [key]: value } } };
}
