/** The kubelet's CredentialProviderConfig: types, generation, and validation/loading, each in its own module. */
export * from './credential-provider-types';
export * from './credential-provider-generate';
export * from './credential-provider-validate';
