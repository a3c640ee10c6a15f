/** cdk8s face: constructs over the kubepin core; typed workloads on cdk8s-plus-27. */
import type * as deployment from './deployment';
import type * as statefulSet from './stateful-set';
import type * as pod from './pod';

export * from './any-cdk8s-plus';
export * from './container-props';
export type { DeploymentProps } from './deployment';
export type { StatefulSetProps } from './stateful-set';
export type { PodProps } from './pod';

/*
 * The typed workloads here extend cdk8s-plus-27's classes, so they are loaded on first use:
 * an app on another major imports `ImagePolicy` and the rest from here without cdk8s-plus-27
 * installed (its own typed workloads come from `kubepin/cdk8s-plus-NN`).
 */
/** A cdk8s-plus-27 `Deployment` with typed, pinned images (see lib/cdk8s/deployment.ts). */
export type Deployment = deployment.Deployment;
export declare const Deployment: typeof deployment.Deployment;
/** A cdk8s-plus-27 `StatefulSet` with typed, pinned images (see lib/cdk8s/stateful-set.ts). */
export type StatefulSet = statefulSet.StatefulSet;
export declare const StatefulSet: typeof statefulSet.StatefulSet;
/** A cdk8s-plus-27 `Pod` with typed, pinned images (see lib/cdk8s/pod.ts). */
export type Pod = pod.Pod;
export declare const Pod: typeof pod.Pod;

/* eslint-disable @typescript-eslint/no-require-imports */
Object.defineProperties(exports, {
  Deployment: { enumerable: true, get: () => (require('./deployment') as typeof deployment).Deployment },
  StatefulSet: { enumerable: true, get: () => (require('./stateful-set') as typeof statefulSet).StatefulSet },
  Pod: { enumerable: true, get: () => (require('./pod') as typeof pod).Pod },
});
