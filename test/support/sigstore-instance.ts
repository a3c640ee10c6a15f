/**
 * A private Sigstore instance for keyless tests: Fulcio (with a CT log), Rekor and a timestamp
 * authority from `@sigstore/mock`, served over HTTP on 127.0.0.1, and the Sigstore project's own
 * signer (`@sigstore/sign`: FulcioSigner, RekorWitness, TSAWitness) making keyless signatures
 * against it, as cosign does against the public instance. `trustedRoot` is the
 * trusted_root.json naming this instance's keys and certificates.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, Witness } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler } from '@sigstore/mock';
import type { HandlerFn } from '@sigstore/mock';
import { PushClient, TestRegistry, sha256 } from './registry';
import { cosignStatement, pushReferrer, pushSignatureManifest, simpleSigningPayload } from './signatures';

export interface InstanceOptions {
  /** The CA issues certificates as at this time (they are valid 10 minutes from it). @default now */
  readonly caClock?: Date;
  /** Rekor integrates entries at this time. @default now */
  readonly rekorClock?: Date;
  /** No CT log: certificates carry no SCT. */
  readonly noCtLog?: boolean;
}

export interface KeylessIdentityClaims {
  /** The token's `sub` (the certificate's SAN). */
  readonly subject: string;
  /** The token's `iss` (the certificate's issuer extensions). */
  readonly issuer: string;
}

export interface SigstoreInstance {
  /** trusted_root.json of this instance (Fulcio CA, CT log, Rekor, TSA). */
  readonly trustedRoot: Record<string, unknown>;
  /** A cosign v3 Sigstore bundle (v0.3 JSON) for `digest`, signed keyless as `claims`. */
  bundle(digest: string, claims: KeylessIdentityClaims, options?: { name?: string; timestamp?: boolean; noTlog?: boolean }): Promise<Record<string, any>>;
  /** A keyless classic signature of `payload`: the layer annotations cosign writes (certificate, chain, Rekor bundle). */
  classic(payload: Buffer, claims: KeylessIdentityClaims): Promise<{ signature: string; annotations: Record<string, string> }>;
  stop(): Promise<void>;
}

