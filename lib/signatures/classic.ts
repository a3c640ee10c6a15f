import { createHash } from 'crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { SignatureRejection, SignatureSubject, COSIGN_CERTIFICATE_ANNOTATION, COSIGN_CHAIN_ANNOTATION, COSIGN_REKOR_ANNOTATION, COSIGN_TIMESTAMP_ANNOTATION, checkSimpleSigningPayload, isRecord, verifySimpleSigning } from './cosign';
import { BUNDLE_BOUNDS, checkBundleBounds } from './bounds';
import { BundleRequirement, VerifiedSigner, checkLogEntries, signedEntity, verifyKeyless } from './bundle';
import { PublicGoodRoot, loadPublicGoodRoot } from './public-good';

/**
 * A classic `.sig` signature (a simple-signing payload and the layer's annotations). Key-signed:
 * one of the requirement's keys must have signed the payload, and the Rekor entry and timestamp
 * the annotations carry are verified as a bundle's are. Keyless (a Fulcio certificate in
 * `dev.sigstore.cosign/certificate`, its chain in `…/chain`, the Rekor entry in `…/bundle`): read
 * into a v0.1 message-signature bundle over the payload and verified to the Sigstore client
 * specification. Either way the payload must name the digest and repository.
 * @throws SignatureRejection saying why not
 */
export async function verifyClassicSignature(payload: Buffer, signature: string, annotations: Record<string, unknown>, requirement: BundleRequirement, subject: SignatureSubject, publicGood: PublicGoodRoot = loadPublicGoodRoot): Promise<VerifiedSigner> {
  if (annotations[COSIGN_CERTIFICATE_ANNOTATION] !== undefined) {
    checkSimpleSigningPayload(payload, subject);
    const chain = [annotations[COSIGN_CERTIFICATE_ANNOTATION], ...(annotations[COSIGN_CHAIN_ANNOTATION] === undefined ? [] : splitPem(annotations[COSIGN_CHAIN_ANNOTATION]))];
    const certificates = chain.map((pem, i) => ({ rawBytes: pemToBase64(pem, i === 0 ? COSIGN_CERTIFICATE_ANNOTATION : COSIGN_CHAIN_ANNOTATION) }));
    const entity = classicEntity(annotations, payload, signature, { x509CertificateChain: { certificates } });
    return { certificate: await verifyKeyless(entity, requirement, publicGood) };
  }
  if (requirement.keys.length === 0) {
    throw new SignatureRejection(`the signature has no ${COSIGN_CERTIFICATE_ANNOTATION} annotation (it is key-signed), and ${requirement.where} accepts keyless signers only`);
  }
  const key = verifySimpleSigning(payload, signature, requirement.keys, subject);
  if (requirement.tlog === 'required' || annotations[COSIGN_REKOR_ANNOTATION] !== undefined || annotations[COSIGN_TIMESTAMP_ANNOTATION] !== undefined) {
    await checkLogEntries(classicEntity(annotations, payload, signature, { publicKey: { hint: '' } }), key, requirement, publicGood);
  }
  return { key };
}

/** The layer's Rekor entry and timestamp, and `content` (a key hint or the certificate chain), as `@sigstore/verify` reads a bundle. */
function classicEntity(annotations: Record<string, unknown>, payload: Buffer, signatureBase64: string, content: Record<string, unknown>) {
  const tlogEntries: unknown[] = [];
  const rfc3161Timestamps: unknown[] = [];
  try {
    const rekor = annotations[COSIGN_REKOR_ANNOTATION];
    if (rekor !== undefined) {
      if (typeof rekor !== 'string' || rekor.length > BUNDLE_BOUNDS.maxEntryBodyBytes * 2) throw new Error(`not a Rekor entry of at most ${BUNDLE_BOUNDS.maxEntryBodyBytes * 2} bytes`);
      const { SignedEntryTimestamp: set, Payload: entry } = JSON.parse(rekor) as { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> };
      if (typeof set !== 'string' || !isRecord(entry) || typeof entry.body !== 'string' || typeof entry.logID !== 'string' || !Number.isSafeInteger(entry.integratedTime) || !Number.isSafeInteger(entry.logIndex)) throw new Error('not a Rekor entry');
      const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
      tlogEntries.push({
        logIndex: String(entry.logIndex), logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') }, kindVersion: { kind: body.kind, version: body.apiVersion },
        integratedTime: String(entry.integratedTime), inclusionPromise: { signedEntryTimestamp: set }, canonicalizedBody: entry.body,
      });
    }
    const timestamp = annotations[COSIGN_TIMESTAMP_ANNOTATION];
    if (timestamp !== undefined) rfc3161Timestamps.push({ signedTimestamp: (JSON.parse(String(timestamp)) as { SignedRFC3161Timestamp?: unknown }).SignedRFC3161Timestamp });
  } catch (e) {
    throw new SignatureRejection(`the signature's ${COSIGN_REKOR_ANNOTATION} or ${COSIGN_TIMESTAMP_ANNOTATION} annotation cannot be read (${String((e as Error).message).slice(0, 120)})`);
  }
  const json = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: { ...content, tlogEntries, ...(rfc3161Timestamps.length > 0 ? { timestampVerificationData: { rfc3161Timestamps } } : {}) },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') }, signature: signatureBase64.replace(/\s+/g, '') },
  };
  checkBundleBounds(json);
  try {
    return signedEntity(bundleFromJSON(json), payload);
  } catch (e) {
    if (e instanceof SignatureRejection) throw e;
    throw new SignatureRejection(`the signature's certificate, log entry or timestamp cannot be read (${String((e as Error).message).slice(0, 200)})`);
  }
}

/** The PEM blocks of an annotation (cosign writes the chain as concatenated PEM). */
function splitPem(value: unknown): string[] {
  if (typeof value !== 'string') throw new SignatureRejection(`the ${COSIGN_CHAIN_ANNOTATION} annotation is not PEM text`);
  const blocks = value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new SignatureRejection(`the ${COSIGN_CHAIN_ANNOTATION} annotation holds no PEM certificate`);
  if (blocks.length >= BUNDLE_BOUNDS.maxChainCertificates) throw new SignatureRejection(`the ${COSIGN_CHAIN_ANNOTATION} annotation holds ${blocks.length} certificates, more than the ${BUNDLE_BOUNDS.maxChainCertificates - 1} kubepin reads; refused`);
  return blocks;
}

/** One PEM certificate's DER, base64 (what a bundle's `rawBytes` holds). */
function pemToBase64(pem: unknown, annotation: string): string {
  const match = typeof pem === 'string' ? /^\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/.exec(pem) : null;
  if (!match) throw new SignatureRejection(`the ${annotation} annotation is not one PEM certificate`);
  const base64 = match[1].replace(/\s+/g, '');
  if (base64.length > Math.ceil(BUNDLE_BOUNDS.maxCertificateBytes / 3) * 4 + 4) throw new SignatureRejection(`the ${annotation} certificate is larger than the ${BUNDLE_BOUNDS.maxCertificateBytes} bytes kubepin reads; refused`);
  return base64;
}
