import * as crypto from 'crypto';
import { JsonObject, extractImages } from '../../lib/core/objects/pod-templates';
import { runProgram } from '../pulumi/harness';
import { PASSWORD_ENV } from './app';
import { hashSecretData, renderCdk8s } from './cdk8s-app';
import { fieldDifferences, normalizeGeneratedNames } from './normalize';
import { definePulumiApp } from './pulumi-app';

async function renderPulumi(): Promise<{ objects: JsonObject[]; names: string[] }> {
  const { resources } = await runProgram(() => definePulumiApp());
  const k8sResources = resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));
  return { objects: k8sResources.map((r) => r.inputs), names: k8sResources.map((r) => r.name) };
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
