import * as fs from 'fs';
import * as path from 'path';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

/** `kubepin lock` under kubepin.config.json's "platforms", against a real registry. */
describe('kubepin lock with the cluster\'s platforms', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const h = (): string => registry.host;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const project = (images: string[], platforms: unknown = ['linux/arm64', 'linux/amd64']): void =>
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ platforms }), 'src/app.yaml': deploymentYaml('app', images) });
  const lockText = (): string => fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8');

  test('an index offering every platform is locked with its offered platforms (attestations left out) and the cluster platforms\' digests, byte-stable', async () => {
    const web = await pushImage(registry, 'plat/web', '1.0', { platforms: ['linux/arm64', 'unknown/unknown', 'linux/amd64', 'linux/arm/v7'] });
    project([`${h()}/plat/web:1.0`]);
    const run = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const entry = JSON.parse(lockText()).images[`${h()}/plat/web:1.0`];
    expect(entry.offeredPlatforms).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
    expect(entry.platforms).toEqual({ 'linux/amd64': web.platforms['linux/amd64'], 'linux/arm64': web.platforms['linux/arm64'] });
    expect(Object.keys(entry)).toEqual(['requested', 'reference', 'digest', 'mediaType', 'platforms', 'offeredPlatforms']);
    const before = lockText();
    expect((await runKubepin(['lock', 'src', '--update'], { cwd: dir })).code).toBe(0);
    expect(lockText()).toBe(before);
  });

  test('an index without arm64 fails with platform-not-found, naming what it has and which nodes need what; nothing is locked for it', async () => {
    await pushImage(registry, 'plat/amd-only', '1.0', { platforms: ['linux/amd64'] });
    project([`${h()}/plat/amd-only:1.0`]);
    const run = await runKubepin(['lock', 'src', '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    const failed = JSON.parse(run.stdout).failed;
    expect(failed).toHaveLength(1);
    expect(failed[0].kind).toBe('platform-not-found');
    expect(failed[0].message).toMatch(/has no manifest for linux\/arm64 \(it offers linux\/amd64\), and kubepin\.config\.json's "platforms" says the cluster's nodes run linux\/amd64, linux\/arm64: the linux\/arm64 nodes cannot run it/);
    expect(failed[0].message).toContain('Fix: publish the image for linux/arm64');
    expect(JSON.parse(lockText()).images).toEqual({});
  });

  test('a single-platform image where two platforms are required fails with the fix, also once locked', async () => {
    await pushImage(registry, 'plat/single', '1.0', { format: 'oci', platforms: ['linux/amd64'] });
    // Locked before the cluster got arm64 nodes:
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('app', [`${h()}/plat/single:1.0`]) });
    expect((await runKubepin(['lock', 'src'], { cwd: dir })).code).toBe(0);
    project([`${h()}/plat/single:1.0`]);
    const run = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the tag names a single-platform image (linux/amd64; ');
    expect(run.stderr).toContain('the linux/arm64 nodes cannot run it');
    expect(run.stderr).toContain('Fix: pin the multi-platform index');
    // One platform required: the image's own platform (from its config) must be it, and is recorded.
    project([`${h()}/plat/single:1.0`], ['linux/amd64']);
    expect((await runKubepin(['lock', 'src'], { cwd: dir })).code).toBe(0);
    expect(JSON.parse(lockText()).images[`${h()}/plat/single:1.0`].offeredPlatforms).toEqual(['linux/amd64']);
    project([`${h()}/plat/single:1.0`], ['linux/arm64']);
    const arm = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(arm.code).toBe(1);
    expect(arm.stderr).toContain('the linux/arm64 nodes cannot run it');
  });

  test('a lock written before "platforms" loads, and the next kubepin lock adds what it offers', async () => {
    await pushImage(registry, 'plat/old', '1.0');
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('app', [`${h()}/plat/old:1.0`]) });
    expect((await runKubepin(['lock', 'src'], { cwd: dir })).code).toBe(0);
    expect(JSON.parse(lockText()).images[`${h()}/plat/old:1.0`].offeredPlatforms).toBeUndefined();
    project([`${h()}/plat/old:1.0`]);
    const run = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(lockText()).images[`${h()}/plat/old:1.0`].offeredPlatforms).toEqual(['linux/amd64', 'linux/arm64']);
  });

  test('a malformed "platforms" is a clear error', async () => {
    project([`${h()}/plat/web:1.0`], ['linux']);
    const run = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('"platforms" entry "linux" is not os/arch or os/arch/variant');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
