import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { NodeConfigError, buildNodeDockerConfig, nodeKeyring, writeNodeDockerConfig } from '../../lib/node';

// Random per run, so a leak cannot hide behind a value some code happens to print anyway.
const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;
const GHCR_PASS = `pw-${crypto.randomBytes(12).toString('hex')}`;

describe('node config.json', () => {
  let dir: string;
  const env = { GHCR_USER: 'ci-bot', GHCR_TOKEN: GHCR_PASS, EMPTY: '' };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-nodecfg-'));
    fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds auths from the environment and files, and writes them 0600', () => {
    const file = path.join(dir, 'out', 'node', 'config.json');
    const result = writeNodeDockerConfig(file, {
      auths: [
        { registry: 'ghcr.io', username: { env: 'GHCR_USER' }, password: { env: 'GHCR_TOKEN' } },
        { registry: 'https://registry.internal.example.com:5000/v2/', username: { value: 'nodes' }, password: { file: 'token' } },
      ],
      images: ['ghcr.io/acme/assets:1', 'registry.internal.example.com:5000/tools/uploader:3', 'nginx:1.27'],
      env,
      cwd: dir,
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(written)).toEqual(['auths']);
    expect(written.auths['ghcr.io']).toEqual({ username: 'ci-bot', password: GHCR_PASS, auth: Buffer.from(`ci-bot:${GHCR_PASS}`).toString('base64') });
    expect(written.auths['registry.internal.example.com:5000'].password).toBe(TOKEN); // trailing newline of the file dropped
    expect(result.registries).toEqual(['ghcr.io', 'registry.internal.example.com:5000']);
    expect(result.notCovered).toEqual(['docker.io/library/nginx']);
    // What is returned to the caller (and may be printed) holds no secret.
    expect(JSON.stringify(result)).not.toContain(GHCR_PASS);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    // Round trip: the kubelet-side reader finds these credentials for the app's images, in order.
    const keyring = nodeKeyring({ nodeConfig: file });
    expect(keyring.problems).toEqual([]);
    expect(keyring.lookup('ghcr.io/acme/assets:1')).toEqual([{ stage: 'node-config', source: file, key: 'ghcr.io', username: 'ci-bot' }]);
    expect(keyring.lookup('nginx:1.27')).toEqual([]);
  });

  it('tightens an existing file with the same content but a wider mode', () => {
    const file = path.join(dir, 'wide.json');
    const options = { auths: [{ registry: 'ghcr.io', username: { env: 'GHCR_USER' }, password: { env: 'GHCR_TOKEN' } }], env };
    fs.writeFileSync(file, buildNodeDockerConfig(options).text, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    writeNodeDockerConfig(file, options);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses literal passwords and names the missing variable or file, never a value', () => {
    const attempts: Array<() => unknown> = [
      () => buildNodeDockerConfig({ auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: GHCR_PASS as never }], env }),
      () => buildNodeDockerConfig({ auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { env: 'NOPE' } }], env }),
      () => buildNodeDockerConfig({ auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { env: 'EMPTY' } }], env }),
      () => buildNodeDockerConfig({ auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { file: 'missing' } }], env, cwd: dir }),
      () => buildNodeDockerConfig({ auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { value: GHCR_PASS } as never }], env }),
      () => buildNodeDockerConfig({ auths: [], env }),
    ];
    const messages = attempts.map((attempt) => {
      try {
        attempt();
      } catch (e) {
        expect(e).toBeInstanceOf(NodeConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a NodeConfigError');
    });
    expect(messages[0]).toMatch(/literal string; kubepin reads credentials only from the environment or a file/);
    expect(messages[1]).toMatch(/environment variable NOPE, which is not set/);
    expect(messages[2]).toMatch(/environment variable EMPTY, which is empty/);
    expect(messages[3]).toMatch(/cannot read the ghcr.io password file missing \(ENOENT\)/);
    expect(messages[4]).toMatch(/must be \{ env: "VARIABLE" \} or \{ file: "path" \}$/);
    expect(messages[5]).toMatch(/no registry credentials given/);
    for (const m of messages) expect(m).not.toContain(GHCR_PASS);
  });

  it('copies only the needed auths entries of an existing Docker config and explains helpers', () => {
    const source = path.join(dir, 'docker-config.json');
    fs.writeFileSync(
      source,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from(`hubuser:${TOKEN}`).toString('base64') },
          'ghcr.io': { username: 'ci-bot', password: GHCR_PASS },
          'quay.io': { username: 'x', password: 'unused' },
        },
        credHelpers: { '123456789012.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' },
      }),
    );
    const built = buildNodeDockerConfig({ fromDockerConfig: { file: source }, images: ['nginx:1', 'ghcr.io/acme/x:1'] });
    expect(built.registries).toEqual(['ghcr.io', 'index.docker.io']);
    expect(built.notCovered).toEqual([]);
    let message = '';
    try {
      buildNodeDockerConfig({ fromDockerConfig: { file: source, registries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com'] } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/no "auths" entry for "123456789012.dkr.ecr.eu-west-1.amazonaws.com" \(its credentials are kept by a credential helper, which the kubelet cannot use\)/);
    expect(message).not.toContain(TOKEN);
  });

  it('warns about a registry no image uses', () => {
    const built = buildNodeDockerConfig({ auths: [{ registry: 'quay.io', username: { value: 'u' }, password: { env: 'GHCR_TOKEN' } }], env, images: ['ghcr.io/a/b:1'] });
    expect(built.problems.map((p) => p.message)).toEqual([expect.stringContaining('no image of the app uses "quay.io"')]);
  });
});

