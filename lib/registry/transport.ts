import * as http from 'http';
import type * as httpsTypes from 'https';
import { RegistryError } from '../core/findings/registry-error';
import { KubepinError } from '../util/errors';
import { Http2Sessions } from './http2-sessions';
import type { HttpAnswer } from './http-answer';

// https (and tls with it) is loaded on first use: a run against loopback plain-HTTP registries never needs it.
let httpsModule: typeof httpsTypes | undefined;
function https(): typeof httpsTypes {
  return (httpsModule ??= require('https') as typeof httpsTypes);
}

export type { HttpAnswer } from './http-answer';

/** Options of {@link Transport}. */
export interface TransportOptions {
  /** Extra CA certificates (PEM) trusted on top of the system ones. @default none */
  readonly ca?: string | Buffer;
  /** Sockets kept per host. @default 16 */
  readonly maxSockets?: number;
  /** Milliseconds one request (connect to last byte) may take. @default 10000 */
  readonly timeoutMs?: number;
  /** Hosts whose TLS certificates are not verified (the user's insecure registries). @default none */
  readonly skipVerifyHosts?: readonly string[];
  /** Use HTTP/2 with HTTPS origins that offer it (ALPN `h2`). @default true */
  readonly http2?: boolean;
}

/** A transport-level failure: a reset, a timeout, a TLS error, a refused connection. */
export class TransportError extends KubepinError {
  constructor(
    public readonly code: 'reset' | 'timeout' | 'tls' | 'not-tls' | 'refused' | 'too-large' | 'other',
    message: string,
  ) {
    super(message);
  }
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/;

/**
 * HTTP/1.1 with keep-alive agents (one for http, one for https), so a warm client sends one
 * request per manifest over reused connections. Node's global `fetch` closes the connection
 * after every HEAD, which costs a TCP (and TLS) handshake per image.
 */
export class Transport {
  private readonly httpAgent: http.Agent;
  private httpsAgentCache?: httpsTypes.Agent;
  private insecureAgentCache?: httpsTypes.Agent;
  private readonly agentOptions: http.AgentOptions;
  private readonly ca?: string | Buffer;
  private secureContextCache?: import('tls').SecureContext;
  private readonly timeoutMs: number;
  private readonly skipVerify: Set<string>;
  private readonly http2?: Http2Sessions;
  /** Requests sent, for statistics. */
  public requests = 0;

  constructor(options: TransportOptions = {}) {
    const maxSockets = options.maxSockets ?? 16;
    const common = { keepAlive: true, keepAliveMsecs: 10000, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const };
    this.httpAgent = new http.Agent(common);
    this.agentOptions = common;
    this.ca = options.ca;
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.skipVerify = new Set(options.skipVerifyHosts ?? []);
    if (options.http2 !== false) {
      this.http2 = new Http2Sessions({
        tlsOptions: (host) => (this.skipVerify.has(host) ? { rejectUnauthorized: false } : this.ca ? { secureContext: this.secureContext() } : {}),
        classify: (e) => (e instanceof TransportError ? e : classify(e)),
      });
    }
  }

