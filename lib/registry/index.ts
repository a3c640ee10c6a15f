/**
 * Resolving tags to digests against OCI / Docker registries (KUBERNETES-FACTS.md §6).
 */
export * from './errors';
export * from './client';
export * from './credentials';
export { TransportError } from './transport';
export * from './lock-images';
