import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageReference } from '../../lib/core/names/image-reference';
import { RegistryClient } from '../../lib/registry';
import { SignaturePolicy, SignerRequirement } from '../../lib/signatures/policy';
import { SignatureVerificationError, SignatureVerifier } from '../../lib/signatures/verifier';
import { parseTrustedRoot } from '../../lib/signatures/trusted-root';
import { parseKeylessSigners } from '../../lib/signatures/keyless-policy';
import { TestRegistryDetails, pushImage, startRegistry } from '../support/registry';
import { SigstoreInstance, pushKeylessBundle, pushKeylessClassic, startSigstoreInstance } from '../support/sigstore-instance';
import { ReferrersProxy, startReferrersProxy } from '../support/referrers-proxy';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

/*
 * Keyless signatures end to end: a private Sigstore (Fulcio + CT log, Rekor, TSA from
 * @sigstore/mock on 127.0.0.1), keyless signatures made by @sigstore/sign against it, pushed into
 * a real docker-registry as cosign does (classic `.sig` with certificate, chain and Rekor bundle
 * annotations; Sigstore bundles as referrers, through the referrers tag and through the
 * referrers API of a small server of ours in front of the registry), and verified offline
 * against the instance's trusted_root.json.
 */
const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main';
const EVIL = 'https://github.com/evilorg/repo/.github/workflows/release.yml@refs/heads/main';
const claims = { subject: IDENTITY, issuer: ISSUER };

