import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Deployment, Image, Pod, PullPolicy, RegistryPullSecret, StatefulSet } from '../../lib/cdk8s';
import { LOCK_FILE_CONTEXT, PrePullDaemonSet } from '../../lib/cdk8s/pre-pull-daemon-set';
import { DIGESTS, assertNoUnknownKeys, lockWith, podSpec, tempDir, validateSchema } from './helpers';

let dir: string;
let cleanup: () => void;
let lockFile: string;

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  lockFile = path.join(dir, 'kubepin.lock.json');
  const lock = lockWith({ 'nginx:1.27.5': DIGESTS.nginx, 'busybox:1.36.1': DIGESTS.busybox, 'postgres:16.4': DIGESTS.postgres, 'registry.k8s.io/pause:3.10': DIGESTS.pause });
  fs.writeFileSync(lockFile, lock.serialize());
});
afterAll(() => cleanup());

/** An app without any ImagePolicy; the lock is found from the scope's context. */
function chartWithoutPolicy(): { app: App; chart: Chart } {
  const app = Testing.app({ });
  app.node.setContext(LOCK_FILE_CONTEXT, lockFile);
  return { app, chart: new Chart(app, 'test') };
}

function synthError(chart: Chart): Error {
  try {
    Testing.synth(chart);
  } catch (e) {
    return e as Error;
  }
  throw new Error('synthesis did not fail');
}

