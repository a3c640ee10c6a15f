/**
 * Parity under Pulumi's real engine: `pulumi up` of the example program and of the parity app
 * (rendering provider, local backend) writes the same Kubernetes objects, field by field, as cdk8s
 * synthesizes for the same apps. The mocks versions of these comparisons are example.test.ts and
 * app.test.ts; here the objects are the provider's rendered YAML.
 */
import * as crypto from 'crypto';
import * as path from 'path';
import * as YAML from 'yaml';
import { Testing } from 'cdk8s';
import { buildShopApp } from '../../examples/cdk8s/main';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { JsonObject, extractImages } from '../../lib/core/objects/pod-templates';
import { REPO, pulumiUp, renderedWithResourceNames } from '../support/engine';
import { PASSWORD_ENV } from './app';
import { hashSecretData, renderCdk8s } from './cdk8s-app';
import { asKubernetesStores, fieldDifferences, normalizeGeneratedNames } from './normalize';

jest.setTimeout(10 * 60 * 1000);

const describeObject = (o: JsonObject) => `${o.kind} ${(o.metadata as JsonObject).name}`;

function compare(cdk8sObjects: JsonObject[], chart: string, engine: { objects: JsonObject[]; names: (string | undefined)[] }): void {
  // The provider renders objects as Kubernetes' API types store them; cdk8s writes them as built.
  const stored = (objects: JsonObject[]) => objects.map((o) => asKubernetesStores(o) as JsonObject);
  const cdk8s = normalizeGeneratedNames(stored(cdk8sObjects), { chart });
  const fromEngine = normalizeGeneratedNames(stored(engine.objects), { resourceNames: engine.names as string[] });
  expect(fromEngine.objects.map(describeObject)).toEqual(cdk8s.objects.map(describeObject));
  const differences = cdk8s.objects.flatMap((o, i) => fieldDifferences(o, fromEngine.objects[i]).map((d) => `${describeObject(o)}: ${d}`));
  expect(differences).toEqual([]);
}

describe('parity under Pulumi\'s engine: rendered YAML equals cdk8s\'s synthesis', () => {
  test('examples/pulumi as shipped: `pulumi up` succeeds and renders the cdk8s example\'s objects, every image pinned from the lock', () => {
    const run = pulumiUp({ main: path.join(REPO, 'examples', 'pulumi', 'index.ts') });
    if (run.status !== 0) throw new Error(`pulumi up failed (${run.status}):\n${run.transcript}`);
    const engine = renderedWithResourceNames(run);
    const lock = ImageLock.load(path.join(REPO, 'kubepin.lock.json'));
    const images = extractImages(engine.objects);
    expect(images.length).toBeGreaterThanOrEqual(8);
    const digests = new Set(lock.list().map((e) => e.digest));
    for (const use of images) {
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(use.image)?.[1];
      expect({ image: use.image, locked: digest !== undefined && digests.has(digest) }).toEqual({ image: use.image, locked: true });
    }
    const cdk8sObjects = YAML.parseAllDocuments(buildShopApp(Testing.app()).synthYaml()).map((d) => d.toJSON()).filter((o) => o !== null);
    compare(cdk8sObjects, 'shop', engine);
  });

  test('the parity app (test/parity/app.ts): the same objects field by field, secrets and pre-puller included', () => {
    const password = crypto.randomBytes(16).toString('hex');
    process.env[PASSWORD_ENV] = password;
    try {
      const run = pulumiUp({ main: path.join(__dirname, 'engine-program.ts'), env: { [PASSWORD_ENV]: password } });
      if (run.status !== 0) throw new Error(`pulumi up failed (${run.status}):\n${run.transcript}`);
      // The password reaches the rendered Secret, and never pulumi's output.
      expect(run.transcript).not.toContain(password);
      const engine = renderedWithResourceNames(run);
      compare(hashSecretData(renderCdk8s()), 'payments', { objects: hashSecretData(engine.objects), names: engine.names });
    } finally {
      delete process.env[PASSWORD_ENV];
    }
  });
});
