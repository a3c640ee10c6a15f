import { createHash, timingSafeEqual } from 'crypto';
import { X509Certificate, dsse } from '@sigstore/core';
import { Bundle, bundleFromJSON, isBundleWithDsseEnvelope } from '@sigstore/bundle';
import { SignedEntity, TrustMaterial, Verifier, toSignedEntity } from '@sigstore/verify';
import { SignatureKey } from './keys';
import type { SignerRequirement } from './policy';
import { SignatureRejection, SignatureSubject, describeKeys, isRecord, quote, sameRepository } from './cosign';
import { checkBundleBounds } from './bounds';
import { verifyKeylessEntity, verificationProblem } from './keyless';
import type { CertificateIdentity } from './keyless-policy';
import type { LogTrust } from './trusted-root';
import { PublicGoodRoot, loadPublicGoodRoot } from './public-good';

/** Who a verified signature is by: a configured key, or a certificate whose identity a keyless signer accepts. */
export type VerifiedSigner = { readonly key: SignatureKey; readonly certificate?: undefined } | { readonly certificate: CertificateIdentity; readonly key?: undefined };

/** What verifying a signature needs of a requirement. */
export type BundleRequirement = Pick<SignerRequirement, 'keys' | 'keyless' | 'tlog' | 'trustedRoot' | 'where'>;

/** The in-toto predicate type of a cosign image signature. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const IN_TOTO_STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);

/**
 * Checks one Sigstore bundle (v0.1 to v0.3: a DSSE envelope around an in-toto statement with
 * predicate type {@link COSIGN_SIGN_PREDICATE}): the statement must name `subject.digest` (and,
 * when its subject carries a name, `subject.repository`). A key-signed bundle must verify with one
 * of the requirement's keys (with `@sigstore/verify`, the key as trust material), and the log
 * entries and timestamps it carries are verified too (an entry that cannot be verified rejects
 * the bundle; `tlog: "required"` also demands one). A certificate-signed (keyless) bundle is
 * verified to the Sigstore client specification against the signers' trusted roots
 * ({@link verifyKeylessEntity}). With no trusted root configured, the public-good one
 * (`publicGood`, over TUF) is used.
 * @throws SignatureRejection saying why not
 */
export async function verifySigstoreBundle(bytes: Buffer, requirement: BundleRequirement, subject: SignatureSubject, publicGood: PublicGoodRoot = loadPublicGoodRoot): Promise<VerifiedSigner> {
  const bundle = parseBundle(bytes);
  if (!isBundleWithDsseEnvelope(bundle)) {
    throw new SignatureRejection('the bundle holds a message signature, not a DSSE envelope around an image statement (cosign writes the latter for images)');
  }
  checkStatement(inTotoPayload(bundle), subject);
  return verifyEntity(signedEntity(bundle), requirement, publicGood);
}

/**
 * A bundle's bytes read as JSON, within {@link checkBundleBounds}, and parsed by `@sigstore/bundle` (v0.1 to v0.3).
 * @throws SignatureRejection saying why not
 */
export function parseBundle(bytes: Buffer): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SignatureRejection(`the Sigstore bundle is not JSON (${bytes.length} bytes; truncated or not a bundle)`);
  }
  checkBundleBounds(json);
  try {
    return bundleFromJSON(json);
  } catch (e) {
    throw new SignatureRejection(`not a valid Sigstore bundle (${(e as Error).message.slice(0, 200)})`);
  }
}

