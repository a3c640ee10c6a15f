/**
 * Hostile registries on 127.0.0.1 for transport and auth attacks: one whose 401 advertises a
 * token realm of the test's choosing (and whose token endpoint answers a token of its choosing),
 * and an HTTP/2 one whose manifest streams end without a response header.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as http2 from 'http2';
import * as os from 'os';
import * as path from 'path';
import { makeServerCertificate } from './registry';

/** Options of {@link startRealmRegistry}. */
export interface RealmRegistryOptions {
  /** The realm the challenge names, given the server's own `http://127.0.0.1:<port>`. */
  readonly realm: (origin: string) => string;
  /** The token its `/token` endpoint answers. @default "token" */
  readonly token?: string;
}

/** A running realm registry. */
export interface RealmRegistry {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** Requests to `/token` it answered. */
  tokenRequests: number;
  stop(): Promise<void>;
}

/** A registry that asks for a bearer token from `options.realm` and refuses every request (401) with that challenge. */
export async function startRealmRegistry(options: RealmRegistryOptions): Promise<RealmRegistry> {
  let origin = '';
  const state = { tokenRequests: 0 };
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/token')) {
      state.tokenRequests++;
      const body = JSON.stringify({ token: options.token ?? 'token', expires_in: 300 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    res.writeHead(401, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'WWW-Authenticate': `Bearer realm="${options.realm(origin)}",service="hostile"` });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  origin = `http://127.0.0.1:${port}`;
  return Object.assign(state, {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A running HTTP/2 registry whose answers carry no response header. */
export interface HeaderlessHttp2 {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** PEM path of the CA that signed its certificate. */
  readonly caFile: string;
  /** Manifest streams it ended. */
  manifestStreams: number;
  stop(): Promise<void>;
}

/**
 * An HTTP/2 registry (TLS, `h2`) that answers `/v2/` and ends every other stream with
 * RST_STREAM NO_ERROR before any response header (after an informational 103 when `informational`).
 */
export async function startHeaderlessHttp2(options: { informational?: boolean } = {}): Promise<HeaderlessHttp2> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-h2bare-'));
  const caFile = makeServerCertificate(dir);
  const state = { manifestStreams: 0 };
  const server = http2.createSecureServer({ key: fs.readFileSync(path.join(dir, 'server.key')), cert: fs.readFileSync(path.join(dir, 'server.pem')) });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/v2/') {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end('{}');
      return;
    }
    state.manifestStreams++;
    if (options.informational) stream.additionalHeaders({ ':status': 103 });
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
  server.on('sessionError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return Object.assign(state, {
    host: `127.0.0.1:${port}`,
    caFile,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  });
}
