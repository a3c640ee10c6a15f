/**
 * Image signatures: which images must be signed by which keys (`kubepin.config.json`), and
 * verification of cosign signatures and Sigstore bundles found in registries. See docs/signatures.md.
 */
export * from './keys';
export * from './policy';
export * from './artifacts';
export { COSIGN_CERTIFICATE_ANNOTATION, COSIGN_CHAIN_ANNOTATION, COSIGN_SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SignatureRejection, SignatureSubject, verifySimpleSigning } from './cosign';
export { COSIGN_SIGN_PREDICATE, verifySigstoreBundle } from './bundle';
export * from './verifier';
export type { CertificateIdentity, KeylessSigner } from './keyless-policy';
export type { VerifiedSigner, BundleRequirement } from './bundle';
export { verifyArtifactBundle } from './artifact';
export { publicGoodLoader } from './public-good';
export type { PublicGoodRoot, TufSource } from './public-good';
