import * as fs from 'fs';
import * as path from 'path';
import { activeCollector, readCollectedImages } from '../../lib/core/policy/collect-mode';
import * as os from 'os';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { Deployment, Image, ImagePolicy } from '../../lib/pulumi';
import { RegistryClient } from '../../lib/registry';
import { startRegistry, pushImage, PushedImage, TestRegistryDetails } from '../support/registry';
import { runProgram } from './harness';

// Deploy-time resolution against a real registry (Debian's docker-registry on 127.0.0.1).
describe('images missing from the lock, resolved while the program runs', () => {
  let registry: TestRegistryDetails;
  let pushed: PushedImage;
  let client: RegistryClient;
  const emptyLock = () => ImageLock.empty(path.join(os.tmpdir(), 'kubepin-pulumi-never-written.lock.json'));

  beforeAll(async () => {
    registry = await startRegistry();
    pushed = await pushImage(registry, 'acme/api', '1.0.0');
    client = new RegistryClient();
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });

  test('the digest the registry serves shows in the resource inputs (preview and update alike)', async () => {
    for (const preview of [true, false]) {
      registry.resetCounters();
      const image = `${registry.host}/acme/api:1.0.0`;
      const { resources, logs } = await runProgram(() => {
        ImagePolicy.register({ lock: emptyLock(), resolver: client });
        new Deployment('api', { containers: [{ name: 'api', image: Image.of(image) }] });
      }, { preview });
      const deployment = resources.find((r) => r.type === 'kubernetes:apps/v1:Deployment')!;
      expect(deployment.inputs.spec.template.spec.containers[0]).toEqual({ name: 'api', image: `${image}@${pushed.digest}`, imagePullPolicy: 'IfNotPresent' });
      expect(logs).toContainEqual(`info: kubepin: resolved ${image} to ${pushed.digest} at deployment time; run \`kubepin lock\` to record it in the lock file for deterministic previews`);
    }
  });

  test('in collect mode (kubepin lock running the program) nothing is resolved: the lock does that', async () => {
    const collectFile = path.join(os.tmpdir(), `kubepin-collect-${process.pid}.jsonl`);
    process.env.KUBEPIN_COLLECT_IMAGES = collectFile;
    try {
      const image = `${registry.host}/acme/api:1.0.0`;
      const resolver = { resolve: () => Promise.reject(new Error('the resolver must not be asked in collect mode')) };
      const { resources } = await runProgram(() => {
        ImagePolicy.register({ lock: emptyLock(), resolver });
        new Deployment('api', { containers: [{ name: 'api', image: Image.of(image) }] });
      });
      const deployment = resources.find((r) => r.type === 'kubernetes:apps/v1:Deployment')!;
      expect(deployment.inputs.spec.template.spec.containers[0].image).toBe(image);
      activeCollector()!.flush();
      expect(readCollectedImages(collectFile).map((i) => i.image)).toContain(image);
    } finally {
      delete process.env.KUBEPIN_COLLECT_IMAGES;
      fs.rmSync(collectFile, { force: true });
    }
  });

  test('one resolution per image for many resources using it', async () => {
    const image = `${registry.host}/acme/api:1.0.0`;
    const fresh = new RegistryClient();
    try {
      const { resources } = await runProgram(() => {
        ImagePolicy.register({ lock: emptyLock(), resolver: fresh });
        for (const name of ['a', 'b', 'c']) new Deployment(name, { containers: [{ name, image: Image.of(image) }] });
      });
      const images = resources.filter((r) => r.type === 'kubernetes:apps/v1:Deployment').map((r) => r.inputs.spec.template.spec.containers[0].image);
      expect(images).toEqual([`${image}@${pushed.digest}`, `${image}@${pushed.digest}`, `${image}@${pushed.digest}`]);
      expect(fresh.stats.manifestRequests).toBe(1);
    } finally {
      fresh.close();
    }
  });

  test('strict mode does not resolve: the missing lock entry is an error', async () => {
    registry.resetCounters();
    const run = runProgram(() => {
      ImagePolicy.register({ lock: emptyLock(), resolver: client, strict: true });
      new Deployment('api', { containers: [{ name: 'api', image: Image.of(`${registry.host}/acme/api:1.0.0`) }] });
    });
    await expect(run).rejects.toThrow(/kubepin:index:Deployment "api".*\n.*unpinned-image/);
    await registry.settle();
    expect(registry.accessLog().filter((r) => r.path.includes('/manifests/'))).toEqual([]);
  });
});
