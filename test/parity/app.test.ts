import * as crypto from 'crypto';
import * as path from 'path';
import * as YAML from 'yaml';
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as cdk8sFace from '../../lib/cdk8s';
import { PrePullDaemonSet as Cdk8sPrePull } from '../../lib/cdk8s/pre-pull-daemon-set';
import { ImageLock } from '../../lib/core/lock/image-lock';
import * as pulumiFace from '../../lib/pulumi';
import { JsonObject, extractImages } from '../../lib/core/objects/pod-templates';
import { runProgram } from '../pulumi/harness';
import { API_LABELS, API_POD, GHCR, NAMESPACE, PASSWORD_ENV, POLICY, PREPULL, QUAY, WORKER } from './app';
import { fieldDifferences, normalizeGeneratedNames } from './normalize';

// Private images have no public digest: computed here from bytes, as a registry computes them.
const digestOf = (text: string) => `sha256:${crypto.createHash('sha256').update(text).digest('hex')}`;
function lock(): ImageLock {
  const l = ImageLock.load(path.join(__dirname, '..', '..', 'kubepin.lock.json'));
  l.set('ghcr.io/acme/api:2.0.1', { digest: digestOf('api 2.0.1 index'), mediaType: 'application/vnd.oci.image.index.v1+json' });
  l.set('quay.io/acme/worker:3.1.0', { digest: digestOf('worker 3.1.0 index'), mediaType: 'application/vnd.oci.image.index.v1+json' });
  return l;
}

function renderCdk8s(): JsonObject[] {
  const app = Testing.app();
  new cdk8sFace.ImagePolicy(app, 'policy', { lock: lock(), ...POLICY });
  const chart = new Chart(app, 'payments', { namespace: NAMESPACE });
  cdk8sFace.RegistryPullSecret.fromCredentials(chart, 'ghcr', { name: GHCR.name, registry: GHCR.registry, username: GHCR.username, passwordEnv: GHCR.passwordEnv });
  cdk8sFace.RegistryPullSecret.fromExternalSecret(chart, 'quay', QUAY);
  new Cdk8sPrePull(chart, 'prepull', { lock: lock(), ...PREPULL });
  new ApiObject(chart, 'api', {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'api' },
    spec: { replicas: 1, selector: { matchLabels: API_LABELS }, template: { metadata: { labels: API_LABELS }, spec: API_POD } },
  });
  new ApiObject(chart, 'worker', WORKER);
  return YAML.parseAllDocuments(app.synthYaml()).map((d) => d.toJSON()).filter((o) => o !== null);
}

async function renderPulumi(): Promise<{ objects: JsonObject[]; names: string[] }> {
  const { resources } = await runProgram(() => {
    const k8s = require('@pulumi/kubernetes') as typeof import('@pulumi/kubernetes');
    pulumiFace.ImagePolicy.register({ lock: lock(), ...POLICY });
    pulumiFace.RegistryPullSecret.fromCredentials('ghcr', { secretName: GHCR.name, namespace: NAMESPACE, credentials: [{ registry: GHCR.registry, username: GHCR.username, passwordEnv: GHCR.passwordEnv }] });
    const { name, ...external } = QUAY;
    pulumiFace.RegistryPullSecret.fromExternalSecret('quay', { secretName: name, namespace: NAMESPACE, ...external });
    const prePull = new pulumiFace.PrePullDaemonSet('prepull', { namespace: NAMESPACE, ...PREPULL });
    const { containers, initContainers, ...podSpec } = API_POD;
    const typed = (list: ReadonlyArray<{ image: string; imagePullPolicy: string; name: string }>) => list.map(({ image, imagePullPolicy, ...rest }) => ({ ...rest, image: pulumiFace.Image.of(image), pullPolicy: imagePullPolicy as pulumiFace.PullPolicy }));
    new pulumiFace.Deployment('api', {
      metadata: { name: 'api', namespace: NAMESPACE },
      podMetadata: { labels: API_LABELS },
      prePull,
      podSpec,
      containers: typed(containers),
      initContainers: typed(initContainers),
    });
    const { apiVersion: _a, kind: _k, ...worker } = WORKER;
    new k8s.apps.v1.Deployment('worker', worker as any);
  });
  const k8sResources = resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));
  return { objects: k8sResources.map((r) => r.inputs), names: k8sResources.map((r) => r.name) };
}

/** Secret payloads are compared by hash, so a failing assertion never prints one. */
function hashSecretData(objects: JsonObject[]): JsonObject[] {
  return objects.map((o) => {
    if (o.kind !== 'Secret' || typeof o.data !== 'object' || o.data === null) return o;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.data as Record<string, string>)) data[k] = `sha256 of value: ${digestOf(v)}`;
    return { ...o, data };
  });
}

describe('parity: one app definition through the cdk8s face and the Pulumi face', () => {
  beforeAll(() => {
    process.env[PASSWORD_ENV] = crypto.randomBytes(16).toString('hex');
  });
  afterAll(() => {
    delete process.env[PASSWORD_ENV];
  });

  test('the same objects field by field: secrets, ExternalSecret, pre-puller, Never, private and public images', async () => {
    const cdk8s = normalizeGeneratedNames(hashSecretData(renderCdk8s()), { chart: 'payments' });
    const pulumi = await renderPulumi();
    const fromPulumi = normalizeGeneratedNames(hashSecretData(pulumi.objects), { resourceNames: pulumi.names });

    expect(cdk8s.objects.map((o) => o.kind).sort()).toEqual(['DaemonSet', 'Deployment', 'Deployment', 'ExternalSecret', 'Secret', 'ServiceAccount']);
    for (const use of extractImages(cdk8s.objects)) expect(use.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    const api = cdk8s.objects.find((o) => o.kind === 'Deployment' && (o.metadata as JsonObject).name === 'api')!;
    expect((api as any).spec.template.spec.imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);

    expect(fromPulumi.objects.map((o) => `${o.kind} ${(o.metadata as JsonObject).name}`))
      .toEqual(cdk8s.objects.map((o) => `${o.kind} ${(o.metadata as JsonObject).name}`));
    const differences = cdk8s.objects.flatMap((o, i) => fieldDifferences(o, fromPulumi.objects[i]).map((d) => `${o.kind} ${(o.metadata as JsonObject).name}: ${d}`));
    expect(differences).toEqual([]);
  });
});
