import { SignatureRejection, isRecord } from './cosign';

/**
 * Bounds on the parts of a Sigstore bundle (or of a classic signature read as one) that
 * kubepin parses and verifies: a registry chooses these bytes, so each has a ceiling well above
 * what Sigstore's services write and far below what would cost time to check.
 */
export const BUNDLE_BOUNDS = {
  /** One certificate (DER): Fulcio's are about 1 KiB. */
  maxCertificateBytes: 16 * 1024,
  /** Certificates in a chain (leaf, intermediates, root). */
  maxChainCertificates: 8,
  /** Transparency-log entries of one signature. */
  maxTlogEntries: 8,
  /** RFC 3161 timestamps of one signature. */
  maxTimestamps: 8,
  /** One RFC 3161 timestamp (DER). */
  maxTimestampBytes: 16 * 1024,
  /** Hashes of an inclusion proof (a tree of 2^64 leaves needs 64). */
  maxProofHashes: 64,
  /** A checkpoint (signed note). */
  maxCheckpointBytes: 8 * 1024,
  /** A log entry's canonicalized body. */
  maxEntryBodyBytes: 128 * 1024,
  /** The signed entry timestamp or a signature. */
  maxSignatureBytes: 2 * 1024,
} as const;

/**
 * Checks the bundle JSON (before `@sigstore/bundle` parses it) against {@link BUNDLE_BOUNDS}.
 * @throws SignatureRejection naming the part and its bound
 */
export function checkBundleBounds(json: unknown): void {
  const material = isRecord(json) && isRecord(json.verificationMaterial) ? json.verificationMaterial : undefined;
  if (!material) return; // @sigstore/bundle says what is missing.
  const certificates: unknown[] = [];
  if (isRecord(material.certificate)) certificates.push(material.certificate.rawBytes);
  const chain = isRecord(material.x509CertificateChain) ? material.x509CertificateChain.certificates : undefined;
  if (Array.isArray(chain)) {
    if (chain.length > BUNDLE_BOUNDS.maxChainCertificates) refuse(`its certificate chain has ${chain.length} certificates`, `${BUNDLE_BOUNDS.maxChainCertificates}`);
    certificates.push(...chain.map((c) => (isRecord(c) ? c.rawBytes : c)));
  }
  for (const c of certificates) base64Bound(c, BUNDLE_BOUNDS.maxCertificateBytes, 'a certificate');
  const entries = material.tlogEntries;
  if (Array.isArray(entries)) {
    if (entries.length > BUNDLE_BOUNDS.maxTlogEntries) refuse(`it has ${entries.length} transparency-log entries`, `${BUNDLE_BOUNDS.maxTlogEntries}`);
    for (const entry of entries.filter(isRecord)) {
      base64Bound(entry.canonicalizedBody, BUNDLE_BOUNDS.maxEntryBodyBytes, "a log entry's body");
      if (isRecord(entry.inclusionPromise)) base64Bound(entry.inclusionPromise.signedEntryTimestamp, BUNDLE_BOUNDS.maxSignatureBytes, 'a signed entry timestamp');
      const proof = isRecord(entry.inclusionProof) ? entry.inclusionProof : undefined;
      if (proof && Array.isArray(proof.hashes) && proof.hashes.length > BUNDLE_BOUNDS.maxProofHashes) refuse(`an inclusion proof has ${proof.hashes.length} hashes`, `${BUNDLE_BOUNDS.maxProofHashes}`);
      const checkpoint = proof && isRecord(proof.checkpoint) ? proof.checkpoint.envelope : undefined;
      if (typeof checkpoint === 'string' && checkpoint.length > BUNDLE_BOUNDS.maxCheckpointBytes) refuse(`a checkpoint has ${checkpoint.length} bytes`, `${BUNDLE_BOUNDS.maxCheckpointBytes} bytes`);
    }
  }
  const timestamps = isRecord(material.timestampVerificationData) ? material.timestampVerificationData.rfc3161Timestamps : undefined;
  if (Array.isArray(timestamps)) {
    if (timestamps.length > BUNDLE_BOUNDS.maxTimestamps) refuse(`it has ${timestamps.length} RFC 3161 timestamps`, `${BUNDLE_BOUNDS.maxTimestamps}`);
    for (const t of timestamps) base64Bound(isRecord(t) ? t.signedTimestamp : t, BUNDLE_BOUNDS.maxTimestampBytes, 'an RFC 3161 timestamp');
  }
}

function base64Bound(value: unknown, maxBytes: number, what: string): void {
  // Base64 is 4 characters for 3 bytes.
  if (typeof value === 'string' && value.length > Math.ceil(maxBytes / 3) * 4 + 4) refuse(`${what} has about ${Math.floor((value.length * 3) / 4)} bytes`, `${maxBytes} bytes`);
}

function refuse(what: string, bound: string): never {
  throw new SignatureRejection(`${what}, more than the ${bound} kubepin reads; refused`);
}
