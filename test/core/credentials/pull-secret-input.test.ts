import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { KubepinUsageError } from '../../../lib/util/errors';
import { PullSecretError, PullSecretSource, buildPullSecret } from '../../../lib/core/credentials/pull-secret';
import { RegistryPullSecret } from '../../../lib/cdk8s';

/*
 * Bad pull secret input, as a program without TypeScript's checks (or a typo) passes it: each is
 * refused with what is wrong, where, and the fix, before any Secret is written, and no password
 * is echoed. Both faces build through buildPullSecret; the cdk8s face reports at synthesis
 * under the construct's path.
 */
const TOKEN = 'p4ssw0rd-never-echoed';

function refusal(source: unknown, env: NodeJS.ProcessEnv = { T: TOKEN }): Error {
  try {
    buildPullSecret(source as PullSecretSource, { env });
  } catch (e) {
    if (e instanceof PullSecretError || e instanceof KubepinUsageError) {
      expect(e.message).not.toContain(TOKEN);
      return e;
    }
    throw e;
  }
  throw new Error(`expected a refusal for ${JSON.stringify(source)}`);
}

const credentials = (c: Record<string, unknown>) => ({ type: 'credentials', name: 'ghcr-pull', credentials: [c] });

describe('buildPullSecret refuses bad input with a clear error', () => {
  test.each<[string, unknown, RegExp]>([
    ['no source object', null, /^buildPullSecret\(source\) takes a pull secret source object, got null$/],
    ['an unknown source type', { type: 'vault', name: 'ghcr-pull', registries: ['ghcr.io'] }, /pull secret "ghcr-pull": unknown pull secret source type "vault"/],
    ['no credentials', { type: 'credentials', name: 'ghcr-pull', credentials: [] }, /give at least one \{ registry, username, passwordEnv \} entry/],
    ['a credential that is not an object', { type: 'credentials', name: 'ghcr-pull', credentials: ['ghcr.io'] }, /credentials must be an object \{ registry, username, passwordEnv \}, got string/],
    ['a registry the kubelet cannot parse', credentials({ registry: 'ghcr io', username: 'bot', passwordEnv: 'T' }), /registry "ghcr io" is not a registry key the kubelet can parse\. Fix: use a host such as "ghcr\.io"/],
    ['a username that is not a string', credentials({ registry: 'ghcr.io', username: 7, passwordEnv: 'T' }), /username for ghcr\.io must be a string, got number/],
    ['both passwordEnv and password', credentials({ registry: 'ghcr.io', username: 'bot', passwordEnv: 'T', password: TOKEN, unsafePlaintext: true }), /give exactly one of passwordEnv and password for ghcr\.io\. Fix: set passwordEnv/],
    ['neither', credentials({ registry: 'ghcr.io', username: 'bot' }), /give exactly one of passwordEnv and password/],
    ['a passwordEnv that is no variable name', credentials({ registry: 'ghcr.io', username: 'bot', passwordEnv: 'GHCR-TOKEN' }), /passwordEnv for ghcr\.io must be an environment variable name, got "GHCR-TOKEN"/],
    ['a plaintext password that is not a string', credentials({ registry: 'ghcr.io', username: 'bot', password: 1234, unsafePlaintext: true }), /password for ghcr\.io must be a string, got number/],
    ['a registry list entry the kubelet cannot parse', { type: 'existing', name: 'ghcr-pull', registries: ['ghcr.io', 'not a host'] }, /registry "not a host" is not a registry key/],
    ['an empty registry, which would match no image', { type: 'existing', name: 'ghcr-pull', registries: ['ghcr.io', ''] }, /registry "" names no host, so it matches no image and the secret would be attached to no pod\. Fix: use a host such as "ghcr\.io"/],
    ['a scheme and no host', { type: 'external', name: 'ghcr-pull', registries: ['https://'], secretStore: { name: 'vault' }, remote: { key: 'k' } }, /registry "https:\/\/" names no host/],
    ['no registries for an external secret', { type: 'external', name: 'ghcr-pull', registries: [], secretStore: { name: 'vault' }, remote: { key: 'k' } }, /list the registries the secret serves/],
    ['an external secret without a store name', { type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: {}, remote: { key: 'k' } }, /secretStore needs a name, e.g\. \{ name: "vault", kind: "ClusterSecretStore" \}/],
    ['an external remote with an empty key', { type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault' }, remote: { key: '' } }, /remote key needs a key naming the secret in the store/],
    ['an external remote with a password but no key for it', { type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault' }, remote: { username: { key: 'u' }, password: {} } }, /remote password needs a key/],
    ['an external remote of neither shape', { type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault' }, remote: { path: 'x' } }, /remote must be \{ key \} \(a whole \.dockerconfigjson\) or \{ username: \{ key \}, password: \{ key \} \}/],
    ['a Docker config file source without a path', { type: 'dockerConfigFile', name: 'ghcr-pull', path: '' }, /path must name a Docker config file such as ~\/\.docker\/config\.json/],
  ])('%s', (_what, source, message) => {
    expect(refusal(source).message).toMatch(message);
  });
});

describe('a Docker config file that cannot serve as a pull secret', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-ps-input-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const from = (file: string) => ({ type: 'dockerConfigFile', name: 'ci-pull', path: file });

  test('missing, or a directory: named, with the fix', () => {
    expect(refusal(from(path.join(dir, 'nope.json'))).message).toMatch(/cannot read Docker config .*nope\.json: ENOENT\. Fix: run `docker login`/);
    expect(refusal(from(dir)).message).toMatch(/cannot read Docker config .*: not a regular file \(a directory\)/);
  });

  test('a FIFO or a device is refused at once, not read (synthesis must not hang or read for ever)', () => {
    const fifo = path.join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(from(fifo)).message).toMatch(/cannot read Docker config .*config\.fifo: not a regular file \(a FIFO\); only regular files are read\. Fix: /);
    expect(refusal(from('/dev/zero')).message).toMatch(/cannot read Docker config \/dev\/zero: not a regular file \(a device\)/);
  });

  test('a malformed entry is refused with the file and the registry, never the credential', () => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from(TOKEN).toString('base64') } } }));
    expect(refusal(from(file)).message).toMatch(/pull secret "ci-pull": .*config\.json: the "auth" field of "ghcr\.io" does not decode to "username:password".*Fix: set auth/);
    fs.writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { username: 1, password: TOKEN } } }));
    expect(refusal(from(file)).message).toMatch(/"username" of "ghcr\.io" must be a string, got number/);
  });
});

test('through the cdk8s face: refused at synthesis under the construct path, nothing written', () => {
  const app = new App({ outdir: Testing.app().outdir });
  const chart = new Chart(app, 'shop');
  new RegistryPullSecret(chart, 'ghcr', { source: { type: 'external', name: 'ghcr-pull', registries: ['ghcr.io'], secretStore: { name: 'vault' }, remote: { key: '' } } });
  expect(() => app.synth()).toThrow(/shop\/ghcr.*RegistryPullSecret: remote key needs a key naming the secret in the store/s);
  expect(fs.readdirSync(app.outdir).filter((f) => f.endsWith('.yaml'))).toEqual([]);
});
