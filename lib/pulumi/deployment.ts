import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PrePullDaemonSet } from './prepull-daemonset';
import { WorkloadArgs, buildWorkload, pinnedControllerInputs } from './workload';

/** Props of {@link Deployment}. */
export interface DeploymentArgs extends WorkloadArgs {
  /** Number of pods. @default 1 */
  readonly replicas?: pulumi.Input<number>;
  /** Other Deployment spec fields (strategy, minReadySeconds, …). @default none */
  readonly spec?: Omit<k8s.types.input.apps.v1.DeploymentSpec, 'template' | 'selector' | 'replicas'>;
}

/** Pulumi type token of {@link Deployment}. */
export const DEPLOYMENT_TYPE = 'kubepin:index:Deployment';

/**
 * A Deployment whose images are pinned from the lock, with an explicit pull policy on every
 * container and exactly the pull secrets its images need. The selector is the pods' labels.
 */
export class Deployment extends pulumi.ComponentResource {
  /** The `@pulumi/kubernetes` Deployment. */
  public readonly deployment: k8s.apps.v1.Deployment;
  /** The pre-puller made for `prePull: true`. */
  public readonly prePull?: PrePullDaemonSet;

  /** @throws ImagePolicyViolationError naming this resource for invalid images, unpinned images in strict mode, `Never` without pre-pull. */
  constructor(name: string, args: DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(DEPLOYMENT_TYPE, name, {}, opts);
    const built = buildWorkload(this, DEPLOYMENT_TYPE, name, args);
    const rest = pinnedControllerInputs(built, `${DEPLOYMENT_TYPE} "${name}"`, 'Deployment', args);
    this.prePull = built.prePull;
    this.deployment = new k8s.apps.v1.Deployment(name, rest as k8s.apps.v1.DeploymentArgs, { parent: this, dependsOn: built.dependsOn });
    this.registerOutputs({ deployment: this.deployment });
  }
}
