import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart, Helm, Include, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Deployment, Image, ImagePolicy, ImagePolicyError, PullPolicy, RegistryPullSecret } from '../../lib/cdk8s';
import { PrePullDaemonSet } from '../../lib/cdk8s/pre-pull-daemon-set';
import { engineBin } from '../support/engine';
import { DIGESTS, assertNoUnknownKeys, containersOf, lockWith, podSpec, tempDir, validateSchema } from './helpers';

const LOCK = lockWith({
  'nginx:1.27.5': DIGESTS.nginx,
  'busybox:1.36.1': DIGESTS.busybox,
  'redis:7.4.2': DIGESTS.redis,
  'registry.k8s.io/pause:3.10': DIGESTS.pause,
  // Stand-ins for private registries: real public digests under other names.
  'ghcr.io/acme/api:1.4.2': DIGESTS.nginx,
  'quay.io/acme/worker:2.0.0': DIGESTS.busybox,
});

function setup(props: ConstructorParameters<typeof ImagePolicy>[2] = {}): { app: App; chart: Chart; lines: string[]; policy: ImagePolicy } {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const lines: string[] = [];
  const policy = new ImagePolicy(chart, 'ImagePolicy', { lock: LOCK, log: (l) => lines.push(l), ...props });
  return { app, chart, lines, policy };
}

function synthError(chart: Chart): ImagePolicyError {
  try {
    Testing.synth(chart);
  } catch (e) {
    if (e instanceof ImagePolicyError) return e;
    throw e;
  }
  throw new Error('synthesis did not fail');
}

function workload(docs: any[], kind: string): any {
  return docs.find((d) => d.kind === kind);
}

