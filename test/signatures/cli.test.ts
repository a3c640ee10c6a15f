import * as fs from 'fs';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { applyImagePolicy } from '../../lib/core/policy/engine';
import { COLLECT_IMAGES_ENV, activeCollector, readCollectedImages } from '../../lib/core/policy/collect-mode';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { fingerprintOf, generateKey, pushBundleSignature, pushCosignSignature } from '../support/signatures';

describe('kubepin lock / verify with a signature policy, against a real registry', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const key = generateKey('ecdsa-p256');
  const stranger = generateKey('ed25519');
  const pushed: Record<string, PushedImage> = {};

  beforeAll(async () => {
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'sig/api', '1');
    pushed.web = await pushImage(registry, 'sig/web', '1');
    pushed.unsigned = await pushImage(registry, 'sig/unsigned', '1');
    pushed.strange = await pushImage(registry, 'sig/strange', '1');
    pushed.free = await pushImage(registry, 'free/tool', '1');
    await pushCosignSignature(registry, 'sig/api', pushed.api.digest, { key });
    await pushBundleSignature(registry, 'sig/web', pushed.web.digest, { key });
    await pushCosignSignature(registry, 'sig/strange', pushed.strange.digest, { key: stranger });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-sig-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeProject(images: string[]): void {
    writeFiles(dir, {
      'keys/release.pub': key.publicPem,
      'kubepin.config.json': JSON.stringify({ signatures: { require: [{ images: [`${registry.host}/sig`], keys: ['keys/release.pub'] }] } }, null, 2),
      'dist/app.yaml': deploymentYaml('app', images.map((i) => `${registry.host}/${i}`)),
    });
  }
  const lockOf = () => JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8'));

  test('lock records the key of verified images, fails unsigned or wrongly signed ones and writes nothing for them', async () => {
    writeProject(['sig/api:1', 'sig/web:1', 'sig/unsigned:1', 'sig/strange:1', 'free/tool:1']);
    const run = await runKubepin(['lock'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('3 resolved (3 new, 0 changed), 0 already locked, 2 failed');
    expect(run.stderr).toMatch(/sig\/unsigned:1@sha256:[a-f0-9]{64} is not signed: .*requires a signature by .*release\.pub.*Fix: sign it \(cosign sign --key/);
    expect(run.stderr).toMatch(/sig\/strange:1@sha256:[a-f0-9]{64}: no valid signature by .*does not verify with key .*Fix:/);
    expect(run.stderr).toContain(`used at dist/app.yaml`);
    const lock = lockOf();
    const h = registry.host;
    expect(lock.images[`${h}/sig/api:1`]).toEqual(expect.objectContaining({ digest: pushed.api.digest, signature: { key: fingerprintOf(key), format: 'cosign' } }));
    expect(lock.images[`${h}/sig/web:1`]).toEqual(expect.objectContaining({ digest: pushed.web.digest, signature: { key: fingerprintOf(key), format: 'sigstore-bundle' } }));
    expect(lock.images[`${h}/free/tool:1`].signature).toBeUndefined(); // no requirement covers it
    expect(lock.images[`${h}/sig/unsigned:1`]).toBeUndefined();
    expect(lock.images[`${h}/sig/strange:1`]).toBeUndefined();

    // Byte-stable: a second run with --update rewrites the same bytes.
    const before = fs.readFileSync(path.join(dir, 'kubepin.lock.json'));
    await runKubepin(['lock', '--update'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'kubepin.lock.json'))).toEqual(before);

    const json = JSON.parse((await runKubepin(['lock', '--json'], { cwd: dir })).stdout);
    expect(json.failed.map((f: { reference: string; kind: string }) => [f.reference, f.kind])).toEqual([
      [`${h}/sig/strange:1`, 'signature-invalid'],
      [`${h}/sig/unsigned:1`, 'signature-missing'],
    ]);
  });

  test('an entry locked before the requirement existed is verified on the next lock', async () => {
    writeProject(['sig/api:1']);
    fs.renameSync(path.join(dir, 'kubepin.config.json'), path.join(dir, 'later.json'));
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    expect(lockOf().images[`${registry.host}/sig/api:1`].signature).toBeUndefined();
    fs.renameSync(path.join(dir, 'later.json'), path.join(dir, 'kubepin.config.json'));
    const verify = await runKubepin(['verify'], { cwd: dir });
    expect(verify.stderr).toMatch(/must be signed by .*release\.pub .* records no verified signature\. Fix: run `kubepin lock --update`/);
    const run = await runKubepin(['lock'], { cwd: dir });
    expect(run.stdout).toContain('1 resolved');
    expect(lockOf().images[`${registry.host}/sig/api:1`].signature.key).toBe(fingerprintOf(key));
  });

  test('a hand-edited lock passes synthesis but is caught by verify --remote', async () => {
    writeProject(['sig/api:1']);
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    const file = path.join(dir, 'kubepin.lock.json');
    const lock = lockOf();
    // Point the signed tag at the unsigned image's digest, keeping the signature record.
    lock.images[`${registry.host}/sig/api:1`].digest = pushed.unsigned.digest;
    fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);

    // Offline, the record is all there is to check: synthesis pins the edited digest without a finding.
    const offline = applyImagePolicy([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: `${registry.host}/sig/api:1` }] } }], { lock: ImageLock.load(file) });
    expect(offline.findings.filter((f) => f.code === 'signature-not-locked')).toEqual([]);

    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    // The edited digest is not in sig/api at all: that pin would not pull (exit 3), besides being unsigned.
    expect(remote.code).toBe(3);
    const codes = JSON.parse(remote.stdout).findings.map((f: { code: string; message: string }) => `${f.code}: ${f.message}`);
    expect(codes).toEqual(expect.arrayContaining([expect.stringMatching(/^digest-gone: /), expect.stringMatching(/^tag-moved: /), expect.stringMatching(new RegExp(`^signature-invalid: .*sig/api:1@${pushed.unsigned.digest} is not signed`))]));
  });

  test('verify --remote passes for a correctly signed lock', async () => {
    writeProject(['sig/api:1', 'sig/web:1']);
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(JSON.parse(remote.stdout).findings.filter((f: { code: string }) => f.code.startsWith('signature'))).toEqual([]);
  });

  test('the policy engine fails an image under a requirement whose lock entry has no matching record', () => {
    writeProject([]);
    const h = registry.host;
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    lock.set(`${h}/sig/api:1`, { digest: pushed.api.digest, mediaType: pushed.api.mediaType });
    lock.set(`${h}/sig/web:1`, { digest: pushed.web.digest, mediaType: pushed.web.mediaType, signature: { key: fingerprintOf(stranger), format: 'cosign' } });
    lock.set(`${h}/free/tool:1`, { digest: pushed.free.digest, mediaType: pushed.free.mediaType });
    const pod = (image: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: image.replace(/\W/g, '') }, spec: { containers: [{ name: 'c', image: `${h}/${image}` }] } });
    const { findings } = applyImagePolicy([pod('sig/api:1'), pod('sig/web:1'), pod('free/tool:1'), pod('sig/missing:1')], { lock });
    const signature = findings.filter((f) => f.code === 'signature-not-locked');
    expect(signature.map((f) => [f.severity, f.image?.replace(`${h}/`, '')])).toEqual([
      ['error', 'sig/api:1'],
      ['error', 'sig/web:1'],
      ['error', 'sig/missing:1'],
    ]);
    expect(signature[0].message).toMatch(/lock entry records no verified signature\. Fix: run `kubepin lock --update`/);
    expect(signature[1].message).toContain(`records a signature by key ${fingerprintOf(stranger)}, which is not one of the required signers`);
  });

  test('check --online predicts the signature verdict for pinned and tagged images', async () => {
    const h = registry.host;
    writeProject([`sig/api:1@${pushed.api.digest}`, `sig/unsigned:1@${pushed.unsigned.digest}`, 'sig/web:1', 'sig/strange:1', 'free/tool:1']);
    const run = await runKubepin(['check', 'dist', '--online', '--format', 'json'], { cwd: dir });
    const findings = JSON.parse(run.stdout).findings.filter((f: { code: string }) => f.code === 'signature-invalid');
    expect(findings.map((f: { image: string }) => f.image.replace(`${h}/`, ''))).toEqual([`sig/unsigned:1@${pushed.unsigned.digest}`, 'sig/strange:1']);
    expect(findings[0]).toEqual(expect.objectContaining({ severity: 'error', file: 'dist/app.yaml', line: 16 }));
    expect(findings[0].message).toMatch(/is not signed: .*Fix: sign it/);
    expect(findings[1].message).toMatch(/does not verify with key/);
    expect(run.code).toBe(1);
  });

  test('in collect mode (kubepin lock learning the app) a missing record fails nothing: lock is about to verify it', () => {
    writeProject([]);
    const h = registry.host;
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    lock.set(`${h}/sig/api:1`, { digest: pushed.api.digest, mediaType: pushed.api.mediaType });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: `${h}/sig/api:1` }, { name: 'b', image: `${h}/sig/new:1` }] } };
    expect(applyImagePolicy([pod], { lock }).findings.filter((f) => f.code === 'signature-not-locked')).toHaveLength(2);
    process.env[COLLECT_IMAGES_ENV] = path.join(dir, 'collected.jsonl');
    try {
      expect(applyImagePolicy([pod], { lock, strict: true }).findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(readCollectedImages(process.env[COLLECT_IMAGES_ENV]!)).toEqual([]); // written at exit…
      activeCollector()!.flush(); // …or now, so nothing is left to write into a removed directory at exit
      expect(readCollectedImages(process.env[COLLECT_IMAGES_ENV]!).map((i) => i.image)).toEqual([`${h}/sig/api:1`, `${h}/sig/new:1`]);
    } finally {
      delete process.env[COLLECT_IMAGES_ENV];
    }
  });
});
