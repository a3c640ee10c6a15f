/**
 * kubepin core: image references, pull-policy rules, the kubelet's credential matching,
 * the lock file and the policy engine. Knows nothing of cdk8s or Pulumi.
 */
export * from './util/errors';
export * from './core/names/image-reference';
export * from './core/names/pull-policy';
export * from './core/credentials/docker-config';
export * from './core/credentials/keyring';
export * from './core/lock/image-lock';
export * from './util/fs/write-file-atomic';
export { COLLECT_IMAGES_ENV, readCollectedImages } from './core/policy/collect-mode';
export type { CollectedImage } from './core/policy/collect-mode';
export * from './core/findings/finding';
export * from './core/findings/dispatch';
export * from './core/objects/pod-templates';
export * from './core/objects/image-locations';
export { loadManifests, ManifestReadError } from './core/manifests/manifests';
export type { LoadedManifests, ManifestDocument, ManifestProblem } from './core/manifests/manifests';
export * from './core/config/project-config';
export * from './core/policy/engine';
export * from './core/findings/rules';
export * from './core/policy/image';
export * from './core/credentials/pull-secret';
export * from './check';
export * from './prepull';
export * from './node';
export * from './registry';
export * from './signatures';
