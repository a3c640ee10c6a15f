/**
 * A fault-injecting HTTP proxy on 127.0.0.1 between a client and a test registry: requests
 * are forwarded unchanged unless a rule matches, in which case the rule's fault happens
 * instead (or to the forwarded answer). Rules are consumed in order, each `times` times.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as http2 from 'http2';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { makeServerCertificate } from './registry';

/** What goes wrong. */
export type Fault =
  /** Answer with this status (and headers/body) without asking the registry. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, send the headers and half of the body, then destroy the connection. */
  | { kind: 'reset-mid-body' }
  /** Destroy the connection without answering. */
  | { kind: 'reset' }
  /** Accept the request and never answer (the connection is closed when the proxy stops). */
  | { kind: 'stall' }
  /** Forward, but replace `Docker-Content-Digest` with this value. */
  | { kind: 'rewrite-digest'; digest: string }
  /** Forward, but drop `Docker-Content-Digest`. */
  | { kind: 'drop-digest' }
  /** Answer 200 with a body of this many bytes (with or without Content-Length). */
  | { kind: 'oversize'; bytes: number; chunked?: boolean }
  /** Answer 307 to this URL. */
  | { kind: 'redirect'; location: string };

/** When a fault applies. */
export interface FaultRule {
  /** HTTP method to match. @default any */
  method?: string;
  /** Path pattern to match. @default any */
  path?: RegExp;
  /** How many matching requests it applies to. @default 1 */
  times?: number;
  fault: Fault;
}

/** One request the proxy saw. */
export interface ProxyRecord {
  readonly method: string;
  readonly path: string;
  /** Milliseconds since the proxy started. */
  readonly at: number;
  /** The fault applied, if any. */
  readonly fault?: Fault['kind'];
  /** Whether an Authorization header came with it (never its value). */
  readonly authorization: boolean;
  /** `1.1` or `2.0`. */
  readonly httpVersion: string;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** PEM path of the CA that signed the proxy's certificate, when it serves TLS. */
  readonly caFile?: string;
  /** `127.0.0.1:<port>`: use it as the registry host in image references. */
  readonly host: string;
  /** Requests seen, in order. */
  readonly log: ProxyRecord[];
  /** Adds a rule (after the existing ones). */
  add(rule: FaultRule): void;
  /** Drops all rules and the log. */
  reset(): void;
  stop(): Promise<void>;
}

/** Connection-specific headers HTTP/2 forbids. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

/**
 * Starts a proxy forwarding to `target` (`127.0.0.1:<port>`, plain HTTP). With `tls`, the
 * proxy serves HTTPS offering `h2` and `http/1.1` by ALPN (a throw-away CA in `caFile`), so
 * the same faults happen to HTTP/2 streams: a reset is an RST_STREAM of the one request.
 */
export async function startFaultProxy(target: string, options: { tls?: boolean } = {}): Promise<FaultProxy> {
  const [targetHost, targetPort] = target.split(':');
  const agent = new http.Agent({ keepAlive: true });
  const rules: Array<FaultRule & { left: number }> = [];
  const log: ProxyRecord[] = [];
  const started = Date.now();
  const sockets = new Set<net.Socket>();

  let certDir: string | undefined;
  let caFile: string | undefined;
  /** Ends the request's connection (HTTP/1.1) or just its stream (HTTP/2). */
  const reset = (req: http.IncomingMessage | http2.Http2ServerRequest): void => {
    if ('stream' in req && req.stream) req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else req.socket.destroy();
  };
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, answer: http.ServerResponse | http2.Http2ServerResponse): void => {
    // The HTTP/2 compatibility response has the same methods used here.
    const res = answer as http.ServerResponse;
    const isHttp2 = 'stream' in req && req.stream !== undefined;
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const index = rules.findIndex((r) => r.left > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)));
    const rule = index === -1 ? undefined : rules[index];
    if (rule) rule.left--;
    const fault = rule?.fault;
    log.push({ method, path, at: Date.now() - started, fault: fault?.kind, authorization: req.headers.authorization !== undefined, httpVersion: req.httpVersion });

    switch (fault?.kind) {
      case 'status': {
        const body = fault.body ?? '';
        res.writeHead(fault.status, { 'Content-Length': Buffer.byteLength(body), ...(fault.headers ?? {}) });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      case 'reset':
        reset(req);
        return;
      case 'stall':
        return;
      case 'redirect':
        res.writeHead(307, { Location: fault.location, 'Content-Length': 0 });
        res.end();
        return;
      case 'oversize': {
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        res.writeHead(200, {
          'Content-Type': 'application/vnd.oci.image.index.v1+json',
          ...(fault.chunked ? {} : { 'Content-Length': String(fault.bytes) }),
        });
        if (method === 'HEAD') return void res.end();
        let left = fault.bytes;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      default:
        break;
    }

    const forwarded = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')));
    const upstream = http.request(
      { host: targetHost, port: Number(targetPort), method, path, headers: { ...forwarded, host: target }, agent },
      (up) => {
        const headers = { ...up.headers };
        if (isHttp2) for (const h of HOP_BY_HOP) delete headers[h];
        if (fault?.kind === 'rewrite-digest') headers['docker-content-digest'] = fault.digest;
        if (fault?.kind === 'drop-digest') delete headers['docker-content-digest'];
        if (fault?.kind === 'reset-mid-body') {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            const body = Buffer.concat(chunks);
            res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
            res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => reset(req), 10));
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };
  let server: net.Server;
  if (options.tls) {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-fault-proxy-'));
    caFile = makeServerCertificate(certDir);
    server = http2.createSecureServer(
      { cert: fs.readFileSync(path.join(certDir, 'server.pem')), key: fs.readFileSync(path.join(certDir, 'server.key')), allowHTTP1: true },
      handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    );
  } else {
    server = http.createServer(handler);
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    caFile,
    log,
    add(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    reset() {
      rules.length = 0;
      log.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => {
          if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
