import * as YAML from 'yaml';
import { Testing } from 'cdk8s';
import { buildShopApp } from '../../examples/cdk8s/main';
import { extractImages } from '../../lib/core/objects/pod-templates';
import { runProgram } from '../pulumi/harness';
import { fieldDifferences, normalizeGeneratedNames } from './normalize';

/** The example app through the cdk8s face: real synthesis to YAML, parsed back. */
function cdk8sObjects(): Record<string, unknown>[] {
  const app = buildShopApp(Testing.app());
  return YAML.parseAllDocuments(app.synthYaml()).map((d) => d.toJSON()).filter((o) => o !== null);
}

/** The example program through the Pulumi face under setMocks: the inputs of every Kubernetes resource. */
async function pulumiObjects(): Promise<{ objects: Record<string, unknown>[]; names: string[] }> {
  const { resources } = await runProgram((context) => context.loadProgram(require.resolve('../../examples/pulumi/index')));
  const k8s = resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));
  return { objects: k8s.map((r) => r.inputs), names: k8s.map((r) => r.name) };
}

describe('parity: the example app through the cdk8s face and the Pulumi face', () => {
  test('gives the same Kubernetes objects, field by field, after normalizing generated names', async () => {
    const cdk8s = normalizeGeneratedNames(cdk8sObjects(), { chart: 'shop' });
    const fromPulumi = await pulumiObjects();
    const pulumi = normalizeGeneratedNames(fromPulumi.objects, { resourceNames: fromPulumi.names });

    // Not vacuous: the app has its workloads, and every image in it is pinned.
    expect(cdk8s.objects.map((o) => o.kind).sort()).toEqual(['DaemonSet', 'Deployment', 'Deployment', 'Job', 'Service', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount', 'StatefulSet']);
    const images = extractImages(pulumi.objects);
    expect(images.length).toBeGreaterThanOrEqual(8);
    for (const use of images) expect(use.image).toMatch(/@sha256:[0-9a-f]{64}$/);

    expect(pulumi.objects.map((o) => `${o.kind} ${(o.metadata as { name: string }).name}`))
      .toEqual(cdk8s.objects.map((o) => `${o.kind} ${(o.metadata as { name: string }).name}`));
    const differences = cdk8s.objects.flatMap((o, i) => fieldDifferences(o, pulumi.objects[i]).map((d) => `${o.kind} ${(o.metadata as { name: string }).name}: ${d}`));
    expect(differences).toEqual([]);
  });
});
