import * as fs from 'fs';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { KeyringCredentials, RegistryClient } from '../../lib/registry';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';

/** docker-registry over TLS offers `h2` by ALPN: requests are streams of one connection; without it, HTTP/1.1 as before. */
describe('HTTP/2 to a TLS registry with token auth', () => {
  let registry: TestRegistryDetails;
  const images: Array<{ ref: string; pushed: PushedImage }> = [];
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', tls: true });
    for (let i = 0; i < 24; i++) {
      const repo = `h2/app-${i}`;
      images.push({ ref: `${registry.host}/${repo}:1`, pushed: await pushImage(registry, repo, '1', { format: i % 2 ? 'docker' : 'oci-index' }) });
    }
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const client = (http2: boolean): RegistryClient =>
    new RegistryClient({
      ca: fs.readFileSync(registry.caFile!),
      http2,
      credentials: new KeyringCredentials(new CredentialKeyring().add('test-secret', { auths: { [registry.host]: { username: registry.username!, password: registry.password! } } })),
    });

  test.each([
    ['HTTP/2.0', true],
    ['HTTP/1.1', false],
  ])('resolves every image with one HEAD each over %s', async (protocol, http2) => {
    const c = client(http2);
    try {
      await registry.settle();
      registry.resetCounters();
      const results = await Promise.all(images.map((i) => c.resolve(i.ref, { platforms: ['linux/amd64'] })));
      expect(results.map((r) => r.digest)).toEqual(images.map((i) => i.pushed.digest));
      expect(results.filter((_, n) => n % 2 === 0).every((r) => r.platforms?.['linux/amd64'])).toBe(true);
      await registry.settle();
      const log = registry.accessLog();
      const heads = log.filter((r) => r.method === 'HEAD' && r.path.includes('/manifests/'));
      expect(heads).toHaveLength(images.length);
      expect(heads.every((r) => r.status === 200)).toBe(true);
      // The pinged /v2/ (after the plain-HTTP probe of a loopback host) and every manifest request went over the expected protocol.
      expect(log.filter((r) => r.path.startsWith('/v2/') && r.status !== 400).every((r) => r.protocol === protocol)).toBe(true);
      // 24 repositories: two token requests (at most 20 repositories per token), together covering all.
      const tokenRequests = registry.tokenServer!.requests;
      expect(tokenRequests.map((r) => r.scopes.length).sort((a, b) => a - b)).toEqual([4, 20]);
      expect(tokenRequests.flatMap((r) => r.scopes).sort()).toEqual(images.map((i) => `repository:${i.ref.slice(registry.host.length + 1, -2)}:pull`).sort());
    } finally {
      c.close();
    }
  });
});
