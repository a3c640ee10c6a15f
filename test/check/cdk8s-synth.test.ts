import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';

/*
 * End to end through the real `cdk8s synth` of cdk8s-cli: the plugin of the packed kubepin is
 * declared in cdk8s.yaml with the local path docs/existing-project.md gives, loaded without npm
 * install, and runs offline (every proxy points at a closed port, npm is told to stay offline).
 */
const REPO = path.resolve(__dirname, '..', '..');
const CDK8S = path.join(REPO, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');

const APP = (image: string, policy?: string) => `
const { App, Chart, ApiObject } = require('cdk8s');
const app = new App();
const chart = new Chart(app, 'shop');
new ApiObject(chart, 'web', {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [
      { name: 'web', image: ${JSON.stringify(image)}${policy ? `, imagePullPolicy: ${JSON.stringify(policy)}` : ''} },
    ] } },
  },
});
app.synth();
`;

const CONFIG = `language: typescript
app: node app.js
output: out
validations:
  - package: ./node_modules/kubepin/validation-plugin
    version: 0.1.0
    class: KubepinValidation
    properties:
      allowedRegistries: [docker.io/library]
`;

describe('validation plugin inside cdk8s synth', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-synth-'));
    // kubepin installed from the tarball `npm pack` made (global-setup.js): the plugin runs from
    // node_modules/kubepin/validation-plugin and loads the compiled core it ships.
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(packedKubepin().dir, path.join(dir, 'node_modules', 'kubepin'));
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), CONFIG);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function synth(): { code: number | null; output: string } {
    const result = spawnSync(process.execPath, [CDK8S, 'synth', '--no-check-upgrade'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60000,
      env: {
        ...process.env,
        NODE_PATH: path.join(REPO, 'node_modules'),
        HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9',
        npm_config_offline: 'true',
        CDK8S_CHECK_UPGRADE: 'false',
      },
    });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test('a defect fails the synth with the kubelet state, resource name and manifest path', () => {
    fs.writeFileSync(path.join(dir, 'app.js'), APP('ghcr.io/acme/web:1.0', 'Never'));
    const { code, output } = synth();
    expect(output).toContain('kubepin/registry-not-allowed [error]');
    expect(output).toContain('kubepin/never-without-prepull [error]');
    expect(output).toContain('Predicted kubelet state: ErrImageNeverPull');
    expect(output).toContain('Resource Name: web');
    expect(output).toContain('Manifest Path: out/shop.k8s.yaml');
    expect(output).toMatch(/Construct Path: shop\/web/);
    expect(output).not.toContain('Installing validation plugin');
    expect(code).toBe(2);
  }, 90000);

  test('a clean app synthesizes and passes validation', () => {
    fs.writeFileSync(path.join(dir, 'app.js'), APP('nginx:1.27.3', 'IfNotPresent'));
    const { code, output } = synth();
    expect(output).toContain('Validations ended succesfully'); // sic: cdk8s-cli's spelling
    expect(code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out', 'shop.k8s.yaml'), 'utf8')).toContain('nginx:1.27.3');
  }, 90000);
});
