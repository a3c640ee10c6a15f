import { ImageReference } from '../core/names/image-reference';
import { canonicalImageName } from '../core/names/registry-identity';
import { SignatureKey, verifyWithKey } from './keys';

/** Media type of a cosign simple-signing payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Layer annotation holding the base64 signature over the payload. */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Layer annotation of a classic cosign signature holding its Rekor entry (cosign's "bundle"). */
export const COSIGN_REKOR_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Layer annotation of a classic cosign signature holding an RFC 3161 timestamp. */
export const COSIGN_TIMESTAMP_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';
/** Layer annotation of a keyless classic signature: the Fulcio signing certificate (PEM). */
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
/** Layer annotation of a keyless classic signature: the certificate's chain (PEM, intermediates then root). */
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
/** The `critical.type` cosign writes. */
const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';

/** What a signature must vouch for. */
export interface SignatureSubject {
  /** The digest being locked (the index digest for multi-arch images). */
  readonly digest: string;
  /** The image's repository, `registry/repository` (as recorded in the lock, not a mirror). */
  readonly repository: ImageReference;
}

/** A verification that failed, with the reason (no secret, no registry-supplied text beyond short quoted values). */
export class SignatureRejection extends Error {}

/**
 * Checks one cosign "simple signing" payload and its signature: the payload must name the
 * subject ({@link checkSimpleSigningPayload}), and one of `keys` must have signed its exact bytes.
 * @returns the key that verified
 * @throws SignatureRejection saying why not
 */
export function verifySimpleSigning(payload: Buffer, signatureBase64: string, keys: readonly SignatureKey[], subject: SignatureSubject): SignatureKey {
  checkSimpleSigningPayload(payload, subject);
  const signature = decodeBase64(signatureBase64);
  if (!signature) throw new SignatureRejection('the signature annotation is not base64');
  const key = keys.find((k) => verifyWithKey(k, payload, signature));
  if (!key) throw new SignatureRejection(`the signature does not verify with ${describeKeys(keys)}`);
  return key;
}

/**
 * Checks that a cosign "simple signing" payload names `subject.digest` in
 * `critical.image.docker-manifest-digest` and `subject.repository` in
 * `critical.identity.docker-reference` (the signature over it is checked by the caller).
 * @throws SignatureRejection saying why not
 */
export function checkSimpleSigningPayload(payload: Buffer, subject: SignatureSubject): void {
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new SignatureRejection(`the simple-signing payload is not JSON (${payload.length} bytes; truncated or not a cosign payload)`);
  }
  const critical = isRecord(data) && isRecord(data.critical) ? data.critical : undefined;
  if (!critical || !isRecord(critical.image) || !isRecord(critical.identity)) {
    throw new SignatureRejection('the payload lacks critical.image / critical.identity: not a cosign simple-signing payload');
  }
  if (critical.type !== COSIGN_PAYLOAD_TYPE) {
    throw new SignatureRejection(`the payload's critical.type is ${quote(critical.type)}, not ${JSON.stringify(COSIGN_PAYLOAD_TYPE)}`);
  }
  const signedDigest = critical.image['docker-manifest-digest'];
  if (signedDigest !== subject.digest) {
    throw new SignatureRejection(`the signature is for digest ${quote(signedDigest)}, not ${subject.digest}`);
  }
  const reference = critical.identity['docker-reference'];
  if (!sameRepository(reference, subject.repository)) {
    throw new SignatureRejection(`the signature is for repository ${quote(reference)}, not ${subject.repository.name}`);
  }
}

/** True when `reference` (a `docker-reference`, maybe with tag or digest) names the repository of `image`. */
export function sameRepository(reference: unknown, image: ImageReference): boolean {
  if (typeof reference !== 'string') return false;
  // cosign writes the repository without tag, and `index.docker.io/…` for Hub: compared as one spelling.
  const signed = ImageReference.tryParse(reference);
  return signed !== undefined && canonicalImageName(signed.registry, signed.repository) === canonicalImageName(image.registry, image.repository);
}

/** `key sha256:ab12… (keys/cosign.pub)`, or a list of them. */
export function describeKeys(keys: readonly SignatureKey[]): string {
  const names = keys.map((k) => `${k.fingerprint.slice(0, 19)}… (${k.source})`);
  return names.length === 1 ? `key ${names[0]}` : `any of the keys ${names.join(', ')}`;
}

/** A short quoted rendering of a registry-supplied value for messages. */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? '(none)' : `(${typeof value})`;
  const text = value.length > 100 ? `${value.slice(0, 100)}…` : value;
  return JSON.stringify(text);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}
