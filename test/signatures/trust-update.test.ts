import * as fs from 'fs';
import * as path from 'path';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { SigstoreInstance, pushKeylessClassic, startSigstoreInstance } from '../support/sigstore-instance';
import { TufRepo, startTufRepo } from '../support/tuf-repo';

/*
 * `kubepin trust update` and the TUF path of trusted roots, against a TUF repository of our own
 * on 127.0.0.1 (signed metadata, as Sigstore's tuf-repo-cdn serves it) and a private Sigstore
 * instance whose trusted_root.json is the repository's target.
 */
describe('trusted roots over TUF', () => {
  let instance: SigstoreInstance;
  let other: SigstoreInstance;
  let tuf: TufRepo;
  let registry: TestRegistryDetails;

  beforeAll(async () => {
    [instance, other, registry] = await Promise.all([startSigstoreInstance(), startSigstoreInstance(), startRegistry()]);
    tuf = await startTufRepo(JSON.stringify(instance.trustedRoot, null, 2));
  });
  afterAll(async () => {
    await Promise.all([instance?.stop(), other?.stop(), tuf?.stop(), registry?.stop()]);
  });

  test('kubepin trust update writes the repository\'s trusted_root.json where the config names it, then reports it current, then updates it', async () => {
    const dir = tempProject('kubepin-trust-');
    writeFiles(dir, { 'tuf-root.json': tuf.rootJson, 'kubepin.config.json': JSON.stringify({ signatures: { trustedRoot: 'sigstore/trusted_root.json', require: [] } }) });
    const flags = ['--mirror', tuf.url, '--tuf-root', 'tuf-root.json', '--cache', 'tuf-cache'];
    const first = await runKubepin(['trust', 'update', ...flags], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^sigstore/trusted_root\\.json written from ${tuf.url} \\(sha256:[a-f0-9]{64}\\); review and commit the diff\\n$`));
    const file = path.join(dir, 'sigstore', 'trusted_root.json');
    expect(fs.readFileSync(file, 'utf8')).toBe(JSON.stringify(instance.trustedRoot, null, 2));
    expect(tuf.requests).toEqual(expect.arrayContaining(['/2.root.json', '/timestamp.json', '/snapshot.json', '/targets.json', '/targets/trusted_root.json']));

    const again = await runKubepin(['trust', 'update', '--json', ...flags], { cwd: dir });
    expect(JSON.parse(again.stdout)).toMatchObject({ file: 'sigstore/trusted_root.json', changed: false, written: false });

    // A new trusted root (a key rotation): --check says so and writes nothing; update writes it.
    tuf.publish(JSON.stringify(other.trustedRoot));
    const check = await runKubepin(['trust', 'update', '--check', ...flags], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/sigstore\/trusted_root\.json differs from .*; run `kubepin trust update` to write it/);
    expect(fs.readFileSync(file, 'utf8')).toBe(JSON.stringify(instance.trustedRoot, null, 2));
    const update = await runKubepin(['trust', 'update', ...flags], { cwd: dir });
    expect(update.stdout).toMatch(/sigstore\/trusted_root\.json updated from .* \(sha256:[a-f0-9]{64}, was sha256:[a-f0-9]{64}\)/);
    expect(fs.readFileSync(file, 'utf8')).toBe(JSON.stringify(other.trustedRoot));
  });

  test('bytes that do not match the signed target, an unknown mirror, no place to write: errors that change nothing', async () => {
    const dir = tempProject('kubepin-trust-');
    writeFiles(dir, { 'tuf-root.json': tuf.rootJson, 'sigstore/trusted_root.json': 'pinned' });
    tuf.tamper(JSON.stringify(instance.trustedRoot));
    const flags = ['-o', 'sigstore/trusted_root.json', '--mirror', tuf.url, '--tuf-root', 'tuf-root.json', '--cache', 'tuf-cache'];
    const tampered = await runKubepin(['trust', 'update', ...flags], { cwd: dir });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/kubepin trust: cannot read trusted_root\.json from the TUF repository .*; sigstore\/trusted_root\.json was not changed/);
    expect(fs.readFileSync(path.join(dir, 'sigstore', 'trusted_root.json'), 'utf8')).toBe('pinned');

    const unknown = await runKubepin(['trust', 'update', '-o', 'x.json', '--mirror', 'http://127.0.0.1:9', '--cache', 'c'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No root\.json found for mirror: http:\/\/127\.0\.0\.1:9\. Fix: .*--tuf-root/);
    const nowhere = await runKubepin(['trust', 'update'], { cwd: dir });
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/say where to write the trusted root: -o FILE, or "signatures": \{ "trustedRoot"/);
    tuf.publish(JSON.stringify(other.trustedRoot));
  });

  test('no trustedRoot configured: kubepin lock verifies keyless signatures with the root fetched over TUF (here, our mirror)', async () => {
    tuf.publish(JSON.stringify(instance.trustedRoot));
    const dir = tempProject('kubepin-tuf-lock-');
    const image = await pushImage(registry, 'tuf/app', '1', { format: 'oci' });
    const claims = { subject: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
    await pushKeylessClassic(registry, instance, 'tuf/app', image.digest, claims);
    writeFiles(dir, {
      'tuf-root.json': tuf.rootJson,
      'kubepin.config.json': JSON.stringify({ signatures: { require: [{ images: [`${registry.host}/tuf`], keyless: { identity: claims.subject, issuer: claims.issuer } }] } }),
      'dist/app.yaml': deploymentYaml('app', [`${registry.host}/tuf/app:1`]),
    });
    // kubepin reads these from its process's environment (the CLI runs in this process here).
    const saved = { ...process.env };
    Object.assign(process.env, { KUBEPIN_SIGSTORE_TUF_MIRROR: tuf.url, KUBEPIN_SIGSTORE_TUF_ROOT: path.join(dir, 'tuf-root.json'), KUBEPIN_SIGSTORE_TUF_CACHE: path.join(dir, 'tuf-cache') });
    try {
      const lock = await runKubepin(['lock', '--json'], { cwd: dir });
      expect(JSON.parse(lock.stdout).failed).toEqual([]);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images[`${registry.host}/tuf/app:1`].signature).toEqual({ format: 'cosign', identity: claims.subject, issuer: claims.issuer });
      // Another instance's root over TUF: the same signature does not verify.
      tuf.publish(JSON.stringify(other.trustedRoot));
      fs.rmSync(path.join(dir, 'kubepin.lock.json'));
      const refused = await runKubepin(['lock', '--json'], { cwd: dir });
      expect(JSON.parse(refused.stdout).failed[0].message).toMatch(/the public-good Sigstore trusted root \(TUF http:\/\/127\.0\.0\.1:\d+\): /);
    } finally {
      for (const k of ['KUBEPIN_SIGSTORE_TUF_MIRROR', 'KUBEPIN_SIGSTORE_TUF_ROOT', 'KUBEPIN_SIGSTORE_TUF_CACHE']) process.env[k] = saved[k];
    }
  });
});
