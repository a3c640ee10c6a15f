import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { KeyringCredentials, RegistryClient, RegistryClientOptions, RegistryError } from '../../lib/registry';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { pushImage, PushedImage, sha256, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { registryFailure as failure } from '../support/registry-http';

const MANIFEST = /\/manifests\//;
const FAST_BASE: RegistryClientOptions = { timeoutMs: 1000, backoffMs: 5, maxBackoffMs: 20, retries: 3 };

// The same faults over HTTP/1.1 (plain proxy) and over HTTP/2 streams (TLS proxy offering h2).
describe.each([
  ['HTTP/1.1', false],
  ['HTTP/2', true],
])('registry faults over %s, through a fault-injecting proxy', (_protocol, tls) => {
  let registry: TestRegistryDetails;
  let proxy: FaultProxy;
  let image: PushedImage;
  let ref: string;
  let client: RegistryClient;
  let FAST: RegistryClientOptions;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host, { tls });
    FAST = { ...FAST_BASE, ...(proxy.caFile ? { ca: fs.readFileSync(proxy.caFile) } : {}) };
    image = await pushImage(registry, 'faults/app', '1.0');
    ref = `${proxy.host}/faults/app:1.0`;
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    proxy.reset();
    client = new RegistryClient(FAST);
  });
  afterEach(() => {
    client.close();
  });
  const manifestRequests = (): string[] => proxy.log.filter((r) => MANIFEST.test(r.path)).map((r) => `${r.method}${r.fault ? ` ${r.fault}` : ''}`);

  test('500s, then success: the right digest after bounded retries', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, times: 2, fault: { kind: 'status', status: 500 } });
    const r = await client.resolve(ref);
    expect(r.digest).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD status', 'HEAD status', 'HEAD']);
    expect(client.stats.retries).toBe(2);
    expect(proxy.log.every((r) => r.httpVersion === (tls ? '2.0' : '1.1'))).toBe(true);
  });

  test('500s forever: a clear server error after retries + one GET try, never a digest', async () => {
    proxy.add({ path: MANIFEST, times: Infinity, fault: { kind: 'status', status: 503 } });
    const e = await failure(client.resolve(ref));
    expect(e.kind).toBe('server-error');
    expect(e.message).toContain('503');
    expect(manifestRequests()).toHaveLength(2 * (FAST.retries! + 1));
  });

  test('429 with Retry-After is honoured', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } } });
    const r = await client.resolve(ref);
    expect(r.digest).toBe(image.digest);
    const [first, second] = proxy.log.filter((x) => MANIFEST.test(x.path));
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  test('429 with a Retry-After beyond the cap fails at once as rate-limited', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '3600' } } });
    const e = await failure(client.resolve(ref));
    expect(e.kind).toBe('rate-limited');
    expect(e.message).toContain('Retry-After 3600');
    expect(manifestRequests()).toEqual(['HEAD status']);
  });

  test('a connection reset mid-body is retried and the body verified', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, times: Infinity, fault: { kind: 'drop-digest' } });
    proxy.add({ method: 'GET', path: MANIFEST, fault: { kind: 'reset-mid-body' } });
    const r = await client.resolve(ref);
    expect(r.digest).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD drop-digest', 'GET reset-mid-body', 'GET']);
  });

  test('a stall past the timeout is retried; a permanent stall is a clear timeout error', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'stall' } });
    expect((await client.resolve(ref)).digest).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD stall', 'HEAD']);
    proxy.reset();
    const other = new RegistryClient({ ...FAST, retries: 1 });
    try {
      proxy.add({ path: MANIFEST, times: Infinity, fault: { kind: 'stall' } });
      const e = await failure(other.resolve(ref));
      expect(e.kind).toBe('timeout');
      expect(e.message).toContain('1000 ms');
      expect(manifestRequests()).toHaveLength(4); // 2 HEADs, then 2 GETs: bounded
    } finally {
      other.close();
    }
  });

  test('a host that keeps timing out is taken for down: the remaining images fail at once, not each after its own timeouts', async () => {
    const stalled = new RegistryClient({ ...FAST, retries: 1, concurrency: 2, maxConsecutiveTimeouts: 3 });
    try {
      proxy.add({ path: MANIFEST, times: Infinity, fault: { kind: 'stall' } });
      const refs = Array.from({ length: 8 }, (_, i) => `${proxy.host}/faults/app:${i}`);
      const errors = await Promise.all(refs.map((r) => failure(stalled.resolve(r))));
      expect(errors.every((e) => e.kind === 'timeout')).toBe(true);
      // Without the streak limit: 8 images × (2 HEADs + 2 GETs) = 32 stalled requests.
      expect(manifestRequests().length).toBeLessThanOrEqual(8);
      expect(errors.filter((e) => /skipped: \d+ requests to .* in a row timed out/.test(e.message)).length).toBeGreaterThanOrEqual(5);
      // The streak lasts for the client's run; a new run (a new client) tries the host again.
      proxy.reset();
      expect((await failure(stalled.resolve(ref))).message).toMatch(/skipped/);
      expect((await client.resolve(ref)).digest).toBe(image.digest);
    } finally {
      stalled.close();
    }
  });

  test('a wrong Docker-Content-Digest on the body is refused', async () => {
    const wrong = sha256('not the manifest');
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'drop-digest' } });
    proxy.add({ method: 'GET', path: MANIFEST, fault: { kind: 'rewrite-digest', digest: wrong } });
    const e = await failure(client.resolve(ref));
    expect(e.kind).toBe('digest-mismatch');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(image.digest);
  });

  test('a malformed digest header on HEAD falls back to GET and hashes the bytes', async () => {
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'rewrite-digest', digest: 'sha256:NOT-HEX' } });
    const r = await client.resolve(ref);
    expect(r.digest).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD rewrite-digest', 'GET']);
  });

  test('no digest header at all: GET and sha256 of the raw bytes', async () => {
    proxy.add({ path: MANIFEST, times: Infinity, fault: { kind: 'drop-digest' } });
    const r = await client.resolve(ref);
    expect(r.digest).toBe(image.digest);
    expect(r.mediaType).toBe(image.mediaType);
  });

  test('an oversized body is refused, with or without Content-Length', async () => {
    const small = new RegistryClient({ ...FAST, maxManifestBytes: 1024 * 1024 });
    try {
      proxy.add({ method: 'HEAD', path: MANIFEST, times: 2, fault: { kind: 'drop-digest' } });
      proxy.add({ method: 'GET', path: MANIFEST, fault: { kind: 'oversize', bytes: 50 * 1024 * 1024 } });
      const e1 = await failure(small.resolve(ref));
      expect(e1.kind).toBe('too-large');
      proxy.add({ method: 'GET', path: MANIFEST, fault: { kind: 'oversize', bytes: 50 * 1024 * 1024, chunked: true } });
      const e2 = await failure(small.resolve(`${proxy.host}/faults/app:1.0`));
      expect(e2.kind).toBe('too-large');
      expect(e2.message).toContain('1048576-byte limit');
      // Neither was retried: an oversized manifest is not a transient failure.
      expect(manifestRequests()).toEqual(['HEAD drop-digest', 'GET oversize', 'HEAD drop-digest', 'GET oversize']);
    } finally {
      small.close();
    }
  });
});

