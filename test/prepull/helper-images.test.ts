import { Chart, Testing } from 'cdk8s';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImagePolicy, PrePullDaemonSet } from '../../lib/cdk8s';
import { Deployment, Image } from '../../lib/cdk8s/plus/33';
import * as pulumiFace from '../../lib/pulumi';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { publicDigest, publicLock } from './fixtures';
import { runProgram } from '../pulumi/harness';

/*
 * The pre-puller's helper (busybox) and pause images are set where a project sets things: the
 * ImagePolicy option prePullHelpers (cdk8s and Pulumi), kubepin.config.json's "prePullHelpers",
 * a PrePullDaemonSet's own props (which win); a finding on one of them says which kubepin
 * default brought it in and where to change it.
 */
const pinned = (image: string, normalized = image) => `${normalized}@${publicDigest(normalized)}`;

function prePullSpec(docs: any[]): any {
  const ds = docs.filter((d) => d.kind === 'DaemonSet');
  expect(ds).toHaveLength(1);
  return ds[0].spec.template.spec;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-helpers-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A lock file on disk (with the public digests), so kubepin.config.json beside it is read. */
function lockOnDisk(config?: unknown): ImageLock {
  const file = path.join(dir, 'kubepin.lock.json');
  fs.writeFileSync(file, publicLock().serialize());
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify(config));
  return ImageLock.load(file);
}

describe('cdk8s', () => {
  function synth(policy: Record<string, unknown>, own?: Record<string, unknown>): any[] {
    const app = Testing.app();
    new ImagePolicy(app, 'ImagePolicy', policy);
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    if (own) new PrePullDaemonSet(chart, 'kubepin-prepull-shop', { namespace: 'shop', ...own });
    new Deployment(chart, 'web', { containers: [{ image: Image.of('nginx:1.27.5') }], prePull: true });
    return Testing.synth(chart);
  }

  test('the ImagePolicy option sets them for prePull: true', () => {
    const spec = prePullSpec(synth({ lock: publicLock(), prePullHelpers: { pauseImage: 'registry.k8s.io/pause:3.9' } }));
    expect(spec.containers[0].image).toBe(pinned('registry.k8s.io/pause:3.9'));
    expect(spec.initContainers[0].image).toBe(pinned('busybox:1.36.1', 'docker.io/library/busybox:1.36.1'));
  });

  test('kubepin.config.json sets them; the policy option wins over it, a PrePullDaemonSet\'s props over both', () => {
    const config = { prePullHelpers: { helperImage: 'docker.io/library/redis:7.4.2', helperBinary: '/bin/redis-noop', pauseImage: 'registry.k8s.io/pause:3.9' } };
    let spec = prePullSpec(synth({ lock: lockOnDisk(config) }));
    expect(spec.initContainers[0].image).toBe(pinned('docker.io/library/redis:7.4.2'));
    expect(spec.initContainers[0].command[0]).toBe('/bin/redis-noop');
    expect(spec.containers[0].image).toBe(pinned('registry.k8s.io/pause:3.9'));
    spec = prePullSpec(synth({ lock: lockOnDisk(config), prePullHelpers: { helperImage: 'docker.io/library/postgres:16.4' } }));
    expect(spec.initContainers[0].image).toBe(pinned('docker.io/library/postgres:16.4'));
    expect(spec.containers[0].image).toBe(pinned('registry.k8s.io/pause:3.9'));
    spec = prePullSpec(synth({ lock: lockOnDisk(config), prePullHelpers: { helperImage: 'docker.io/library/postgres:16.4' } }, { helperImage: 'docker.io/library/nginx:1.27.5' }));
    expect(spec.initContainers[0].image).toBe(pinned('docker.io/library/nginx:1.27.5'));
  });

  test('a misspelled field of the section is refused with the nearest one', () => {
    expect(() => synth({ lock: lockOnDisk({ prePullHelpers: { pauseimage: 'x' } }) })).toThrow(/prePullHelpers: unknown field "pauseimage" \(did you mean "pauseImage"\?\)/);
  });

  test('a default image outside allowedRegistries: the finding names the default that brought it in and where to set another', () => {
    const app = Testing.app();
    const policy = new ImagePolicy(app, 'ImagePolicy', { lock: publicLock(), allowedRegistries: ['docker.io'], reportOnly: true, log: () => undefined });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new Deployment(chart, 'web', { containers: [{ image: Image.of('nginx:1.27.5') }], prePull: true });
    Testing.synth(chart);
    const pause = policy.findings.filter((f) => f.code === 'registry-not-allowed');
    expect(pause).toHaveLength(1);
    expect(pause[0].message).toContain("is kubepin's default pre-pull pause image (registry.k8s.io/pause:3.10), added by the pre-puller");
    expect(pause[0].message).toContain('set "prePullHelpers": { "pauseImage": "…" } in kubepin.config.json, or the ImagePolicy option prePullHelpers.pauseImage');
    expect(pause[0].message).toMatch(/docs\/pre-pull\.md\)$/);
  });
});

describe('Pulumi', () => {
  test('the stack policy\'s option sets them for its PrePullDaemonSets; the component\'s args win', async () => {
    const { resources } = await runProgram(() => {
      pulumiFace.ImagePolicy.register({ lock: publicLock(), prePullHelpers: { pauseImage: 'registry.k8s.io/pause:3.9', helperImage: 'docker.io/library/redis:7.4.2' } });
      new pulumiFace.PrePullDaemonSet('pp', { images: ['nginx:1.27.5'], helperImage: 'docker.io/library/postgres:16.4' });
    });
    const ds = resources.filter((r) => r.type === 'kubernetes:apps/v1:DaemonSet');
    expect(ds).toHaveLength(1);
    const spec = ds[0].inputs.spec.template.spec;
    expect(spec.containers[0].image).toBe(pinned('registry.k8s.io/pause:3.9'));
    expect(spec.initContainers[0].image).toBe(pinned('docker.io/library/postgres:16.4'));
  });
});
