import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { NodeCredentialConfig } from '../../lib/cdk8s/node-credential-config';
import { nodeKeyring, validateCredentialProviderConfig } from '../../lib/node';

const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;

function appChart(app: App): Chart {
  const chart = new Chart(app, 'web');
  new kplus.Deployment(chart, 'api', {
    containers: [
      { image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:2.1.0', securityContext: { ensureNonRoot: false } },
      { image: 'acmeprod.azurecr.io/obs/exporter:0.9.1', securityContext: { ensureNonRoot: false } },
    ],
  });
  new ApiObject(chart, 'job', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'report' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'ghcr.io/acme/report:1.4.0' }] } } },
  });
  return chart;
}

describe('NodeCredentialConfig (cdk8s)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-cdk8s-node-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes both files next to the synthesized manifests, config.json 0600, no secret in the manifests', () => {
    const outdir = path.join(dir, 'dist', 'manifests');
    const app = new App({ outdir });
    appChart(app);
    const other = new Chart(app, 'ops');
    new NodeCredentialConfig(other, 'node-credentials', {
      credentialProviders: [
        { name: 'ecr', registries: ['*.dkr.ecr.*.amazonaws.com'] },
        { name: 'acr', registries: ['*.azurecr.io'] },
      ],
      nodeDockerConfig: { auths: [{ registry: 'ghcr.io', username: { value: 'ci-bot' }, password: { env: 'KUBEPIN_TEST_GHCR_TOKEN' } }], env: { KUBEPIN_TEST_GHCR_TOKEN: TOKEN } },
    });
    app.synth();
    const node = path.join(outdir, 'node');
    expect(fs.readdirSync(node).sort()).toEqual(['config.json', 'credential-provider-config.yaml']);
    const config = parse(fs.readFileSync(path.join(node, 'credential-provider-config.yaml'), 'utf8'));
    expect(validateCredentialProviderConfig(config)).toEqual([]);
    expect(config.providers.map((p: { matchImages: string[] }) => p.matchImages)).toEqual([['123456789012.dkr.ecr.eu-west-1.amazonaws.com'], ['acmeprod.azurecr.io']]);
    expect(fs.statSync(path.join(node, 'config.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(node, 'credential-provider-config.yaml')).mode & 0o777).toBe(0o644);
    // The manifests are plain Kubernetes objects and carry no credential.
    const manifests = fs.readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'));
    expect(manifests.sort()).toEqual(['ops.k8s.yaml', 'web.k8s.yaml']);
    for (const f of manifests) {
      const text = fs.readFileSync(path.join(outdir, f), 'utf8');
      expect(text).not.toContain(TOKEN);
      for (const doc of parseAllDocuments(text)) expect(doc.errors).toEqual([]);
    }
    // What the kubelet of such a node will try:
    const keyring = nodeKeyring({ nodeConfig: path.join(node, 'config.json'), credentialProviderConfig: path.join(node, 'credential-provider-config.yaml') });
    expect(keyring.lookup('ghcr.io/acme/report:1.4.0').map((c) => `${c.stage}:${c.source.endsWith('config.json') ? 'config.json' : c.source}`)).toEqual(['node-config:config.json']);
    expect(keyring.lookup('acmeprod.azurecr.io/obs/exporter:0.9.1').map((c) => c.source)).toEqual(['acr-credential-provider']);
  });

  it('lists every problem at synth, naming the construct path and the fix', () => {
    const app = Testing.app();
    const chart = appChart(app);
    new NodeCredentialConfig(chart, 'node', {
      credentialProviders: [{ name: 'gcp', registries: ['*.pkg.dev'] }],
      nodeDockerConfig: { auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { env: 'NOT_SET_ANYWHERE' } }], env: {} },
    });
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('[web/node] providers[0]: provider "auth-provider-gcp": no image of the app is in its registries (*.pkg.dev)');
    expect(message).toContain('[web/node] auths[0]: the ghcr.io password comes from the environment variable NOT_SET_ANYWHERE, which is not set');
    expect(fs.existsSync(path.join(app.outdir, 'node'))).toBe(false);
  });

  it('works with Testing.synth and added images, and refuses bad props', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const node = new NodeCredentialConfig(chart, 'n', { credentialProviders: [{ name: 'my-plugin', registries: ['registry.example.com:5000'] }], directory: 'pools/gpu' });
    node.addImage('registry.example.com:5000/ml/trainer:1');
    expect(Testing.synth(chart)).toEqual([]);
    const written = path.join(app.outdir, 'pools', 'gpu', 'credential-provider-config.yaml');
    expect(parse(fs.readFileSync(written, 'utf8')).providers[0].matchImages).toEqual(['registry.example.com:5000']);
    expect(() => new NodeCredentialConfig(chart, 'empty')).toThrow(/c\/empty: give credentialProviders and\/or nodeDockerConfig/);
    expect(() => new NodeCredentialConfig(chart, 'escape', { credentialProviders: [], directory: '../x' })).toThrow(/directory must be a relative path inside/);
  });

  it('fromSpecFile reads the CLI spec format', () => {
    const spec = path.join(dir, 'spec.yaml');
    fs.writeFileSync(spec, 'credentialProviders:\n  - name: acr\n    registries: ["*.azurecr.io"]\n');
    const app = Testing.app();
    const chart = appChart(app);
    const node = NodeCredentialConfig.fromSpecFile(chart, 'node', spec, { writeOnSynth: false });
    expect(node.build().matchImages).toEqual({ 'acr-credential-provider': ['acmeprod.azurecr.io'] });
    app.synth();
    expect(fs.existsSync(path.join(app.outdir, 'node'))).toBe(false);
    expect(() => NodeCredentialConfig.fromSpecFile(chart, 'bad', path.join(dir, 'missing.yaml'))).toThrow(/web\/bad: .*missing.yaml: cannot read the spec \(ENOENT\)/);
  });
});
