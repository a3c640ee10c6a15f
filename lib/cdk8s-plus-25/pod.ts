// Generated from lib/cdk8s/pod.ts by scripts/generate-entry-points.ts: do not edit; edit the
// source, then run `npm run generate`.
import * as kplus from 'cdk8s-plus-25';
import { Construct } from 'constructs';
import { ContainerProps, TypedPodProps } from './container-props';
import { addTypedContainer, initTypedWorkload } from '../cdk8s/typed-workload';

/** Props of {@link Pod}: cdk8s-plus's, with typed images, pull policy, pull secrets and pre-pull. */
export interface PodProps extends Omit<kplus.PodProps, 'containers' | 'initContainers'>, TypedPodProps {}

/**
 * A cdk8s-plus `Pod` whose images are typed, pinned from the lock at synthesis and given an
 * explicit pull policy (IfNotPresent for pinned images instead of cdk8s-plus's Always), even
 * without an `ImagePolicy`. Everything cdk8s-plus offers (probes, volumes, services) still works.
 *
 * @example
 * new Pod(chart, 'api', { containers: [{ image: Image.of('ghcr.io/acme/api:1.4.2'), portNumber: 8080 }] });
 */
export class Pod extends kplus.Pod {
  constructor(scope: Construct, id: string, props: PodProps = {}) {
    super(scope, id, props as unknown as kplus.PodProps);
    initTypedWorkload(this, this.apiObject, props);
  }

  /** Adds a container; takes a typed image (or, for cdk8s-plus compatibility, a string). */
  public addContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container {
    return super.addContainer(addTypedContainer<kplus.ContainerProps>(this, 'containers', cont));
  }

  /** Adds an init container; takes a typed image (or a string). */
  public addInitContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container {
    return super.addInitContainer(addTypedContainer<kplus.ContainerProps>(this, 'initContainers', cont));
  }
}
