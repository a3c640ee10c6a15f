import { DSSEBundleBuilder, MessageSignatureBundleBuilder } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { ImageReference } from '../../lib/core/names/image-reference';
import { RegistryClient } from '../../lib/registry';
import { parsePublicKey } from '../../lib/signatures/keys';
import { SignerRequirement } from '../../lib/signatures/policy';
import { SignatureVerificationError, SignatureVerifier } from '../../lib/signatures/verifier';
import { verifySigstoreBundle } from '../../lib/signatures/bundle';
import { SignatureRejection } from '../../lib/signatures/cosign';
import { PushClient, TestRegistryDetails, pushImage, sha256, startRegistry } from '../support/registry';
import { cosignStatement, generateKey, keySigner, pushRawManifest, pushReferrer, pushSignatureManifest } from '../support/signatures';

/*
 * Signature artifacts a hostile or broken registry may hold, each refused with its reason (and
 * the image left unlocked): the .sig manifest, the referrers index, the referring manifest, and
 * the Sigstore bundle itself. Registry cases run against a real docker-registry on 127.0.0.1;
 * the bundle cases check bytes made by the Sigstore project's own signer (@sigstore/sign).
 */
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

const trusted = generateKey('ecdsa-p256');
const requirement: SignerRequirement = { keys: [parsePublicKey(trusted.publicPem, 'test key')], where: 'test policy' };

describe('hostile signature artifacts in a real registry', () => {
  let registry: TestRegistryDetails;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ retries: 0 });
  });
  afterAll(async () => {
    client.close();
    await registry?.stop();
  });

  /** Pushes an image to `repo`, lets `build` add artifacts, verifies, and returns the refusal. */
  async function refusal(repo: string, build: (push: PushClient, digest: string) => Promise<void>, verifier = new SignatureVerifier(client)): Promise<SignatureVerificationError> {
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    await build(new PushClient(registry, repo), image.digest);
    try {
      await verifier.verify(ImageReference.parse(`${registry.host}/${repo}:1`), image.digest, requirement);
    } catch (e) {
      if (e instanceof SignatureVerificationError) return e;
      throw e;
    }
    throw new Error(`${repo}: expected a SignatureVerificationError, the image verified`);
  }

  test('an unsigned image under a keyless-only requirement is signature-missing, naming the signer and the fix', async () => {
    const image = await pushImage(registry, 'keyless/app', '1', { format: 'oci' });
    const signer = { issuer: 'https://token.actions.githubusercontent.com', identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main', where: 'kubepin.config.json: signatures.require[0].keyless' };
    const keyless: SignerRequirement = { keys: [], keyless: [signer], where: 'kubepin.config.json: signatures.require[0]' };
    const verify = new SignatureVerifier(client).verify(ImageReference.parse(`${registry.host}/keyless/app:1`), image.digest, keyless);
    await expect(verify).rejects.toMatchObject({ signatureKind: 'signature-missing' });
    await expect(verify).rejects.toThrow(/requires a signature by keyless identity "https:\/\/github\.com\/acme\/app\/[^"]+" \(issuer "https:\/\/token\.actions\.githubusercontent\.com"\)\. Fix: sign it \(cosign sign 127/);
  });

  test('a .sig manifest without layers, and a layer without the signature annotation', async () => {
    const noLayers = await refusal('hostile/no-layers', async (push, digest) => {
      const config = Buffer.from('{}');
      await push.uploadBlob(config);
      const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) } };
      await push.putManifest(`${digest.replace(':', '-')}.sig`, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    });
    expect(noLayers.signatureKind).toBe('signature-invalid');
    expect(noLayers.message).toMatch(/cosign signature sha256-[0-9a-f]{64}\.sig: the manifest is not an image manifest with layers/);

    const unannotated = await refusal('hostile/unannotated', async (push, digest) => {
      const config = Buffer.from('{}');
      const payload = Buffer.from('{"critical":{}}');
      for (const b of [config, payload]) await push.uploadBlob(b);
      await pushSignatureManifest(push, digest, [{ payload, signature: 'AA==' }], config);
      // The same manifest with the annotation taken away.
      const tag = `${digest.replace(':', '-')}.sig`;
      const manifest = {
        schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) },
        layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: sha256(payload) }],
      };
      await push.putManifest(tag, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    });
    expect(unannotated.message).toMatch(/layer 0: no dev\.cosignproject\.cosign\/signature annotation/);
    expect(unannotated.message).toContain('Fix: sign this digest as a required signer');
  });

  test('a referrers tag that is not an OCI index', async () => {
    const error = await refusal('hostile/not-index', async (push, digest) => {
      await push.putManifest(digest.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX })), OCI_INDEX);
    });
    expect(error.message).toMatch(/referrers tag sha256-[0-9a-f]{64}: not an OCI index/);
  });

  test('a referrer whose subject is another image, and one with two bundle layers', async () => {
    const other = await pushImage(registry, 'hostile/elsewhere', 'other', { format: 'oci' });
    const wrongSubject = await refusal('hostile/elsewhere', async (_push, digest) => {
      // A real bundle for the other image, listed under this image's referrers tag.
      const statement = cosignStatement(other.digest);
      const bundle = await new DSSEBundleBuilder({ signer: keySigner(trusted), witnesses: [] }).create({ data: statement, type: 'application/vnd.in-toto+json' });
      const referrer = await pushReferrer(registry, 'hostile/elsewhere', other.digest, Buffer.from(JSON.stringify(bundleToJSON(bundle))));
      await pushIndex(registry, 'hostile/elsewhere', digest, [referrer]);
    });
    expect(wrongSubject.message).toMatch(new RegExp(`refers to "${other.digest}", not sha256:[0-9a-f]{64}`));

    const twoLayers = await refusal('hostile/two-layers', async (push, digest) => {
      const empty = Buffer.from('{}');
      const a = Buffer.from('{"a":1}');
      const b = Buffer.from('{"b":2}');
      for (const blob of [empty, a, b]) await push.uploadBlob(blob);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: BUNDLE_TYPE,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256(empty) },
        layers: [a, b].map((l) => ({ mediaType: BUNDLE_TYPE, size: l.length, digest: sha256(l) })),
        subject: { mediaType: OCI_INDEX, size: 0, digest },
      }));
      await pushRawManifest(push, manifest, digest);
    });
    expect(twoLayers.message).toMatch(/expected exactly one application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json layer/);
  });

  test('more referring artifacts than the bound: the first ones are read and the rest named', async () => {
    const error = await refusal('hostile/many-referrers', async (_push, digest) => {
      const referrers: string[] = [];
      for (let i = 0; i < 3; i++) referrers.push(await pushReferrer(registry, 'hostile/many-referrers', digest, Buffer.from(`not a bundle ${i}`), `2026-01-0${i + 1}T00:00:00Z`));
      await pushIndex(registry, 'hostile/many-referrers', digest, referrers);
    }, new SignatureVerifier(client, { maxReferrers: 2 }));
    expect(error.message).toMatch(/lists 3 referring artifacts; kubepin looks at the first 2/);
    expect(error.message.match(/the Sigstore bundle is not JSON/g)).toHaveLength(2);
  });
});

