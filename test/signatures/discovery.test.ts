import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageReference } from '../../lib/core/names/image-reference';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { RegistryClient } from '../../lib/registry';
import { LockUpdater } from '../../lib/registry/lock-images';
import { remoteFindings } from '../../lib/cli/verify-remote';
import type { ArtifactSource } from '../../lib/signatures/artifacts';
import { parsePublicKey } from '../../lib/signatures/keys';
import { SignaturePolicy, SignerRequirement } from '../../lib/signatures/policy';
import { SignatureVerifier } from '../../lib/signatures/verifier';
import { TestRegistryDetails, pushImage, startRegistry } from '../support/registry';
import { fingerprintOf, generateKey, pushBundleSignature, pushCosignSignature } from '../support/signatures';

/*
 * How signatures are found (issue #23 §3): cosign's `.sig` tag and the bundles referring to a
 * digest are looked up at once, judged in order (cosign's first), and nothing is fetched twice.
 * Against a real docker-registry, through an ArtifactSource that records what is asked.
 */
describe('signature discovery', () => {
  let registry: TestRegistryDetails;
  let client: RegistryClient;
  const key = generateKey('ecdsa-p256');
  const requirement = (): SignerRequirement => ({ keys: [parsePublicKey(key.publicPem, 'release.pub')], where: 'test policy' });

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ retries: 0 });
  });
  afterAll(async () => {
    client.close();
    await registry?.stop();
  });

  /** The client, with every ask recorded as `kind what` when sent; `hold` may delay an answer (bounded). */
  function recording(hold: (ask: string, asked: string[]) => Promise<void> = async () => undefined): { source: ArtifactSource; asked: string[] } {
    const asked: string[] = [];
    const track = async <T>(ask: string, answer: () => Promise<T>): Promise<T> => {
      asked.push(ask);
      const result = await answer();
      await hold(ask, asked);
      return result;
    };
    const source: ArtifactSource = {
      fetchManifest: (image, reference, accept, maxBytes) => track(`manifest ${reference}`, () => client.fetchManifest(image, reference, accept, maxBytes)),
      fetchBlob: (image, digest, maxBytes) => track(`blob ${digest}`, () => client.fetchBlob(image, digest, maxBytes)),
      fetchReferrers: (image, digest, artifactType, maxBytes) => track(`referrers ${digest}`, () => client.fetchReferrers(image, digest, artifactType, maxBytes)),
    };
    return { source, asked };
  }

  test('the .sig tag, the referrers API and the referrers tag are asked for together: the .sig answer waits (up to 2 s) for the referrers ask, and gets it', async () => {
    const image = await pushImage(registry, 'disc/bundle', '1', { format: 'oci' });
    await pushBundleSignature(registry, 'disc/bundle', image.digest, { key });
    const sigTag = `${image.digest.replace(':', '-')}.sig`;
    let together: boolean | undefined;
    let tagBeforeApiAnswer: boolean | undefined;
    const { source, asked } = recording(async (ask, all) => {
      // The registry's answer about the referrers API is not awaited before the referrers tag is asked for.
      if (ask.startsWith('referrers ')) tagBeforeApiAnswer = all.includes(`manifest ${image.digest.replace(':', '-')}`);
      if (ask !== `manifest ${sigTag}`) return;
      // Sequential discovery would ask for the referrers only after this answer: it would never come within the bound.
      for (let waited = 0; waited < 2000 && !all.some((a) => a.startsWith('referrers ') || a === `manifest ${image.digest.replace(':', '-')}`); waited += 10) await new Promise((r) => setTimeout(r, 10));
      together = all.some((a) => a.startsWith('referrers ') || a === `manifest ${image.digest.replace(':', '-')}`);
    });
    const record = await new SignatureVerifier(source).verify(ImageReference.parse(`${registry.host}/disc/bundle:1`), image.digest, requirement());
    expect(record).toEqual({ key: fingerprintOf(key), format: 'sigstore-bundle' });
    expect(together).toBe(true);
    expect(tagBeforeApiAnswer).toBe(true);
    // Each thing asked for once: the .sig tag (absent), the referrers API (absent in distribution 2.8), the referrers tag, the bundle's manifest and blob.
    expect(new Set(asked).size).toBe(asked.length);
    expect(asked.filter((a) => a.startsWith('manifest '))).toHaveLength(3);
    expect(asked.filter((a) => a.startsWith('blob '))).toHaveLength(1);
  });

  test('an image signed both ways records the cosign signature, and no bundle is read once it verified', async () => {
    const image = await pushImage(registry, 'disc/both', '1', { format: 'oci' });
    await pushCosignSignature(registry, 'disc/both', image.digest, { key });
    await pushBundleSignature(registry, 'disc/both', image.digest, { key });
    const referrersTag = image.digest.replace(':', '-');
    let blobAnswered = false;
    const { source, asked } = recording(async (ask) => {
      if (ask.startsWith('blob ')) blobAnswered = true;
      // The referrers index answers after the .sig payload did (and its signature was checked, synchronously after it).
      if (ask === `manifest ${referrersTag}`) {
        for (let waited = 0; waited < 2000 && !blobAnswered; waited += 10) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const verifier = new SignatureVerifier(source);
    const record = await verifier.verify(ImageReference.parse(`${registry.host}/disc/both:1`), image.digest, requirement());
    expect(record).toEqual({ key: fingerprintOf(key), format: 'cosign' });
    // Let the bundle lookup finish what it would still do.
    await new Promise((r) => setTimeout(r, 300));
    expect(asked).toContain(`manifest ${referrersTag}`);
    expect(asked.filter((a) => a.startsWith('blob '))).toHaveLength(1);
    expect(asked.filter((a) => a.startsWith('manifest sha256:'))).toEqual([]);
  });

  test('verify --remote reads a signed index once: one GET of it (no HEAD), serving liveness and the platform-digest check', async () => {
    const image = await pushImage(registry, 'disc/multi', '1', { platforms: ['linux/amd64', 'linux/arm64'] });
    await pushCosignSignature(registry, 'disc/multi', image.digest, { key });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-discovery-'));
    try {
      fs.writeFileSync(path.join(dir, 'release.pub'), key.publicPem);
      const policy = SignaturePolicy.fromConfig({ require: [{ images: [`${registry.host}/disc`], keys: ['release.pub'] }] }, dir);
      const lock = ImageLock.empty(path.join(dir, 'kubepin.lock.json'));
      const reference = `${registry.host}/disc/multi:1`;
      const cluster = ['linux/amd64', 'linux/arm64'];
      const updater = new LockUpdater(client, lock, { clusterPlatforms: cluster, signatures: policy });
      updater.add(reference);
      expect((await updater.finish()).map((o) => o.status)).toEqual(['resolved']);
      expect(lock.get(reference)!.platforms).toEqual(image.platforms);

      const fresh = new RegistryClient({ retries: 0 });
      await registry.settle();
      registry.resetCounters();
      try {
        const { findings } = await remoteFindings(fresh, lock, policy, 'kubepin.lock.json', cluster);
        expect(findings).toEqual([]);
      } finally {
        fresh.close();
      }
      await registry.settle();
      const onIndex = registry.accessLog().filter((r) => r.path === `/v2/disc/multi/manifests/${image.digest}`).map((r) => r.method);
      expect(onIndex).toEqual(['GET']);
      // The children are still asked for, with HEADs only.
      for (const child of Object.values(image.platforms)) {
        expect(registry.accessLog().filter((r) => r.path === `/v2/disc/multi/manifests/${child}`).map((r) => r.method)).toEqual(['HEAD']);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a trusted root is parsed once per file: two requirements naming it share it, a changed file is read again', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-root-'));
    try {
      const text = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'signatures', 'public-good-trusted_root.json'), 'utf8');
      fs.writeFileSync(path.join(dir, 'root.json'), text);
      fs.writeFileSync(path.join(dir, 'release.pub'), key.publicPem);
      const section = { trustedRoot: 'root.json', require: [{ images: ['a.test/x'], keys: ['release.pub'] }, { images: ['b.test/y'], keys: ['release.pub'], trustedRoot: './root.json' }] };
      const policy = SignaturePolicy.fromConfig(section, dir);
      const [a, b] = [policy.requirementFor('a.test/x/app:1')!, policy.requirementFor('b.test/y/app:1')!];
      expect(a.trustedRoot!.source).toBe('root.json');
      expect(b.trustedRoot!.source).toBe('./root.json');
      expect(a.trustedRoot!.material).toBe(b.trustedRoot!.material);
      // The same content again: not parsed again; other content (a log less): parsed anew.
      expect(SignaturePolicy.fromConfig(section, dir).requirementFor('a.test/x/app:1')!.trustedRoot!.material).toBe(a.trustedRoot!.material);
      const parsed = JSON.parse(text) as { tlogs: unknown[] };
      fs.writeFileSync(path.join(dir, 'root.json'), JSON.stringify({ ...parsed, tlogs: parsed.tlogs.slice(0, 1) }));
      const changed = SignaturePolicy.fromConfig(section, dir).requirementFor('a.test/x/app:1')!.trustedRoot!.material as { tlogs: unknown[] };
      expect(changed).not.toBe(a.trustedRoot!.material);
      expect(changed.tlogs).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