describe('nodeKeyring: what the kubelet tries, in order', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-nodekr-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('orders pod secrets, node config.json, then providers', () => {
    const nodeFile = path.join(dir, 'config.json');
    fs.writeFileSync(nodeFile, JSON.stringify({ auths: { 'acmeprod.azurecr.io': { username: 'node', password: TOKEN }, 'acmeprod.azurecr.io/obs': { username: 'node-obs', password: TOKEN } } }));
    const providerFile = path.join(dir, 'providers.yaml');
    fs.writeFileSync(
      providerFile,
      [
        'apiVersion: kubelet.config.k8s.io/v1',
        'kind: CredentialProviderConfig',
        'providers:',
        '  - name: acr-credential-provider',
        '    matchImages: ["*.azurecr.io"]',
        '    defaultCacheDuration: 10m',
        '    apiVersion: credentialprovider.kubelet.k8s.io/v1',
        '  - name: other',
        '    matchImages: ["acmeprod.azurecr.io/obs"]',
        '    defaultCacheDuration: 0s',
        '    apiVersion: credentialprovider.kubelet.k8s.io/v1',
        '',
      ].join('\n'),
    );
    const podSecrets = new CredentialKeyring().add('regcred', { auths: { 'acmeprod.azurecr.io': { username: 'pod', password: TOKEN } } });
    const keyring = nodeKeyring({ podSecrets, nodeConfig: nodeFile, credentialProviderConfig: providerFile });
    expect(keyring.problems).toEqual([]);
    expect(keyring.lookup('acmeprod.azurecr.io/obs/exporter:0.9.1')).toEqual([
      { stage: 'pod-secret', source: 'regcred', key: 'acmeprod.azurecr.io', username: 'pod' },
      { stage: 'node-config', source: nodeFile, key: 'acmeprod.azurecr.io/obs', username: 'node-obs' },
      { stage: 'node-config', source: nodeFile, key: 'acmeprod.azurecr.io', username: 'node' },
      { stage: 'credential-provider', source: 'acr-credential-provider', key: '*.azurecr.io' },
      { stage: 'credential-provider', source: 'other', key: 'acmeprod.azurecr.io/obs' },
    ]);
    expect(keyring.lookup('acmestaging.azurecr.io/jobs/report:1')).toEqual([{ stage: 'credential-provider', source: 'acr-credential-provider', key: '*.azurecr.io' }]);
    expect(keyring.lookup('busybox:1.36.1')).toEqual([]);
    expect(JSON.stringify(keyring.lookup('acmeprod.azurecr.io/obs/exporter:1'))).not.toContain(TOKEN);
  });

  it('predicts nothing from files the kubelet would ignore, and says why', () => {
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, JSON.stringify({ auths: { 'ghcr.io': { auth: 'not base64!' } } }));
    const helpers = path.join(dir, 'helpers.json');
    fs.writeFileSync(helpers, JSON.stringify({ credsStore: 'desktop' }));
    const badProviders = path.join(dir, 'bad.yaml');
    fs.writeFileSync(badProviders, 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: x\n    matchImages: ["ghcr.io"]\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n');
    const keyring = nodeKeyring({ nodeConfig: [broken, helpers], credentialProviderConfig: badProviders });
    expect(keyring.lookup('ghcr.io/a/b:1')).toEqual([]);
    expect(keyring.problems.map((p) => `${p.severity} ${path.basename(p.file!)} ${p.path}`)).toEqual([
      'error broken.json auths',
      'warning helpers.json credsStore',
      'warning helpers.json auths',
      'error bad.yaml providers[0].defaultCacheDuration',
    ]);
    expect(keyring.problems[0].message).toMatch(/not valid base64.*the kubelet then ignores the whole file/);
  });
});
