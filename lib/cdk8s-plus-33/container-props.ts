// Generated from lib/cdk8s/container-props.ts by scripts/generate-entry-points.ts: do not edit; edit the
// source, then run `npm run generate`.
import * as kplus from 'cdk8s-plus-33';
import { Image } from '../core/policy/image';
import { PullPolicy } from '../core/names/pull-policy';
import { PrePullPlacement } from '../cdk8s/pre-pull';
import type { RegistryPullSecret } from '../cdk8s/registry-pull-secret';

/** A container of a kubepin typed workload: cdk8s-plus's props with a typed image. */
export interface ContainerProps extends Omit<kplus.ContainerProps, 'image' | 'imagePullPolicy'> {
  /** The image, e.g. `Image.of('ghcr.io/acme/api:1.4.2')`; pinned from the lock at synthesis. */
  readonly image: Image;
  /** Pull policy of this container. @default the workload's `pullPolicy`, else IfNotPresent for pinned images */
  readonly pullPolicy?: PullPolicy;
}

/** Where a typed workload's images are pre-pulled: the nodes its pods run on. */
export interface PrePullProps extends Omit<PrePullPlacement, 'pullSecrets'> {}

/** Props every kubepin typed workload adds to its cdk8s-plus counterpart. */
export interface TypedPodProps {
  /** Containers, with typed images. @default none (add with addContainer) */
  readonly containers?: ContainerProps[];
  /** Init containers, with typed images. @default none */
  readonly initContainers?: ContainerProps[];
  /** Pull policy of every container that sets none. @default IfNotPresent for pinned images (cdk8s-plus would write Always) */
  readonly pullPolicy?: PullPolicy;
  /** Pull secrets to list on the pod whatever its images (the policy adds the ones that serve them anyway). @default none */
  readonly pullSecrets?: RegistryPullSecret[];
  /** Pre-pull the workload's images on the nodes with a PrePullDaemonSet; allows pullPolicy Never. @default false */
  readonly prePull?: boolean | PrePullProps;
}