/** An unsigned OIDC token with the claims (the mock Fulcio reads, not verifies, it). */
function token(claims: KeylessIdentityClaims): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: claims.subject, iss: claims.issuer, aud: 'sigstore' })}.`;
}

/** Rekor v1's stored form of a proposed dsse entry: the envelope's and payload's hashes and its signatures with their verifier. */
function rekorDsseBody(proposed: any): any {
  if (proposed.kind !== 'dsse') return proposed;
  const { envelope: text, verifiers } = proposed.spec.proposedContent;
  const envelope = JSON.parse(text);
  const hash = (b: Buffer | string) => ({ algorithm: 'sha256', value: crypto.createHash('sha256').update(b).digest('hex') });
  return {
    apiVersion: '0.0.1', kind: 'dsse',
    spec: { envelopeHash: hash(text), payloadHash: hash(Buffer.from(envelope.payload, 'base64')), signatures: envelope.signatures.map((s: any) => ({ signature: s.sig, verifier: verifiers[0] })) },
  };
}

const pair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

export async function startSigstoreInstance(options: InstanceOptions = {}): Promise<SigstoreInstance> {
  const ctKeys = pair();
  const ctlog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(pair(), options.noCtLog ? undefined : ctlog, options.caClock);
  const rekorKeys = pair();
  const routes = new Map<string, HandlerFn>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const fn = routes.get(req.url ?? '');
      if (!fn || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const result = await fn(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(result.statusCode, { 'content-type': result.contentType ?? 'application/json' }).end(Buffer.from(result.response as any));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tlog = await initializeTLog(url, rekorKeys, options.rekorClock);
  const tsa = await initializeTSA(pair());
  for (const h of [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)]) routes.set(h.path, h.fn);
  // The mock logs a proposed entry as it is; Rekor stores a dsse entry as hashes and signatures (what verifiers read).
  const rekor = routes.get('/api/v1/log/entries')!;
  routes.set('/api/v1/log/entries', (body) => rekor(JSON.stringify(rekorDsseBody(JSON.parse(body)))));

  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const keyOf = (der: Buffer) => ({ rawBytes: der.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: since } });
  const rekorDer = rekorKeys.publicKey.export({ type: 'spki', format: 'der' });
  const ctDer = ctKeys.publicKey.export({ type: 'spki', format: 'der' });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: keyOf(rekorDer), logId: { keyId: crypto.createHash('sha256').update(rekorDer).digest('base64') } }],
    certificateAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: url, certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer).toString('base64') }] }, validFor: { start: since } }],
    ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', publicKey: keyOf(ctDer), logId: { keyId: Buffer.from(ctlog.logID.buffer).toString('base64') } }],
    timestampAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'tsa' }, uri: url, certChain: { certificates: [{ rawBytes: Buffer.from(tsa.intCertificate.buffer).toString('base64') }, { rawBytes: Buffer.from(tsa.rootCertificate.buffer).toString('base64') }] }, validFor: { start: since } }],
  };
  const signer = (claims: KeylessIdentityClaims) => new FulcioSigner({ fulcioBaseURL: url, identityProvider: { getToken: async () => token(claims) }, retry: 0 });
  const witnesses = (opts: { timestamp?: boolean; noTlog?: boolean }): Witness[] => [
    ...(opts.noTlog ? [] : [new RekorWitness({ rekorBaseURL: url, entryType: 'dsse', retry: 0 })]),
    ...(opts.timestamp ? [new TSAWitness({ tsaBaseURL: url, retry: 0 })] : []),
  ];
  return {
    trustedRoot,
    async bundle(digest, claims, opts = {}) {
      const bundle = await new DSSEBundleBuilder({ signer: signer(claims), witnesses: witnesses(opts) }).create({ data: cosignStatement(digest, opts.name), type: 'application/vnd.in-toto+json' });
      return bundleToJSON(bundle) as Record<string, any>;
    },
    async classic(payload, claims) {
      const bundle = bundleToJSON(await new MessageSignatureBundleBuilder({ signer: signer(claims), witnesses: [new RekorWitness({ rekorBaseURL: url, retry: 0 })] }).create({ data: payload })) as Record<string, any>;
      const entry = bundle.verificationMaterial.tlogEntries[0];
      const rekorBundle = {
        SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
        Payload: { body: entry.canonicalizedBody, integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex') },
      };
      return {
        signature: bundle.messageSignature.signature,
        annotations: {
          'dev.sigstore.cosign/certificate': pem(Buffer.from(bundle.verificationMaterial.x509CertificateChain.certificates[0].rawBytes, 'base64')),
          'dev.sigstore.cosign/chain': pem(Buffer.from(ca.rootCertificate.buffer)),
          'dev.sigstore.cosign/bundle': JSON.stringify(rekorBundle),
        },
      };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Pushes a keyless classic signature (`.sig` tag) for `digest`; `spoil` may change the layer's annotations first. */
export async function pushKeylessClassic(registry: TestRegistry, instance: SigstoreInstance, repository: string, digest: string, claims: KeylessIdentityClaims, options: { signedDigest?: string; dockerReference?: string; spoil?: (a: Record<string, string>) => void } = {}): Promise<void> {
  const payload = simpleSigningPayload(options.dockerReference ?? `${registry.host}/${repository}`, options.signedDigest ?? digest);
  const { signature, annotations } = await instance.classic(payload, claims);
  options.spoil?.(annotations);
  const client = new PushClient(registry, repository);
  const config = Buffer.from('{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}');
  await client.uploadBlob(config);
  await client.uploadBlob(payload);
  await pushSignatureManifest(client, digest, [{ payload, signature, annotations }], config);
}

/** Pushes a keyless Sigstore bundle as a referrer of `digest` (and under the referrers tag). */
export async function pushKeylessBundle(registry: TestRegistry, repository: string, digest: string, bundle: Record<string, any>): Promise<string> {
  return pushReferrer(registry, repository, digest, Buffer.from(JSON.stringify(bundle)));
}

export { sha256 };
