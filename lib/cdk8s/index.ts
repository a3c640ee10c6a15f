/** cdk8s face: constructs over the kubepin core; typed workloads on cdk8s-plus-27. */
import type * as plus27 from './plus/27';

export * from './any-cdk8s-plus';
export type { ContainerProps, PrePullProps, TypedPodProps, DeploymentProps, StatefulSetProps, PodProps } from './plus/27';

/*
 * The typed workloads here are kubepin/cdk8s-plus-27's (they extend cdk8s-plus-27's classes), so
 * they are loaded on first use: an app on another major imports `ImagePolicy` and the rest from
 * here without cdk8s-plus-27 installed (its own typed workloads come from `kubepin/cdk8s-plus-NN`).
 */
/** A cdk8s-plus-27 `Deployment` with typed, pinned images (see lib/cdk8s/plus/typed-workload.ts). */
export type Deployment = plus27.Deployment;
export declare const Deployment: typeof plus27.Deployment;
/** A cdk8s-plus-27 `StatefulSet` with typed, pinned images (see lib/cdk8s/plus/typed-workload.ts). */
export type StatefulSet = plus27.StatefulSet;
export declare const StatefulSet: typeof plus27.StatefulSet;
/** A cdk8s-plus-27 `Pod` with typed, pinned images (see lib/cdk8s/plus/typed-workload.ts). */
export type Pod = plus27.Pod;
export declare const Pod: typeof plus27.Pod;

/* eslint-disable @typescript-eslint/no-require-imports */
Object.defineProperties(exports, {
  Deployment: { enumerable: true, get: () => (require('./plus/27') as typeof plus27).Deployment },
  StatefulSet: { enumerable: true, get: () => (require('./plus/27') as typeof plus27).StatefulSet },
  Pod: { enumerable: true, get: () => (require('./plus/27') as typeof plus27).Pod },
});
