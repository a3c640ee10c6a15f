/** Where a signature was found: a cosign `sha256-<hex>.sig` tag, or a Sigstore bundle referring to the digest. */
export type SignatureFormat = 'cosign' | 'sigstore-bundle';

/**
 * What the lock records for a verified digest: who signed it (a key's fingerprint, or a keyless
 * signer's certificate identity and issuer) and in which format. No time, no log index: the
 * lock stays byte-stable when the same signer signs again.
 */
export interface LockedSignature {
  /** `sha256:<hex>` fingerprint of the public key (DER) that verified a key-based signature. */
  readonly key?: string;
  /** `cosign` (a `sha256-<hex>.sig` tag) or `sigstore-bundle` (an OCI referrer). */
  readonly format: SignatureFormat;
  /** A keyless signature's certificate SAN (URI or e-mail), as the certificate says it. */
  readonly identity?: string;
  /** A keyless signature's OIDC issuer, as the certificate says it. */
  readonly issuer?: string;
}

const MAX_IDENTITY_LENGTH = 4096;

/**
 * Reads a lock entry's `signature`: `{ "key", "format" }` or `{ "format", "identity", "issuer" }`,
 * in that field order (the lock is byte-stable).
 * @returns the record, or what is wrong with it
 */
export function readLockedSignature(value: unknown): LockedSignature | { problem: string } {
  const problem = { problem: '"signature" must be { "key": "sha256:<64 hex>", "format": "cosign" | "sigstore-bundle" } or, for a keyless signer, { "format": …, "identity": "<certificate SAN>", "issuer": "<OIDC issuer>" }' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem;
  const sig = value as Record<string, unknown>;
  if (sig.format !== 'cosign' && sig.format !== 'sigstore-bundle') return problem;
  const keys = Object.keys(sig).sort().join(',');
  if (keys === 'format,key' && typeof sig.key === 'string' && /^sha256:[a-f0-9]{64}$/.test(sig.key)) return { key: sig.key, format: sig.format };
  const text = (v: unknown) => typeof v === 'string' && v !== '' && v.length <= MAX_IDENTITY_LENGTH;
  if (keys === 'format,identity,issuer' && text(sig.identity) && text(sig.issuer)) return { format: sig.format, identity: sig.identity as string, issuer: sig.issuer as string };
  return problem;
}

/** The record in its one field order (what the lock writes). */
export function normalizeLockedSignature(sig: LockedSignature): LockedSignature {
  return sig.key !== undefined ? { key: sig.key, format: sig.format } : { format: sig.format, identity: sig.identity, issuer: sig.issuer };
}

/** True when two records name the same signer (format aside). */
export function sameSigner(a: LockedSignature, b: LockedSignature): boolean {
  return a.key !== undefined ? a.key === b.key : b.key === undefined && a.identity === b.identity && a.issuer === b.issuer;
}

/** `key sha256:…` or `keyless identity "…" (issuer "…")`, for messages. */
export function describeRecord(sig: LockedSignature): string {
  return sig.key !== undefined ? `key ${sig.key}` : `keyless identity ${JSON.stringify(sig.identity)} (issuer ${JSON.stringify(sig.issuer)})`;
}
