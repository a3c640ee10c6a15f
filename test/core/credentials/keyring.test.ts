import { CredentialKeyring, DockerConfigError, normalizeConfigKey, registryKeyMatches } from '../../../lib';

const auth = (user: string, pass = 'secret-pw') => ({ auth: Buffer.from(`${user}:${pass}`).toString('base64') });

describe('registryKeyMatches: upstream keyring_test.go cases', () => {
  test.each([
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    ['prefix.*.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['*.kubernetes.io', 'kubernetes.io', false],
    ['*.*.kubernetes.io', 'prefix.kubernetes.io', false],
    ['k*.io', 'quay.io', false],
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io:1111/foo/bar', false],
  ])('%s ~ %s → %s', (key, image, expected) => {
    expect(registryKeyMatches(key, image)).toBe(expected);
  });

  test.each([
    ['example.com', 'example.com:5000/app', false],
    ['example.com:5000', 'example.com/app', false],
    ['example.com/team', 'example.com/teamx/app', true],
    ['Example.com', 'example.com/app', false],
    ['*.example.com', 'a.b.example.com/app', false],
    ['[::1]:5000', '[::1]:5000/app', true],
  ])('facts: %s ~ %s → %s', (key, image, expected) => {
    expect(registryKeyMatches(key, image)).toBe(expected);
  });

  test('rejects non-strings with a typed error', () => {
    expect(() => registryKeyMatches(1 as unknown as string, 'x')).toThrow(/two strings/);
  });
});

describe('normalizeConfigKey', () => {
  test.each([
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['http://quay.io/v2/', 'quay.io'],
    ['quay.io/', 'quay.io'],
    ['ghcr.io/acme', 'ghcr.io/acme'],
    ['https://ghcr.io/v1/acme', 'ghcr.io/acme'],
  ])('%s → %s', (key, normalized) => {
    expect(normalizeConfigKey(key)).toBe(normalized);
  });

  test('unparseable keys are ignored, like the kubelet', () => {
    expect(normalizeConfigKey('bad host/x')).toBeUndefined();
    const keyring = new CredentialKeyring().add('s', { auths: { 'bad host': auth('u') } });
    expect(keyring.keys).toEqual([]);
  });
});

describe('CredentialKeyring', () => {
  test('more specific paths first, all matching keys contribute (upstream grace/ada case)', () => {
    const keyring = new CredentialKeyring().add('secret', {
      auths: { 'bar.example.com/pong': auth('grace'), 'bar.example.com': auth('ada') },
    });
    const users = (image: string) => keyring.lookupName(image).map((m) => m.username);
    expect(users('bar.example.com/pong')).toEqual(['grace', 'ada']);
    expect(users('bar.example.com/pongz')).toEqual(['grace', 'ada']);
    expect(users('bar.example.com/ping')).toEqual(['ada']);
    expect(users('example.com')).toEqual([]);
  });

  test('https://quay.io/v1/ matches quay.io and its paths (upstream)', () => {
    const keyring = new CredentialKeyring().add('s', { auths: { 'https://quay.io/v1/': auth('q') } });
    for (const image of ['quay.io', 'quay.io/foo', 'quay.io/foo/bar']) {
      expect(keyring.lookupName(image)).toEqual([{ source: 's', key: 'quay.io', username: 'q' }]);
    }
  });

  test('lookup normalizes images as the kubelet does before matching', () => {
    const keyring = new CredentialKeyring().add('hub', { auths: { 'docker.io/library': auth('lib') } });
    expect(keyring.lookup('nginx:1.27').map((m) => m.username)).toEqual(['lib']);
    expect(keyring.lookup('bitnami/redis').map((m) => m.username)).toEqual([]);
  });

  test('index.docker.io serves Hub images only as a fallback', () => {
    const keyring = new CredentialKeyring()
      .add('legacy', { auths: { 'https://index.docker.io/v1/': auth('fallback') } })
      .add('direct', { auths: { 'docker.io/acme': auth('acme') } });
    expect(keyring.lookup('acme/api:1').map((m) => m.username)).toEqual(['acme']);
    expect(keyring.lookup('nginx').map((m) => m.username)).toEqual(['fallback']);
    expect(keyring.lookup('ghcr.io/acme/api').map((m) => m.username)).toEqual([]);
  });

  test('registry-1.docker.io never matches Hub images', () => {
    const keyring = new CredentialKeyring().add('s', { auths: { 'registry-1.docker.io': auth('r1') } });
    expect(keyring.lookup('nginx')).toEqual([]);
  });

  test('several sources for one key keep their order', () => {
    const keyring = new CredentialKeyring()
      .add('first', { auths: { 'ghcr.io': auth('one') } })
      .add('second', { auths: { 'ghcr.io': auth('two') } });
    expect(keyring.lookup('ghcr.io/x/y:1').map((m) => m.source)).toEqual(['first', 'second']);
  });

  test('legacy .dockercfg flat maps and username/password entries', () => {
    const keyring = new CredentialKeyring().add('cfg', { 'registry.example.com': { username: 'u', password: 'p' } });
    expect(keyring.lookupCredentials('registry.example.com/app')[0]).toMatchObject({ username: 'u', password: 'p' });
  });

  test('auth overrides username/password and accepts unpadded base64', () => {
    const raw = Buffer.from('user:pa:ss').toString('base64').replace(/=+$/, '');
    const keyring = new CredentialKeyring().add('s', { auths: { 'r.io': { username: 'ignored', auth: raw } } });
    expect(keyring.lookupCredentials('r.io/a')[0]).toMatchObject({ username: 'user', password: 'pa:ss' });
  });

  test('a malformed auth field is an error naming the source but not the value', () => {
    const bad = Buffer.from('no-colon-here-TOPSECRET').toString('base64');
    let error: Error | undefined;
    try {
      new CredentialKeyring().add('team-pull-secret', { auths: { 'r.io': { auth: bad } } });
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(DockerConfigError);
    expect(error!.message).toContain('team-pull-secret');
    expect(error!.message).toContain('r.io');
    expect(error!.message).not.toContain(bad);
    expect(error!.message).not.toContain('TOPSECRET');
    expect(() => new CredentialKeyring().add('s', { auths: { 'r.io': { auth: '***' } } })).toThrow(/not valid base64/);
  });

  test('a config without the outer auths key that holds non-objects is explained', () => {
    expect(() => new CredentialKeyring().add('s', { 'r.io': 'oops' })).toThrow(/forget the outer "auths"/);
    expect(() => new CredentialKeyring().add('s', [])).toThrow(/must be a JSON object/);
  });

  test('bad arguments are typed errors', () => {
    expect(() => new CredentialKeyring().addEntry('s', 5 as any, { username: 'u', password: 'p' })).toThrow(/must be a string, got number/);
    expect(() => new CredentialKeyring().addEntry('s', 'r.io', null as any)).toThrow(/credential must be an object/);
    expect(() => new CredentialKeyring().lookup(null as any)).toThrow(/must be a string, got null/);
  });

  test('lookup never returns passwords', () => {
    const keyring = new CredentialKeyring().add('s', { auths: { 'r.io': auth('u', 'hunter2') } });
    expect(JSON.stringify(keyring.lookup('r.io/a'))).not.toContain('hunter2');
  });
});

describe('glob classes follow Go filepath.Match', () => {
  test.each([
    ['reg[0-9].example.com', 'reg3.example.com/a', true],
    ['reg[0-9].example.com', 'regx.example.com/a', false],
    // Go's url.Parse refuses "^" in a host, and "?" starts the query: neither key can match.
    ['reg[^0-9].example.com', 'regx.example.com/a', false],
    ['r?g.example.com', 'reg.example.com/a', false],
    ['r*g.example.com', 'reg.example.com/a', true],
    ['reg[.example.com', 'reg.example.com/a', false],
  ])('%s ~ %s → %s', (key, image, expected) => {
    expect(registryKeyMatches(key, image)).toBe(expected);
  });
});
