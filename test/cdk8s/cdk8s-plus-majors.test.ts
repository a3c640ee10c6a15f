import { App, Chart, Testing } from 'cdk8s';
import * as plus25 from 'cdk8s-plus-25';
import * as plus27 from 'cdk8s-plus-27';
import * as plus28 from 'cdk8s-plus-28';
import * as plus29 from 'cdk8s-plus-29';
import * as plus30 from 'cdk8s-plus-30';
import * as plus31 from 'cdk8s-plus-31';
import * as plus32 from 'cdk8s-plus-32';
import * as plus33 from 'cdk8s-plus-33';
import { Image, ImagePolicy, PullPolicy, RegistryPullSecret } from '../../lib/cdk8s';
import * as typed25 from '../../lib/cdk8s/plus/25';
import * as typed27 from '../../lib/cdk8s/plus/27';
import * as typed28 from '../../lib/cdk8s/plus/28';
import * as typed29 from '../../lib/cdk8s/plus/29';
import * as typed30 from '../../lib/cdk8s/plus/30';
import * as typed31 from '../../lib/cdk8s/plus/31';
import * as typed32 from '../../lib/cdk8s/plus/32';
import * as typed33 from '../../lib/cdk8s/plus/33';
import { findPodTemplate } from '../../lib/core/objects/pod-templates';
import { DIGESTS, assertNoUnknownKeys, lockWith, podSpec, validateSchema } from './helpers';

/*
 * One app with every cdk8s-plus major from 25 to 33 side by side (a chart each; not 26, whose last
 * release, 2.4.17, fails in its own Deployment constructor with cdk8s 2.68+), under one app-wide
 * ImagePolicy: plain cdk8s-plus constructs of every major lose their implicit Always, and
 * kubepin's typed workloads of every major (kubepin/cdk8s-plus-NN) are real constructs of that
 * major, pinned, with explicit policies, pull secrets and pre-pull.
 */
const MAJORS = [
  { major: 25, plus: plus25, typed: typed25 },
  { major: 27, plus: plus27, typed: typed27 },
  { major: 28, plus: plus28, typed: typed28 },
  { major: 29, plus: plus29, typed: typed29 },
  { major: 30, plus: plus30, typed: typed30 },
  { major: 31, plus: plus31, typed: typed31 },
  { major: 32, plus: plus32, typed: typed32 },
  { major: 33, plus: plus33, typed: typed33 },
] as const;

const lock = lockWith({
  'nginx:1.27.5': DIGESTS.nginx,
  'ghcr.io/acme/api:1.4.2': DIGESTS.redis,
  'postgres:16.4': DIGESTS.postgres,
  'busybox:1.36.1': DIGESTS.busybox,
  'registry.k8s.io/pause:3.10': DIGESTS.pause,
});

function buildApp(): { app: App; charts: Map<number, Chart>; policy: ImagePolicy } {
  const app = Testing.app();
  const policy = new ImagePolicy(app, 'ImagePolicy', { lock, strict: true, privateRegistries: ['ghcr.io/acme'], log: () => undefined });
  RegistryPullSecret.fromExistingSecret(app, 'Ghcr', 'ghcr-pull', { registries: ['ghcr.io/acme'] });
  const charts = new Map<number, Chart>();
  for (const { major, plus, typed } of MAJORS) {
    const chart = new Chart(app, `plus${major}`, { namespace: `ns${major}` });
    charts.set(major, chart);
    new plus.Deployment(chart, 'plain', { containers: [{ name: 'web', image: 'nginx:1.27.5', portNumber: 80 }] });
    new plus.Deployment(chart, 'plain-never', { containers: [{ name: 'web', image: 'nginx:1.27.5', imagePullPolicy: plus.ImagePullPolicy.IF_NOT_PRESENT }] });
    const api = new typed.Deployment(chart, 'api', { containers: [{ name: 'api', image: Image.of('ghcr.io/acme/api:1.4.2'), portNumber: 8080 }], prePull: true });
    expect(api).toBeInstanceOf(plus.Deployment);
    api.addInitContainer({ name: 'wait', image: Image.of('busybox:1.36.1'), pullPolicy: PullPolicy.Always });
    const db = new typed.StatefulSet(chart, 'db', { containers: [{ name: 'db', image: Image.of('postgres:16.4'), portNumber: 5432 }] });
    expect(db).toBeInstanceOf(plus.StatefulSet);
    const pod = new typed.Pod(chart, 'tool', { containers: [{ name: 'tool', image: Image.of('busybox:1.36.1') }], pullPolicy: PullPolicy.Always });
    expect(pod).toBeInstanceOf(plus.Pod);
  }
  return { app, charts, policy };
}

