/** cdk8s face: constructs over the kubepin core. */
export {};
export * from './pre-pull-daemon-set';
