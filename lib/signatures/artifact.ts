import { createHash } from 'crypto';
import { isBundleWithDsseEnvelope, isBundleWithMessageSignature } from '@sigstore/bundle';
import { SignatureRejection, isRecord } from './cosign';
import { BundleRequirement, VerifiedSigner, inTotoPayload, parseBundle, signedEntity, verifyEntity } from './bundle';
import { PublicGoodRoot, loadPublicGoodRoot } from './public-good';

/**
 * Verifies a Sigstore bundle (v0.1 to v0.3) over any artifact, as `cosign verify-blob` and the
 * sigstore-conformance suite do: a message signature over `artifact`'s bytes (its message digest
 * must be the artifact's SHA-256), or a DSSE envelope whose in-toto statement names the
 * artifact's SHA-256 among its subjects; then the signer, keyless or by key, as an image's
 * bundle is verified (lib/signatures/bundle.ts).
 * @throws SignatureRejection saying why not
 */
export async function verifyArtifactBundle(bytes: Buffer, artifact: Buffer, requirement: BundleRequirement, publicGood: PublicGoodRoot = loadPublicGoodRoot): Promise<VerifiedSigner> {
  const bundle = parseBundle(bytes);
  const digest = createHash('sha256').update(artifact).digest();
  if (isBundleWithMessageSignature(bundle)) {
    const signed = bundle.content.messageSignature.messageDigest;
    if (signed && !(signed.algorithm === 1 && Buffer.from(signed.digest).equals(digest))) {
      throw new SignatureRejection("the bundle's message digest is not the artifact's SHA-256");
    }
    return verifyEntity(signedEntity(bundle, artifact), requirement, publicGood);
  }
  if (!isBundleWithDsseEnvelope(bundle)) throw new SignatureRejection('the bundle holds neither a message signature nor a DSSE envelope');
  let statement: unknown;
  try {
    statement = JSON.parse(inTotoPayload(bundle).toString('utf8'));
  } catch {
    throw new SignatureRejection('the envelope payload is not JSON');
  }
  const subjects = isRecord(statement) && Array.isArray(statement.subject) ? statement.subject.filter(isRecord) : [];
  if (!subjects.some((s) => isRecord(s.digest) && s.digest.sha256 === digest.toString('hex'))) {
    throw new SignatureRejection("the statement names no subject with the artifact's SHA-256");
  }
  return verifyEntity(signedEntity(bundle), requirement, publicGood);
}
