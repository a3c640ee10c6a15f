/**
 * Signs images in the test registry the way cosign does, with the Sigstore project's own signer
 * package (`@sigstore/sign`, key-based, offline, no transparency log), never with kubepin's code:
 * - classic cosign: a simple-signing payload layer under tag `sha256-<hex>.sig`, its signature
 *   (made by `MessageSignatureBundleBuilder` over the payload bytes) in the
 *   `dev.cosignproject.cosign/signature` annotation;
 * - Sigstore bundle (cosign v3): a DSSE envelope (`DSSEBundleBuilder`) around an in-toto statement
 *   with predicate type `https://sigstore.dev/cosign/sign/v1`, pushed as an OCI 1.1 referrer whose
 *   `subject` is the image; listed under the referrers tag schema `sha256-<hex>` because
 *   distribution 2.8 has no referrers API.
 */
import * as crypto from 'crypto';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, Signer } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { PushClient, TestRegistry, sha256 } from './registry';

export type TestKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa';

/** A throw-away key pair. */
export interface TestKey {
  readonly privateKey: crypto.KeyObject;
  /** PEM SubjectPublicKeyInfo, as cosign.pub holds it. */
  readonly publicPem: string;
  readonly type: TestKeyType;
}

export function generateKey(type: TestKeyType = 'ecdsa-p256'): TestKey {
  const pair =
    type === 'ed25519'
      ? crypto.generateKeyPairSync('ed25519')
      : type === 'rsa'
        ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
        : crypto.generateKeyPairSync('ec', { namedCurve: type === 'ecdsa-p384' ? 'secp384r1' : 'prime256v1' });
  return { privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), type };
}

/** A key pair from a PKCS#8 PEM private key (e.g. the example app's test-only signing key). */
export function keyFromPrivatePem(pem: string): TestKey {
  const privateKey = crypto.createPrivateKey(pem);
  const type: TestKeyType = privateKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : privateKey.asymmetricKeyType === 'rsa' ? 'rsa' : privateKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ecdsa-p384' : 'ecdsa-p256';
  return { privateKey, publicPem: crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), type };
}

/** sha256 fingerprint of a PEM public key's DER, as kubepin records it. */
export function fingerprintOf(key: TestKey): string {
  const der = crypto.createPublicKey(key.publicPem).export({ type: 'spki', format: 'der' });
  return `sha256:${crypto.createHash('sha256').update(der).digest('hex')}`;
}

/** A key-based `@sigstore/sign` signer (what `cosign sign --key` does, minus the password prompt). */
export function keySigner(key: TestKey): Signer {
  const der = crypto.createPublicKey(key.publicPem).export({ type: 'spki', format: 'der' });
  return {
    async sign(data: Buffer) {
      return {
        signature: crypto.sign(key.type === 'ed25519' ? null : 'sha256', data, key.privateKey),
        key: { $case: 'publicKey', publicKey: key.publicPem, hint: crypto.createHash('sha256').update(der).digest('base64') },
      };
    },
  };
}

/** What to sign and how to spoil it (for the rejection matrix). */
export interface SignOptions {
  /** The key that signs. */
  readonly key: TestKey;
  /** The repository named in the signature. @default the repository it is pushed to */
  readonly signedRepository?: string;
  /** The whole `registry/repository` named in the signature (e.g. the name a mirror serves). @default the registry's host and `signedRepository` */
  readonly dockerReference?: string;
  /** The digest named in the signature. @default the digest it is attached to */
  readonly signedDigest?: string;
  /** Change the payload after signing (the signature then covers other bytes). */
  readonly tamper?: boolean;
  /** More annotations for the classic signature layer (e.g. cosign's Rekor entry), given the payload and its signature. */
  readonly annotations?: (payload: Buffer, signatureBase64: string) => Record<string, string>;
}