/** The in-toto statement a DSSE bundle's envelope carries. @throws SignatureRejection for another payload type */
export function inTotoPayload(bundle: Bundle & { content: { $case: 'dsseEnvelope' } }): Buffer {
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SignatureRejection(`the envelope's payload type is ${quote(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  return envelope.payload;
}

/**
 * Who signed `entity`: a certificate is verified keyless ({@link verifyKeyless}); a key signature
 * must verify with one of the requirement's keys, with the log entries and timestamps present.
 * @throws SignatureRejection saying why not
 */
export async function verifyEntity(entity: SignedEntity, requirement: BundleRequirement, publicGood: PublicGoodRoot): Promise<VerifiedSigner> {
  if (entity.key.$case === 'certificate') return { certificate: await verifyKeyless(entity, requirement, publicGood) };
  if (requirement.keys.length === 0) {
    throw new SignatureRejection(`the bundle is signed with a key, and ${requirement.where} accepts keyless signers only`);
  }
  const key = signingKey(entity, requirement.keys);
  await checkLogEntries(entity, key, requirement, publicGood);
  return { key };
}

/** `@sigstore/verify`'s view of a parsed bundle (`artifact`: the signed bytes of a message signature). */
export function signedEntity(bundle: Bundle, artifact?: Buffer): SignedEntity {
  try {
    // Only the leaf is used (the trusted root holds the CAs), but a chain that does not parse is not a signature kubepin accepts.
    const content = bundle.verificationMaterial.content;
    if (content.$case === 'x509CertificateChain') for (const c of content.x509CertificateChain.certificates) X509Certificate.parse(Buffer.from(c.rawBytes));
    const entity = toSignedEntity(bundle, artifact);
    return isBundleWithDsseEnvelope(bundle) ? withHashedRekordOverDsse(entity, bundle) : entity;
  } catch (e) {
    throw new SignatureRejection(`part of the bundle cannot be read (${(e as Error).message.slice(0, 200)})`);
  }
}

/**
 * Rekor v2 logs a DSSE envelope as a `hashedrekord` 0.0.2 entry over the SHA-256 of its
 * pre-authentication encoding (rekor-v2-spec §6.1.4: what the signature is over), which
 * `@sigstore/verify` 3.1 compares with the payload's hash. Only when every entry is of that kind,
 * the envelope's content also matches that digest; the signature itself is compared as before.
 */
function withHashedRekordOverDsse(entity: SignedEntity, bundle: Bundle & { content: { $case: 'dsseEnvelope' } }): SignedEntity {
  const entries = bundle.verificationMaterial.tlogEntries;
  if (entries.length === 0 || !entries.every((e) => e.kindVersion?.kind === 'hashedrekord' && e.kindVersion.version === '0.0.2')) return entity;
  const envelope = bundle.content.dsseEnvelope;
  const pae = createHash('sha256').update(dsse.preAuthEncoding(envelope.payloadType, envelope.payload)).digest();
  const content = entity.signature;
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (signature) => content.compareSignature(signature),
      compareDigest: (digest) => content.compareDigest(digest) || (digest.length === pae.length && timingSafeEqual(digest, pae)),
      verifySignature: (key) => content.verifySignature(key),
    },
  };
}

/**
 * A certificate-signed entity checked against the requirement's keyless signers, each with its
 * trusted root (the public-good one where none is configured).
 * @throws SignatureRejection saying why not
 */
export async function verifyKeyless(entity: SignedEntity, requirement: BundleRequirement, publicGood: PublicGoodRoot): Promise<CertificateIdentity> {
  const signers = requirement.keyless ?? [];
  if (signers.length === 0) {
    throw new SignatureRejection(`the signature is keyless (a Fulcio certificate), and ${requirement.where} lists keys only. Fix: add the signer as "keyless": { "identity": …, "issuer": … }, or sign with a listed key`);
  }
  const fallback = signers.some((s) => !s.trustedRoot) ? await publicGood() : undefined;
  return verifyKeylessEntity(entity, signers, (s) => s.trustedRoot ?? fallback!);
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
export async function checkLogEntries(entity: SignedEntity, key: SignatureKey, requirement: Pick<SignerRequirement, 'tlog' | 'trustedRoot' | 'where'>, publicGood: PublicGoodRoot): Promise<void> {
  const entries = entity.tlogEntries.length;
  const authorityTimestamps = entity.timestamps.filter((t) => t.$case === 'timestamp-authority').length;
  if (entries === 0 && requirement.tlog === 'required') {
    throw new SignatureRejection(`the signature has no transparency-log entry, and ${requirement.where} says "tlog": "required". Fix: sign with the log (cosign's default, not --tlog-upload=false)`);
  }
  if (entries === 0 && authorityTimestamps === 0) return;
  const what = [entries > 0 ? `${entries} transparency-log entr${entries === 1 ? 'y' : 'ies'}` : '', authorityTimestamps > 0 ? `${authorityTimestamps} timestamp-authority timestamp${authorityTimestamps === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
  const root: LogTrust = requirement.trustedRoot ?? (await publicGood());
  const trust: TrustMaterial = { ...(root.material as Omit<TrustMaterial, 'publicKey'>), publicKey: () => ({ publicKey: key.publicKey, validFor: () => true }) };
  try {
    new Verifier(trust, { tlogThreshold: requirement.tlog === 'required' ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
  } catch (e) {
    throw new SignatureRejection(`the signature's ${what} do${entries + authorityTimestamps === 1 ? 'es' : ''} not verify against ${root.source} (${verificationProblem(e)})`);
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
