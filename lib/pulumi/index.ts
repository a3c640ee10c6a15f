/** Pulumi face: components and a stack-wide image policy over the kubepin core. */
export * from './pin';
export * from './image-policy';
export * from './registry-pull-secret';
export * from './prepull-daemonset';
export * from './workload';
export * from './deployment';
export * from './stateful-set';
export * from './pod';
export * from '../core/policy/image';
export * from '../core/names/pull-policy';
export * from './node-credentials';
