import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PrePullDaemonSet } from './prepull-daemonset';
import { WorkloadArgs, buildWorkload } from './workload';

/** Props of {@link Pod}: `metadata` is the pod's (merged over `podMetadata`). */
export type PodArgs = WorkloadArgs;

/** Pulumi type token of {@link Pod}. */
export const POD_TYPE = 'kubepin:index:Pod';

/** A bare Pod whose images are pinned, with explicit pull policies and the pull secrets its images need. */
export class Pod extends pulumi.ComponentResource {
  /** The `@pulumi/kubernetes` Pod. */
  public readonly pod: k8s.core.v1.Pod;
  /** The pre-puller made for `prePull: true`. */
  public readonly prePull?: PrePullDaemonSet;

  /** @throws ImagePolicyViolationError naming this resource for invalid images, unpinned images in strict mode, `Never` without pre-pull. */
  constructor(name: string, args: PodArgs, opts?: pulumi.ComponentResourceOptions) {
    super(POD_TYPE, name, {}, opts);
    const built = buildWorkload(this, POD_TYPE, name, args);
    const template = built.template as { metadata: pulumi.Inputs; spec: pulumi.Inputs };
    const props = built.pinner.pinProps(`${POD_TYPE} "${name}"`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...template.metadata, ...(args.metadata ?? {}) },
      spec: template.spec,
    });
    this.prePull = built.prePull;
    const { apiVersion: _a, kind: _k, ...rest } = props;
    this.pod = new k8s.core.v1.Pod(name, rest as k8s.core.v1.PodArgs, { parent: this, dependsOn: built.dependsOn });
    this.registerOutputs({ pod: this.pod });
  }
}
