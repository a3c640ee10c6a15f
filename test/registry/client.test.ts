import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { DockerConfigCredentials, KeyringCredentials, RegistryClient, RegistryError } from '../../lib/registry';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { registryFailure as failure } from '../support/registry-http';

function keyringFor(host: string, username: string, password: string, source = 'test-secret'): KeyringCredentials {
  return new KeyringCredentials(new CredentialKeyring().add(source, { auths: { [host]: { username, password } } }));
}

describe('RegistryClient against an anonymous registry', () => {
  let registry: TestRegistryDetails;
  const pushed: Record<string, PushedImage> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.index = await pushImage(registry, 'shop/api', '1.0');
    pushed.list = await pushImage(registry, 'shop/api', '1.0-list', { format: 'docker-list', platforms: ['linux/amd64', 'linux/arm/v7', 'linux/arm64'] });
    pushed.oci = await pushImage(registry, 'shop/worker', '2.0', { format: 'oci' });
    pushed.docker = await pushImage(registry, 'shop/worker', '2.0-docker', { format: 'docker' });
    pushed.hub = await pushImage(registry, 'library/nginx', '1.27');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test('resolves every manifest kind to the digest of the bytes pushed, with one HEAD per image', async () => {
    const client = new RegistryClient();
    try {
      await registry.settle();
      registry.resetCounters();
      const cases: Array<[string, PushedImage]> = [
        [`${registry.host}/shop/api:1.0`, pushed.index],
        [`${registry.host}/shop/api:1.0-list`, pushed.list],
        [`${registry.host}/shop/worker:2.0`, pushed.oci],
        [`${registry.host}/shop/worker:2.0-docker`, pushed.docker],
      ];
      const results = await Promise.all(cases.map(([image]) => client.resolve(image)));
      results.forEach((result, i) => {
        expect(result.digest).toBe(cases[i][1].digest);
        expect(result.mediaType).toBe(cases[i][1].mediaType);
        expect(result.platforms).toBeUndefined();
      });
      await registry.settle();
      const manifestRequests = registry.accessLog().filter((r) => r.path.includes('/manifests/'));
      expect(manifestRequests.map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'HEAD', 'HEAD']);
      expect(client.stats.pings).toBe(1); // loopback: plain HTTP answers at once
    } finally {
      client.close();
    }
  });

  test('dedupes identical references (any spelling)', async () => {
    const client = new RegistryClient();
    try {
      await registry.settle();
      registry.resetCounters();
      const a = client.resolve(`${registry.host}/shop/api:1.0`);
      const b = client.resolve(`${registry.host}/shop/api:1.0@${pushed.oci.digest}`);
      expect((await a).digest).toBe((await b).digest);
      await registry.settle();
      expect(registry.accessLog().filter((r) => r.path.includes('/manifests/'))).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  test('records platform digests from the verified index body', async () => {
    const client = new RegistryClient();
    try {
      const r = await client.resolve(`${registry.host}/shop/api:1.0-list`, { platforms: ['linux/arm/v7', 'linux/amd64'] });
      expect(r.digest).toBe(pushed.list.digest);
      expect(r.platforms).toEqual({ 'linux/amd64': pushed.list.platforms['linux/amd64'], 'linux/arm/v7': pushed.list.platforms['linux/arm/v7'] });
      const missing = await failure(client.resolve(`${registry.host}/shop/api:1.0`, { platforms: ['linux/s390x'] }));
      expect(missing.kind).toBe('platform-not-found');
      expect(missing.message).toContain('linux/amd64, linux/arm64');
    } finally {
      client.close();
    }
  });

  test('a digest-only reference is checked by digest', async () => {
    const client = new RegistryClient();
    try {
      const r = await client.resolve(`${registry.host}/shop/api@${pushed.index.digest}`);
      expect(r.digest).toBe(pushed.index.digest);
      expect(r.reference).toBe(`${registry.host}/shop/api@${pushed.index.digest}`);
      const child = await client.resolve(`${registry.host}/shop/api@${pushed.index.platforms['linux/arm64']}`);
      expect(child.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const e = await failure(client.resolve(`${registry.host}/shop/api@${pushed.oci.digest}`));
      expect(e.kind).toBe('not-found');
    } finally {
      client.close();
    }
  });

  test('a missing tag is a clear not-found error', async () => {
    const client = new RegistryClient();
    try {
      const e = await failure(client.resolve(`${registry.host}/shop/api:9.9`));
      expect(e.kind).toBe('not-found');
      expect(e.message).toContain(`${registry.host}/shop/api:9.9`);
      expect(e.message).toMatch(/404/);
    } finally {
      client.close();
    }
  });

  test('a mirror resolves docker.io images and records them under the original name', async () => {
    const client = new RegistryClient({ mirrors: { 'docker.io': registry.host } });
    try {
      const r = await client.resolve('nginx:1.27');
      expect(r.reference).toBe('docker.io/library/nginx:1.27');
      expect(r.digest).toBe(pushed.hub.digest);
      expect(r.resolvedFrom).toBe(registry.host);
    } finally {
      client.close();
    }
  });
});

describe('RegistryClient with Basic auth', () => {
  let registry: TestRegistryDetails;
  let pushed: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    pushed = await pushImage(registry, 'team/app', '1.0');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test('resolves with the matching credential', async () => {
    const client = new RegistryClient({ credentials: keyringFor(registry.host, registry.username!, registry.password!) });
    try {
      const r = await client.resolve(`${registry.host}/team/app:1.0`);
      expect(r.digest).toBe(pushed.digest);
      expect(r.credential).toEqual({ source: 'test-secret', username: registry.username });
    } finally {
      client.close();
    }
  });

  test('without credentials or with a wrong one: 401 naming what was tried, never the secret', async () => {
    const anonymous = new RegistryClient();
    const wrong = new RegistryClient({ credentials: keyringFor(registry.host, 'mallory', 'not-the-password-xyz', 'stale-secret') });
    try {
      const e1 = await failure(anonymous.resolve(`${registry.host}/team/app:1.0`));
      expect(e1.kind).toBe('unauthorized');
      expect(e1.message).toContain('no credential');
      const e2 = await failure(wrong.resolve(`${registry.host}/team/app:1.0`));
      expect(e2.kind).toBe('unauthorized');
      expect(e2.message).toContain('"mallory" from stale-secret');
      expect(e2.message).not.toContain('not-the-password-xyz');
    } finally {
      anonymous.close();
      wrong.close();
    }
  });

  test('tries every matching credential in kubelet order; the first that works wins', async () => {
    const keyring = new CredentialKeyring()
      .add('stale', { auths: { [`${registry.host}/team`]: { username: 'old', password: 'expired' } } })
      .add('good', { auths: { [registry.host]: { username: registry.username!, password: registry.password! } } });
    const client = new RegistryClient({ credentials: new KeyringCredentials(keyring) });
    try {
      const r = await client.resolve(`${registry.host}/team/app:1.0`);
      expect(r.digest).toBe(pushed.digest);
      expect(r.credential?.source).toBe('good');
    } finally {
      client.close();
    }
  });

  test('reads credHelpers from the Docker config and runs docker-credential-<name> get', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-dockercfg-'));
    const savedPath = process.env.PATH ?? "/usr/bin:/bin";
    try {
      // A real helper program: prints the secret for our host only.
      fs.writeFileSync(
        path.join(dir, 'docker-credential-kptest'),
        `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" "${registry.username}" "$KP_TEST_SECRET"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
        { mode: 0o755 },
      );
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('wrong:wrong').toString('base64') } }, credHelpers: { [registry.host]: 'kptest' } }));
      const env = { DOCKER_CONFIG: dir, PATH: `${dir}:${savedPath}`, KP_TEST_SECRET: registry.password };
      const client = new RegistryClient({ credentials: DockerConfigCredentials.fromEnvironment(env) });
      try {
        const r = await client.resolve(`${registry.host}/team/app:1.0`);
        expect(r.digest).toBe(pushed.digest);
        expect(r.credential?.source).toBe('docker-credential-kptest');
      } finally {
        client.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a credential helper that is not installed fails the image with a clear message', async () => {
  const registry = await startRegistry({ auth: 'basic' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-dockercfg-'));
  try {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'kubepin-missing-helper' }));
    const client = new RegistryClient({ credentials: DockerConfigCredentials.fromEnvironment({ DOCKER_CONFIG: dir, PATH: '/nonexistent' }) });
    try {
      const e = await failure(client.resolve(`${registry.host}/team/app:1.0`));
      expect(e.kind).toBe('unauthorized');
      expect(e.message).toContain('docker-credential-kubepin-missing-helper is configured in your Docker config but is not on PATH');
    } finally {
      client.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await registry.stop();
  }
});

describe('RegistryClient with Bearer tokens', () => {
  let registry: TestRegistryDetails;
  const pushed: PushedImage[] = [];
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    for (const tag of ['1', '2', '3', '4', '5']) pushed.push(await pushImage(registry, 'team/app', tag, { format: tag === '5' ? 'docker' : 'oci-index' }));
    pushed.push(await pushImage(registry, 'team/other', '1'));
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test('one token request for all repositories, one manifest request per image', async () => {
    const client = new RegistryClient({ credentials: keyringFor(registry.host, registry.username!, registry.password!) });
    try {
      await registry.settle();
      registry.resetCounters();
      const images = ['1', '2', '3', '4', '5'].map((t) => `${registry.host}/team/app:${t}`).concat(`${registry.host}/team/other:1`);
      const results = await Promise.all(images.map((i) => client.resolve(i)));
      expect(results.map((r) => r.digest)).toEqual(pushed.map((p) => p.digest));
      const tokenScopes = registry.tokenServer!.requests.map((r) => r.scopes.join(' '));
      expect(tokenScopes).toEqual(['repository:team/app:pull repository:team/other:pull']);
      expect(registry.tokenServer!.requests.every((r) => r.username === registry.username)).toBe(true);
      await registry.settle();
      const manifests = registry.accessLog().filter((r) => r.path.includes('/manifests/'));
      expect(manifests).toHaveLength(6);
      expect(manifests.every((r) => r.method === 'HEAD' && r.status === 200)).toBe(true);
    } finally {
      client.close();
    }
  });

  test('tokens are cached until expires_in, then fetched again', async () => {
    const client = new RegistryClient({ credentials: keyringFor(registry.host, registry.username!, registry.password!) });
    try {
      registry.tokenServer!.expiresIn = 6; // cached for expires_in minus a 5 s safety margin: 1 s
      registry.resetCounters();
      await client.resolve(`${registry.host}/team/app:1`);
      await client.resolve(`${registry.host}/team/app:2`);
      expect(registry.tokenServer!.requests).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1100));
      await client.resolve(`${registry.host}/team/app:3`);
      expect(registry.tokenServer!.requests).toHaveLength(2);
    } finally {
      registry.tokenServer!.expiresIn = 300;
      client.close();
    }
  });

  test('accepts access_token instead of token', async () => {
    registry.tokenServer!.tokenField = 'access_token';
    const client = new RegistryClient({ credentials: keyringFor(registry.host, registry.username!, registry.password!) });
    try {
      expect((await client.resolve(`${registry.host}/team/app:1`)).digest).toBe(pushed[0].digest);
    } finally {
      registry.tokenServer!.tokenField = 'both';
      client.close();
    }
  });

  test('a refused credential is reported with the token server answer; anonymous tokens grant nothing', async () => {
    const wrong = new RegistryClient({ credentials: keyringFor(registry.host, registry.username!, 'wrong-password-123') });
    const anonymous = new RegistryClient();
    try {
      const e = await failure(wrong.resolve(`${registry.host}/team/app:1`));
      expect(e.kind).toBe('unauthorized');
      expect(e.message).toContain('token server');
      expect(e.message).not.toContain('wrong-password-123');
      const a = await failure(anonymous.resolve(`${registry.host}/team/app:1`));
      expect(a.kind).toBe('unauthorized');
      expect(a.message).toContain('no credential');
    } finally {
      wrong.close();
      anonymous.close();
    }
  });
});

describe('RegistryClient over TLS with a private CA', () => {
  let registry: TestRegistryDetails;
  let pushed: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    pushed = await pushImage(registry, 'secure/app', '1.0');
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test('resolves with the CA file', async () => {
    const client = new RegistryClient({ ca: fs.readFileSync(registry.caFile!) });
    try {
      const r = await client.resolve(`${registry.host}/secure/app:1.0`);
      expect(r.digest).toBe(pushed.digest);
    } finally {
      client.close();
    }
  });

  test('without the CA: a clear TLS error, no retries, no plain-HTTP fallback', async () => {
    const client = new RegistryClient();
    try {
      const e = await failure(client.resolve(`${registry.host}/secure/app:1.0`));
      expect(e.kind).toBe('tls');
      expect(e.message).toContain('--ca-file');
      expect(client.stats.retries).toBe(0);
      expect(client.stats.requests).toBe(2); // the plain-HTTP probe of a loopback host, then the TLS attempt
    } finally {
      client.close();
    }
  });
});