/** The simple-signing payload cosign writes (same field order and compact encoding). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
}

/** Attaches a classic cosign signature to `digest` in `repository` (tag `sha256-<hex>.sig`). */
export async function pushCosignSignature(registry: TestRegistry, repository: string, digest: string, options: SignOptions): Promise<void> {
  let payload = simpleSigningPayload(options.dockerReference ?? `${registry.host}/${options.signedRepository ?? repository}`, options.signedDigest ?? digest);
  const bundle = await new MessageSignatureBundleBuilder({ signer: keySigner(options.key), witnesses: [] }).create({ data: payload });
  const signature = bundle.content.messageSignature.signature.toString('base64');
  if (options.tamper) payload = Buffer.from(payload.toString('utf8').replace('"optional":null', '"optional":{"tampered":true}'));
  const client = new PushClient(registry, repository);
  const config = Buffer.from('{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}');
  await client.uploadBlob(config);
  await client.uploadBlob(payload);
  await pushSignatureManifest(client, digest, [{ payload, signature, annotations: options.annotations?.(payload, signature) }], config);
}

/** Pushes a `.sig` manifest with the given layers (also used to build hostile ones). */
export async function pushSignatureManifest(client: PushClient, digest: string, layers: Array<{ payload: Buffer; signature: string; size?: number; annotations?: Record<string, string> }>, config: Buffer): Promise<void> {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        size: l.size ?? l.payload.length,
        digest: sha256(l.payload),
        annotations: { 'dev.cosignproject.cosign/signature': l.signature, ...l.annotations },
      })),
    }),
  );
  await client.putManifest(`${digest.replace(':', '-')}.sig`, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

/** The in-toto statement cosign v3 signs for an image (optionally naming the repository). */
export function cosignStatement(digest: string, name?: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ ...(name ? { name } : {}), digest: { sha256: digest.replace(/^sha256:/, '') }, annotations: {} }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

/** Makes a Sigstore bundle with `@sigstore/sign` for `digest` and pushes it as a referrer of `digest`. */
export async function pushBundleSignature(registry: TestRegistry, repository: string, digest: string, options: SignOptions): Promise<void> {
  const statement = cosignStatement(options.signedDigest ?? digest, options.dockerReference ?? `${registry.host}/${options.signedRepository ?? repository}`);
  const bundle = await new DSSEBundleBuilder({ signer: keySigner(options.key), witnesses: [] }).create({ data: statement, type: 'application/vnd.in-toto+json' });
  const json = bundleToJSON(bundle) as { dsseEnvelope: { payload: string } };
  if (options.tamper) {
    json.dsseEnvelope.payload = Buffer.from(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8').replace('"predicate":{}', '"predicate":{"tampered":true}')).toString('base64');
  }
  await pushReferrer(registry, repository, digest, Buffer.from(JSON.stringify(json)));
}

/**
 * Pushes `bundle` as an OCI 1.1 artifact whose subject is `digest`, and adds it to the
 * referrers tag `sha256-<hex>` (what clients do on registries without the referrers API).
 */
export async function pushReferrer(registry: TestRegistry, repository: string, digest: string, bundle: Buffer, createdAnnotation = '2026-01-01T00:00:00Z'): Promise<string> {
  const client = new PushClient(registry, repository);
  const empty = Buffer.from('{}');
  await client.uploadBlob(empty);
  await client.uploadBlob(bundle);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256(empty), artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', size: bundle.length, digest: sha256(bundle) }],
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1', 'org.opencontainers.image.created': createdAnnotation },
      subject: { mediaType: 'application/vnd.oci.image.index.v1+json', size: 0, digest },
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    }),
  );
  await pushRawManifest(client, manifest, digest);
  return sha256(manifest);
}

/** Pushes an already-built referring manifest (e.g. a real cosign one) and lists it under the referrers tag of `digest`. */
export async function pushRawManifest(client: PushClient, manifest: Buffer, subjectDigest: string): Promise<void> {
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  await client.putManifest(sha256(manifest), manifest, mediaType);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType, size: manifest.length, digest: sha256(manifest), artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }],
    }),
  );
  await client.putManifest(subjectDigest.replace(':', '-'), index, 'application/vnd.oci.image.index.v1+json');
}

