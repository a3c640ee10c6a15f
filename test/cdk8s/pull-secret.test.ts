import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerConfigAuths, PullSecretError, buildPullSecret, PLAINTEXT_WARNING_ANNOTATION, CREDENTIAL_SOURCE_ANNOTATION } from '../../lib/core/credentials/pull-secret';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';

const SECRET = 's3cr3t-token-value';

function payloadOf(secret: Record<string, any>): any {
  return JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString('utf8'));
}

describe('DockerConfigAuths', () => {
  test('writes the outer auths key and an auth field the kubelet decodes', () => {
    const json = new DockerConfigAuths({ TOKEN: SECRET }).add({ registry: 'ghcr.io', username: 'bot', passwordEnv: 'TOKEN' }).toJson();
    expect(Object.keys(json)).toEqual(['auths']);
    const keyring = new CredentialKeyring().add('test', json);
    expect(keyring.lookupCredentials('ghcr.io/acme/api:1')).toEqual([{ source: 'test', key: 'ghcr.io', username: 'bot', password: SECRET }]);
  });

  test('refuses a literal password unless unsafePlaintext, and never echoes it', () => {
    const attempt = () => new DockerConfigAuths({}).add({ registry: 'ghcr.io', username: 'bot', password: SECRET });
    expect(attempt).toThrow(PullSecretError);
    expect(attempt).toThrow(/passwordEnv/);
    try { attempt(); } catch (e) { expect((e as Error).message).not.toContain(SECRET); }
    const ok = new DockerConfigAuths({}).add({ registry: 'ghcr.io', username: 'bot', password: SECRET, unsafePlaintext: true });
    expect(ok.hasPlaintext).toBe(true);
  });

  test('a missing environment variable is named, not guessed', () => {
    expect(() => new DockerConfigAuths({}).add({ registry: 'ghcr.io', username: 'bot', passwordEnv: 'GHCR_TOKEN' }))
      .toThrow(/GHCR_TOKEN .*not set/);
  });
});

describe('buildPullSecret', () => {
  test('existing secret: only a declaration (marked existing), no objects', () => {
    const built = buildPullSecret({ type: 'existing', name: 'ghcr-pull', registries: ['ghcr.io/acme'] });
    expect(built).toEqual({ declaration: { name: 'ghcr-pull', registries: ['ghcr.io/acme'], existing: true }, objects: [] });
  });

  test('credentials: a dockerconfigjson Secret; plaintext carries the warning annotation', () => {
    const built = buildPullSecret({ type: 'credentials', name: 'ghcr-pull', namespace: 'web', credentials: [{ registry: 'ghcr.io', username: 'bot', passwordEnv: 'T' }] }, { env: { T: SECRET } });
    const secret = built.objects[0] as any;
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(secret.metadata).toEqual({ name: 'ghcr-pull', namespace: 'web', annotations: { [CREDENTIAL_SOURCE_ANNOTATION]: 'env:T' } });
    expect(payloadOf(secret).auths['ghcr.io'].password).toBe(SECRET);
    expect(built.declaration).toEqual({ name: 'ghcr-pull', registries: ['ghcr.io'], namespace: 'web' });
    const plain = buildPullSecret({ type: 'credentials', name: 'p', credentials: [{ registry: 'ghcr.io', username: 'bot', password: SECRET, unsafePlaintext: true }] });
    expect((plain.objects[0] as any).metadata.annotations[PLAINTEXT_WARNING_ANNOTATION]).toMatch(/plain text/);
  });

  test('docker config file: copies auths (decoded auth fields) and defaults registries to its keys', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-ps-'));
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from(`ci:${SECRET}`).toString('base64') } }, credsStore: 'desktop' }));
      const built = buildPullSecret({ type: 'dockerConfigFile', name: 'ci-pull', path: file });
      expect(built.declaration.registries).toEqual(['registry.example.com']);
      const auths = payloadOf(built.objects[0]).auths;
      expect(auths['registry.example.com']).toMatchObject({ username: 'ci', password: SECRET });
      expect((built.objects[0] as any).metadata.annotations[CREDENTIAL_SOURCE_ANNOTATION]).toBe('file:config.json');
      expect(() => buildPullSecret({ type: 'dockerConfigFile', name: 'x', path: file, registries: ['ghcr.io'] })).toThrow(/no "auths" entry for ghcr.io/);
      fs.writeFileSync(file, JSON.stringify({ credsStore: 'desktop' }));
      expect(() => buildPullSecret({ type: 'dockerConfigFile', name: 'x', path: file })).toThrow(/ignores credsStore/);
      fs.writeFileSync(file, `{"auths": {"a": ${SECRET}`);
      try { buildPullSecret({ type: 'dockerConfigFile', name: 'x', path: file }); throw new Error('no throw'); } catch (e) {
        expect(e).toBeInstanceOf(PullSecretError);
        expect((e as Error).message).not.toContain(SECRET);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('external secret: template yields a dockerconfigjson Secret', () => {
    const built = buildPullSecret({ type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault', kind: 'ClusterSecretStore' }, remote: { username: { key: 'ci/ghcr', property: 'user' }, password: { key: 'ci/ghcr', property: 'token' } } });
    const es = built.objects[0] as any;
    expect(es.kind).toBe('ExternalSecret');
    expect(es.spec.target.template.type).toBe('kubernetes.io/dockerconfigjson');
    expect(es.spec.target.template.data['.dockerconfigjson']).toContain('"auths":{"ghcr.io"');
    expect(es.spec.data.map((d: any) => d.secretKey)).toEqual(['username', 'password']);
  });

  test('bad names and registries are refused with a fix', () => {
    expect(() => buildPullSecret({ type: 'existing', name: 'Bad_Name', registries: ['ghcr.io'] })).toThrow(/not a valid Kubernetes name/);
    expect(() => buildPullSecret({ type: 'existing', name: 'ok', registries: [] })).toThrow(/list the registries/);
  });
});