const FAST = FAST_BASE;

describe('redirects never carry credentials to another host', () => {
  let registry: TestRegistryDetails;
  let front: FaultProxy;
  let foreign: FaultProxy;
  let image: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    front = await startFaultProxy(registry.host);
    foreign = await startFaultProxy(registry.host);
    image = await pushImage(registry, 'private/app', '1.0');
  });
  afterAll(async () => {
    await front?.stop();
    await foreign?.stop();
    await registry?.stop();
  });

  test('the redirect is followed without the Authorization header; the registry behind then refuses', async () => {
    const keyring = new CredentialKeyring().add('ci-secret', { auths: { [front.host]: { username: registry.username!, password: registry.password! } } });
    const direct = new RegistryClient({ ...FAST, credentials: new KeyringCredentials(keyring) });
    const redirected = new RegistryClient({ ...FAST, credentials: new KeyringCredentials(keyring) });
    try {
      // Without the redirect the credential works.
      expect((await direct.resolve(`${front.host}/private/app:1.0`)).digest).toBe(image.digest);
      front.reset();
      front.add({ path: MANIFEST, times: Infinity, fault: { kind: 'redirect', location: `http://${foreign.host}/v2/private/app/manifests/1.0` } });
      const e = await failure(redirected.resolve(`${front.host}/private/app:1.0`));
      expect(e.kind).toBe('unauthorized');
      expect(e.message).not.toContain(registry.password!);
      const toFront = front.log.filter((r) => MANIFEST.test(r.path));
      expect(toFront.length).toBeGreaterThan(0);
      expect(toFront.every((r) => r.authorization)).toBe(true);
      expect(foreign.log.filter((r) => MANIFEST.test(r.path)).length).toBeGreaterThan(0);
      expect(foreign.log.some((r) => r.authorization)).toBe(false);
    } finally {
      direct.close();
      redirected.close();
    }
  });

  test('a redirect to a plain-HTTP remote host is refused', async () => {
    const client = new RegistryClient(FAST);
    try {
      front.reset();
      front.add({ path: MANIFEST, times: Infinity, fault: { kind: 'redirect', location: 'http://storage.example.com/blob' } });
      const e = await failure(client.resolve(`${front.host}/private/app:1.0`));
      expect(e.kind).toBe('redirect');
      expect(e.message).toContain('http://storage.example.com');
    } finally {
      client.close();
    }
  });
});