describe.each(MAJORS.map((m) => m.major))('cdk8s-plus-%i in an app with every major from 25 to 33', (major) => {
  let docs: any[];
  let findings: ImagePolicy['findings'];
  beforeAll(() => {
    const { charts, policy } = buildApp();
    docs = Testing.synth(charts.get(major)!);
    findings = policy.findings;
  });
  const named = (kind: string, part: string) => docs.find((d) => d.kind === kind && d.metadata.name.includes(part));

  test('every image is pinned from the lock and every container has an explicit policy', () => {
    const images: string[] = [];
    for (const doc of docs) {
      validateSchema(doc);
      assertNoUnknownKeys(doc);
      const spec = findPodTemplate(doc)?.spec as any;
      if (!spec) continue;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        images.push(c.image);
        expect(c.imagePullPolicy).toMatch(/^(IfNotPresent|Always|Never)$/);
      }
    }
    expect(images.length).toBeGreaterThanOrEqual(8);
    for (const image of images) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  test("a plain cdk8s-plus Deployment's implicit Always is treated as unset; an explicit IfNotPresent is kept", () => {
    expect(podSpec(named('Deployment', 'plain-c')).containers[0]).toMatchObject({ image: `docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`, imagePullPolicy: 'IfNotPresent' });
    expect(podSpec(named('Deployment', 'plain-never')).containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  test('typed workloads: chosen policies kept (Always on the init container and the Pod), the others IfNotPresent', () => {
    const api = podSpec(named('Deployment', 'api'));
    expect(api.containers[0]).toMatchObject({ image: `ghcr.io/acme/api:1.4.2@${DIGESTS.redis}`, imagePullPolicy: 'IfNotPresent' });
    expect(api.initContainers[0]).toMatchObject({ image: `docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`, imagePullPolicy: 'Always' });
    expect(podSpec(named('StatefulSet', 'db')).containers[0]).toMatchObject({ image: `docker.io/library/postgres:16.4@${DIGESTS.postgres}`, imagePullPolicy: 'IfNotPresent' });
    expect(podSpec(named('Pod', 'tool')).containers[0].imagePullPolicy).toBe('Always');
  });

  test('the pull secret serves the private image only', () => {
    expect(podSpec(named('Deployment', 'api')).imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
    expect(podSpec(named('Deployment', 'plain-c')).imagePullSecrets).toBeUndefined();
  });

  test("the pre-pull DaemonSet in the chart's namespace pulls the typed Deployment's images, pinned, with the secret", () => {
    const daemonSets = docs.filter((d) => d.kind === 'DaemonSet');
    expect(daemonSets).toHaveLength(1);
    expect(daemonSets[0].metadata.namespace).toBe(`ns${major}`);
    const spec = podSpec(daemonSets[0]);
    const images = [...spec.initContainers, ...spec.containers].map((c: any) => c.image);
    expect(images).toEqual(expect.arrayContaining([`ghcr.io/acme/api:1.4.2@${DIGESTS.redis}`, `docker.io/library/busybox:1.36.1@${DIGESTS.busybox}`]));
    for (const image of images) expect(image).toMatch(/@sha256:/);
    expect(spec.imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
  });
});
