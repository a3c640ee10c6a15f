/**
 * Issue #13 items 1–6: a hostile registry (a real HTTP server on 127.0.0.1 answering what the
 * test scripts) and the developer's own credentials reaching only their host.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { DockerConfigCredentials, RegistryClient, RegistryError } from '../../lib/registry';
import { registryFailure as failure } from '../support/registry-http';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const FAST = { timeoutMs: 2000, backoffMs: 1, maxBackoffMs: 2, retries: 0 };

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** A registry that answers `/v2/` anonymously and every other path with `answer(req)`. */
async function hostileRegistry(answer: (req: http.IncomingMessage) => Answer): Promise<{ host: string; seen: http.IncomingHttpHeaders[]; paths: string[]; close(): Promise<void> }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    paths.push(`${req.method} ${req.url}`);
    if (req.url === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const a = answer(req);
    const body = Buffer.from(a.body ?? '');
    res.writeHead(a.status ?? 200, { 'Content-Length': String(body.length), ...a.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { host: `127.0.0.1:${port}`, seen, paths, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const digestOf = (body: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
const validIndex = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] });

describe('item 1: credential helpers are asked for the exact host only', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-creds-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('credHelpers by exact host key, credsStore asked for the host itself, and never for another host', async () => {
    const log = path.join(dir, 'helper.log');
    const helper = path.join(dir, 'docker-credential-fake');
    fs.writeFileSync(helper, `#!/bin/sh\nread url\necho "$0 $url" >> ${log}\necho '{"Username":"u","Secret":"s"}'\n`, { mode: 0o755 });
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ credHelpers: { 'ghcr.io': 'fake' } }));
    const env = { PATH: `${dir}:${process.env.PATH}` };
    const helpers = DockerConfigCredentials.fromFile(file, false, env);
    expect((await helpers.credentialsFor('ghcr.io/a/b', 'ghcr.io')).map((c) => c.username)).toEqual(['u']);
    expect(await helpers.credentialsFor('ghcr.io.evil.example/a', 'ghcr.io.evil.example')).toEqual([]);
    fs.writeFileSync(file, JSON.stringify({ credsStore: 'fake' }));
    const store = DockerConfigCredentials.fromFile(file, false, env);
    await store.credentialsFor('localhost/tools/app', 'localhost');
    await store.credentialsFor('docker.io/library/nginx', 'docker.io');
    const asked = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]);
    expect(asked).toEqual(['ghcr.io', 'localhost', 'https://index.docker.io/v1/']);
  });
});

describe('items 2, 4–6: a hostile registry', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const start = async (answer: (req: http.IncomingMessage) => Answer) => {
    const s = await hostileRegistry(answer);
    servers.push(s);
    return s;
  };

  test('item 2: an error body echoing the Authorization header, escape sequences and CR/LF is sanitized and capped', async () => {
    const message = `denied for Authorization: Basic dXNlcjpodW50ZXIy\r\n\u001b[32m✔ all images locked\u001b[0m Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl ${'x'.repeat(5000)}`;
    const s = await start((req) => req.method === 'HEAD' ? { headers: { 'Content-Type': INDEX } } : ({ status: 403, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'DENIED\u001b[2J', message }] }) }));
    const client = new RegistryClient(FAST);
    const err = await failure(client.resolve(`${s.host}/app:1`));
    client.close();
    expect(err.kind).toBe('forbidden');
    expect(err.message).not.toMatch(/dXNlcjpodW50ZXIy|eyJhbGci|c2lnbmF0dXJl/);
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\u0000-\u001f]/);
    expect(err.message).toContain('[redacted]');
    expect(err.message.length).toBeLessThan(600);
  });

  test('item 4: kubepin asks for identity and refuses a gzip-encoded manifest body when HEAD has no digest', async () => {
    const body = validIndex;
    const s = await start((req): Answer => (req.method === 'HEAD' ? { headers: { 'Content-Type': INDEX } } : { headers: { 'Content-Type': INDEX, 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(body) }));
    const client = new RegistryClient(FAST);
    const err = await failure(client.resolve(`${s.host}/app:1`));
    client.close();
    expect(err.kind).toBe('bad-response');
    expect(err.message).toMatch(/Content-Encoding "gzip"/);
    expect(s.seen.filter((h) => h['accept-encoding'] !== undefined).every((h) => h['accept-encoding'] === 'identity')).toBe(true);
    expect(s.seen.some((h) => h['accept-encoding'] === 'identity')).toBe(true);
  });

  test.each([
    ['not JSON at all', '<html>maintenance</html>'],
    ['a JSON array', '[1,2]'],
    ['an index without schemaVersion', JSON.stringify({ mediaType: INDEX, manifests: [] })],
    ['an index whose mediaType field says otherwise', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', manifests: [] })],
    ['an index without manifests', JSON.stringify({ schemaVersion: 2, mediaType: INDEX })],
  ])('item 5: a GET body served as an index that is %s is not locked', async (_what, body) => {
    const s = await start((req) => (req.method === 'HEAD' ? { headers: { 'Content-Type': INDEX } } : { headers: { 'Content-Type': INDEX }, body }));
    const client = new RegistryClient(FAST);
    const err = await failure(client.resolve(`${s.host}/app:1`));
    client.close();
    expect(err.kind).toBe('bad-response');
    expect(err.message).toMatch(/refusing to record its hash/);
  });

  test('item 5 (control): a well-formed index body is locked under the hash of its bytes', async () => {
    const s = await start((req) => (req.method === 'HEAD' ? { headers: { 'Content-Type': INDEX } } : { headers: { 'Content-Type': INDEX }, body: validIndex }));
    const client = new RegistryClient(FAST);
    const resolved = await client.resolve(`${s.host}/app:1`);
    client.close();
    expect(resolved.digest).toBe(digestOf(validIndex));
  });

  test('item 6: a reference with an empty registry (a_b.c/x:1) is refused before any request', async () => {
    const client = new RegistryClient(FAST);
    const err = await failure(client.resolve('a_b.c/x:1'));
    client.close();
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.kind).toBe('invalid-reference');
    expect(err.message).toMatch(/no registry host/);
    expect(client.stats.requests).toBe(0);
  });
});
