import * as fs from 'fs';
import * as path from 'path';
import { ImageReference } from '../../lib/core/names/image-reference';
import { KeyringCredentials, RegistryClient } from '../../lib/registry';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { SignatureKeyError, parsePublicKey } from '../../lib/signatures/keys';
import { loadTrustedRoot } from '../../lib/signatures/trusted-root';
import { SignaturePolicy, SignerRequirement } from '../../lib/signatures/policy';
import { SignatureVerificationError, SignatureVerifier } from '../../lib/signatures/verifier';
import { SignatureRejection, verifySimpleSigning } from '../../lib/signatures/cosign';
import { PushClient, TestRegistryDetails, pushImage, sha256, startRegistry } from '../support/registry';
import { fingerprintOf, generateKey, pushBundleSignature, pushCosignSignature, pushRawManifest, pushSignatureManifest, simpleSigningPayload, TestKey } from '../support/signatures';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'signatures');

function requirement(keys: TestKey[]): SignerRequirement {
  return { keys: keys.map((k, i) => parsePublicKey(k.publicPem, `test key ${i}`)), where: 'test policy' };
}

describe('signature verification against a real registry', () => {
  let registry: TestRegistryDetails;
  let client: RegistryClient;
  let verifier: SignatureVerifier;
  const trusted = generateKey('ecdsa-p256');
  const other = generateKey('ecdsa-p256');

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ retries: 0 });
    verifier = new SignatureVerifier(client);
  });
  afterAll(async () => {
    client.close();
    await registry.stop();
  });

  type Case = { name: string; signed: boolean; sign?: (repo: string, digest: string, otherDigest: string) => Promise<void> };
  const formats = {
    cosign: pushCosignSignature,
    'sigstore-bundle': pushBundleSignature,
  } as const;

  for (const [format, push] of Object.entries(formats)) {
    test(`${format}: accepts exactly the signed cases`, async () => {
      const cases: Case[] = [
        { name: 'signed', signed: true, sign: (repo, digest) => push(registry, repo, digest, { key: trusted }) },
        { name: 'unsigned', signed: false },
        { name: 'wrong key', signed: false, sign: (repo, digest) => push(registry, repo, digest, { key: other }) },
        { name: 'signature of another digest', signed: false, sign: (repo, digest, otherDigest) => push(registry, repo, digest, { key: trusted, signedDigest: otherDigest }) },
        { name: 'signature of another repository', signed: false, sign: (repo, digest) => push(registry, repo, digest, { key: trusted, signedRepository: 'elsewhere/app' }) },
        { name: 'tampered payload', signed: false, sign: (repo, digest) => push(registry, repo, digest, { key: trusted, tamper: true }) },
      ];
      const accepted: string[] = [];
      const rejected: Record<string, string> = {};
      for (const [i, c] of cases.entries()) {
        const repo = `matrix/${format}-${i}`;
        const image = await pushImage(registry, repo, '1');
        const another = await pushImage(registry, repo, '2');
        await c.sign?.(repo, image.digest, another.digest);
        try {
          const record = await verifier.verify(ImageReference.parse(`${registry.host}/${repo}:1`), image.digest, requirement([trusted]));
          expect(record).toEqual({ key: fingerprintOf(trusted), format });
          accepted.push(c.name);
        } catch (e) {
          if (!(e instanceof SignatureVerificationError)) throw e;
          rejected[c.name] = e.message;
        }
      }
      expect(accepted).toEqual(cases.filter((c) => c.signed).map((c) => c.name));
      expect(rejected.unsigned).toMatch(/is not signed: no cosign signature .* Fix: sign it/);
      expect(rejected['wrong key']).toMatch(/does not verify with key sha256:/);
      expect(rejected['signature of another digest']).toMatch(/is for digest "sha256:[a-f0-9]{64}", not sha256:/);
      expect(rejected['signature of another repository']).toMatch(/is for repository ".*elsewhere\/app", not /);
      expect(rejected['tampered payload']).toMatch(/does not verify with key/);
    });
  }

  test('the index digest of a multi-arch image is what is verified; a child signature does not count', async () => {
    const image = await pushImage(registry, 'multi/app', '1', { platforms: ['linux/amd64', 'linux/arm64'] });
    await pushCosignSignature(registry, 'multi/app', image.platforms['linux/amd64'], { key: trusted });
    const ref = ImageReference.parse(`${registry.host}/multi/app:1`);
    await expect(verifier.verify(ref, image.digest, requirement([trusted]))).rejects.toThrow(/is not signed/);
    await pushBundleSignature(registry, 'multi/app', image.digest, { key: trusted });
    await expect(verifier.verify(ref, image.digest, requirement([trusted]))).resolves.toEqual({ key: fingerprintOf(trusted), format: 'sigstore-bundle' });
  });

  test('any of several keys, each key type cosign accepts', async () => {
    for (const type of ['ecdsa-p384', 'ed25519', 'rsa'] as const) {
      const key = generateKey(type);
      const repo = `keys/${type}`;
      const image = await pushImage(registry, repo, '1', { format: 'oci' });
      await pushCosignSignature(registry, repo, image.digest, { key });
      const record = await verifier.verify(ImageReference.parse(`${registry.host}/${repo}:1`), image.digest, requirement([other, key]));
      expect(record.key).toBe(fingerprintOf(key));
    }
  });

  test('a real cosign v3 Sigstore bundle, found through the referrers tag schema', async () => {
    // Captured from cosign v3.0.4 (`cosign sign --key`) by the tobby-fetch project:
    // github.com/tobby-fetch/tobby-fetch internal/sigverify/testdata/{bundle-sigstore.json,
    // bundle-referring-manifest.json,bundle-cosign.pub} (commit 8ea53f2). Bytes unchanged.
    const subject = 'sha256:d7d5640c741c60b47fa4b5530daa20a6469b55754a89dd42adbadadb59f9093c';
    const bundle = fs.readFileSync(path.join(FIXTURES, 'bundle-sigstore.json'));
    const manifest = fs.readFileSync(path.join(FIXTURES, 'bundle-referring-manifest.json'));
    expect(sha256(bundle)).toBe('sha256:adbf6372367b1d18204f9a60675cdd31c26e60b5cb664b937a69c448cfab6512'); // as the manifest's layer says
    const push = new PushClient(registry, 'lab/subject');
    await push.uploadBlob(Buffer.from('{}'));
    await push.uploadBlob(bundle);
    await pushRawManifest(push, manifest, subject);
    const key = parsePublicKey(fs.readFileSync(path.join(FIXTURES, 'bundle-cosign.pub')), 'bundle-cosign.pub');
    const ref = ImageReference.parse(`${registry.host}/lab/subject:1`);
    // The bundle carries a Rekor entry and an RFC 3161 timestamp: verified with the public-good trusted root, refused without one.
    const trustedRoot = loadTrustedRoot('public-good-trusted_root.json', FIXTURES, 'test.trustedRoot');
    await expect(verifier.verify(ref, subject, { keys: [key], where: 'test', trustedRoot, tlog: 'required' })).resolves.toEqual({ key: key.fingerprint, format: 'sigstore-bundle' });
    await expect(verifier.verify(ref, subject, { keys: [key], where: 'test' })).rejects.toThrow(/no trusted root is configured, and the public-good one could not be fetched over TUF from http:\/\/127\.0\.0\.1:9 .*Fix: pin one with `kubepin trust update/);
    await expect(verifier.verify(ref, subject, requirement([trusted]))).rejects.toThrow(/does not verify with key/);
  });

  describe('hostile signature artifacts are refused with a reason, bounded', () => {
    async function verifyWith(repo: string, build: (push: PushClient, digest: string) => Promise<void>): Promise<string> {
      const image = await pushImage(registry, repo, '1', { format: 'oci' });
      await build(new PushClient(registry, repo), image.digest);
      try {
        await verifier.verify(ImageReference.parse(`${registry.host}/${repo}:1`), image.digest, requirement([trusted]));
      } catch (e) {
        if (e instanceof SignatureVerificationError) return e.message;
        throw e;
      }
      throw new Error('expected a SignatureVerificationError');
    }
    const config = Buffer.from('{}');

    test('truncated and non-JSON payloads', async () => {
      const message = await verifyWith('hostile/truncated', async (push, digest) => {
        const payload = simpleSigningPayload(`${registry.host}/hostile/truncated`, digest);
        const cut = payload.subarray(0, 40);
        const garbage = Buffer.from('\u0000\u00ff not json');
        for (const b of [config, cut, garbage]) await push.uploadBlob(b);
        await pushSignatureManifest(push, digest, [{ payload: cut, signature: 'MEUCIQ==' }, { payload: garbage, signature: 'MEUCIQ==' }], config);
      });
      expect(message).toMatch(/payload is not JSON \(40 bytes; truncated/);
      expect(message).toMatch(/payload is not JSON \(12 bytes/);
    });

    test('a .sig manifest with thousands of layers is refused without reading them', async () => {
      await registry.settle();
      registry.resetCounters();
      const signatures = async (repo: string, count: number): Promise<string> =>
        verifyWith(repo, async (push, digest) => {
          const payload = Buffer.from('x');
          await push.uploadBlob(config);
          await push.uploadBlob(payload);
          await pushSignatureManifest(push, digest, Array.from({ length: count }, () => ({ payload, signature: 'AA==' })), config);
        });
      expect(await signatures('hostile/many', 1000)).toMatch(/lists 1000 layers; kubepin reads at most 32 signatures per digest and refused it/);
      expect(await signatures('hostile/more', 3000)).toMatch(/cosign tag sha256-[a-f0-9]{64}\.sig: larger than 262144 bytes; refused/);
      await registry.settle();
      expect(registry.accessLog().filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).length).toBe(0);
    });

    test('a layer that claims, or turns out, to be huge is not read past the bound', async () => {
      const message = await verifyWith('hostile/huge', async (push, digest) => {
        const big = Buffer.alloc(200 * 1024, 'a');
        await push.uploadBlob(config);
        await push.uploadBlob(big);
        // One layer declares its real size, one lies (claims 10 bytes).
        await pushSignatureManifest(push, digest, [{ payload: big, signature: 'AA==' }, { payload: big, signature: 'AA==', size: 10 }], config);
      });
      expect(message).toMatch(/claims 204800 bytes, more than the 65536 kubepin reads/);
      expect(message).toMatch(/larger than 65536 bytes; refused/);
    });
  });
});

test('signatures are read with the credentials of a token-auth registry (both formats)', async () => {
  const registry = await startRegistry({ auth: 'token' });
  const key = generateKey();
  const client = new RegistryClient({ retries: 0, credentials: new KeyringCredentials(new CredentialKeyring().add('pull', { auths: { [registry.host]: { username: registry.username, password: registry.password } } })) });
  try {
    const verifier = new SignatureVerifier(client);
    const a = await pushImage(registry, 'private/a', '1');
    const b = await pushImage(registry, 'private/b', '1');
    await pushCosignSignature(registry, 'private/a', a.digest, { key });
    await pushBundleSignature(registry, 'private/b', b.digest, { key });
    const [ra, rb] = await Promise.all([
      verifier.verify(ImageReference.parse(`${registry.host}/private/a:1`), (await client.resolve(`${registry.host}/private/a:1`)).digest, requirement([key])),
      verifier.verify(ImageReference.parse(`${registry.host}/private/b:1`), (await client.resolve(`${registry.host}/private/b:1`)).digest, requirement([key])),
    ]);
    expect([ra.format, rb.format]).toEqual(['cosign', 'sigstore-bundle']);
    const anonymous = new RegistryClient({ retries: 0 });
    try {
      await expect(new SignatureVerifier(anonymous).verify(ImageReference.parse(`${registry.host}/private/a:1`), a.digest, requirement([key]))).rejects.toThrow(/401 Unauthorized/);
    } finally {
      anonymous.close();
    }
  } finally {
    client.close();
    await registry.stop();
  }
});

describe('a real classic cosign signature (offline)', () => {
  // Payload, signature and public key as published by the tobby-fetch project, captured from
  // cosign v3.0.4 (`cosign sign --key … --tlog-upload=false`, classic attached format):
  // github.com/tobby-fetch/tobby-fetch internal/sigverify/cosign_compat_test.go (commit 976ea80).
  // The .sig manifest references a config blob that was not published, so it cannot be pushed
  // into a registry; the payload and signature are verified as kubepin reads them from one.
  const payload = fs.readFileSync(path.join(FIXTURES, 'cosign-payload.json'));
  const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cosign-signature-manifest.json'), 'utf8'));
  const signature = manifest.layers[0].annotations['dev.cosignproject.cosign/signature'] as string;
  const key = parsePublicKey(fs.readFileSync(path.join(FIXTURES, 'cosign.pub')), 'cosign.pub');
  const subject = { digest: 'sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268', repository: ImageReference.parse('localhost:15381/tobby/fixture') };

  test('verifies with the published key and names it', () => {
    expect(sha256(payload)).toBe(manifest.layers[0].digest);
    expect(verifySimpleSigning(payload, signature, [key], subject)).toBe(key);
  });

  test('is refused for another key, digest or repository, or a changed payload', () => {
    const stranger = parsePublicKey(generateKey().publicPem, 'stranger');
    expect(() => verifySimpleSigning(payload, signature, [stranger], subject)).toThrow(SignatureRejection);
    expect(() => verifySimpleSigning(payload, signature, [key], { ...subject, digest: `sha256:${'0'.repeat(64)}` })).toThrow(/is for digest/);
    expect(() => verifySimpleSigning(payload, signature, [key], { ...subject, repository: ImageReference.parse('localhost:15381/tobby/other') })).toThrow(/is for repository/);
    const changed = Buffer.from(payload.toString().replace('"optional":null', '"optional":{}'));
    expect(() => verifySimpleSigning(changed, signature, [key], subject)).toThrow(/does not verify/);
  });
});

describe('public keys and policy', () => {
  test('fingerprints are sha256 of the DER key (cosign bundle hints hash the same bytes)', () => {
    const key = parsePublicKey(fs.readFileSync(path.join(FIXTURES, 'bundle-cosign.pub')), 'k');
    const bundle = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'bundle-sigstore.json'), 'utf8'));
    expect(Buffer.from(bundle.verificationMaterial.publicKey.hint, 'base64').toString('hex')).toBe(key.fingerprint.slice('sha256:'.length));
  });

  test('unsupported key formats are clear errors', () => {
    const crypto = require('crypto') as typeof import('crypto');
    const secp256k1 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKey(secp256k1, 'k1.pub')).toThrow(new SignatureKeyError('k1.pub: ECDSA curve secp256k1 is not supported; use P-256 (cosign\'s default) or P-384'));
    const rsa1024 = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKey(rsa1024, 'small.pub')).toThrow(/1024 bits is too weak/);
    const priv = generateKey().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parsePublicKey(priv, 'cosign.key')).toThrow(/this is a private key/);
    expect(() => parsePublicKey('ssh-ed25519 AAAAC3Nza', 'id.pub')).toThrow(/expected exactly one PEM "PUBLIC KEY" block/);
    expect(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'bad.pub')).toThrow(/not a readable public key/);
  });

  test('the most specific pattern decides; patterns match as pull secrets do', () => {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'kubepin-sigpolicy-'));
    try {
      const a = generateKey();
      const b = generateKey('ed25519');
      fs.writeFileSync(path.join(dir, 'a.pub'), a.publicPem);
      fs.writeFileSync(path.join(dir, 'b.pub'), b.publicPem);
      const policy = SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io/acme'], keys: ['a.pub'] }, { images: ['ghcr.io/acme/payments', '*.example.com'], keys: ['b.pub'] }] }, dir, 'kubepin.config.json');
      expect(policy.requirementFor('ghcr.io/acme/api:1')?.keys[0].fingerprint).toBe(fingerprintOf(a));
      expect(policy.requirementFor('ghcr.io/acme/payments/api:1')?.keys[0].fingerprint).toBe(fingerprintOf(b));
      expect(policy.requirementFor('registry.example.com/x:1')?.where).toBe('kubepin.config.json: signatures.require[1]');
      expect(policy.requirementFor('docker.io/library/nginx:1')).toBeUndefined();
      expect(() => SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io/acme:1.0'], keys: ['a.pub'] }] }, dir)).toThrow(/images\[0\] "ghcr\.io\/acme:1\.0": .*a pattern has no tag/);
      expect(() => SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io'], keys: ['missing.pub'] }] }, dir)).toThrow(/cannot read .*missing.pub: no such file/);
      expect(() => SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io'] }] }, dir)).toThrow(/needs "keys"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('patterns are normalized like image names, hosts by one spelling; "*" covers everything; a pattern that can match nothing is refused', () => {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'kubepin-sigpattern-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.pub'), generateKey().publicPem);
      const covers = (pattern: string, image: string) => SignaturePolicy.fromConfig({ require: [{ images: [pattern], keys: ['a.pub'] }] }, dir).requirementFor(image) !== undefined;
      for (const image of ['localhost:5000/x:1', 'ghcr.io/a/b:1', 'nginx:1', '[::1]:5000/x:1']) expect(covers('*', image)).toBe(true);
      expect(covers('nginx', 'nginx:1')).toBe(true);
      expect(covers('docker.io/nginx', 'nginx:1')).toBe(true);
      expect(covers('docker.io/acme', 'acme/app:1')).toBe(true);
      expect(covers('index.docker.io/acme', 'docker.io/acme/app:1')).toBe(true);
      expect(covers('GHCR.IO/acme', 'ghcr.io/acme/app:1')).toBe(true);
      expect(covers('ghcr.io/acme', 'GHCR.IO/acme/app:1')).toBe(true);
      expect(covers('ghcr.io/acme', 'ghcr.io:443/acme/app:1')).toBe(true);
      expect(covers('ghcr.io:443/acme', 'ghcr.io/acme/app:1')).toBe(true);
      expect(covers('reg.test:5000', 'REG.TEST:05000/acme/app:1')).toBe(true);
      expect(covers('*.example.com:5000', 'a.EXAMPLE.com:5000/x:1')).toBe(true);
      for (const alias of ['registry-1.docker.io', 'index.docker.io', 'registry.hub.docker.com', 'DOCKER.IO']) expect(covers('docker.io/acme', `${alias}/acme/app:1`)).toBe(true);
      expect(covers('docker.io/library/nginx', 'registry-1.docker.io/nginx:1')).toBe(true);
      // Still not covered: another registry, another port, another label count.
      expect(covers('ghcr.io/acme', 'ghcr.io:8443/acme/app:1')).toBe(false);
      expect(covers('*.example.com', 'example.com/x:1')).toBe(false);
      expect(covers('docker.io/acme', 'ghcr.io/acme/app:1')).toBe(false);
      for (const [pattern, problem] of [['ghcr.io/Acme', /lowercase/], ['ghcr.io/*', /no wildcard/], ['ghcr.io:*', /port "\*" can match no image/], ['ghcr.io:99999', /port/], ['-x.io/a', /host "-x\.io" can match no image/], ['https://ghcr.io', /not a URL/], ['ghcr.io/a@sha256:0', /digests/], ['ghcr.io//a', /repository part/]] as const) {
        expect(() => SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io', pattern], keys: ['a.pub'] }] }, dir, 'cfg.json')).toThrow(new RegExp(`^cfg\\.json: signatures\\.require\\[0\\]\\.images\\[1\\] .*${problem.source}`));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
