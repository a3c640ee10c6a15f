import { X509Certificate } from '@sigstore/core';
import { SignedEntity, TrustMaterial, Verifier } from '@sigstore/verify';
import { SignatureRejection, isRecord, quote } from './cosign';
import { CertificateIdentity, KeylessSigner, describeKeyless, keylessAccepts } from './keyless-policy';
import type { LogTrust } from './trusted-root';

const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

/**
 * Verifies a certificate-signed (keyless) entity the way the Sigstore client specification
 * orders it, against the trusted root of each signer (no network: the roots are in memory):
 *
 * 1. the signing time, from a transparency-log entry whose signed entry timestamp verifies, or
 *    from an RFC 3161 timestamp of a trusted timestamp authority (never the wall clock; a Rekor v2
 *    entry, which has an inclusion proof and no promise, gives no time, so it needs a timestamp);
 * 2. the Fulcio chain, to a certificate authority of the root valid at that time, every
 *    certificate of the path valid at that time;
 * 3. an SCT of a trusted CT log embedded in the certificate;
 * 4. the transparency-log entry: its inclusion (promise, or proof against a signed checkpoint) and
 *    that it is for this signature, this artifact digest and this certificate;
 * 5. the signature over the content with the certificate's key;
 * 6. the certificate's identity (SAN) and OIDC issuer against the signer, matched whole.
 *
 * A log entry and an SCT are required (one each at least). `@sigstore/verify` does 1-5; kubepin
 * checks that the entry names the certificate and matches identities itself (anchored).
 * @returns what the certificate says of its signer
 * @throws SignatureRejection with the reason per trusted root
 */
export function verifyKeylessEntity(entity: SignedEntity, signers: readonly KeylessSigner[], rootOf: (signer: KeylessSigner) => LogTrust): CertificateIdentity {
  if (entity.key.$case !== 'certificate') throw new SignatureRejection('the signature carries no certificate');
  const certificate = entity.key.certificate;
  memoizeDer(certificate);
  const seen = certificateIdentity(certificate);
  const groups = new Map<LogTrust, KeylessSigner[]>();
  for (const signer of signers) {
    const root = rootOf(signer);
    groups.set(root, [...(groups.get(root) ?? []), signer]);
  }
  const reasons: string[] = [];
  for (const [root, group] of groups) {
    const material = root.material as Omit<TrustMaterial, 'publicKey'>;
    if (!memoized.has(material)) {
      memoized.add(material);
      for (const ca of material.certificateAuthorities) ca.certChain.forEach(memoizeDer);
    }
    const trust: TrustMaterial = {
      ...material,
      // Only the authorities that can have issued the leaf (by key identifier, else name, as `@sigstore/verify`'s path
      // builder looks for issuers): the others cannot chain it, and trying each costs milliseconds.
      certificateAuthorities: material.certificateAuthorities.filter((ca) => ca.certChain.some((c) => mayHaveIssued(c, certificate))),
      publicKey: () => {
        throw new Error('a keyless signature is verified with its certificate, not a key');
      },
    };
    try {
      new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 }).verify(entity);
    } catch (e) {
      reasons.push(`${root.source}: ${verificationProblem(e)}`);
      continue;
    }
    checkEntriesNameCertificate(entity, certificate);
    if (group.some((s) => keylessAccepts(s, seen))) return seen;
    reasons.push(`the certificate is for identity ${quote(seen.identity)} (issuer ${quote(seen.issuer)}), not ${group.map(describeKeyless).join(' or ')}`);
  }
  throw new SignatureRejection(reasons.join('; '));
}

const memoized = new WeakSet<object>();

/**
 * `@sigstore/verify` compares certificates by re-encoding each to DER (`equals`, `clone`), most of
 * a keyless verification's time; the certificates here are parsed once and never changed, so
 * their encoding is computed once.
 */
function memoizeDer(certificate: X509Certificate): void {
  const root = certificate.root;
  if (memoized.has(root)) return;
  memoized.add(root);
  const der = root.toDER();
  root.toDER = () => Buffer.from(der);
}

/** The SAN and OIDC issuer a Fulcio certificate carries (empty when absent, which no signer accepts). */
export function certificateIdentity(certificate: X509Certificate): CertificateIdentity {
  let issuer = '';
  const v2 = certificate.extension(OID_ISSUER_V2);
  if (v2) {
    // A DER UTF8String (tag 12) in the extension's value.
    const value = v2.value;
    if (value.length >= 2 && value[0] === 0x0c && value[1] < 0x80 && value.length === value[1] + 2) issuer = value.subarray(2).toString('utf8');
  } else {
    issuer = certificate.extension(OID_ISSUER_V1)?.value.toString('utf8') ?? '';
  }
  return { identity: certificate.subjectAltName ?? '', issuer };
}

/** Each log entry's body must name the signing certificate (the signature and digest are compared by `@sigstore/verify`). */
function checkEntriesNameCertificate(entity: SignedEntity, certificate: X509Certificate): void {
  const leaf = certificate.root.toDER();
  for (const entry of entity.tlogEntries) {
    let body: unknown;
    try {
      body = JSON.parse(entry.canonicalizedBody.toString('utf8'));
    } catch {
      throw new SignatureRejection('the transparency-log entry body is not JSON');
    }
    const named = certificatesIn(body, 0);
    if (named.length === 0) throw new SignatureRejection('the transparency-log entry names no certificate, so it is not shown to be for this signature');
    if (!named.some((der) => der.equals(leaf))) throw new SignatureRejection('the transparency-log entry is for another certificate than the signature carries');
  }
}

/** The DER of the certificates a log entry body names: PEM (base64 of it, as Rekor v1 writes) or `rawBytes` (Rekor v2). */
function certificatesIn(value: unknown, depth: number): Buffer[] {
  if (depth > 8) return [];
  if (Array.isArray(value)) return value.flatMap((v) => certificatesIn(v, depth + 1));
  if (isRecord(value)) {
    return Object.entries(value).flatMap(([k, v]) => {
      if (k === 'x509Certificate' && isRecord(v) && typeof v.rawBytes === 'string') return [Buffer.from(v.rawBytes, 'base64')];
      return certificatesIn(v, depth + 1);
    });
  }
  if (typeof value !== 'string' || value.length < 64) return [];
  let text = value;
  for (let i = 0; i < 2 && !text.includes('-----BEGIN CERTIFICATE-----'); i++) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) return [];
    text = Buffer.from(text, 'base64').toString('latin1');
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => Buffer.from(b.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64'));
}

/** True when `ca` may be the issuer of `cert`: its subject key identifier is the cert's authority key identifier, else its subject the cert's issuer. */
function mayHaveIssued(ca: X509Certificate, cert: X509Certificate): boolean {
  const aki = cert.extAuthorityKeyID?.keyIdentifier;
  const ski = ca.extSubjectKeyID?.keyIdentifier;
  if (aki && ski) return aki.equals(ski);
  return ca.subject.equals(cert.issuer);
}

/** `@sigstore/verify`'s error and its cause, in a sentence. */
export function verificationProblem(e: unknown): string {
  const err = e as { message?: unknown; cause?: { message?: unknown } } | undefined;
  const message = String(err?.message ?? e).split('\n')[0].slice(0, 200);
  const cause = err?.cause?.message !== undefined ? String(err.cause.message).split('\n')[0].slice(0, 200) : '';
  return cause && cause !== message ? `${message} (${cause})` : message;
}
