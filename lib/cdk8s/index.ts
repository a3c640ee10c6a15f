/** cdk8s face: constructs over the kubepin core. */
export * from './image-policy';
export * from './registry-pull-secret';
export * from './deployment';
export * from './stateful-set';
export * from './pod';
export * from './container-props';
export * from './findings';
export * from './lock-file';
export * from '../image';
export * from '../pull-policy';
export * from './node-credential-config';
export * from './pre-pull-daemon-set';