/** Lists `manifests` (digests of referring manifests in `repository`) under the referrers tag of `subject`. */
async function pushIndex(registry: TestRegistryDetails, repository: string, subject: string, manifests: string[]): Promise<void> {
  const push = new PushClient(registry, repository);
  const entries = [];
  for (const digest of manifests) entries.push({ mediaType: OCI_MANIFEST, size: await sizeOf(registry, repository, digest), digest, artifactType: BUNDLE_TYPE });
  await push.putManifest(subject.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries })), OCI_INDEX);
}

async function sizeOf(registry: TestRegistryDetails, repository: string, digest: string): Promise<number> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${digest}`, { method: 'HEAD', headers: { Accept: OCI_MANIFEST } });
  return Number(res.headers.get('content-length'));
}

describe('a Sigstore bundle that is not what cosign writes for an image', () => {
  const key = parsePublicKey(trusted.publicPem, 'test key');
  const digest = `sha256:${'a'.repeat(64)}`;
  const subject = { digest, repository: ImageReference.parse('ghcr.io/acme/api') };

  async function dsse(statement: Buffer, type = 'application/vnd.in-toto+json'): Promise<Record<string, any>> {
    const bundle = await new DSSEBundleBuilder({ signer: keySigner(trusted), witnesses: [] }).create({ data: statement, type });
    return bundleToJSON(bundle) as Record<string, any>;
  }
  const rejection = async (bytes: Buffer | string): Promise<string> => {
    try {
      await verifySigstoreBundle(Buffer.from(bytes), { keys: [key], where: 'test policy' }, subject);
    } catch (e) {
      if (e instanceof SignatureRejection) return e.message;
      throw e;
    }
    throw new Error('expected a SignatureRejection, the bundle verified');
  };

  test('the signer\'s own bundle verifies (so the refusals below are about the changes)', async () => {
    const json = await dsse(cosignStatement(digest, 'ghcr.io/acme/api'));
    expect(await verifySigstoreBundle(Buffer.from(JSON.stringify(json)), { keys: [key], where: 'test policy' }, subject)).toEqual({ key });
  });

  test('bytes that are not JSON, or JSON that is not a bundle', async () => {
    expect(await rejection('{"mediaType": "application/vnd.dev.sigstore.bundle')).toMatch(/the Sigstore bundle is not JSON \(\d+ bytes; truncated or not a bundle\)/);
    expect(await rejection(JSON.stringify({ mediaType: BUNDLE_TYPE }))).toMatch(/^not a valid Sigstore bundle \(/);
  });

  test('a message signature instead of a DSSE envelope', async () => {
    const bundle = await new MessageSignatureBundleBuilder({ signer: keySigner(trusted), witnesses: [] }).create({ data: cosignStatement(digest) });
    expect(await rejection(JSON.stringify(bundleToJSON(bundle)))).toMatch(/holds a message signature, not a DSSE envelope/);
  });

  test('another payload type, a payload that is not an in-toto statement, another predicate', async () => {
    expect(await rejection(JSON.stringify(await dsse(cosignStatement(digest), 'text/plain')))).toMatch(/payload type is "text\/plain", not application\/vnd\.in-toto\+json/);
    expect(await rejection(JSON.stringify(await dsse(Buffer.from('not json'))))).toBe('the envelope payload is not JSON');
    expect(await rejection(JSON.stringify(await dsse(Buffer.from('{"_type":"something else"}'))))).toBe('the envelope payload is not an in-toto statement');
    const provenance = Buffer.from(cosignStatement(digest).toString('utf8').replace('https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1'));
    expect(await rejection(JSON.stringify(await dsse(provenance)))).toMatch(/predicate type is "https:\/\/slsa\.dev\/provenance\/v1", not a cosign image signature/);
  });
});
