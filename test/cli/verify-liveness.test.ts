import * as fs from 'fs';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { remoteExitCode } from '../../lib/cli/verify-remote';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { PushClient, pushImage, sha256, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

/** dist/app.yaml: `images` pinned to the digests the lock has, as a synthesis writes them. */
function writePinned(dir: string, images: string[]): void {
  const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
  writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', images.map((i) => `${i}@${lock.get(i)!.digest}`)) });
}

/** `kubepin verify --remote` against a real registry that deletes manifests, as retention rules do. */
describe('kubepin verify --remote: are the locked digests still served?', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const h = (): string => registry.host;
  beforeAll(async () => {
    registry = await startRegistry({ deletes: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A project whose lock a real `kubepin lock` wrote, with the cluster's platforms in kubepin.config.json. */
  async function lockedProject(images: string[]): Promise<void> {
    dir = tempProject();
    writeFiles(dir, {
      'kubepin.config.json': JSON.stringify({ platforms: ['linux/amd64', 'linux/arm64'] }),
      'src/app.yaml': deploymentYaml('app', images),
    });
    const lock = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    writePinned(dir, images);
  }

  const verify = async (): Promise<{ code: number; out: { ok: boolean; findings: Array<Record<string, string>> } }> => {
    const run = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    return { code: run.code, out: JSON.parse(run.stdout) };
  };

  test('every digest served: HEAD requests only, no GET of a manifest, exit 0', async () => {
    await pushImage(registry, 'live/web', '1.0');
    await lockedProject([`${h()}/live/web:1.0`]);
    await registry.settle();
    registry.resetCounters();
    const { code, out } = await verify();
    expect(out.findings).toEqual([]);
    expect(code).toBe(0);
    await registry.settle();
    const manifests = registry.accessLog().filter((r) => r.path.includes('/manifests/'));
    // The index and both platform manifests the lock records, and the tag: all by HEAD.
    expect(manifests.filter((r) => r.method === 'HEAD').length).toBe(4);
    expect(manifests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  test('a deleted platform manifest is child-gone; a deleted index is digest-gone (exit 3); the lock is not written', async () => {
    const web = await pushImage(registry, 'gone/web', '1.0');
    const api = await pushImage(registry, 'gone/api', '1.0');
    await lockedProject([`${h()}/gone/web:1.0`, `${h()}/gone/api:1.0`]);
    const lockPath = path.join(dir, 'kubepin.lock.json');
    const before = fs.readFileSync(lockPath, 'utf8');
    expect(JSON.parse(before).images[`${h()}/gone/web:1.0`].offeredPlatforms).toEqual(['linux/amd64', 'linux/arm64']);

    await new PushClient(registry, 'gone/web').deleteManifest(web.platforms['linux/arm64']);
    await new PushClient(registry, 'gone/api').deleteManifest(api.digest);
    const { code, out } = await verify();
    expect(code).toBe(3);
    const byCode = Object.fromEntries(out.findings.map((f) => [f.code, f]));
    expect(Object.keys(byCode).sort()).toEqual(['child-gone', 'digest-gone', 'remote-error']);
    expect(byCode['child-gone']).toMatchObject({ image: `${h()}/gone/web:1.0`, digest: web.platforms['linux/arm64'], platform: 'linux/arm64' });
    expect(byCode['child-gone'].message).toContain('re-lock with `kubepin lock --update`, and check the registry\'s retention rules');
    expect(byCode['child-gone'].kubelet).toBe(`Failed to pull image "${h()}/gone/web@${web.digest}": rpc error: code = NotFound desc = failed to pull and unpack image "${h()}/gone/web@${web.digest}": failed to copy: httpReadSeeker: failed open: content at https://${h()}/v2/gone/web/manifests/${web.platforms['linux/arm64']} not found: not found`);
    expect(byCode['digest-gone']).toMatchObject({ image: `${h()}/gone/api:1.0`, digest: api.digest });
    expect(byCode['digest-gone'].message).toContain(`no longer serves the locked digest ${api.digest} (MANIFEST_UNKNOWN)`);
    expect(byCode['digest-gone'].kubelet).toContain(`failed to resolve reference "${h()}/gone/api@${api.digest}": ${h()}/gone/api@${api.digest}: not found`);
    // Deleting the tagged index removed the tag too: the tag lookup says so on its own.
    expect(byCode['remote-error'].image).toBe(`${h()}/gone/api:1.0`);
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(before);

    const text = await runKubepin(['verify', '--remote'], { cwd: dir });
    expect(text.code).toBe(3);
    expect(text.stderr).toContain('The kubelet reports ErrImagePull, then ImagePullBackOff: Failed to pull image');
  });

  test('a repository the registry no longer knows is repository-gone (exit 4), not a moved tag', async () => {
    const kept = await pushImage(registry, 'repo/kept', '1.0');
    await lockedProject([`${h()}/repo/kept:1.0`]);
    // The lock names a repository that is gone: the entry as it was before the repository was deleted.
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    lock.set(`${h()}/repo/deleted:1.0`, { digest: kept.digest, mediaType: kept.mediaType });
    lock.save();
    const { code, out } = await verify();
    expect(out.findings.map((f) => [f.code, f.image])).toEqual([['repository-gone', `${h()}/repo/deleted:1.0`]]);
    expect(out.findings[0].message).toContain('no longer knows the repository');
    expect(code).toBe(4);
  });

  test('a cluster platform the lock does not record is read from the index; one the index lacks is platform-not-found (exit 3)', async () => {
    await pushImage(registry, 'need/web', '1.0');
    dir = tempProject();
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('app', [`${h()}/need/web:1.0`]) });
    expect((await runKubepin(['lock', 'src'], { cwd: dir })).code).toBe(0);
    writePinned(dir, [`${h()}/need/web:1.0`]);
    // The cluster's platforms named after the lock was written: arm64 is in the index, s390x is not.
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ platforms: ['linux/arm64', 'linux/s390x'] }) });
    const { code, out } = await verify();
    expect(out.findings).toMatchObject([{ code: 'platform-not-found', platform: 'linux/s390x' }]);
    expect(out.findings[0].message).toContain('the index has no linux/s390x manifest (it has linux/amd64, linux/arm64)');
    expect(out.findings[0].kubelet).toContain('no match for platform in manifest: not found');
    expect(code).toBe(3);
  });

  test('a single-platform image under a cluster that gained arm64 nodes is platform-not-found', async () => {
    await pushImage(registry, 'need/single', '1.0', { format: 'docker', platforms: ['linux/amd64'] });
    dir = tempProject();
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ platforms: ['linux/amd64'] }), 'src/app.yaml': deploymentYaml('app', [`${h()}/need/single:1.0`]) });
    expect((await runKubepin(['lock', 'src'], { cwd: dir })).code).toBe(0);
    writePinned(dir, [`${h()}/need/single:1.0`]);
    expect((await verify()).code).toBe(0);
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ platforms: ['linux/amd64', 'linux/arm64'] }) });
    const { code, out } = await verify();
    expect(out.findings).toMatchObject([{ code: 'platform-not-found', platform: 'linux/arm64' }]);
    expect(out.findings[0].message).toContain('is a single-platform image (linux/amd64)');
    expect(code).toBe(3);
  });

  test('a platform digest the index never listed (hand-edited lock) is digest-mismatch, not gone', async () => {
    const web = await pushImage(registry, 'edit/web', '1.0');
    await lockedProject([`${h()}/edit/web:1.0`]);
    const file = path.join(dir, 'kubepin.lock.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const invented = sha256('not a manifest of this index');
    data.images[`${h()}/edit/web:1.0`].platforms['linux/arm64'] = invented;
    fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
    const { code, out } = await verify();
    expect(out.findings).toMatchObject([{ code: 'digest-mismatch', digest: invented, platform: 'linux/arm64' }]);
    expect(out.findings[0].message).toContain(`the locked index ${web.digest} does not list it`);
    expect(code).toBe(1);
  });
});

