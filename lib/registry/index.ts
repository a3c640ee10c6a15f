/**
 * Resolving tags to digests against OCI / Docker registries (KUBERNETES-FACTS.md §6).
 */
export * from './errors';
export * from './client';
export { parseChallenge } from './auth';
export { MANIFEST_ACCEPT, parsePlatform } from './manifest-verification';
export { isLoopback } from './plain-http';
export * from './credentials';
export { TransportError } from './transport';
export * from './lock-images';
