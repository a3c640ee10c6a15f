import * as path from 'path';
import { App, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { buildShopApp } from '../../examples/cdk8s/main';
import { ImageReference } from '../../lib/core/names/image-reference';
import { ImagePolicy } from '../../lib/cdk8s';
import { assertNoUnknownKeys, containersOf, exampleLock, podSpec, validateSchema } from './helpers';

// The example finds kubepin.lock.json next to cdk8s.yaml, from the working directory.
const ROOT = path.join(__dirname, '..', '..');

function synthExample(): { app: App; yaml: string; docs: any[] } {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const app = buildShopApp(Testing.app());
    const yaml = app.synthYaml();
    return { app, yaml, docs: YAML.parseAllDocuments(yaml).map((d) => d.toJSON()) };
  } finally {
    process.chdir(cwd);
  }
}

describe('the example app', () => {
  const { app, yaml, docs } = synthExample();

  test('matches the reviewed snapshot', () => {
    expect(yaml).toMatchSnapshot();
  });

  test('synthesizing twice gives byte-identical YAML', () => {
    expect(synthExample().yaml).toBe(yaml);
  });

  test('every container is pinned to the locked digest with an explicit pull policy', () => {
    const lock = exampleLock();
    const all = containersOf(docs);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const { container } of all) {
      const ref = ImageReference.parse(container.image);
      expect(ref.digest).toBeDefined();
      expect(ref.digest).toBe(lock.get(ref.withoutDigest().toString())!.digest);
      expect(['Always', 'IfNotPresent', 'Never']).toContain(container.imagePullPolicy);
    }
  });

  test('includes each kind the example promises, the vendored YAML pinned too', () => {
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment/redis-cache', 'Job/shop-migrate-c8478881', 'StatefulSet/shop-db-c845ee8c', 'ServiceAccount/shop-migrator']));
    const redis = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'redis-cache');
    expect(podSpec(redis).containers[0].image).toMatch(/^docker\.io\/library\/redis:7\.4\.2@sha256:/);
    expect(docs.some((d) => d.kind === 'DaemonSet')).toBe(true);
  });

  test('pull secrets sit exactly where the kubelet will use them', () => {
    for (const doc of docs) {
      if (!['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(doc.kind)) continue;
      const spec = podSpec(doc);
      if (doc.kind === 'Job') {
        // The Job runs as shop-migrator, whose ServiceAccount lists the secret: the pod lists none.
        expect(spec.imagePullSecrets).toBeUndefined();
        expect(spec.serviceAccountName).toBe('shop-migrator');
      } else if (spec.containers.some((c: any) => c.image.startsWith('registry.shop.test/')) || (spec.initContainers ?? []).some((c: any) => c.image.startsWith('registry.shop.test/'))) {
        // The web pods and their pre-puller also pull the signed payments image from the private registry.
        expect(spec.imagePullSecrets).toEqual([{ name: 'dockerhub-pull' }, { name: 'shop-registry-pull' }]);
      } else {
        // Everything else pulls from Docker Hub, which the secret serves.
        expect(spec.imagePullSecrets).toEqual([{ name: 'dockerhub-pull' }]);
      }
    }
    const sa = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === 'shop-migrator');
    expect(sa.imagePullSecrets).toEqual([{ name: 'dockerhub-pull' }]);
  });

  test('every document validates against the Kubernetes schemas and our fields carry no unknown keys', () => {
    for (const doc of docs) {
      validateSchema(doc);
      assertNoUnknownKeys(doc);
    }
  });

  test('the policy found nothing to complain about', () => {
    const policy = app.node.findAll().find(ImagePolicy.isImagePolicy)!;
    expect(policy.findings).toEqual([]);
  });
});
