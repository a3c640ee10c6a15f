import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { ImageLock, applyImagePolicy } from '../../lib';

// The objects are the projects' published examples (test/fixtures/crds) with their images moved
// to the test registry: a Knative Service, a prometheus-operator ThanosRuler, an Argo Rollout.
const CONFIG = {
  imageLocations: [
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', podSpec: 'spec.template.spec' },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'ThanosRuler', image: 'spec.image', pullPolicyField: 'imagePullPolicy', pullSecretsField: 'imagePullSecrets' },
  ],
};

describe('kubepin lock, verify and check read image locations from kubepin.config.json', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const pushed: Record<string, PushedImage> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.knative = await pushImage(registry, 'knative/autoscale-go', '0.1');
    pushed.thanos = await pushImage(registry, 'thanos/thanos', 'v0.42.4');
    pushed.rollout = await pushImage(registry, 'argoproj/rollouts-demo', 'blue');
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

  function objects(): Record<string, any>[] {
    const h = registry.host;
    return [
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'autoscale-go', namespace: 'default' },
        spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/target': '10' } }, spec: { containers: [{ image: `${h}/knative/autoscale-go:0.1` }] } } } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ThanosRuler', metadata: { name: 'thanos-ruler', namespace: 'default' },
        spec: { image: `${h}/thanos/thanos:v0.42.4`, queryConfig: { key: 'query.yaml', name: 'thanos-ruler' }, version: 'v0.42.4' } },
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollout-canary' },
        spec: { selector: { matchLabels: { app: 'rollout-canary' } }, template: { metadata: { labels: { app: 'rollout-canary' } }, spec: { containers: [{ name: 'rollouts-demo', image: `${h}/argoproj/rollouts-demo:blue` }] } } } },
    ];
  }

  test('lock resolves the custom resources\' images; verify fails until they are pinned, then passes', async () => {
    writeFiles(dir, { 'dist/app.yaml': objects().map((o) => stringify(o)).join('---\n'), 'kubepin.config.json': JSON.stringify(CONFIG) });
    const lock = await runKubepin(['lock'], { cwd: dir });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('3 resolved (3 new, 0 changed)');
    const locked = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    expect(locked.get(`${registry.host}/knative/autoscale-go:0.1`)?.digest).toBe(pushed.knative.digest);
    expect(locked.get(`${registry.host}/thanos/thanos:v0.42.4`)?.digest).toBe(pushed.thanos.digest);
    expect(locked.get(`${registry.host}/argoproj/rollouts-demo:blue`)?.digest).toBe(pushed.rollout.digest);

    const unpinned = await runKubepin(['verify'], { cwd: dir });
    expect(unpinned.code).toBe(1);
    expect(unpinned.stdout).toContain('3 image references checked against kubepin.lock.json: 3 problems');
    for (const what of ['Service/autoscale-go', 'ThanosRuler/thanos-ruler', 'Rollout/rollout-canary']) expect(unpinned.stderr).toMatch(new RegExp(`error: dist/app\\.yaml:\\d+: ${what}: .* is not pinned to a digest`));

    // The policy (here the library; a cdk8s or Pulumi app alike) pins them from the lock and the same config.
    const { objects: pinned, findings } = applyImagePolicy(objects(), { lock: locked, strict: true });
    expect(findings).toEqual([]);
    expect(pinned[1].spec).toMatchObject({ image: `${registry.host}/thanos/thanos:v0.42.4@${pushed.thanos.digest}`, imagePullPolicy: 'IfNotPresent' });
    fs.writeFileSync(path.join(dir, 'dist', 'app.yaml'), pinned.map((o) => stringify(o)).join('---\n'));
    const verified = await runKubepin(['verify'], { cwd: dir });
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });

  test('without the configuration the Rollout and the ThanosRuler (built-in presets) are locked, the Knative Service named', async () => {
    writeFiles(dir, { 'dist/app.yaml': objects().map((o) => stringify(o)).join('---\n') });
    const lock = await runKubepin(['lock'], { cwd: dir });
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('2 resolved (2 new, 0 changed)');
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images).sort()).toEqual([`${registry.host}/argoproj/rollouts-demo:blue`, `${registry.host}/thanos/thanos:v0.42.4`]);
    // Never silently: the other one is named, with the location that would cover it.
    expect(lock.stderr).toMatch(/note: dist\/app\.yaml:\d+: Service\/autoscale-go: spec\.template\.spec\.containers\[0\]\.image \(.*autoscale-go:0\.1"\): kubepin knows no image location for kind Service.*"podSpec":"spec\.template\.spec"/);
    expect(lock.stderr).not.toContain('ThanosRuler');
    const verify = await runKubepin(['verify', '--json'], { cwd: dir });
    expect(JSON.parse(verify.stdout).unlocated.map((u: { object: string; path: string }) => `${u.object} ${u.path}`)).toEqual([
      'Service/autoscale-go spec.template.spec.containers[0].image',
    ]);
  });

  test('check predicts InvalidImageName for a ko:// image of a Knative Service only when told where its images are', async () => {
    const service = { ...objects()[0], spec: { template: { spec: { containers: [{ image: 'ko://knative.dev/serving/test/test_images/volumes' }] } } } };
    writeFiles(dir, { 'dist/app.yaml': stringify(service) });
    const without = await runKubepin(['check'], { cwd: dir });
    expect(without.code).toBe(0);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify(CONFIG));
    const withConfig = await runKubepin(['check'], { cwd: dir });
    expect(withConfig.code).toBe(1);
    expect(withConfig.stdout).toContain('invalid-image (spec.template.spec.containers[0].image, line 10)');
    expect(withConfig.stdout).toContain('predicted: InvalidImageName');
  });

  test('a malformed imageLocations entry is a clear error naming the file and entry, for every command', async () => {
    writeFiles(dir, { 'dist/app.yaml': stringify(objects()[2]), 'kubepin.config.json': JSON.stringify({ imageLocations: [{ kind: 'Service' }] }) });
    for (const command of ['lock', 'verify', 'check']) {
      const run = await runKubepin([command], { cwd: dir });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('kubepin.config.json: imageLocations[0] (Service) needs exactly one of "podSpec"');
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  test('issue #24 item 6: a __proto__, constructor or prototype segment in imageLocations is a config error for every command, never a walk into Object.prototype', async () => {
    const entries = [
      { kind: 'Rollout', apiVersion: 'argoproj.io/*', podSpec: 'spec.template.spec', metadata: 'spec.template.__proto__' },
      { kind: 'Widget', image: 'spec.constructor.image' },
      { kind: 'Widget', podSpec: 'spec.prototype' },
    ];
    for (const [i, entry] of entries.entries()) {
      const segment = ['__proto__', 'constructor', 'prototype'][i];
      writeFiles(dir, { 'dist/app.yaml': stringify(objects()[2]), 'kubepin.config.json': JSON.stringify({ imageLocations: [entry] }) });
      for (const command of ['lock', 'verify', 'check']) {
        const run = await runKubepin([command], { cwd: dir });
        expect(run.code).toBe(2); // a configuration error, as a bad flag (issue 25 item 9)
        expect(run.stderr).toMatch(new RegExp(`kubepin\\.config\\.json: imageLocations\\[0\\]\\.(podSpec|image|metadata): .*the segment "${segment}" names JavaScript's object prototype machinery`));
        expect(run.stderr).toContain('Fix: ');
        expect(run.stderr).not.toMatch(/\n\s+at /);
      }
      expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
    }
    expect(Object.hasOwn(Object.prototype, 'annotations')).toBe(false);
  });
});
