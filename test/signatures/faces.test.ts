import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ImagePolicy as Cdk8sImagePolicy, ImagePolicyError } from '../../lib/cdk8s';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { ImagePolicy as PulumiImagePolicy, ImagePolicyViolationError } from '../../lib/pulumi';
import { runProgram } from '../pulumi/harness';
import { fingerprintOf, generateKey } from '../support/signatures';

// Real public digests (shared/public-digests.json via the cdk8s helpers) under a private name.
import { DIGESTS } from '../cdk8s/helpers';

/**
 * Both faces call the core policy engine, which reads `kubepin.config.json` next to the lock:
 * an image under a signature requirement whose entry has no record by a required key fails synthesis.
 */
describe('signature enforcement through cdk8s and Pulumi', () => {
  const key = generateKey();
  let dir: string;
  let lock: ImageLock;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sigfaces-'));
    fs.writeFileSync(path.join(dir, 'release.pub'), key.publicPem);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ signatures: { require: [{ images: ['ghcr.io/acme'], keys: ['release.pub'] }] } }));
    lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    lock.set('ghcr.io/acme/signed:1', { digest: DIGESTS.nginx, mediaType: 'application/vnd.oci.image.index.v1+json', signature: { key: fingerprintOf(key), format: 'cosign' } });
    lock.set('ghcr.io/acme/unsigned:1', { digest: DIGESTS.busybox, mediaType: 'application/vnd.oci.image.index.v1+json' });
    lock.save();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('cdk8s: synth pins the signed image and fails on the one without a record', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    new Cdk8sImagePolicy(chart, 'ImagePolicy', { lock: path.join(dir, 'kubepin.lock.json'), log: () => undefined });
    new kplus.Deployment(chart, 'ok', { containers: [{ image: 'ghcr.io/acme/signed:1' }] });
    expect(() => Testing.synth(chart)).not.toThrow();
    new kplus.Deployment(chart, 'bad', { containers: [{ image: 'ghcr.io/acme/unsigned:1' }] });
    let error: unknown;
    try {
      Testing.synth(chart);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImagePolicyError);
    expect((error as Error).message).toMatch(/signature-not-locked .*ghcr\.io\/acme\/unsigned:1 must be signed by release\.pub .* records no verified signature/);
    expect((error as ImagePolicyError).findings.filter((f) => f.code === 'signature-not-locked').map((f) => f.image)).toEqual(['ghcr.io/acme/unsigned:1']);
  });

  test('Pulumi: the program fails before registering the resource', async () => {
    const ok = await runProgram(() => {
      PulumiImagePolicy.register({ lock: ImageLock.load(path.join(dir, 'kubepin.lock.json')) });
      new k8s.core.v1.Pod('ok', { spec: { containers: [{ name: 'c', image: 'ghcr.io/acme/signed:1' }] } });
    });
    expect(ok.resources.find((r) => r.name === 'ok')?.inputs.spec.containers[0].image).toBe(`ghcr.io/acme/signed:1@${DIGESTS.nginx}`);
    const run = runProgram(() => {
      PulumiImagePolicy.register({ lock: ImageLock.load(path.join(dir, 'kubepin.lock.json')) });
      new k8s.core.v1.Pod('bad', { spec: { containers: [{ name: 'c', image: 'ghcr.io/acme/unsigned:1' }] } });
    });
    await expect(run).rejects.toThrow(ImagePolicyViolationError);
    await expect(run).rejects.toThrow(/signature-not-locked Pod <unnamed> spec\.containers\[0\]\.image: ghcr\.io\/acme\/unsigned:1 must be signed by release\.pub/);
  });
});