describe('typed workloads without an ImagePolicy', () => {
  test('Deployment, StatefulSet and Pod are pinned with explicit policies, init containers too', () => {
    const { chart } = chartWithoutPolicy();
    new Deployment(chart, 'web', {
      initContainers: [{ name: 'init', image: Image.of('busybox:1.36.1') }],
      containers: [{ name: 'web', image: Image.of('nginx:1.27.5'), portNumber: 8080 }],
    });
    new StatefulSet(chart, 'db', { containers: [{ name: 'pg', image: Image.of('postgres:16.4'), portNumber: 5432 }] });
    new Pod(chart, 'pod', { containers: [{ name: 'p', image: Image.fromDigest('registry.k8s.io/pause', DIGESTS.pause, { tag: '3.10' }) }] });
    const docs = Testing.synth(chart);
    expect(docs).toMatchSnapshot();
    const images = docs.filter((d) => ['Deployment', 'StatefulSet', 'Pod'].includes(d.kind)).flatMap((d) => {
      const spec = podSpec(d);
      return [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => [c.image, c.imagePullPolicy]);
    });
    expect(images).toEqual([
      [`docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, 'IfNotPresent'],
      [`docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`, 'IfNotPresent'],
      [`docker.io/library/postgres:16.4@${DIGESTS.postgres}`, 'IfNotPresent'],
      [`registry.k8s.io/pause:3.10@${DIGESTS.pause}`, 'IfNotPresent'],
    ]);
    for (const doc of docs) {
      validateSchema(doc);
      assertNoUnknownKeys(doc);
    }
  });

  test('plain cdk8s-plus workloads next to them are left alone (no policy governs them)', () => {
    const { chart } = chartWithoutPolicy();
    new kplus.Deployment(chart, 'plain', { containers: [{ image: 'nginx:1.27.5' }] });
    expect(podSpec(Testing.synth(chart)[0]).containers[0]).toMatchObject({ image: 'nginx:1.27.5', imagePullPolicy: 'Always' });
  });

  test('workload and container pull policies; string images still accepted', () => {
    const { chart } = chartWithoutPolicy();
    const web = new Deployment(chart, 'web', {
      pullPolicy: PullPolicy.Always,
      containers: [{ name: 'a', image: Image.of('nginx:1.27.5') }, { name: 'b', image: Image.of('busybox:1.36.1'), pullPolicy: PullPolicy.IfNotPresent }],
    });
    web.addContainer({ name: 'c', image: 'busybox:1.36.1', imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT });
    const spec = podSpec(Testing.synth(chart)[0]);
    expect(spec.containers.map((c: any) => [c.name, c.imagePullPolicy])).toEqual([['a', 'Always'], ['b', 'IfNotPresent'], ['c', 'IfNotPresent']]);
    expect(spec.containers[2].image).toBe(`docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`);
  });

  test('pullSecrets are listed on the pod, several of them', () => {
    const { chart } = chartWithoutPolicy();
    const a = RegistryPullSecret.fromExistingSecret(chart, 'a', 'a-pull', { registries: ['ghcr.io'] });
    const b = RegistryPullSecret.fromExistingSecret(chart, 'b', 'b-pull', { registries: ['docker.io'] });
    new Deployment(chart, 'web', { pullSecrets: [a, b], containers: [{ image: Image.of('nginx:1.27.5') }] });
    expect(podSpec(Testing.synth(chart)[0]).imagePullSecrets).toEqual([{ name: 'a-pull' }, { name: 'b-pull' }]);
  });

  test('prePull puts the images in the chart\'s PrePullDaemonSet and allows Never', () => {
    const { chart } = chartWithoutPolicy();
    const web = new Deployment(chart, 'web', { prePull: true, pullPolicy: PullPolicy.Never, containers: [{ image: Image.of('nginx:1.27.5') }] });
    web.addContainer({ name: 'late', image: Image.of('busybox:1.36.1') });
    const prePuller = chart.node.findAll().find(PrePullDaemonSet.isPrePullDaemonSet)!;
    expect(prePuller.images).toEqual(['nginx:1.27.5', 'busybox:1.36.1']);
    const docs = Testing.synth(chart);
    expect(podSpec(docs.find((d) => d.kind === 'Deployment')).containers.map((c: any) => c.imagePullPolicy)).toEqual(['Never', 'Never']);
  });
});

describe('bad input fails synthesis naming the construct path and the fix', () => {
  test('an invalid image string joins the one error that lists every problem of the chart', () => {
    const { chart } = chartWithoutPolicy();
    new Deployment(chart, 'web', { containers: [{ name: 'api', image: Image.of('Ghcr.io/Acme/API:1.4.2') }] });
    new Pod(chart, 'pod', { containers: [{ image: Image.of('nginx:1.27.5'), pullPolicy: PullPolicy.Never }] });
    const message = synthError(chart).message;
    expect(message).toMatch(/2 error\(s\) in chart test/);
    expect(message).toContain('[test/web/Resource] error invalid-image Deployment');
    expect(message).toContain('spec.template.spec.containers[0].image: invalid image reference "Ghcr.io/Acme/API:1.4.2"');
    expect(message).toMatch(/lowercase/);
    expect(message).toContain('[test/pod/Resource] error never-without-prepull');
  });

  test('Never without pre-pull', () => {
    const { chart } = chartWithoutPolicy();
    new Deployment(chart, 'web', { containers: [{ image: Image.of('nginx:1.27.5'), pullPolicy: PullPolicy.Never }] });
    const message = synthError(chart).message;
    expect(message).toContain('[test/web/Resource] error never-without-prepull');
    expect(message).toContain('Fix: pre-pull the image (prePull / prePulled) or use IfNotPresent');
  });

  test('an invalid pull policy', () => {
    const { chart } = chartWithoutPolicy();
    new Deployment(chart, 'web', { pullPolicy: 'Sometimes' as PullPolicy, containers: [{ image: Image.of('nginx:1.27.5') }] });
    expect(synthError(chart).message).toContain('[test/web] pullPolicy "Sometimes" is not one of Always, IfNotPresent, Never');
  });
});

describe('the default lock file', () => {
  test('is kubepin.lock.json next to cdk8s.yaml; the pre-puller of a typed workload pins from it too', () => {
    const { dir: project, cleanup: done } = tempDir();
    const cwd = process.cwd();
    try {
      fs.writeFileSync(path.join(project, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
      fs.copyFileSync(lockFile, path.join(project, 'kubepin.lock.json'));
      fs.mkdirSync(path.join(project, 'src'));
      process.chdir(path.join(project, 'src'));
      const chart = new Chart(Testing.app(), 'test');
      new Deployment(chart, 'web', { prePull: true, containers: [{ image: Image.of('nginx:1.27.5') }] });
      const docs = Testing.synth(chart);
      const images = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')
        .flatMap((d) => [...(podSpec(d).initContainers ?? []), ...podSpec(d).containers].map((c: any) => c.image));
      expect(images.length).toBeGreaterThanOrEqual(4);
      for (const image of images) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    } finally {
      process.chdir(cwd);
      done();
    }
  });
});

test('the lock file context key is the one PrePullDaemonSet documents', () => {
  const { app, chart } = chartWithoutPolicy();
  expect(app.node.tryGetContext(LOCK_FILE_CONTEXT)).toBe(lockFile);
  // defaultLockFile reads the same key.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  expect(require('../../lib/cdk8s/lock-file').defaultLockFile(chart)).toBe(lockFile);
});
