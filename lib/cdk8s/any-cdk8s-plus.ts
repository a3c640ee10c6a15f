/**
 * The part of the cdk8s face that works with any cdk8s-plus major (or none): the policy,
 * pull secrets, pre-pullers, node credentials. The typed workloads, which extend one major's
 * classes, live in `kubepin/cdk8s-plus-NN` (and, for cdk8s-plus-27, in `kubepin/cdk8s`).
 */
export * from './image-policy';
export * from './registry-pull-secret';
export * from './findings';
export * from './lock-file';
export * from '../core/policy/image';
export * from '../core/names/pull-policy';
export * from './node-credential-config';
export * from './pre-pull-daemon-set';
