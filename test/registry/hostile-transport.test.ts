/**
 * Issue #24 items 1, 2 and 9: a hostile token realm, HTTP/2 server push, a token no header can
 * carry and HTTP/2 streams without a response header. Each costs its own registry's images,
 * with a clear message, never the other images' work, never a stack, never a hang: proved with
 * `kubepin lock` as a real child process next to a healthy real docker-registry. The hostile
 * servers are started once and shared by every test.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { RegistryClient } from '../../lib/registry';
import { Transport, TransportError } from '../../lib/registry/transport';
import { runKubepinProcess } from '../support/cli-process';
import { startPushingHttp2, PushingHttp2 } from '../support/h2-push-server';
import { HeaderlessHttp2, RealmRegistry, startHeaderlessHttp2, startRealmRegistry } from '../support/hostile-servers';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, tempProject, writeFiles } from '../support/registry-cli';
import { registryFailure as failure } from '../support/registry-http';

const FAST = { timeoutMs: 5000, backoffMs: 1, maxBackoffMs: 2, retries: 1 };
/** A Node stack frame line: what a crash prints and a clean failure never does. */
const STACK = /^\s+at .+[(:]\d+/m;

interface Failed {
  reference: string;
  kind: string;
  message: string;
}

describe('issue #24: a hostile registry costs its own images only', () => {
  let registry: TestRegistryDetails;
  let healthy: PushedImage;
  let healthyRef: string;
  let remoteHttpRealm: RealmRegistry;
  let notUrlRealm: RealmRegistry;
  let crlfToken: RealmRegistry;
  let nonLatin1Token: RealmRegistry;
  let pushing: PushingHttp2;
  let headerless: HeaderlessHttp2;
  let informational: HeaderlessHttp2;
  let dir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    healthy = await pushImage(registry, 'team/healthy', '1');
    healthyRef = `${registry.host}/team/healthy:1`;
    remoteHttpRealm = await startRealmRegistry({ realm: () => 'http://registry.example.com/token' });
    notUrlRealm = await startRealmRegistry({ realm: () => 'not a url' });
    crlfToken = await startRealmRegistry({ realm: (origin) => `${origin}/token`, token: 'abc\r\nX-Injected: 1' });
    nonLatin1Token = await startRealmRegistry({ realm: (origin) => `${origin}/token`, token: 't\u00f6k\u20acn' });
    pushing = await startPushingHttp2({ pushes: 100 });
    headerless = await startHeaderlessHttp2();
    informational = await startHeaderlessHttp2({ informational: true });
  }, 60000);

  afterAll(async () => {
    for (const s of [remoteHttpRealm, notUrlRealm, crlfToken, nonLatin1Token, pushing, headerless, informational]) await s?.stop();
    await registry?.stop();
  });

  beforeEach(() => {
    dir = tempProject('kubepin-hostile-');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `kubepin lock --json` of one Deployment holding `images` (the healthy one first). */
  async function lock(images: string[], flags: string[] = []): Promise<{ failed: Failed[]; stderr: string; code: number | null; signal: string | null }> {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [healthyRef, ...images]) });
    const run = await runKubepinProcess(['lock', '--json', '--no-docker-login', '--retries', '1', ...flags], { cwd: dir, killAfterMs: 30000 });
    expect(run.signal).toBeNull();
    expect(run.stderr).not.toMatch(STACK);
    expect(run.stderr).not.toMatch(/internal error|Unhandled|UnhandledPromiseRejection/);
    // The healthy image is locked and written, whatever the others did.
    expect(ImageLock.load(path.join(dir, 'kubepin.lock.json')).list().map((e) => e.digest)).toEqual([healthy.digest]);
    const out = JSON.parse(run.stdout) as { failed: Failed[] };
    return { failed: out.failed, stderr: run.stderr, code: run.code, signal: run.signal };
  }

  test('item 1: a realm that is plain HTTP to a remote host, or not a URL, fails its registry\'s images (insecure, bad-response) and the rest are locked, no stack', async () => {
    const remote = `${remoteHttpRealm.host}/team/app:1`;
    const notUrl = `${notUrlRealm.host}/team/app:1`;
    const run = await lock([remote, notUrl, `${remoteHttpRealm.host}/team/other:2`]);
    expect(run.code).toBe(1);
    const byRef = Object.fromEntries(run.failed.map((f) => [f.reference, f]));
    expect(byRef[remote].kind).toBe('insecure');
    expect(byRef[remote].message).toMatch(/asks for tokens from http:\/\/registry\.example\.com; credentials are only sent over HTTPS.*Fix: /);
    expect(byRef[`${remoteHttpRealm.host}/team/other:2`].kind).toBe('insecure');
    expect(byRef[notUrl].kind).toBe('bad-response');
    expect(byRef[notUrl].message).toMatch(/named a token realm that is not a URL\. Fix: /);
  }, 60000);

  test('item 1: a realm naming a remote host over plain HTTP is refused before any token request', async () => {
    const client = new RegistryClient(FAST);
    try {
      const errors = await Promise.all(['a', 'b', 'c'].map((name) => failure(client.resolve(`${remoteHttpRealm.host}/team/${name}:1`))));
      expect(errors.map((e) => e.kind)).toEqual(['insecure', 'insecure', 'insecure']);
      // Each image is told in its own name.
      errors.forEach((e, i) => expect(e.message.startsWith(`${remoteHttpRealm.host}/team/${'abc'[i]}:1: `)).toBe(true));
      expect(client.stats.tokenRequests).toBe(0);
    } finally {
      client.close();
    }
  });

  test('item 2: an HTTP/2 server that pushes regardless (100 streams, each body longer than its content-length) fails its image, the process lives and the rest are locked', async () => {
    const pushed = `${pushing.host}/team/app:1`;
    const run = await lock([pushed], ['--ca-file', pushing.caFile]);
    expect(run.code).toBe(1);
    expect(run.failed).toHaveLength(1);
    expect(run.failed[0]).toMatchObject({ reference: pushed, kind: 'network' });
    expect(run.failed[0].message).toMatch(/the server broke the HTTP\/2 connection \(ERR_HTTP2_ERROR: Protocol error\)/);
    // The client refused push in its SETTINGS on every connection, and the server pushed anyway.
    expect(pushing.enablePush.length).toBeGreaterThan(0);
    expect(pushing.enablePush.every((v) => v === 0)).toBe(true);
    expect(pushing.requests).toBeGreaterThan(0);
  }, 60000);

  test('item 2: a retry after the pushing server broke the connection opens a new one, never reusing the destroyed session', async () => {
    const client = new RegistryClient({ ...FAST, ca: fs.readFileSync(pushing.caFile) });
    const connections = pushing.enablePush.length;
    try {
      const e = await failure(client.resolve(`${pushing.host}/team/app:1`));
      expect(e.kind).toBe('network');
      expect(e.message).not.toMatch(/INVALID_SESSION|destroyed/);
      // The ping and its one retry, each on its own connection.
      expect(pushing.enablePush.length - connections).toBe(2);
    } finally {
      client.close();
    }
  });

  test.each([
    ['CR/LF', () => crlfToken],
    ['non-Latin-1 characters', () => nonLatin1Token],
  ])('item 9: a bearer token with %s fails its image at once: with a 60 s request timeout the process still exits, no timer left behind', async (_what, server) => {
    const ref = `${server().host}/team/app:1`;
    const run = await lock([ref], ['--timeout', '60']);
    expect(run.code).toBe(1);
    expect(run.failed).toEqual([expect.objectContaining({ reference: ref, kind: 'bad-response' })]);
    expect(run.failed[0].message).toMatch(/answered a token with characters no HTTP header can carry/);
    expect(run.failed[0].message).not.toMatch(/abc|X-Injected|\u20ac/);
  }, 40000);

  test('item 9: a header Node refuses to send fails the request and clears its timer (no active timeout left)', async () => {
    const transport = new Transport({ timeoutMs: 60000 });
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    try {
      const error = await transport.request(new URL(`http://${registry.host}/v2/`), 'GET', { Authorization: 'Bearer a\r\nb' }, 1024).then(() => undefined, (e: unknown) => e);
      expect(timeouts()).toBe(before);
      expect(error).toBeInstanceOf(TransportError);
      expect((error as TransportError).message).toMatch(/ERR_INVALID_CHAR/);
    } finally {
      transport.close();
    }
  });

  test.each([
    ['RST_STREAM NO_ERROR before any header', () => headerless],
    ['only an informational 103, then RST_STREAM NO_ERROR', () => informational],
  ])('item 9: an HTTP/2 stream that ends with %s is a transport error, not "answered HTTP 0"', async (_what, server) => {
    const client = new RegistryClient({ ...FAST, ca: fs.readFileSync(server().caFile) });
    try {
      const e = await failure(client.resolve(`${server().host}/team/app:1`));
      expect(e.kind).toBe('network');
      expect(e.message).toMatch(/the HTTP\/2 stream ended without a response header/);
      expect(e.message).not.toMatch(/HTTP 0/);
      expect(server().manifestStreams).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});
