import * as fs from 'fs';
import * as path from 'path';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { bundleJson, cosignStatement, fingerprintOf, generateKey, keySigner, pushBundleSignature, pushCosignSignature, pushReferrer, testTransparencyLog } from '../support/signatures';

/*
 * The gate bypasses of issue #23 §1, each run end to end: `kubepin lock`, `verify`,
 * `verify --remote` and `check --online` as child processes against a real docker-registry.
 */
describe('signature gate bypasses, against a real registry', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const key = generateKey('ecdsa-p256');
  const pushed: Record<string, PushedImage> = {};
  const rekor = testTransparencyLog();

  beforeAll(async () => {
    registry = await startRegistry();
    pushed.multi = await pushImage(registry, 'bp/multi', '1');
    // An unsigned single-platform image in the same repository: what a hand-edited lock points at.
    pushed.evil = await pushImage(registry, 'bp/multi', 'evil', { format: 'oci', seed: 'evil' });
    pushed.single = await pushImage(registry, 'bp/single', '1', { format: 'oci' });
    pushed.unsigned = await pushImage(registry, 'bp/unsigned', '1', { format: 'oci' });
    pushed.signed = await pushImage(registry, 'bp/signed', '1', { format: 'oci' });
    pushed.tsa = await pushImage(registry, 'bp/tsa', '1', { format: 'oci' });
    pushed.acme = await pushImage(registry, 'acme/app', '1', { format: 'oci' });
    pushed.acmeSigned = await pushImage(registry, 'acme/signed', '1', { format: 'oci' });
    await pushCosignSignature(registry, 'bp/multi', pushed.multi.digest, { key });
    await pushCosignSignature(registry, 'bp/single', pushed.single.digest, { key });
    await pushBundleSignature(registry, 'bp/signed', pushed.signed.digest, { key });
    // Signed for the name ghcr.io/acme/signed, served here through a mirror.
    await pushCosignSignature(registry, 'acme/signed', pushed.acmeSigned.digest, { key, dockerReference: 'ghcr.io/acme/signed' });
    // A bundle whose statement names the digest and whose timestamp is garbage (no valid signature needed).
    const bundle = await new DSSEBundleBuilder({ signer: keySigner(generateKey()), witnesses: [] }).create({ data: cosignStatement(pushed.tsa.digest), type: 'application/vnd.in-toto+json' });
    const json = bundleToJSON(bundle) as { verificationMaterial: Record<string, unknown> };
    json.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: Buffer.from('not a timestamp').toString('base64') }] };
    await pushReferrer(registry, 'bp/tsa', pushed.tsa.digest, Buffer.from(JSON.stringify(json)));
    // Bundles signed by the trusted key, with a log entry: one whose signed entry timestamp is garbage, one the log signed.
    pushed.garbageSet = await pushImage(registry, 'bp/garbage-set', '1', { format: 'oci' });
    pushed.logged = await pushImage(registry, 'bp/logged', '1', { format: 'oci' });
    await pushReferrer(registry, 'bp/garbage-set', pushed.garbageSet.digest, Buffer.from(JSON.stringify(rekor.logged(await bundleJson(pushed.garbageSet.digest, key), { garbageSet: true }))));
    await pushReferrer(registry, 'bp/logged', pushed.logged.digest, Buffer.from(JSON.stringify(rekor.logged(await bundleJson(pushed.logged.digest, key)))));
    // Classic signatures with cosign's Rekor entry annotation: garbage, and signed by the log.
    pushed.classicGarbage = await pushImage(registry, 'bp/classic-garbage', '1', { format: 'oci' });
    pushed.classicLogged = await pushImage(registry, 'bp/classic-logged', '1', { format: 'oci' });
    await pushCosignSignature(registry, 'bp/classic-garbage', pushed.classicGarbage.digest, { key, annotations: (p, sig) => ({ 'dev.sigstore.cosign/bundle': rekor.classicAnnotation(p, sig, { garbageSet: true }) }) });
    await pushCosignSignature(registry, 'bp/classic-logged', pushed.classicLogged.digest, { key, annotations: (p, sig) => ({ 'dev.sigstore.cosign/bundle': rekor.classicAnnotation(p, sig) }) });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-bypass-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lockFile = () => path.join(dir, 'kubepin.lock.json');
  const readLock = () => JSON.parse(fs.readFileSync(lockFile(), 'utf8'));
  const writeLock = (lock: unknown) => fs.writeFileSync(lockFile(), `${JSON.stringify(lock, null, 2)}\n`);
  function project(images: string[], patterns: string[] = [`${registry.host}/bp`]): void {
    writeFiles(dir, {
      'keys/release.pub': key.publicPem,
      'kubepin.config.json': JSON.stringify({ signatures: { require: [{ images: patterns, keys: ['keys/release.pub'] }] } }),
      'dist/app.yaml': deploymentYaml('app', images),
    });
  }
  const codes = (stdout: string) => JSON.parse(stdout).findings.map((f: { code: string; image: string }) => `${f.code} ${f.image}`);

  test('1. a platform digest put under "platforms" by hand is refused by verify --remote: it is not the signed index\'s child', async () => {
    const h = registry.host;
    project([`${h}/bp/multi:1`]);
    expect((await runKubepin(['lock', '--platform', 'linux/amd64'], { cwd: dir })).code).toBe(0);
    const lock = readLock();
    const entry = lock.images[`${h}/bp/multi:1`];
    expect(entry.platforms).toEqual({ 'linux/amd64': pushed.multi.platforms['linux/amd64'] });
    // The honest pin to a platform child passes, offline and remote.
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h}/bp/multi:1@${pushed.multi.platforms['linux/amd64']}`]) });
    expect((await runKubepin(['verify'], { cwd: dir })).code).toBe(0);
    const honest = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(codes(honest.stdout)).toEqual([]);

    // The unsigned digest of the same repository under platforms, and the manifest pinned to it.
    entry.platforms['linux/amd64'] = pushed.evil.digest;
    writeLock(lock);
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h}/bp/multi:1@${pushed.evil.digest}`]) });
    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(remote.code).toBe(1);
    const finding = JSON.parse(remote.stdout).findings.find((f: { code: string }) => f.code === 'signature-invalid');
    expect(finding.message).toContain(`records ${pushed.evil.digest} for linux/amd64, but the signed index ${pushed.multi.digest} lists ${pushed.multi.platforms['linux/amd64']}`);
    expect(finding.message).toContain('Fix: run `kubepin lock --update`');
  });

  test('1. offline, a platform digest under a single manifest, or of a platform the index does not offer, contradicts the lock', async () => {
    const h = registry.host;
    project([`${h}/bp/single:1`]);
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    const lock = readLock();
    lock.images[`${h}/bp/single:1`].platforms = { 'linux/amd64': pushed.unsigned.digest };
    writeLock(lock);
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h}/bp/single:1@${pushed.unsigned.digest}`]) });
    const offline = await runKubepin(['verify', '--json'], { cwd: dir });
    expect(offline.code).toBe(1);
    expect(JSON.parse(offline.stdout).findings[0].message).toMatch(/lists under "platforms" of sha256:[a-f0-9]{64}, but that is a single manifest/);
    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(JSON.parse(remote.stdout).findings.map((f: { code: string; message: string }) => f.code)).toEqual(['digest-mismatch', 'signature-invalid']);

    // An index entry whose recorded offered platforms lack the pinned one.
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h}/bp/multi:1@${pushed.multi.platforms['linux/amd64']}`]) });
    fs.rmSync(lockFile());
    expect((await runKubepin(['lock', '--platform', 'linux/amd64'], { cwd: dir })).code).toBe(0);
    expect((await runKubepin(['verify'], { cwd: dir })).code).toBe(0);
    const edited = readLock();
    edited.images[`${h}/bp/multi:1`].offeredPlatforms = ['linux/arm64'];
    writeLock(edited);
    const offered = await runKubepin(['verify', '--json'], { cwd: dir });
    expect(offered.code).toBe(1);
    expect(JSON.parse(offered.stdout).findings[0].message).toContain('but the index offers linux/arm64, not linux/amd64');
  });

  test('2. an image pinned by digest alone: offline verify warns, verify --remote verifies its signature', async () => {
    const h = registry.host;
    project([`${h}/bp/unsigned@${pushed.unsigned.digest}`, `${h}/bp/single@${pushed.single.digest}`]);
    const offline = await runKubepin(['verify'], { cwd: dir });
    expect(offline.code).toBe(0);
    expect(offline.stderr).toMatch(new RegExp(`warning: dist/app.yaml:\\d+: .*bp/unsigned@${pushed.unsigned.digest} must be signed by keys/release.pub .* pinned by digest alone.*Fix: run \`kubepin verify --remote\``));
    const json = JSON.parse((await runKubepin(['verify', '--json'], { cwd: dir })).stdout);
    expect(json.warnings.map((w: { code: string }) => w.code)).toEqual(['signature-not-locked', 'signature-not-locked']);

    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(remote.code).toBe(1);
    const findings = JSON.parse(remote.stdout).findings;
    expect(findings.map((f: { code: string; image: string }) => `${f.code} ${f.image}`)).toEqual([`signature-invalid ${h}/bp/unsigned@${pushed.unsigned.digest}`]);
    expect(findings[0]).toEqual(expect.objectContaining({ file: 'dist/app.yaml' }));
    expect(findings[0].message).toMatch(/is not signed: .*\(pinned by digest in the manifest\)/);
  });

  test('3. other spellings of a covered host (case, :443, a leading-zero port, Docker Hub aliases) are covered', async () => {
    const h = registry.host;
    const [ip, port] = h.split(':');
    const spellings = ['GHCR.IO/acme/app:1', 'ghcr.io:443/acme/app:1', 'registry-1.docker.io/acme/app:1', 'registry.hub.docker.com/acme/app:1', 'DOCKER.IO/acme/app:1', `${ip}:0${port}/acme/app:1`];
    const mirrors = ['GHCR.IO', 'ghcr.io:443', 'registry-1.docker.io', 'registry.hub.docker.com', 'DOCKER.IO'].flatMap((m) => ['--mirror', `${m}=${h}`]);
    project([...spellings, 'GHCR.IO/acme/signed:1'], ['ghcr.io/acme', 'docker.io/acme', `${h}/acme`]);
    const run = await runKubepin(['lock', '--json', ...mirrors], { cwd: dir });
    expect(run.code).toBe(1);
    const failed = JSON.parse(run.stdout).failed.map((f: { reference: string; kind: string }) => `${f.kind} ${f.reference}`);
    expect(failed).toHaveLength(spellings.length);
    expect(failed.every((f: string) => f.startsWith('signature-missing '))).toBe(true);
    // The signature names ghcr.io/acme/signed: the same repository as GHCR.IO/acme/signed.
    expect(readLock().images['GHCR.IO/acme/signed:1'].signature).toEqual({ key: fingerprintOf(key), format: 'cosign' });

    // A lock written by hand for them is caught by verify --remote.
    const lock = readLock();
    for (const reference of spellings) lock.images[reference] = { requested: reference, reference, digest: pushed.acme.digest, mediaType: pushed.acme.mediaType };
    writeLock(lock);
    const remote = await runKubepin(['verify', '--remote', '--json', ...mirrors], { cwd: dir });
    expect(codes(remote.stdout).filter((c: string) => c.startsWith('signature-invalid')).sort()).toEqual(spellings.map((s) => `signature-invalid ${s}`).sort());
  });

  test('4. "*" covers every registry, ports included; a pattern no image can match is a configuration error', async () => {
    const h = registry.host;
    project([`${h}/bp/unsigned:1`, `${h}/bp/single:1`], ['*']);
    const run = await runKubepin(['lock', '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).failed.map((f: { reference: string }) => f.reference)).toEqual([`${h}/bp/unsigned:1`]);

    for (const [pattern, reason] of [['ghcr.io/Acme', /lowercase/], ['ghcr.io/*', /no wildcard/], ['ghcr.io:*', /matched exactly/], ['ghcr.io/acme:1', /has no tag/], ['foo_bar.com/x', /host .* can match no image/]] as const) {
      project([`${h}/bp/single:1`], [`${h}/bp`, pattern]);
      const bad = await runKubepin(['lock'], { cwd: dir });
      expect(bad.code).toBe(2); // a configuration error, as a bad flag
      expect(bad.stderr).toContain(`kubepin.config.json: signatures.require[0].images[1] ${JSON.stringify(pattern)}:`);
      expect(bad.stderr).toMatch(reason);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('5. a garbage rfc3161 timestamp rejects its bundle only: lock, verify --remote and check --online do not crash', async () => {
    const h = registry.host;
    project([`${h}/bp/tsa:1`, `${h}/bp/signed:1`]);
    const run = await runKubepin(['lock', '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const failed = JSON.parse(run.stdout).failed;
    expect(failed.map((f: { reference: string; kind: string }) => `${f.kind} ${f.reference}`)).toEqual([`signature-invalid ${h}/bp/tsa:1`]);
    expect(failed[0].message).toMatch(/bp\/tsa:1@sha256:[a-f0-9]{64}: no valid signature .*: Sigstore bundle sha256:[a-f0-9]{12}… \(referrers tag sha256-[a-f0-9]{64}\): /);
    expect(readLock().images[`${h}/bp/signed:1`].signature.format).toBe('sigstore-bundle');

    const lock = readLock();
    lock.images[`${h}/bp/tsa:1`] = { requested: `${h}/bp/tsa:1`, reference: `${h}/bp/tsa:1`, digest: pushed.tsa.digest, mediaType: pushed.tsa.mediaType, signature: { key: fingerprintOf(key), format: 'sigstore-bundle' } };
    writeLock(lock);
    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(remote.code).toBe(1);
    expect(codes(remote.stdout).filter((c: string) => !c.startsWith('unpinned'))).toEqual([`signature-invalid ${h}/bp/tsa:1`]);

    const check = await runKubepin(['check', 'dist', '--online', '--format', 'json'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).findings.filter((f: { code: string }) => f.code === 'signature-invalid').map((f: { image: string }) => f.image)).toEqual([`${h}/bp/tsa:1`]);
  });

  test('6. log entries in key-signed bundles are verified when present; "tlog": "required" demands one', async () => {
    const h = registry.host;
    const images = ['bp/garbage-set:1', 'bp/logged:1', 'bp/signed:1', 'bp/single:1', 'bp/classic-garbage:1', 'bp/classic-logged:1'].map((i) => `${h}/${i}`);
    const failures = async (requirement: Record<string, unknown>, root = false) => {
      writeFiles(dir, {
        'keys/release.pub': key.publicPem,
        'sigstore/trusted_root.json': JSON.stringify(rekor.trustedRoot),
        'kubepin.config.json': JSON.stringify({ signatures: { ...(root ? { trustedRoot: 'sigstore/trusted_root.json' } : {}), require: [{ images: [`${h}/bp`], keys: ['keys/release.pub'], ...requirement }] } }),
        'dist/app.yaml': deploymentYaml('app', images),
      });
      fs.rmSync(lockFile(), { force: true });
      const run = await runKubepin(['lock', '--json'], { cwd: dir });
      expect(run.stderr).not.toMatch(/\n\s+at /);
      return Object.fromEntries(JSON.parse(run.stdout).failed.map((f: { reference: string; message: string }) => [f.reference.replace(`${h}/`, ''), f.message]));
    };
    // No trusted root: an entry present is verified against the public-good root over TUF; the tests' TUF mirror is
    // unreachable, so it is refused with the fix, never trusted unchecked; bundles without one verify by the key alone.
    const noRoot = await failures({});
    expect(Object.keys(noRoot).sort()).toEqual(['bp/classic-garbage:1', 'bp/classic-logged:1', 'bp/garbage-set:1', 'bp/logged:1']);
    expect(noRoot['bp/garbage-set:1']).toMatch(/no trusted root is configured, and the public-good one could not be fetched over TUF .*Fix: pin one with `kubepin trust update --output sigstore\/trusted_root\.json` and name it as "trustedRoot"/);
    expect(noRoot['bp/classic-garbage:1']).toMatch(/cosign signature sha256-[a-f0-9]{64}\.sig layer 0: no trusted root is configured, and the public-good one could not be fetched over TUF/);

    // With the log's trusted root: the garbage timestamp is refused, the logged bundle locks.
    const withRoot = await failures({}, true);
    expect(Object.keys(withRoot).sort()).toEqual(['bp/classic-garbage:1', 'bp/garbage-set:1']);
    expect(withRoot['bp/garbage-set:1']).toMatch(/transparency-log entry does not verify against sigstore\/trusted_root\.json \(inclusion promise could not be verified\)/);
    expect(withRoot['bp/classic-garbage:1']).toMatch(/transparency-log entry does not verify against sigstore\/trusted_root\.json \(inclusion promise could not be verified\)/);
    expect(readLock().images[`${h}/bp/logged:1`].signature).toEqual({ key: fingerprintOf(key), format: 'sigstore-bundle' });
    expect(readLock().images[`${h}/bp/classic-logged:1`].signature).toEqual({ key: fingerprintOf(key), format: 'cosign' });

    // "tlog": "required": only the bundle with a verified entry counts.
    const required = await failures({ tlog: 'required', trustedRoot: 'sigstore/trusted_root.json' });
    expect(Object.keys(required).sort()).toEqual(['bp/classic-garbage:1', 'bp/garbage-set:1', 'bp/signed:1', 'bp/single:1']);
    expect(required['bp/signed:1']).toMatch(/has no transparency-log entry, and .*require\[0\] says "tlog": "required"/);
    expect(required['bp/single:1']).toMatch(/\.sig layer 0: the signature has no transparency-log entry, and .* says "tlog": "required"/);

    // A hand-written lock entry for the garbage one is caught by verify --remote.
    const lock = readLock();
    lock.images[`${h}/bp/garbage-set:1`] = { requested: images[0], reference: images[0], digest: pushed.garbageSet.digest, mediaType: pushed.garbageSet.mediaType, signature: { key: fingerprintOf(key), format: 'sigstore-bundle' } };
    writeLock(lock);
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ signatures: { trustedRoot: 'sigstore/trusted_root.json', require: [{ images: [`${h}/bp`], keys: ['keys/release.pub'] }] } }) });
    const remote = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(codes(remote.stdout).filter((c: string) => c.startsWith('signature'))).toEqual([`signature-invalid ${h}/bp/garbage-set:1`]);

    // A "tlog" requirement without a trusted root uses the public-good one: with the tests' TUF mirror unreachable,
    // every image fails (none has an entry verified), each naming the fix; nothing is locked unchecked.
    const publicGood = await failures({ tlog: 'required' });
    expect(Object.keys(publicGood).sort()).toEqual(['bp/classic-garbage:1', 'bp/classic-logged:1', 'bp/garbage-set:1', 'bp/logged:1', 'bp/signed:1', 'bp/single:1']);
    expect(publicGood['bp/logged:1']).toMatch(/the public-good one could not be fetched over TUF .*Fix: pin one with `kubepin trust update/);
  });
});