/** A transparency log of our own: a Rekor-style key, the trusted_root.json naming it, and entries it signs. */
export interface TestTransparencyLog {
  /** A Sigstore trusted_root.json listing this log (and nothing else). */
  readonly trustedRoot: Record<string, unknown>;
  /**
   * `bundle` (a DSSE bundle's JSON) with a log entry for its signature, as Rekor v1 returns it
   * (a v0.1 bundle: an inclusion promise, no proof). `garbageSet` spoils the signed entry timestamp.
   */
  logged(bundle: Record<string, any>, options?: { garbageSet?: boolean }): Record<string, any>;
  /** The `dev.sigstore.cosign/bundle` annotation cosign puts on a classic `.sig` layer: a `hashedrekord` entry for `payload` and its signature. */
  classicAnnotation(payload: Buffer, signatureBase64: string, options?: { garbageSet?: boolean }): string;
}

export function testTransparencyLog(): TestTransparencyLog {
  const { json } = require('@sigstore/core') as typeof import('@sigstore/core');
  const log = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = log.publicKey.export({ type: 'spki', format: 'der' });
  const logId = crypto.createHash('sha256').update(der).digest();
  const integratedTime = 1767225600;
  const logIndex = 7;
  // Rekor v1's signed entry timestamp: its key's signature over the canonical entry.
  const signedEntry = (body: Buffer, garbage?: boolean) => {
    const promise = Buffer.from(json.canonicalize({ body: body.toString('base64'), integratedTime, logIndex, logID: logId.toString('hex') }));
    return garbage ? Buffer.from('not a signed entry timestamp') : crypto.sign('sha256', promise, log.privateKey);
  };
  return {
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [{ baseUrl: 'https://rekor.test', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: der.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } }, logId: { keyId: logId.toString('base64') } }],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    },
    logged(bundle, options = {}) {
      const envelope = bundle.dsseEnvelope as { payload: string; signatures: Array<{ sig: string }> };
      const verifierPem = Buffer.from(String(bundle.verificationMaterial.publicKey?.hint ?? '')).toString('base64');
      const body = Buffer.from(json.canonicalize({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: { payloadHash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(Buffer.from(envelope.payload, 'base64')).digest('hex') }, signatures: [{ signature: envelope.signatures[0].sig, verifier: verifierPem }] },
      }));
      const set = signedEntry(body, options.garbageSet);
      return {
        ...bundle,
        mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
        verificationMaterial: {
          ...bundle.verificationMaterial,
          tlogEntries: [{ logIndex: String(logIndex), logId: { keyId: logId.toString('base64') }, kindVersion: { kind: 'dsse', version: '0.0.1' }, integratedTime: String(integratedTime), inclusionPromise: { signedEntryTimestamp: set.toString('base64') }, canonicalizedBody: body.toString('base64') }],
        },
      };
    },
    classicAnnotation(payload, signatureBase64, options = {}) {
      const body = Buffer.from(json.canonicalize({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(payload).digest('hex') } }, signature: { content: signatureBase64, publicKey: { content: '' } } },
      }));
      return JSON.stringify({ SignedEntryTimestamp: signedEntry(body, options.garbageSet).toString('base64'), Payload: { body: body.toString('base64'), integratedTime, logIndex, logID: logId.toString('hex') } });
    },
  };
}

/** A Sigstore bundle for `digest` made with `@sigstore/sign`, as JSON (before pushing, e.g. to add a log entry). */
export async function bundleJson(digest: string, key: TestKey, name?: string): Promise<Record<string, any>> {
  const bundle = await new DSSEBundleBuilder({ signer: keySigner(key), witnesses: [] }).create({ data: cosignStatement(digest, name), type: 'application/vnd.in-toto+json' });
  return bundleToJSON(bundle) as Record<string, any>;
}