describe('kubepin verify --remote through registries that mishandle HEAD', () => {
  let registry: TestRegistryDetails;
  let proxy: FaultProxy;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['405 Method Not Allowed', { kind: 'status' as const, status: 405 }],
    ['200 without Docker-Content-Digest', { kind: 'drop-digest' as const }],
  ])('a HEAD answered %s gets the GET-and-hash fallback and passes', async (_label, fault) => {
    await pushImage(registry, 'head/web', '1.0');
    dir = tempProject();
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('app', [`${proxy.host}/head/web:1.0`]) });
    expect((await runKubepin(['lock', 'src', '--platform', 'linux/arm64'], { cwd: dir })).code).toBe(0);
    writePinned(dir, [`${proxy.host}/head/web:1.0`]);
    proxy.reset();
    proxy.add({ method: 'HEAD', path: /\/manifests\/sha256:/, times: 100, fault });
    const run = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
    expect(JSON.parse(run.stdout).findings).toEqual([]);
    expect(run.code).toBe(0);
    // The index and the arm64 manifest, each fetched and hashed once.
    expect(proxy.log.filter((r) => r.method === 'GET' && /\/manifests\/sha256:/.test(r.path)).length).toBe(2);
  });
});

describe('kubepin verify --remote when the credential is gone', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a registry refusing the credential at hand is credential-gone (exit 4), never quoting the secret', async () => {
    await pushImage(registry, 'private/app', '1.0');
    dir = tempProject();
    const config = (password: string): string => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } });
    writeFiles(dir, { 'good.json': config(registry.password!), 'stale.json': config('revoked-password'), 'src/app.yaml': deploymentYaml('app', [`${registry.host}/private/app:1.0`]) });
    expect((await runKubepin(['lock', 'src', '--docker-config', 'good.json'], { cwd: dir })).code).toBe(0);
    writePinned(dir, [`${registry.host}/private/app:1.0`]);
    expect((await runKubepin(['verify', '--remote', '--docker-config', 'good.json'], { cwd: dir })).code).toBe(0);
    const run = await runKubepin(['verify', '--remote', '--json', '--docker-config', 'stale.json'], { cwd: dir });
    const out = JSON.parse(run.stdout);
    expect(out.findings.map((f: { code: string }) => f.code)).toEqual(['credential-gone']);
    expect(out.findings[0].kubelet).toContain('401 Unauthorized');
    expect(run.code).toBe(4);
    expect(run.stdout + run.stderr).not.toContain('revoked-password');
    expect(run.stdout + run.stderr).not.toContain(registry.password!);
  });
});

test('exit status: a pin gone (3) over access gone (4) over any other finding', () => {
  expect(remoteExitCode(['tag-moved', 'credential-gone', 'child-gone'], 1)).toBe(3);
  expect(remoteExitCode(['tag-moved', 'repository-gone'], 1)).toBe(4);
  expect(remoteExitCode(['tag-moved', 'digest-mismatch'], 1)).toBe(1);
});
