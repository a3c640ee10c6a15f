import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ImagePolicy, RegistryPullSecret } from '../../lib/cdk8s';
import { CREDENTIAL_SOURCE_ANNOTATION, PLAINTEXT_WARNING_ANNOTATION } from '../../lib/core/credentials/pull-secret';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { DIGESTS, lockWith, podSpec, tempDir, validateSchema } from './helpers';

const TOKEN = 'ghp_example-token-value-never-printed';
const LOCK = lockWith({ 'ghcr.io/acme/api:1.4.2': DIGESTS.nginx });

function chart(): Chart {
  const c = new Chart(Testing.app(), 'test', { namespace: 'apps' });
  new ImagePolicy(c, 'ImagePolicy', { lock: LOCK, log: () => undefined });
  return c;
}

function synthError(c: Chart): Error {
  try {
    Testing.synth(c);
  } catch (e) {
    return e as Error;
  }
  throw new Error('synthesis did not fail');
}

function decode(secret: any): any {
  return JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString('utf8'));
}

describe('RegistryPullSecret', () => {
  const savedEnv = process.env.KUBEPIN_TEST_GHCR_TOKEN;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.KUBEPIN_TEST_GHCR_TOKEN;
    else process.env.KUBEPIN_TEST_GHCR_TOKEN = savedEnv;
  });

  test('fromExistingSecret synthesizes nothing and is attached by name', () => {
    const c = chart();
    RegistryPullSecret.fromExistingSecret(c, 'ghcr', 'ghcr-pull', { registries: ['ghcr.io/acme'] });
    new kplus.Deployment(c, 'api', { containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    const docs = Testing.synth(c);
    expect(docs.map((d) => d.kind)).toEqual(['Deployment']);
    expect(podSpec(docs[0]).imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
  });

  test('fromCredentials reads the password from the environment; the kubelet can decode the Secret', () => {
    process.env.KUBEPIN_TEST_GHCR_TOKEN = TOKEN;
    const c = chart();
    const secret = RegistryPullSecret.fromCredentials(c, 'ghcr', { name: 'ghcr-pull', registry: 'ghcr.io', username: 'ci-bot', passwordEnv: 'KUBEPIN_TEST_GHCR_TOKEN' });
    new kplus.Deployment(c, 'api', { containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    const docs = Testing.synth(c);
    const s = docs.find((d) => d.kind === 'Secret');
    validateSchema(s);
    expect(s).toMatchObject({ type: 'kubernetes.io/dockerconfigjson', metadata: { name: 'ghcr-pull', namespace: 'apps', annotations: { [CREDENTIAL_SOURCE_ANNOTATION]: 'env:KUBEPIN_TEST_GHCR_TOKEN' } } });
    expect(Object.keys(s).sort()).toEqual(['apiVersion', 'data', 'kind', 'metadata', 'type']);
    const keyring = new CredentialKeyring().add('secret', decode(s));
    expect(keyring.lookupCredentials('ghcr.io/acme/api:1.4.2')[0]).toMatchObject({ username: 'ci-bot', password: TOKEN });
    expect(podSpec(docs.find((d) => d.kind === 'Deployment')).imagePullSecrets).toEqual([{ name: secret.name }]);
  });

  test('fromCredentials warns at synthesis that the output now holds a credential (never printing it)', () => {
    process.env.KUBEPIN_TEST_GHCR_TOKEN = TOKEN;
    const c = chart();
    RegistryPullSecret.fromCredentials(c, 'ghcr', { name: 'ghcr-pull', registry: 'ghcr.io', username: 'ci-bot', passwordEnv: 'KUBEPIN_TEST_GHCR_TOKEN' });
    RegistryPullSecret.fromExistingSecret(c, 'quay', 'quay-pull', { registries: ['quay.io'] });
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      Testing.synth(c);
    } finally {
      spy.mockRestore();
    }
    const warnings = written.filter((line) => line.includes('holds the registry credential'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^kubepin: \[[^\]]*\/ghcr\] warning: Secret ghcr-pull holds the registry credential for ghcr\.io .*do not commit or publish .*\.gitignore.*Fix: use RegistryPullSecret\.fromExistingSecret or fromExternalSecret/);
    expect(written.join('')).not.toContain(TOKEN);
    expect(written.join('')).not.toContain(Buffer.from(`ci-bot:${TOKEN}`).toString('base64'));
  });

  test('a literal password fails synthesis with the path and the fix, and the password is not in the message', () => {
    const c = chart();
    RegistryPullSecret.fromCredentials(c, 'ghcr', { registry: 'ghcr.io', username: 'ci-bot', password: TOKEN });
    const message = synthError(c).message;
    expect(message).toContain('[test/ghcr]');
    expect(message).toContain('Fix: use passwordEnv');
    expect(message).not.toContain(TOKEN);
  });

  test('a missing environment variable fails synthesis naming the variable', () => {
    delete process.env.KUBEPIN_TEST_GHCR_TOKEN;
    const c = chart();
    RegistryPullSecret.fromCredentials(c, 'ghcr', { registry: 'ghcr.io', username: 'ci-bot', passwordEnv: 'KUBEPIN_TEST_GHCR_TOKEN' });
    expect(synthError(c).message).toMatch(/\[test\/ghcr\] .*KUBEPIN_TEST_GHCR_TOKEN .*not set/);
  });

  test('unsafePlaintext is allowed and the Secret carries a warning annotation', () => {
    const c = chart();
    RegistryPullSecret.fromCredentials(c, 'ghcr', { registry: 'ghcr.io', username: 'ci-bot', password: TOKEN, unsafePlaintext: true });
    const s = Testing.synth(c).find((d) => d.kind === 'Secret');
    expect(s.metadata.annotations[PLAINTEXT_WARNING_ANNOTATION]).toMatch(/plain text/);
  });

  test('fromDockerConfigFile copies the auths of the file', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from(`ci-bot:${TOKEN}`).toString('base64') } } }));
      const c = chart();
      const secret = RegistryPullSecret.fromDockerConfigFile(c, 'ghcr', file);
      expect(secret.registries).toEqual(['ghcr.io']);
      const s = Testing.synth(c).find((d) => d.kind === 'Secret');
      expect(decode(s).auths['ghcr.io']).toMatchObject({ username: 'ci-bot', password: TOKEN });
    } finally {
      cleanup();
    }
  });

  test('fromExternalSecret synthesizes an ExternalSecret yielding a dockerconfigjson Secret', () => {
    const c = chart();
    const secret = RegistryPullSecret.fromExternalSecret(c, 'ghcr', {
      name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault', kind: 'ClusterSecretStore' }, remote: { key: 'ci/ghcr-dockerconfig' },
    });
    new kplus.Deployment(c, 'api', { containers: [{ image: 'ghcr.io/acme/api:1.4.2' }] });
    const docs = Testing.synth(c);
    const es = docs.find((d) => d.kind === 'ExternalSecret');
    expect(es).toEqual({
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'ExternalSecret',
      metadata: { name: 'ghcr-pull', namespace: 'apps' },
      spec: {
        data: [{ remoteRef: { key: 'ci/ghcr-dockerconfig' }, secretKey: 'dockerconfigjson' }],
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
        target: { creationPolicy: 'Owner', name: 'ghcr-pull', template: { data: { '.dockerconfigjson': '{{ .dockerconfigjson | toString }}' }, engineVersion: 'v2', type: 'kubernetes.io/dockerconfigjson' } },
      },
    });
    expect(podSpec(docs.find((d) => d.kind === 'Deployment')).imagePullSecrets).toEqual([{ name: secret.name }]);
  });

  test('generated names are valid Kubernetes names', () => {
    process.env.KUBEPIN_TEST_GHCR_TOKEN = TOKEN;
    const c = chart();
    const secret = RegistryPullSecret.fromCredentials(c, 'GhcrPull', { registry: 'ghcr.io', username: 'u', passwordEnv: 'KUBEPIN_TEST_GHCR_TOKEN' });
    expect(secret.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(Testing.synth(c).find((d) => d.kind === 'Secret').metadata.name).toBe(secret.name);
  });
});

test('snapshot: ExternalSecret built from username and password fields (no credential in it)', () => {
  const c = chart();
  RegistryPullSecret.fromExternalSecret(c, 'registries', {
    name: 'registries-pull',
    registries: ['ghcr.io/acme', 'quay.io/acme'],
    secretStore: { name: 'aws' },
    remote: { username: { key: 'ci/registry', property: 'user' }, password: { key: 'ci/registry', property: 'token' } },
    refreshInterval: '15m',
  });
  expect(Testing.synth(c)).toMatchSnapshot();
});
