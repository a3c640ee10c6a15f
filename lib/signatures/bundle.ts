import { createHash } from 'crypto';
import { Bundle, bundleFromJSON, isBundleWithDsseEnvelope } from '@sigstore/bundle';
import { SignedEntity, TrustMaterial, Verifier, toSignedEntity } from '@sigstore/verify';
import { SignatureKey } from './keys';
import type { SignerRequirement } from './policy';
import { COSIGN_REKOR_ANNOTATION, COSIGN_TIMESTAMP_ANNOTATION, SignatureRejection, SignatureSubject, describeKeys, isRecord, quote, sameRepository } from './cosign';

/** The in-toto predicate type of a cosign image signature. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const IN_TOTO_STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);

/**
 * Checks one Sigstore bundle (a DSSE envelope around an in-toto statement with predicate type
 * {@link COSIGN_SIGN_PREDICATE}) against `keys`: the statement must name `subject.digest` (and,
 * when its subject carries a name, `subject.repository`), and one key must verify the envelope
 * (with `@sigstore/verify`, the key as trust material). The transparency-log entries and
 * timestamps the bundle carries are verified too, against the requirement's trusted root (an
 * entry that cannot be verified, for want of a trusted root or because it is wrong, rejects the
 * bundle); `tlog: "required"` also demands one entry.
 * @returns the key that verified
 * @throws SignatureRejection saying why not
 */
export function verifySigstoreBundle(bytes: Buffer, requirement: Pick<SignerRequirement, 'keys' | 'tlog' | 'trustedRoot' | 'where'>, subject: SignatureSubject): SignatureKey {
  const { keys } = requirement;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SignatureRejection(`the Sigstore bundle is not JSON (${bytes.length} bytes; truncated or not a bundle)`);
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw new SignatureRejection(`not a valid Sigstore bundle (${(e as Error).message.slice(0, 200)})`);
  }
  if (!isBundleWithDsseEnvelope(bundle)) {
    throw new SignatureRejection('the bundle holds a message signature, not a DSSE envelope around an image statement (cosign writes the latter for images)');
  }
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    throw new SignatureRejection('the bundle is signed with a certificate (keyless); this kubepin verifies key-based signatures only');
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SignatureRejection(`the envelope's payload type is ${quote(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  checkStatement(envelope.payload, subject);
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (e) {
    throw new SignatureRejection(`part of the bundle cannot be read (${(e as Error).message.slice(0, 200)})`);
  }
  const key = signingKey(entity, keys);
  checkLogEntries(entity, key, requirement);
  return key;
}

/** The key of `keys` whose signature the envelope carries. */
function signingKey(entity: SignedEntity, keys: readonly SignatureKey[]): SignatureKey {
  for (const key of keys) {
    const trust: TrustMaterial = {
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: () => ({ publicKey: key.publicKey, validFor: () => true }),
    };
    try {
      // The key is the trust root: no log entry, timestamp or certificate is required or consulted.
      new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify({ ...entity, tlogEntries: [], timestamps: [] });
      return key;
    } catch {
      // Try the next key.
    }
  }
  throw new SignatureRejection(`the bundle's signature does not verify with ${describeKeys(keys)}`);
}