describe('keyless signatures against a private Sigstore and a real registry', () => {
  let registry: TestRegistryDetails;
  let proxy: ReferrersProxy;
  let client: RegistryClient;
  let instance: SigstoreInstance;
  let verifier: SignatureVerifier;
  let root: ReturnType<typeof parseTrustedRoot>;
  let n = 0;

  beforeAll(async () => {
    [registry, instance] = await Promise.all([startRegistry(), startSigstoreInstance()]);
    proxy = await startReferrersProxy(registry);
    client = new RegistryClient({ retries: 0 });
    // No public-good root in tests: a requirement without a trusted root must not reach the network.
    verifier = new SignatureVerifier(client, {}, () => Promise.reject(new Error('the public-good root is not used in tests')));
    root = parseTrustedRoot(JSON.stringify(instance.trustedRoot), 'test trusted_root.json');
  });
  afterAll(async () => {
    client?.close();
    await Promise.all([registry?.stop(), proxy?.stop(), instance?.stop()]);
  });

  function requirement(signer: Record<string, unknown>, trustedRoot = root): SignerRequirement {
    const keyless = parseKeylessSigners(signer, 'test.require[0]', os.tmpdir(), trustedRoot);
    return { keys: [], keyless, where: 'test.require[0]' };
  }

  async function outcome(host: string, repo: string, digest: string, req: SignerRequirement): Promise<string | Record<string, unknown>> {
    try {
      return { ...(await verifier.verify(ImageReference.parse(`${host}/${repo}:1`), digest, req)) };
    } catch (e) {
      if (!(e instanceof SignatureVerificationError)) throw e;
      return `${e.signatureKind}: ${e.message}`;
    }
  }

  const exact = { identity: IDENTITY, issuer: ISSUER };

  test('classic .sig: certificate, chain and Rekor bundle annotations verify; the record names format, identity, issuer', async () => {
    const repo = `kl/classic-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo, image.digest, claims);
    const record = await outcome(registry.host, repo, image.digest, requirement(exact));
    expect(record).toEqual({ format: 'cosign', identity: IDENTITY, issuer: ISSUER });
    expect(Object.keys(record)).toEqual(['format', 'identity', 'issuer']);
    // Signed again (a new certificate, a new log index and time): the record is byte-for-byte the same.
    await pushKeylessClassic(registry, instance, repo, image.digest, claims);
    expect(JSON.stringify(await outcome(registry.host, repo, image.digest, requirement(exact)))).toBe(JSON.stringify(record));
  });

  test('Sigstore bundles v0.1 to v0.3 through the referrers tag, and through the referrers API of a server in front of the registry', async () => {
    const repo = `kl/bundle-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    await pushKeylessBundle(registry, repo, image.digest, await instance.bundle(image.digest, claims));
    expect(await outcome(registry.host, repo, image.digest, requirement(exact))).toEqual({ format: 'sigstore-bundle', identity: IDENTITY, issuer: ISSUER });

    // The same signature as bundles v0.1 and v0.2 (a certificate chain; v0.2 requires the inclusion proof the entry has).
    for (const version of ['0.1', '0.2']) {
      const older = `kl/bundle-v${version}-${n++}`;
      const pushed = await pushImage(registry, older, '1', { format: 'oci' });
      const bundle = await instance.bundle(pushed.digest, claims);
      const { certificate, ...material } = bundle.verificationMaterial;
      await pushKeylessBundle(registry, older, pushed.digest, { ...bundle, mediaType: `application/vnd.dev.sigstore.bundle+json;version=${version}`, verificationMaterial: { ...material, x509CertificateChain: { certificates: [certificate] } } });
      expect(await outcome(registry.host, older, pushed.digest, requirement(exact))).toEqual({ format: 'sigstore-bundle', identity: IDENTITY, issuer: ISSUER });
    }

    // Through the proxy: the referring manifest is pushed without a referrers tag, so only the API finds it.
    const apiRepo = `kl/api-${n++}`;
    const viaProxy = await pushImage(proxy, apiRepo, '1', { format: 'oci' });
    const { PushClient, sha256 } = await import('../support/registry');
    const push = new PushClient(proxy, apiRepo);
    const bundle = Buffer.from(JSON.stringify(await instance.bundle(viaProxy.digest, claims, { timestamp: true })));
    await push.uploadBlob(Buffer.from('{}'));
    await push.uploadBlob(bundle);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256(Buffer.from('{}')) },
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', size: bundle.length, digest: sha256(bundle) }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 0, digest: viaProxy.digest },
    }));
    await push.putManifest(sha256(manifest), manifest, 'application/vnd.oci.image.manifest.v1+json');
    const viaApi = new SignatureVerifier(client, {}, () => Promise.reject(new Error('no public-good root in tests')));
    const record = await viaApi.verify(ImageReference.parse(`${proxy.host}/${apiRepo}:1`), viaProxy.digest, requirement(exact));
    expect(record).toEqual({ format: 'sigstore-bundle', identity: IDENTITY, issuer: ISSUER });
    expect(proxy.referrersRequests.some((r) => r.includes(viaProxy.digest))).toBe(true);
    // The same digest through the registry directly (no API, no tag): nothing refers to it.
    expect(await outcome(registry.host, apiRepo, viaProxy.digest, requirement(exact))).toMatch(/^signature-missing: /);
  });

  test('identityRegExp is anchored: org/repo never matches evilorg/repo; issuerRegExp likewise', async () => {
    const repo = `kl/regexp-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo, image.digest, { subject: EVIL, issuer: ISSUER });
    const unanchoredWouldMatch = 'org/repo/\\.github/workflows/release\\.yml@refs/heads/main';
    expect(new RegExp(unanchoredWouldMatch).test(EVIL)).toBe(true); // what an unanchored matcher (sigstore-js's) would accept
    expect(await outcome(registry.host, repo, image.digest, requirement({ identityRegExp: unanchoredWouldMatch, issuer: ISSUER }))).toMatch(/^signature-invalid: .*the certificate is for identity "[^"]*evilorg\/repo[^"]*" \(issuer "[^"]+"\), not keyless identity matching/);
    expect(await outcome(registry.host, repo, image.digest, requirement({ identityRegExp: 'https://github\\.com/org/.*', issuer: ISSUER }))).toMatch(/^signature-invalid: /);
    expect(await outcome(registry.host, repo, image.digest, requirement({ identityRegExp: 'https://github\\.com/(org|evilorg)/repo/.*', issuerRegExp: 'https://token\\.actions\\.githubusercontent\\.com' }))).toEqual({ format: 'cosign', identity: EVIL, issuer: ISSUER });
    expect(await outcome(registry.host, repo, image.digest, requirement({ identity: EVIL, issuerRegExp: 'token\\.actions\\.githubusercontent\\.com' }))).toMatch(/^signature-invalid: .*issuer matching/);
  });

  test('wrong issuer, digest and repository mismatches, a key-only requirement', async () => {
    const repo = `kl/mismatch-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    const other = await pushImage(registry, repo, '2', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo, image.digest, { subject: IDENTITY, issuer: 'https://accounts.google.com' });
    expect(await outcome(registry.host, repo, image.digest, requirement(exact))).toMatch(/^signature-invalid: .*issuer "https:\/\/accounts\.google\.com"\), not keyless identity/);

    const repo2 = `kl/digest-${n++}`;
    const image2 = await pushImage(registry, repo2, '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo2, image2.digest, claims, { signedDigest: other.digest });
    await pushKeylessBundle(registry, repo2, image2.digest, await instance.bundle(other.digest, claims));
    const digestMismatch = await outcome(registry.host, repo2, image2.digest, requirement(exact));
    expect(digestMismatch).toMatch(/cosign signature .*: the signature is for digest "sha256:[a-f0-9]{64}", not /);
    expect(digestMismatch).toMatch(/Sigstore bundle .*: the statement is for digest "sha256:[a-f0-9]{64}", not /);

    const repo3 = `kl/repo-${n++}`;
    const image3 = await pushImage(registry, repo3, '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo3, image3.digest, claims, { dockerReference: `${registry.host}/elsewhere/app` });
    expect(await outcome(registry.host, repo3, image3.digest, requirement(exact))).toMatch(/is for repository ".*elsewhere\/app", not /);

    const { parsePublicKey } = await import('../../lib/signatures/keys');
    const { generateKey } = await import('../support/signatures');
    const keyOnly: SignerRequirement = { keys: [parsePublicKey(generateKey().publicPem, 'k.pub')], where: 'test.require[1]' };
    const repo4 = `kl/keyonly-${n++}`;
    const image4 = await pushImage(registry, repo4, '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, repo4, image4.digest, claims);
    expect(await outcome(registry.host, repo4, image4.digest, keyOnly)).toMatch(/the signature is keyless \(a Fulcio certificate\), and test\.require\[1\] lists keys only/);
  });

  test('a certificate expired at the signing time, a certificate without SCT, a log entry for another signature, an untrusted instance', async () => {
    const now = Date.now();
    const late = await startSigstoreInstance({ rekorClock: new Date(now + 3600_000) }); // logged an hour after the 10-minute certificate expired
    const noSct = await startSigstoreInstance({ noCtLog: true });
    try {
      const cases: Record<string, string | Record<string, unknown>> = {};
      const sign = async (name: string, inst: SigstoreInstance, spoil?: (a: Record<string, string>) => void, rootOf = inst) => {
        const repo = `kl/neg-${n++}`;
        const image = await pushImage(registry, repo, '1', { format: 'oci' });
        await pushKeylessClassic(registry, inst, repo, image.digest, claims, { spoil });
        cases[name] = await outcome(registry.host, repo, image.digest, requirement(exact, parseTrustedRoot(JSON.stringify(rootOf.trustedRoot), `${name} root`)));
      };
      await sign('expired', late);
      await sign('no SCT', noSct);
      const anotherEntry = (await instance.classic(Buffer.from('another payload'), claims)).annotations['dev.sigstore.cosign/bundle'];
      await sign('entry for another signature', instance, (a) => (a['dev.sigstore.cosign/bundle'] = anotherEntry));
      await sign('no log entry', instance, (a) => delete a['dev.sigstore.cosign/bundle']);
      await sign('another instance', late, undefined, instance);
      expect(cases.expired).toMatch(/^signature-invalid: .*certificate is not valid or expired at the specified date/);
      expect(cases['no SCT']).toMatch(/^signature-invalid: .*expected 1 SCTs, got 0/);
      expect(cases['entry for another signature']).toMatch(/^signature-invalid: .*(signature mismatch|digest mismatch)/);
      expect(cases['no log entry']).toMatch(/^signature-invalid: .*expected 1 timestamps, got 0/);
      expect(cases['another instance']).toMatch(/^signature-invalid: .*(no trusted certificate path found|Failed to verify certificate chain|transparency log)/i);
    } finally {
      await Promise.all([late.stop(), noSct.stop()]);
    }
  });

  test('garbage in every field of a keyless classic signature and bundle is signature-invalid, never a crash', async () => {
    const garbage = ['', 'x', '{}', '[]', 'null', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', Buffer.alloc(300, 'A').toString(), '{"SignedEntryTimestamp":1}', '{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}}'];
    const fields = ['dev.sigstore.cosign/certificate', 'dev.sigstore.cosign/chain', 'dev.sigstore.cosign/bundle', 'dev.sigstore.cosign/rfc3161timestamp'];
    const repo = `kl/garbage-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    const results: string[] = [];
    for (const field of fields) {
      for (const value of garbage) {
        await pushKeylessClassic(registry, instance, repo, image.digest, claims, { spoil: (a) => (a[field] = value) });
        const got = await outcome(registry.host, repo, image.digest, requirement(exact));
        results.push(typeof got === 'string' ? got.split(':')[0] : `verified with ${field}=${JSON.stringify(value)}`);
      }
    }
    expect(new Set(results)).toEqual(new Set(['signature-invalid']));

    // Bundles: every string and number of a valid keyless bundle replaced by garbage, one at a time.
    const bundle = await instance.bundle(image.digest, claims, { timestamp: true });
    const paths: string[][] = [];
    const walk = (v: unknown, at: string[]) => {
      if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...at, k]);
      else paths.push(at);
    };
    walk(bundle, []);
    const { verifySigstoreBundle } = await import('../../lib/signatures/bundle');
    const subject = { digest: image.digest, repository: ImageReference.parse(`${registry.host}/${repo}`) };
    let rejected = 0;
    for (const at of paths) {
      for (const value of ['', 'AAAA', 12, null]) {
        const copy = JSON.parse(JSON.stringify(bundle));
        let node = copy;
        for (const k of at.slice(0, -1)) node = node[k];
        node[at[at.length - 1]] = value;
        try {
          await verifySigstoreBundle(Buffer.from(JSON.stringify(copy)), requirement(exact), subject, () => Promise.reject(new Error('no public root')));
        } catch (e) {
          expect((e as Error).constructor.name).toBe('SignatureRejection');
          rejected++;
        }
      }
    }
    // Some fields are not signed (the bundle's media type spelling, a log entry's kind label): not every change rejects, but none crashes.
    expect(rejected).toBeGreaterThan(paths.length * 2);
  });

  test('bounds: a chain, a proof and a timestamp list larger than kubepin reads are refused by name', async () => {
    const repo = `kl/bounds-${n++}`;
    const image = await pushImage(registry, repo, '1', { format: 'oci' });
    const { annotations } = await instance.classic(Buffer.from('x'), claims);
    await pushKeylessClassic(registry, instance, repo, image.digest, claims, { spoil: (a) => (a['dev.sigstore.cosign/chain'] = annotations['dev.sigstore.cosign/chain'].repeat(9)) });
    expect(await outcome(registry.host, repo, image.digest, requirement(exact))).toMatch(/holds 9 certificates, more than the 7 kubepin reads; refused/);
    const bundle = await instance.bundle(image.digest, claims);
    const { verifySigstoreBundle } = await import('../../lib/signatures/bundle');
    const subject = { digest: image.digest, repository: ImageReference.parse(`${registry.host}/${repo}`) };
    const bigProof = JSON.parse(JSON.stringify(bundle));
    bigProof.verificationMaterial.tlogEntries[0].inclusionProof.hashes = Array(65).fill(Buffer.alloc(32).toString('base64'));
    await expect(verifySigstoreBundle(Buffer.from(JSON.stringify(bigProof)), requirement(exact), subject)).rejects.toThrow(/an inclusion proof has 65 hashes, more than the 64 kubepin reads/);
    const manyTimestamps = JSON.parse(JSON.stringify(bundle));
    manyTimestamps.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: Array(9).fill({ signedTimestamp: 'AAAA' }) };
    await expect(verifySigstoreBundle(Buffer.from(JSON.stringify(manyTimestamps)), requirement(exact), subject)).rejects.toThrow(/9 RFC 3161 timestamps, more than the 8/);
  });

  test('kubepin.config.json: keyless signers with a per-signer or default trustedRoot; anchored regexps; load-time errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-config-'));
    fs.mkdirSync(path.join(dir, 'sigstore'));
    fs.writeFileSync(path.join(dir, 'sigstore', 'trusted_root.json'), JSON.stringify(instance.trustedRoot));
    const policy = SignaturePolicy.fromConfig({ trustedRoot: 'sigstore/trusted_root.json', require: [
      { images: ['registry.k8s.io'], keyless: { identity: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', issuer: 'https://accounts.google.com' } },
      { images: ['ghcr.io/org'], keyless: [{ identityRegExp: 'https://github\\.com/org/repo/.*', issuer: ISSUER, trustedRoot: 'sigstore/trusted_root.json' }] },
    ] }, dir);
    const k8s = policy.requirementFor('registry.k8s.io/pause:3.10')!;
    expect(k8s.keyless![0]).toMatchObject({ identity: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', issuer: 'https://accounts.google.com', where: expect.stringContaining('require[0].keyless') });
    expect(k8s.keyless![0].trustedRoot?.source).toBe('sigstore/trusted_root.json');
    const entry = (signature: Record<string, string>) => ({ requested: 'ghcr.io/org/app:1', reference: 'ghcr.io/org/app:1', digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json', signature: signature as any });
    expect(policy.vouches(entry({ format: 'cosign', identity: `${IDENTITY}`, issuer: ISSUER }))).toBe(true);
    expect(policy.vouches(entry({ format: 'cosign', identity: EVIL, issuer: ISSUER }))).toBe(false);
    expect(policy.vouches(entry({ format: 'cosign', identity: `${IDENTITY}`, issuer: 'https://accounts.google.com' }))).toBe(false);
    const bad = (keyless: unknown) => () => SignaturePolicy.fromConfig({ require: [{ images: ['ghcr.io/x'], keyless }] }, dir);
    expect(bad({ identity: 'a', identityRegExp: 'b', issuer: ISSUER })).toThrow(/needs exactly one of "identity" \(exact\) and "identityRegExp".*both/);
    expect(bad({ identity: 'a' })).toThrow(/needs exactly one of "issuer"/);
    expect(bad({ identityRegExp: '(', issuer: ISSUER })).toThrow(/identityRegExp "\(" is not a valid regular expression/);
    expect(bad({ identity: 'a', issuer: ISSUER, trustedRoot: 'missing.json' })).toThrow(/keyless\.trustedRoot: cannot read missing\.json/);
    expect(bad({ identity: 'a', issuer: ISSUER, subject: 'x' })).toThrow(/subject/);
  });

  test('kubepin lock records keyless signers offline with a pinned trusted root; verify --remote checks them again; a record for another identity fails', async () => {
    const dir = tempProject('kubepin-keyless-');
    const h = registry.host;
    const classic = await pushImage(registry, 'cli/classic', '1', { format: 'oci' });
    const bundled = await pushImage(registry, 'cli/bundled', '1', { format: 'oci' });
    const evil = await pushImage(registry, 'cli/evil', '1', { format: 'oci' });
    await pushKeylessClassic(registry, instance, 'cli/classic', classic.digest, claims);
    await pushKeylessBundle(registry, 'cli/bundled', bundled.digest, await instance.bundle(bundled.digest, claims));
    await pushKeylessClassic(registry, instance, 'cli/evil', evil.digest, { subject: EVIL, issuer: ISSUER });
    const config = { signatures: { trustedRoot: 'sigstore/trusted_root.json', require: [{ images: [`${h}/cli`], keyless: { identityRegExp: 'https://github\\.com/org/repo/\\.github/workflows/.*', issuer: ISSUER } }] } };
    writeFiles(dir, {
      'sigstore/trusted_root.json': JSON.stringify(instance.trustedRoot),
      'kubepin.config.json': JSON.stringify(config),
      'dist/app.yaml': deploymentYaml('app', [`${h}/cli/classic:1`, `${h}/cli/bundled:1`, `${h}/cli/evil:1`]),
    });
    const lock = await runKubepin(['lock', '--json'], { cwd: dir });
    expect(lock.stderr).not.toMatch(/\n\s+at /);
    const failed = JSON.parse(lock.stdout).failed;
    expect(failed.map((f: { reference: string }) => f.reference)).toEqual([`${h}/cli/evil:1`]);
    expect(failed[0].message).toMatch(/evilorg\/repo/);
    const text = fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8');
    const images = JSON.parse(text).images;
    expect(images[`${h}/cli/classic:1`].signature).toEqual({ format: 'cosign', identity: IDENTITY, issuer: ISSUER });
    expect(images[`${h}/cli/bundled:1`].signature).toEqual({ format: 'sigstore-bundle', identity: IDENTITY, issuer: ISSUER });

    // Signed again (new certificate, new log entry): lock --update leaves the file byte for byte as it was.
    await pushKeylessClassic(registry, instance, 'cli/classic', classic.digest, claims);
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h}/cli/classic:1`, `${h}/cli/bundled:1`]) });
    await runKubepin(['lock', '--update'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).toBe(text);

    const remote = await runKubepin(['verify', '--remote', '--json', 'dist/app.yaml'], { cwd: dir });
    expect(JSON.parse(remote.stdout).findings.filter((f: { code: string }) => f.code.startsWith('signature'))).toEqual([]);

    // A hand-edited record naming another identity: offline verify and --remote both fail it.
    const edited = JSON.parse(text);
    edited.images[`${h}/cli/bundled:1`].signature.identity = EVIL;
    fs.writeFileSync(path.join(dir, 'kubepin.lock.json'), JSON.stringify(edited, null, 2));
    const offline = await runKubepin(['verify', '--json', 'dist/app.yaml'], { cwd: dir });
    expect(JSON.parse(offline.stdout).findings.map((f: { code: string }) => f.code)).toContain('signature-not-locked');
    const again = await runKubepin(['verify', '--remote', '--json', 'dist/app.yaml'], { cwd: dir });
    expect(JSON.stringify(JSON.parse(again.stdout).findings)).toMatch(/records a signature by keyless identity .*evilorg.*, but the registry's valid signature is by keyless identity .*org\/repo/);
  });
});
