/** Pre-pull DaemonSets: the engine-neutral builder the cdk8s and Pulumi faces wrap. */
export * from './builder';
export { NodeScope, PrePullScheduling, OS_LABEL, ARCH_LABEL, unionNodeScope, nodeScopeGap, nodeScopeOf, validateNodeScope } from './node-scope';
export { checkPrePull, isPrePuller } from './check';
export type { PrePullHelperImages } from '../core/policy/prepull-helpers';
export { PREPULL_HELPERS_KEY, configuredPrePullHelpers, mergePrePullHelpers } from '../core/policy/prepull-helpers';