describe('the lock file under faults', () => {
  let registry: TestRegistryDetails;
  let proxy: FaultProxy;
  let dir: string;
  const pushed: PushedImage[] = [];
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    for (const name of ['a', 'b', 'c']) pushed.push(await pushImage(registry, `lock/${name}`, '1'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject();
    proxy.reset();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a failing image never lands in the lock and never empties it', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', ['a', 'b', 'c'].map((n) => `${proxy.host}/lock/${n}:1`)) });
    const first = await runKubepin(['lock', '--timeout', '2', '--retries', '1'], { cwd: dir });
    expect(first.code).toBe(0);
    const good = fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8');
    // Every request for lock/b now lies about the digest or fails; a and c must keep their entries.
    proxy.add({ method: 'HEAD', path: /lock\/b\/manifests/, times: Infinity, fault: { kind: 'drop-digest' } });
    proxy.add({ method: 'GET', path: /lock\/b\/manifests/, times: Infinity, fault: { kind: 'rewrite-digest', digest: sha256('evil') } });
    const update = await runKubepin(['lock', '--update', '--json', '--timeout', '2', '--retries', '1'], { cwd: dir });
    expect(update.code).toBe(1);
    const out = JSON.parse(update.stdout);
    expect(out.failed.map((f: { kind: string }) => f.kind)).toEqual(['digest-mismatch']);
    expect(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).toBe(good);
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    expect(lock.list().map((e) => e.digest)).toEqual(pushed.map((p) => p.digest));
  });

  test('killing the process during saves leaves the old or the new lock, never a torn one', async () => {
    const file = path.join(dir, 'kubepin.lock.json');
    // Two large, different locks the child saves alternately until it is killed.
    const child = fork(
      path.join(__dirname, '..', 'support', 'registry-save-loop.ts'),
      [file],
      { execArgv: ['-r', path.join(__dirname, '..', '..', 'scripts', 'ts-register.js')], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    const texts = await new Promise<[string, string]>((resolve, reject) => {
      child.once('message', (m) => resolve(m as [string, string]));
      child.once('exit', (code) => reject(new Error(`save loop exited early (${code})`)));
    });
    for (let round = 0; round < 8; round++) {
      await new Promise((r) => setTimeout(r, 15 + Math.floor(Math.random() * 30)));
      const content = fs.readFileSync(file, 'utf8');
      expect(content === texts[0] || content === texts[1]).toBe(true);
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const final = fs.readFileSync(file, 'utf8');
    expect(final === texts[0] || final === texts[1]).toBe(true);
    expect(ImageLock.load(file).size).toBe(2000);
  });
});