  /**
   * Sends one request; never follows redirects. A body longer than `maxBytes` aborts the
   * request with a `too-large` TransportError (Content-Length is checked before reading).
   */
  public request(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, maxBytes: number): Promise<HttpAnswer> {
    this.requests++;
    const isHttps = url.protocol === 'https:';
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      let cancel = (): void => undefined;
      const fail = (e: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cancel();
        reject(e);
      };
      const done = (answer: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      // One deadline for connecting (TLS and ALPN included) and the whole answer.
      const timer = setTimeout(() => fail(new TransportError('timeout', `no complete answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      const http1 = (): void => {
        try {
          cancel = this.requestHttp1(url, method, headers, maxBytes, fail, done);
        } catch (e) {
          // Node throws for a header it refuses to send (a control or non-Latin-1 character): fail now, clearing the deadline.
          fail(classify(e as Error));
        }
      };
      if (!isHttps || !this.http2) {
        http1();
        return;
      }
      this.http2.session(url).then(
        (session) => {
          if (settled) return;
          if (session) cancel = this.http2!.request(session, url, method, headers, maxBytes, (e) => fail(e as TransportError), done).cancel;
          else http1();
        },
        (e: TransportError) => fail(e),
      );
    });
  }

  /** Protocol statistics: connections opened over HTTP/2. */
  public get http2Connections(): number {
    return this.http2?.connections ?? 0;
  }

  /** Streams `origin` allows at once when it speaks HTTP/2 (known after its first request), else `undefined`. */
  public http2Streams(origin: string): Promise<number | undefined> {
    return this.http2 ? this.http2.maxStreams(origin) : Promise.resolve(undefined);
  }

  /** One HTTP/1.1 request on the keep-alive agents; returns how to abort it. */
  private requestHttp1(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, maxBytes: number, fail: (e: TransportError) => void, done: (answer: HttpAnswer) => void): () => void {
    const isHttps = url.protocol === 'https:';
    const agent = isHttps ? (this.skipVerify.has(url.host) ? this.insecureAgent() : this.httpsAgent()) : this.httpAgent;
    let finished = false;
    const failOnce = (e: TransportError): void => {
      if (finished) return;
      finished = true;
      req.destroy();
      fail(e);
    };
    const req = (isHttps ? https() : http).request(url, { method, headers, agent }, (res) => {
      const length = Number(res.headers['content-length']);
      if (method !== 'HEAD' && Number.isFinite(length) && length > maxBytes) {
        failOnce(new TransportError('too-large', `response of ${length} bytes exceeds the ${maxBytes}-byte limit`));
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          failOnce(new TransportError('too-large', `response body exceeds the ${maxBytes}-byte limit`));
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (finished) return;
        // A body shorter than its Content-Length means the connection broke mid-body.
        if (method !== 'HEAD' && Number.isFinite(length) && size !== length) {
          failOnce(new TransportError('reset', `connection closed after ${size} of ${length} bytes`));
          return;
        }
        finished = true;
        done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url });
      });
      res.on('aborted', () => failOnce(new TransportError('reset', 'connection closed mid-body')));
      res.on('error', (e) => failOnce(classify(e)));
    });
    req.on('error', (e) => failOnce(classify(e)));
    req.end();
    return () => {
      finished = true;
      req.destroy();
    };
  }

  /** Closes idle connections; the client is unusable afterwards. */
  public close(): void {
    this.httpAgent.destroy();
    this.httpsAgentCache?.destroy();
    this.insecureAgentCache?.destroy();
    this.http2?.close();
  }

  private httpsAgent(): httpsTypes.Agent {
    if (!this.httpsAgentCache) {
      this.httpsAgentCache = new (https().Agent)({ ...this.agentOptions, ...(this.ca ? { secureContext: this.secureContext() } : {}) });
    }
    return this.httpsAgentCache;
  }

  /**
   * Extra CAs are added to Node's trusted roots (bundled, plus NODE_EXTRA_CA_CERTS), not instead
   * of them. Built once per transport: passing `ca` per connection makes Node parse the ~140
   * bundled roots again for each socket (~25 ms of CPU on the development machine). Adding the
   * CAs to a default context (as `createSecureContext({ ca })` itself does, via `addCACert`)
   * starts from the process's already parsed root store (~1 ms).
   */
  private secureContext(): import('tls').SecureContext {
    if (!this.secureContextCache) {
      const tls = require('tls') as typeof import('tls');
      const context = tls.createSecureContext();
      const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
      if (typeof native?.addCACert === 'function') native.addCACert(this.ca!.toString());
      else return (this.secureContextCache = tls.createSecureContext({ ca: [...tls.rootCertificates, this.ca!.toString()] }));
      this.secureContextCache = context;
    }
    return this.secureContextCache;
  }

  private insecureAgent(): httpsTypes.Agent {
    this.insecureAgentCache ??= new (https().Agent)({ ...this.agentOptions, rejectUnauthorized: false });
    return this.insecureAgentCache;
  }
}

function classify(e: Error): TransportError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code === 'KUBEPIN_TOO_LARGE') return new TransportError('too-large', e.message);
  if (code === 'KUBEPIN_RESET') return new TransportError('reset', e.message);
  // A stream reset or a connection lost under HTTP/2 is a reset, retried like one over HTTP/1.1.
  if (code === 'ERR_HTTP2_ERROR') return new TransportError('reset', `the server broke the HTTP/2 connection (${code}: ${e.message})`);
  if (code.startsWith('ERR_HTTP2_')) return new TransportError('reset', `${code}: ${e.message}`);
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/.test(e.message)) {
    return new TransportError('not-tls', 'the server does not speak TLS');
  }
  if (TLS_CODES.test(code) || code === 'EPROTO') return new TransportError('tls', `${code}: ${e.message}`);
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(e.message)) return new TransportError('reset', 'connection reset');
  if (code === 'ECONNREFUSED') return new TransportError('refused', 'connection refused');
  if (code === 'ETIMEDOUT') return new TransportError('timeout', 'connect timed out');
  return new TransportError('other', `${code ? `${code}: ` : ''}${e.message}`);
}

/** Re-raises a transport failure as a {@link RegistryError} for `host`. */
export function toRegistryError(e: unknown, host: string, what: string): RegistryError {
  if (e instanceof RegistryError) return e;
  if (!(e instanceof TransportError)) return new RegistryError('network', host, `${what}: ${(e as Error).message}`);
  switch (e.code) {
    case 'tls':
      return new RegistryError('tls', host, `${what}: TLS failure talking to ${host} (${e.message}). Fix: if the registry uses a private CA, pass it with --ca-file (or NODE_EXTRA_CA_CERTS)`);
    case 'timeout':
      return new RegistryError('timeout', host, `${what}: ${host} ${e.message}`);
    case 'too-large':
      return new RegistryError('too-large', host, `${what}: ${e.message}; refused`);
    case 'refused':
      return new RegistryError('network', host, `${what}: cannot connect to ${host} (connection refused). Is the registry running and the host name right?`);
    default:
      return new RegistryError('network', host, `${what}: ${host}: ${e.message}`);
  }
}
