// Generated from lib/cdk8s/plus/27.ts by scripts/generate-entry-points.ts: do not edit; edit the
// source, then run `npm run generate`.
/**
 * kubepin's cdk8s face for apps on cdk8s-plus-25: typed `Deployment`, `StatefulSet` and `Pod`
 * that are real cdk8s-plus-25 constructs, and everything of `kubepin/cdk8s` that works with
 * any major (`ImagePolicy`, `Image`, `RegistryPullSecret`, pre-pullers, node credentials).
 *
 * @example
 * import { Deployment, Image, ImagePolicy } from 'kubepin/cdk8s-plus-25';
 */
import * as kplus from 'cdk8s-plus-25';
import { TypedImageProps, TypedPodPropsOf, withTypedImages } from './typed-workload';

export * from '../any-cdk8s-plus';
export type { PrePullProps } from './typed-workload';

/** A container of a kubepin typed workload: cdk8s-plus-25's props with a typed image. */
export interface ContainerProps extends Omit<kplus.ContainerProps, 'image' | 'imagePullPolicy'>, TypedImageProps {}
/** Props every kubepin typed workload adds to its cdk8s-plus-25 counterpart. */
export interface TypedPodProps extends TypedPodPropsOf<ContainerProps> {}
/** Props of {@link Deployment}: cdk8s-plus-25's, with typed images, pull policy, pull secrets and pre-pull. */
export interface DeploymentProps extends Omit<kplus.DeploymentProps, 'containers' | 'initContainers'>, TypedPodProps {}
/** Props of {@link StatefulSet}: cdk8s-plus-25's, with typed images, pull policy, pull secrets and pre-pull. */
export interface StatefulSetProps extends Omit<kplus.StatefulSetProps, 'containers' | 'initContainers'>, TypedPodProps {}
/** Props of {@link Pod}: cdk8s-plus-25's, with typed images, pull policy, pull secrets and pre-pull. */
export interface PodProps extends Omit<kplus.PodProps, 'containers' | 'initContainers'>, TypedPodProps {}

/**
 * A cdk8s-plus-25 `Deployment` whose images are typed, pinned from the lock at synthesis and given an
 * explicit pull policy (IfNotPresent for pinned images instead of cdk8s-plus's Always), even
 * without an `ImagePolicy`. Everything cdk8s-plus offers (probes, volumes, services) still works.
 *
 * @example
 * new Deployment(chart, 'api', { containers: [{ image: Image.of('ghcr.io/acme/api:1.4.2'), portNumber: 8080 }] });
 */
export class Deployment extends withTypedImages<typeof kplus.Deployment, DeploymentProps>(kplus.Deployment) {}
export interface Deployment {
  /** Adds a container; takes a typed image (or, for cdk8s-plus compatibility, a string). */
  addContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
  /** Adds an init container; takes a typed image (or a string). */
  addInitContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
}
/** A cdk8s-plus-25 `StatefulSet` whose images are typed (see {@link Deployment}). */
export class StatefulSet extends withTypedImages<typeof kplus.StatefulSet, StatefulSetProps>(kplus.StatefulSet) {}
export interface StatefulSet {
  /** Adds a container; takes a typed image (or, for cdk8s-plus compatibility, a string). */
  addContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
  /** Adds an init container; takes a typed image (or a string). */
  addInitContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
}
/** A cdk8s-plus-25 `Pod` whose images are typed (see {@link Deployment}). */
export class Pod extends withTypedImages<typeof kplus.Pod, PodProps>(kplus.Pod) {}
export interface Pod {
  /** Adds a container; takes a typed image (or, for cdk8s-plus compatibility, a string). */
  addContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
  /** Adds an init container; takes a typed image (or a string). */
  addInitContainer(cont: ContainerProps | kplus.ContainerProps): kplus.Container;
}
