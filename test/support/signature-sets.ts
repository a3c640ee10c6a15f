/**
 * The signed image sets the benchmarks compare with unsigned images (bench:signatures on loopback,
 * bench:latency at real-world RTT): how each is signed in the test registry, and the
 * kubepin.config.json requirement that verifies it. Both benchmarks take every set listed here.
 *
 * Keyless (issue #23 §2): add a set here once lib/signatures verifies keyless signatures: a `sign`
 * that signs with the test Fulcio/Rekor (a certificate, a log entry), a `requirement` naming
 * the identity, the issuer and the test `trusted_root.json`, and that file under `files`.
 */
import type { TestRegistry } from './registry';
import { TestKey, pushBundleSignature, pushCosignSignature } from './signatures';

export interface SignatureSet {
  /** Short name (repository prefix, child-process message). */
  readonly name: string;
  /** What the benchmark prints. */
  readonly label: string;
  /** Requests per image kubepin needs at least on a registry without the referrers API (distribution 2.8), besides the tag's HEAD. */
  readonly signatureRequests: number;
  /** Signs the pushed image `digest` of `repository`, for the name `host/repository` (@default the registry's own host). */
  sign(registry: TestRegistry, repository: string, digest: string, key: TestKey, host?: string): Promise<void>;
  /** The `signatures.require[]` entry covering `patterns`, and the files (project-relative path → text) it names. */
  requirement(patterns: string[], key: TestKey): { requirement: Record<string, unknown>; files: Record<string, string> };
}

const keyRequirement = (patterns: string[], key: TestKey): { requirement: Record<string, unknown>; files: Record<string, string> } => ({
  requirement: { images: patterns, keys: ['release.pub'] },
  files: { 'release.pub': key.publicPem },
});

export const SIGNATURE_SETS: readonly SignatureSet[] = [
  // .sig manifest and payload blob; the referrers tag (absent) is asked for at the same time.
  { name: 'cosign', label: 'signed: cosign .sig', signatureRequests: 3, sign: (registry, repo, digest, key, host) => pushCosignSignature(registry, repo, digest, { key, dockerReference: `${host ?? registry.host}/${repo}` }), requirement: keyRequirement },
  // The .sig tag (absent) and the referrers tag at once, then the bundle's manifest and blob.
  { name: 'bundle', label: 'signed: Sigstore bundle', signatureRequests: 4, sign: (registry, repo, digest, key, host) => pushBundleSignature(registry, repo, digest, { key, dockerReference: `${host ?? registry.host}/${repo}` }), requirement: keyRequirement },
];

/** The set called `name`. */
export function signatureSet(name: string): SignatureSet {
  const set = SIGNATURE_SETS.find((s) => s.name === name);
  if (!set) throw new Error(`no signature set ${name}`);
  return set;
}
