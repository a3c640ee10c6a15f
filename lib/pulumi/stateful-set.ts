import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PrePullDaemonSet } from './prepull-daemonset';
import { WorkloadArgs, buildWorkload, pinnedControllerInputs } from './workload';

/** Props of {@link StatefulSet}. */
export interface StatefulSetArgs extends WorkloadArgs {
  /** Number of pods. @default 1 */
  readonly replicas?: pulumi.Input<number>;
  /** Other StatefulSet spec fields (serviceName, volumeClaimTemplates, updateStrategy, …). @default none */
  readonly spec?: Omit<k8s.types.input.apps.v1.StatefulSetSpec, 'template' | 'selector' | 'replicas'>;
}

/** Pulumi type token of {@link StatefulSet}. */
export const STATEFULSET_TYPE = 'kubepin:index:StatefulSet';

/**
 * A StatefulSet whose images are pinned from the lock, with an explicit pull policy on every
 * container and exactly the pull secrets its images need. The selector is the pods' labels.
 */
export class StatefulSet extends pulumi.ComponentResource {
  /** The `@pulumi/kubernetes` StatefulSet. */
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  /** The pre-puller made for `prePull: true`. */
  public readonly prePull?: PrePullDaemonSet;

  /** @throws ImagePolicyViolationError naming this resource for invalid images, unpinned images in strict mode, `Never` without pre-pull. */
  constructor(name: string, args: StatefulSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super(STATEFULSET_TYPE, name, {}, opts);
    const built = buildWorkload(this, STATEFULSET_TYPE, name, args);
    const rest = pinnedControllerInputs(built, `${STATEFULSET_TYPE} "${name}"`, 'StatefulSet', args);
    this.prePull = built.prePull;
    this.statefulSet = new k8s.apps.v1.StatefulSet(name, rest as k8s.apps.v1.StatefulSetArgs, { parent: this, dependsOn: built.dependsOn });
    this.registerOutputs({ statefulSet: this.statefulSet });
  }
}
