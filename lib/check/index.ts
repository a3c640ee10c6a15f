/**
 * `kubepin check`: predicts InvalidImageName, ErrImagePull/ImagePullBackOff and
 * ErrImageNeverPull from manifests, with the kubelet's own rules.
 */
export * from './check';
export * from './files';
export * from './backoff';
export * from './pull-secrets';
export * from './report';
export * from './sarif';
export * from './probe';
