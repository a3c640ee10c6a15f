import { KubepinUsageError } from '../../lib/util/errors';
import { isLoopback, parseChallenge, parsePlatform, RegistryClient } from '../../lib/registry';

describe('registry client building blocks', () => {
  test('parseChallenge reads Bearer and Basic challenges, quoted or not', () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.example.com/token',
      service: 'registry.example.com',
    });
    expect(parseChallenge('bearer realm=https://auth.example.com/token, service=reg')).toEqual({ scheme: 'bearer', realm: 'https://auth.example.com/token', service: 'reg' });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic' });
    expect(parseChallenge(['Basic realm="x"', 'Bearer realm="y"'])).toEqual({ scheme: 'basic' });
    expect(parseChallenge('Bearer service="no realm"')).toEqual({ scheme: 'none' });
    expect(parseChallenge(undefined)).toEqual({ scheme: 'none' });
  });

  test('only loopback hosts count as loopback', () => {
    expect(['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'localhost'].every(isLoopback)).toBe(true);
    expect(['localhost.example.com', '127.0.0.1.nip.io:5000', '10.0.0.1:5000', 'ghcr.io', '[::2]:5000'].some(isLoopback)).toBe(false);
  });

  test('platforms must be os/arch[/variant]', () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    for (const bad of ['amd64', 'linux/', 'linux/arm/v7/x', 'linux/am d64']) expect(() => parsePlatform(bad)).toThrow(KubepinUsageError);
  });

  test('options are validated', () => {
    expect(() => new RegistryClient({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new RegistryClient({ retries: -1 })).toThrow(/retries/);
    expect(() => new RegistryClient({ timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
    const client = new RegistryClient();
    expect(() => client.resolve('ghcr.io/acme/api:1', { platforms: ['amd64'] })).toThrow(/os\/arch/);
    client.close();
  });
});
