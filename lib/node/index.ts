/**
 * Node-side credential paths: the kubelet's CredentialProviderConfig (generation with
 * computed `matchImages`, validation with the kubelet's rules), node config.json (from
 * environment variables or files, written 0600), and readers that predict which
 * credentials the kubelet tries. Engine-neutral: no cdk8s or Pulumi here.
 */
export * from './match-images';
export * from './credential-provider-config';
export * from './node-docker-config';
export * from './node-keyring';
export * from './files';
