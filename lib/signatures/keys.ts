import * as crypto from 'crypto';
import { KubepinError } from '../util/errors';

/** A public key file or PEM text is missing, malformed, or of a kind kubepin does not verify with. */
export class SignatureKeyError extends KubepinError {}

/** The key kinds cosign and containers/image accept for key-based signatures. */
export type SignatureKeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa';

/** A public key that may vouch for images. */
export interface SignatureKey {
  /** `sha256:<hex>` of the key's DER SubjectPublicKeyInfo; what the lock records (cosign's bundle `hint` is the same hash, base64). */
  readonly fingerprint: string;
  /** The key kind. */
  readonly algorithm: SignatureKeyAlgorithm;
  /** Where the key came from (file path or `inline`), for messages. */
  readonly source: string;
  /** The key itself. */
  readonly publicKey: crypto.KeyObject;
}

const MAX_PEM_BYTES = 64 * 1024;
const MIN_RSA_BITS = 2048;

/**
 * Parses one PEM public key (`-----BEGIN PUBLIC KEY-----`, as `cosign generate-key-pair` writes,
 * or `-----BEGIN RSA PUBLIC KEY-----`): ECDSA P-256/P-384, Ed25519 or RSA ≥ 2048 bits.
 * @throws SignatureKeyError naming `source` and what to use instead
 */
export function parsePublicKey(pem: string | Buffer, source: string): SignatureKey {
  const text = Buffer.isBuffer(pem) ? pem.toString('utf8') : pem;
  if (typeof text !== 'string' || text.length > MAX_PEM_BYTES) {
    throw new SignatureKeyError(`${source}: not a PEM public key (larger than ${MAX_PEM_BYTES} bytes)`);
  }
  if (/-----BEGIN (?:ENCRYPTED |EC |RSA |OPENSSH )?PRIVATE KEY-----/.test(text) || text.includes('BEGIN ENCRYPTED SIGSTORE PRIVATE KEY')) {
    throw new SignatureKeyError(`${source}: this is a private key; give the public key (cosign.pub, or \`openssl pkey -pubout\`) and keep the private key out of the repository`);
  }
  const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
  if (blocks.length !== 1 || !/^-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(blocks[0])) {
    throw new SignatureKeyError(`${source}: expected exactly one PEM "PUBLIC KEY" block (as \`cosign generate-key-pair\` writes to cosign.pub), found ${blocks.length === 0 ? 'none' : blocks.map((b) => JSON.stringify(/^-----BEGIN ([A-Z ]+)-----/.exec(b)![1])).join(', ')}`);
  }
  let publicKey: crypto.KeyObject;
  try {
    publicKey = crypto.createPublicKey({ key: blocks[0], format: 'pem' });
  } catch (e) {
    throw new SignatureKeyError(`${source}: the PEM block is not a readable public key (${(e as Error).message.split('\n')[0]})`);
  }
  const algorithm = keyAlgorithm(publicKey, source);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { fingerprint: `sha256:${crypto.createHash('sha256').update(der).digest('hex')}`, algorithm, source, publicKey };
}

function keyAlgorithm(key: crypto.KeyObject, source: string): SignatureKeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
      if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
      throw new SignatureKeyError(`${source}: ECDSA curve ${details.namedCurve ?? '(unknown)'} is not supported; use P-256 (cosign's default) or P-384`);
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
        throw new SignatureKeyError(`${source}: RSA key of ${details.modulusLength ?? '?'} bits is too weak; use at least ${MIN_RSA_BITS} bits`);
      }
      return 'rsa';
    default:
      throw new SignatureKeyError(`${source}: ${key.asymmetricKeyType ?? 'unknown'} keys are not supported; use ECDSA P-256/P-384, Ed25519 or RSA (≥ ${MIN_RSA_BITS} bits)`);
  }
}

/**
 * Verifies `signature` over `data` the way cosign does for key-based signatures: ECDSA and
 * RSA (PKCS#1 v1.5) over SHA-256 (SHA-384 also accepted for P-384), Ed25519 over the data itself.
 */
export function verifyWithKey(key: SignatureKey, data: Buffer, signature: Buffer): boolean {
  try {
    switch (key.algorithm) {
      case 'ed25519':
        return crypto.verify(null, data, key.publicKey, signature);
      case 'ecdsa-p384':
        return crypto.verify('sha256', data, key.publicKey, signature) || crypto.verify('sha384', data, key.publicKey, signature);
      default:
        return crypto.verify('sha256', data, key.publicKey, signature);
    }
  } catch {
    // Malformed DER signature and the like: not a valid signature.
    return false;
  }
}
