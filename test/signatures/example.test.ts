import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { runKubepin, tempProject, writeFiles, deploymentYaml } from '../support/registry-cli';
import { keyFromPrivatePem, pushCosignSignature } from '../support/signatures';

const ROOT = path.join(__dirname, '..', '..');
const IMAGE = 'registry.shop.test/shop/payments:1.0';

/**
 * The example app's private, signed image (`registry.shop.test/shop/payments:1.0`): its entry in
 * the committed kubepin.lock.json — digest and signature record — is what a real `kubepin lock`
 * writes against the test registry (reached as a mirror of registry.shop.test, with a pull
 * credential for the mirror) after the image is signed with the example's test-only key through @sigstore/sign.
 * `npm run synth` stays offline: it only reads the committed lock.
 */
describe('the example app\'s signed private image', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    // Stored (level 0) gzip: the same bytes, so the same digest, with any zlib version.
    const layers = [zlib.gzipSync(Buffer.from('kubepin example: shop payments service\n'), { level: 0 })];
    const image = await pushImage(registry, 'shop/payments', '1.0', { layers, seed: 'kubepin example shop/payments:1.0' });
    const key = keyFromPrivatePem(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'signatures', 'example-release.key'), 'utf8'));
    await pushCosignSignature(registry, 'shop/payments', image.digest, { key, dockerReference: 'registry.shop.test/shop/payments' });
    await pushImage(registry, 'shop/payments', 'unsigned', { layers, seed: 'kubepin example shop/payments:unsigned' });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-example-sig-');
    writeFiles(dir, {
      'kubepin.config.json': fs.readFileSync(path.join(ROOT, 'kubepin.config.json'), 'utf8'),
      'examples/cdk8s/keys/payments-release.pub': fs.readFileSync(path.join(ROOT, 'examples', 'cdk8s', 'keys', 'payments-release.pub'), 'utf8'),
      'pull.json': JSON.stringify({ auths: { [registry.host]: { username: registry.username, password: registry.password } } }),
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lockArgs = () => ['lock', 'dist', '--mirror', `registry.shop.test=${registry.host}`, '--docker-config', 'pull.json', '--no-docker-login'];

  test('kubepin lock reproduces the committed, signed lock entry', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('payments', [IMAGE]) });
    const run = await runKubepin(lockArgs(), { cwd: dir });
    expect(run.stderr).toBe('');
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images['registry.shop.test/shop/payments:1.0'];
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'kubepin.lock.json'), 'utf8')).images['registry.shop.test/shop/payments:1.0'];
    expect(written.signature.format).toBe('cosign');
    expect(written).toEqual(committed);
  });

  test('the same project refuses the unsigned tag and writes nothing for it', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('payments', ['registry.shop.test/shop/payments:unsigned']) });
    const run = await runKubepin(lockArgs(), { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/registry\.shop\.test\/shop\/payments:unsigned@sha256:[a-f0-9]{64} is not signed: .*examples\/cdk8s\/keys\/payments-release\.pub/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images).toEqual({});
  });
});