describe('ImagePolicy on cdk8s-plus workloads', () => {
  test('pins, replaces the implicit Always with IfNotPresent, keeps explicit policies', () => {
    const { chart } = setup();
    new kplus.Deployment(chart, 'web', {
      containers: [
        { name: 'a', image: 'nginx:1.27.5' },
        { name: 'b', image: 'busybox:1.36.1', imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT },
      ],
      initContainers: [{ name: 'init', image: 'redis:7.4.2' }],
    });
    const docs = Testing.synth(chart);
    const spec = podSpec(workload(docs, 'Deployment'));
    expect(spec.containers.map((c: any) => [c.image, c.imagePullPolicy])).toEqual([
      [`docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`, 'IfNotPresent'],
      [`docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, 'IfNotPresent'],
    ]);
    expect(spec.initContainers[0]).toMatchObject({ image: `docker.io/library/redis:7.4.2@${DIGESTS.redis}`, imagePullPolicy: 'IfNotPresent' });
    for (const doc of docs) {
      validateSchema(doc);
      assertNoUnknownKeys(doc);
    }
  });

  test('pins L1 objects, Include\'d YAML and objects added after the policy', () => {
    const { chart } = setup();
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'vendor.yaml');
      fs.writeFileSync(file, 'apiVersion: batch/v1\nkind: CronJob\nmetadata: { name: nightly }\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{ name: job, image: busybox:1.36.1, imagePullPolicy: Always }]\n');
      new Include(chart, 'vendor', { url: file });
      new ApiObject(chart, 'raw', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' },
        spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      } as never);
      const docs = Testing.synth(chart);
      const cron = workload(docs, 'CronJob');
      // An explicit policy in third-party YAML is the author's choice: kept.
      expect(cron.spec.jobTemplate.spec.template.spec.containers[0]).toMatchObject({ image: `docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, imagePullPolicy: 'Always' });
      expect(workload(docs, 'Pod').spec.containers[0]).toMatchObject({ image: `registry.k8s.io/pause:3.10@${DIGESTS.pause}`, imagePullPolicy: 'IfNotPresent' });
    } finally {
      cleanup();
    }
  });

  test('pins objects rendered by the real helm from a local chart (init containers and CronJobs too)', () => {
    const { chart } = setup({ defaultPullPolicy: PullPolicy.IfNotPresent });
    // cdk8s runs `helm template` (built by scripts/install-pulumi-engine.sh) on test/fixtures/engine/charts/web.
    new Helm(chart, 'helm', { chart: path.join(__dirname, '..', 'fixtures', 'engine', 'charts', 'web'), releaseName: 'shop', helmExecutable: path.join(engineBin(), 'helm') });
    const docs = Testing.synth(chart);
    expect(docs.map((d) => `${d.kind} ${d.metadata.name}`).sort()).toEqual(['CronJob shop-cleanup', 'Deployment shop-web']);
    const web = podSpec(workload(docs, 'Deployment'));
    expect(web.initContainers).toEqual([{ name: 'wait', image: `docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'true'] }]);
    expect(web.containers).toEqual([{ name: 'web', image: `docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`, imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80 }] }]);
    const cron = workload(docs, 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(cron.containers[0]).toMatchObject({ name: 'cleanup', image: `docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, imagePullPolicy: 'IfNotPresent' });
  });

  test('synthesizing twice gives byte-identical YAML', () => {
    const build = () => {
      const { app, chart } = setup();
      new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
      return app.synthYaml();
    };
    const { app, chart } = setup();
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    expect(app.synthYaml()).toBe(app.synthYaml());
    expect(build()).toBe(app.synthYaml());
  });

  test('a policy never runs twice on one object; a Chart policy overrides the App one', () => {
    const app = Testing.app();
    const appLines: string[] = [];
    const chartLines: string[] = [];
    new ImagePolicy(app, 'AppPolicy', { lock: LOCK, log: (l) => appLines.push(l) });
    const governed = new Chart(app, 'governed');
    new ImagePolicy(governed, 'ChartPolicy', { lock: LOCK, keepTag: false, log: (l) => chartLines.push(l) });
    const other = new Chart(app, 'other');
    new kplus.Deployment(governed, 'web', { containers: [{ image: 'nginx:latest' }, { name: 'b', image: 'nginx:1.27.5' }] });
    new kplus.Deployment(other, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    app.synthYaml();
    const governedDocs = Testing.synth(governed);
    expect(podSpec(workload(governedDocs, 'Deployment')).containers[1].image).toBe(`docker.io/library/nginx@${DIGESTS.nginx}`);
    expect(podSpec(workload(Testing.synth(other), 'Deployment')).containers[0].image).toBe(`docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`);
    // One synthesis: the latest-tag warning once, from the chart's policy only.
    expect(chartLines.filter((l) => l.includes('latest-tag'))).toHaveLength(2); // synthYaml + Testing.synth
    expect(appLines.filter((l) => l.includes('latest-tag'))).toHaveLength(0);
  });

  test('two policies on one scope are refused', () => {
    const { chart } = setup();
    expect(() => new ImagePolicy(chart, 'Second', { lock: LOCK })).toThrow(/already has an ImagePolicy/);
  });
});

describe('findings fail synthesis with the construct path and the fix', () => {
  test('all errors of a chart are listed at once', () => {
    const { chart } = setup({ strict: true });
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:9.9.9' }] });
    new kplus.Deployment(chart, 'api', { containers: [{ image: 'Ghcr.io/Acme/API:1' }] });
    new kplus.Pod(chart, 'pod', { containers: [{ image: 'nginx:1.27.5', imagePullPolicy: kplus.ImagePullPolicy.NEVER }] });
    const error = synthError(chart);
    expect(error.message).toMatch(/3 error\(s\)/);
    expect(error.message).toContain('[test/web/Resource] error unpinned-image');
    expect(error.message).toContain('Fix: run `npx kubepin lock` where cdk8s.yaml or Pulumi.yaml is');
    expect(error.message).toContain('[test/api/Resource] error invalid-image');
    expect(error.message).toContain('[test/pod/Resource] error never-without-prepull');
    expect(error.message).toContain('Fix: pre-pull the image');
  });

  test('a missing lock entry is a printed warning outside strict mode', () => {
    const { chart, lines } = setup();
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:9.9.9' }] });
    const spec = podSpec(workload(Testing.synth(chart), 'Deployment'));
    expect(spec.containers[0]).toMatchObject({ image: 'nginx:9.9.9', imagePullPolicy: 'IfNotPresent' });
    expect(lines).toEqual([expect.stringMatching(/^kubepin: \[test\/web\/Resource\] warning unpinned-image/)]);
  });

  test('reportOnly prints errors instead of failing', () => {
    const { chart, lines } = setup({ strict: true, reportOnly: true });
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:9.9.9' }] });
    expect(() => Testing.synth(chart)).not.toThrow();
    expect(lines.join('\n')).toContain('error unpinned-image');
  });

  test('Never is allowed for images a PrePullDaemonSet in scope covers', () => {
    const { chart } = setup();
    PrePullDaemonSet.of(chart).addImage('nginx:1.27.5');
    new kplus.Pod(chart, 'pod', { containers: [{ image: 'nginx:1.27.5', imagePullPolicy: kplus.ImagePullPolicy.NEVER }] });
    const pod = workload(Testing.synth(chart), 'Pod');
    expect(pod.spec.containers[0].imagePullPolicy).toBe('Never');
  });

  test('prePulled images of the policy get a pre-puller, and may use Never', () => {
    const { chart } = setup({ prePulled: [Image.of('busybox:1.36.1')] });
    new kplus.Pod(chart, 'pod', { containers: [{ image: 'busybox:1.36.1', imagePullPolicy: kplus.ImagePullPolicy.NEVER }] });
    const docs = Testing.synth(chart);
    expect(workload(docs, 'Pod').spec.containers[0].imagePullPolicy).toBe('Never');
    const ds = workload(docs, 'DaemonSet');
    expect(containersOf([ds]).map((c) => c.container.image)).toContain(`docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`);
  });

  test('registries outside allowedRegistries are errors', () => {
    const { chart } = setup({ allowedRegistries: ['registry.k8s.io'] });
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    expect(synthError(chart).message).toContain('[test/web/Resource] error registry-not-allowed');
  });
});

describe('pull secrets', () => {
  test('every secret serving a pod\'s images is attached, several per pod (no cdk8s-plus one-secret limit)', () => {
    const { chart } = setup();
    RegistryPullSecret.fromExistingSecret(chart, 'ghcr', 'ghcr-pull', { registries: ['ghcr.io/acme'] });
    RegistryPullSecret.fromExistingSecret(chart, 'quay', 'quay-pull', { registries: ['quay.io'] });
    RegistryPullSecret.fromExistingSecret(chart, 'other', 'other-pull', { registries: ['registry.example.com'] });
    const existing = kplus.Secret.fromSecretName(chart, 'legacy', 'legacy-pull');
    new kplus.Deployment(chart, 'web', {
      dockerRegistryAuth: existing,
      containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.4.2' }, { name: 'worker', image: 'quay.io/acme/worker:2.0.0' }],
    });
    new kplus.Deployment(chart, 'public', { containers: [{ image: 'nginx:1.27.5' }] });
    const docs = Testing.synth(chart);
    const [web, pub] = docs.filter((d) => d.kind === 'Deployment');
    expect(podSpec(web).imagePullSecrets).toEqual([{ name: 'legacy-pull' }, { name: 'ghcr-pull' }, { name: 'quay-pull' }]);
    expect(podSpec(pub).imagePullSecrets).toBeUndefined();
  });

  test('a private registry without a serving secret is an error; a secret matching a public registry a warning', () => {
    const { chart, lines } = setup({ privateRegistries: ['ghcr.io/acme'], publicRegistries: ['docker.io'] });
    RegistryPullSecret.fromExistingSecret(chart, 'hub', 'hub-pull', { registries: ['docker.io'] });
    new kplus.Deployment(chart, 'api', { containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    const error = synthError(chart);
    expect(error.message).toContain('[test/api/Resource] error no-pull-secret-for-private-registry');
    expect(lines.join('\n')).toContain('[test/web/Resource] warning pull-secret-for-public-registry');
  });

  test('a secret in another namespace does not serve a pod', () => {
    const { chart } = setup({ privateRegistries: ['ghcr.io'] });
    RegistryPullSecret.fromExistingSecret(chart, 'ghcr', 'ghcr-pull', { registries: ['ghcr.io'], namespace: 'team-a' });
    new kplus.Deployment(chart, 'api', { metadata: { namespace: 'team-b' }, containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    expect(synthError(chart).message).toContain('in namespace team-b');
  });

  test('ServiceAccount secrets: used when the pod lists none; added to the pod with a warning when it lists its own', () => {
    const { chart, lines } = setup({ privateRegistries: ['ghcr.io'] });
    const ghcr = RegistryPullSecret.fromExistingSecret(chart, 'ghcr', 'ghcr-pull', { registries: ['ghcr.io'] });
    RegistryPullSecret.fromExistingSecret(chart, 'quay', 'quay-pull', { registries: ['quay.io'] });
    const sa = new kplus.ServiceAccount(chart, 'sa', { metadata: { name: 'runner' } });
    ghcr.addToServiceAccount(sa);
    new kplus.Deployment(chart, 'only-ghcr', { serviceAccount: sa, containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    new kplus.Deployment(chart, 'both', { serviceAccount: sa, containers: [{ image: 'ghcr.io/acme/api:1.4.2' }, { name: 'w', image: 'quay.io/acme/worker:2.0.0' }] });
    const docs = Testing.synth(chart);
    expect(workload(docs, 'ServiceAccount').imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
    const [onlyGhcr, both] = docs.filter((d) => d.kind === 'Deployment');
    expect(podSpec(onlyGhcr).imagePullSecrets).toBeUndefined();
    expect(podSpec(both).imagePullSecrets).toEqual([{ name: 'quay-pull' }, { name: 'ghcr-pull' }]);
    expect(lines.filter((l) => l.includes('service-account-pull-secrets-ignored'))).toEqual([
      expect.stringContaining('[test/both/Resource]'),
    ]);
    for (const doc of docs) assertNoUnknownKeys(doc);
  });
});

describe('typed workloads under a policy', () => {
  test('explicit pull policies of typed containers are kept, Always included', () => {
    const { chart } = setup();
    new Deployment(chart, 'web', {
      pullPolicy: PullPolicy.Always,
      containers: [{ name: 'a', image: Image.of('nginx:1.27.5') }, { name: 'b', image: Image.of('busybox:1.36.1'), pullPolicy: PullPolicy.IfNotPresent }],
    });
    const spec = podSpec(workload(Testing.synth(chart), 'Deployment'));
    expect(spec.containers.map((c: any) => c.imagePullPolicy)).toEqual(['Always', 'IfNotPresent']);
  });
});

describe('App-level policies', () => {
  test('prePulled on an App-level policy is reported with the fix, not a crash', () => {
    const app = Testing.app();
    new ImagePolicy(app, 'ImagePolicy', { lock: LOCK, prePulled: ['busybox:1.36.1'], log: () => undefined });
    const chart = new Chart(app, 'test');
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    expect(() => Testing.synth(chart)).toThrow(/\[ImagePolicy\] cannot pre-pull busybox:1\.36\.1: .*Fix: put the ImagePolicy with prePulled on a Chart/);
  });

  test('an App-level policy pins every chart, each chart\'s errors listed with their paths', () => {
    const app = Testing.app();
    new ImagePolicy(app, 'ImagePolicy', { lock: LOCK, strict: true, log: () => undefined });
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    new kplus.Deployment(a, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    new kplus.Deployment(b, 'web', { containers: [{ image: 'nginx:0.0.1' }] });
    expect(podSpec(Testing.synth(a)[0]).containers[0].image).toBe(`docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`);
    expect(() => app.synthYaml()).toThrow(/\[b\/web\/Resource\] error unpinned-image/);
  });
});

test('a policy created after the workloads still governs them', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
  new Deployment(chart, 'typed', { containers: [{ image: Image.of('nginx:9.9.9') }] });
  new ImagePolicy(chart, 'ImagePolicy', { lock: LOCK, strict: true, log: () => undefined });
  // The typed workload is governed by the (strict) policy, not the implicit one.
  expect(() => Testing.synth(chart)).toThrow(/\[test\/typed\/Resource\] error unpinned-image/);
});
