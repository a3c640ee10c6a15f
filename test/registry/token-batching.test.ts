import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { KeyringCredentials, RegistryClient } from '../../lib/registry';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';

/** One token request for many repositories, and the fallbacks when a token server will not. */
describe('token requests covering many repositories', () => {
  let registry: TestRegistryDetails;
  const images: Array<{ ref: string; pushed: PushedImage }> = [];
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    // Long names, so that 40 scopes do not fit one token URL.
    for (let i = 0; i < 40; i++) {
      const repo = `batch/${'long-repository-name-'.repeat(5)}${String(i).padStart(2, '0')}`;
      images.push({ ref: `${registry.host}/${repo}:1`, pushed: await pushImage(registry, repo, '1', { format: 'docker' }) });
    }
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    registry.resetCounters();
    registry.tokenServer!.multiScope = 'grant-all';
  });

  const credentials = (): KeyringCredentials =>
    new KeyringCredentials(new CredentialKeyring().add('test-secret', { auths: { [registry.host]: { username: registry.username!, password: registry.password! } } }));

  async function resolveAll(client: RegistryClient): Promise<void> {
    const results = await Promise.all(images.map((i) => client.resolve(i.ref)));
    expect(results.map((r) => r.digest)).toEqual(images.map((i) => i.pushed.digest));
  }

  test('every repository is covered by a few token requests, each URL bounded; the tokens are reused', async () => {
    const client = new RegistryClient({ credentials: credentials() });
    try {
      await resolveAll(client);
      const requests = registry.tokenServer!.requests;
      expect(requests.length).toBeGreaterThan(1); // chunked: 40 long scopes exceed one URL
      expect(requests.length).toBeLessThanOrEqual(3);
      expect(requests.every((r) => r.status === 200 && r.scopes.length > 1)).toBe(true);
      // A token for at most 20 repositories: it rides in every request's header.
      expect(requests.every((r) => r.scopes.length <= 20)).toBe(true);
      expect(requests.flatMap((r) => r.scopes).sort()).toEqual(images.map((i) => `repository:${i.ref.slice(registry.host.length + 1, -2)}:pull`).sort());
      // Another tag of repositories already covered, in the same client: no new token.
      const before = requests.length;
      await Promise.all(images.slice(0, 5).map((i) => client.resolve(`${i.ref.slice(0, -2)}:missing`).catch(() => undefined)));
      expect(registry.tokenServer!.requests.length).toBe(before);
      expect(client.stats.tokenRequests).toBe(before);
    } finally {
      client.close();
    }
  });

  test('a token server refusing several scopes is asked one scope per request', async () => {
    registry.tokenServer!.multiScope = 'refuse';
    const client = new RegistryClient({ credentials: credentials() });
    try {
      await resolveAll(client);
      const requests = registry.tokenServer!.requests;
      const refused = requests.filter((r) => r.status === 400);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.every((r) => r.scopes.length > 1)).toBe(true);
      const granted = requests.filter((r) => r.status === 200);
      expect(granted).toHaveLength(images.length);
      expect(granted.every((r) => r.scopes.length === 1)).toBe(true);
    } finally {
      client.close();
    }
  });

  test('a token covering less than asked: the refused images get a token of their own, and the server is asked one scope at a time', async () => {
    registry.tokenServer!.multiScope = 'first-only';
    const client = new RegistryClient({ credentials: credentials() });
    try {
      await resolveAll(client);
      const requests = registry.tokenServer!.requests;
      const multi = requests.filter((r) => r.scopes.length > 1);
      expect(multi.length).toBeGreaterThanOrEqual(1);
      expect(multi.length).toBeLessThanOrEqual(3);
      // Each image not covered by its chunk's first scope asked once more, alone: bounded.
      expect(requests.length).toBeLessThanOrEqual(multi.length + images.length);
      await registry.settle();
      const manifests = registry.accessLog().filter((r) => r.path.includes('/manifests/'));
      // One refused HEAD at most per image, then its HEAD with its own token.
      expect(manifests.filter((r) => r.status === 200)).toHaveLength(images.length);
      expect(manifests.filter((r) => r.status === 401).length).toBeLessThanOrEqual(images.length);
      // Later fetches for this realm go one scope at a time.
      registry.resetCounters();
      await client.resolve(`${images[0].ref.slice(0, -2)}:missing`).catch(() => undefined);
      expect(registry.tokenServer!.requests.every((r) => r.scopes.length === 1)).toBe(true);
    } finally {
      client.close();
    }
  });
});
