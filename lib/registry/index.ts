/**
 * Resolving tags to digests against OCI / Docker registries.
 *
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md (pulling manifests, digests)
 * @see https://distribution.github.io/distribution/spec/auth/token/ (Bearer token authentication)
 */
export * from '../core/findings/registry-error';
export * from './client';
export { parseChallenge } from './auth';
export { MANIFEST_ACCEPT, parsePlatform } from './manifest-verification';
export { isLoopback } from './plain-http';
export * from './credentials';
export { TransportError } from './transport';
export * from './lock-images';