/** Verifies the log entries and timestamps present (and demands an entry under `tlog: "required"`), with `key` as the signer. */
function checkLogEntries(entity: SignedEntity, key: SignatureKey, requirement: Pick<SignerRequirement, 'tlog' | 'trustedRoot' | 'where'>): void {
  const entries = entity.tlogEntries.length;
  const authorityTimestamps = entity.timestamps.filter((t) => t.$case === 'timestamp-authority').length;
  if (entries === 0 && requirement.tlog === 'required') {
    throw new SignatureRejection(`the signature has no transparency-log entry, and ${requirement.where} says "tlog": "required". Fix: sign with the log (cosign's default, not --tlog-upload=false)`);
  }
  if (entries === 0 && authorityTimestamps === 0) return;
  const what = [entries > 0 ? `${entries} transparency-log entr${entries === 1 ? 'y' : 'ies'}` : '', authorityTimestamps > 0 ? `${authorityTimestamps} timestamp-authority timestamp${authorityTimestamps === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
  if (!requirement.trustedRoot) {
    throw new SignatureRejection(`the signature carries ${what}, which kubepin verifies before trusting the signature, and ${requirement.where} names no trusted root to verify them with. Fix: add "trustedRoot": "<Sigstore trusted_root.json>" (Rekor's and the timestamp authorities' keys) to the requirement or to "signatures"`);
  }
  const trust: TrustMaterial = { ...(requirement.trustedRoot.material as Omit<TrustMaterial, 'publicKey'>), publicKey: () => ({ publicKey: key.publicKey, validFor: () => true }) };
  try {
    new Verifier(trust, { tlogThreshold: requirement.tlog === 'required' ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
  } catch (e) {
    throw new SignatureRejection(`the signature's ${what} do${entries + authorityTimestamps === 1 ? 'es' : ''} not verify against ${requirement.trustedRoot.source} (${String((e as Error).message).slice(0, 200)})`);
  }
}

function checkStatement(payload: Buffer, subject: SignatureSubject): void {
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new SignatureRejection('the envelope payload is not JSON');
  }
  if (!isRecord(statement) || !IN_TOTO_STATEMENT_TYPES.has(statement._type as string)) {
    throw new SignatureRejection('the envelope payload is not an in-toto statement');
  }
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    throw new SignatureRejection(`the statement's predicate type is ${quote(statement.predicateType)}, not a cosign image signature (${COSIGN_SIGN_PREDICATE})`);
  }
  const hex = subject.digest.replace(/^sha256:/, '');
  const subjects = Array.isArray(statement.subject) ? statement.subject.filter(isRecord) : [];
  const match = subjects.find((s) => isRecord(s.digest) && s.digest.sha256 === hex);
  if (!match) {
    const named = subjects.map((s) => (isRecord(s.digest) && typeof s.digest.sha256 === 'string' ? `sha256:${s.digest.sha256}` : '?'));
    throw new SignatureRejection(`the statement is for digest ${named.length > 0 ? quote(named[0]) : '(none)'}, not ${subject.digest}`);
  }
  // cosign v3 leaves the name empty (the digest alone is signed); a name, when present, must be this repository.
  if (typeof match.name === 'string' && match.name !== '' && !sameRepository(match.name, subject.repository)) {
    throw new SignatureRejection(`the statement is for repository ${quote(match.name)}, not ${subject.repository.name}`);
  }
}

/**
 * The log entry and timestamp a classic `.sig` layer carries in its annotations, checked as a
 * bundle's are ({@link verifySigstoreBundle}): read into a message-signature bundle over the
 * payload (Rekor's `hashedrekord` entry names the payload's hash and the signature) and verified
 * against the requirement's trusted root. `key` has already verified the signature.
 * @throws SignatureRejection saying why not
 */
export function verifyClassicLogEntries(annotations: Record<string, unknown>, payload: Buffer, signatureBase64: string, key: SignatureKey, requirement: Pick<SignerRequirement, 'tlog' | 'trustedRoot' | 'where'>): void {
  const tlogEntries: unknown[] = [];
  const rfc3161Timestamps: unknown[] = [];
  try {
    const rekor = annotations[COSIGN_REKOR_ANNOTATION];
    if (rekor !== undefined) {
      const { SignedEntryTimestamp: set, Payload: entry } = JSON.parse(String(rekor)) as { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> };
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
  let entity: SignedEntity;
  try {
    const bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries, ...(rfc3161Timestamps.length > 0 ? { timestampVerificationData: { rfc3161Timestamps } } : {}) },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') }, signature: signatureBase64.replace(/\s+/g, '') },
    });
    entity = toSignedEntity(bundle, payload);
  } catch (e) {
    throw new SignatureRejection(`the signature's log entry or timestamp cannot be read (${String((e as Error).message).slice(0, 200)})`);
  }
  checkLogEntries(entity, key, requirement);
}
