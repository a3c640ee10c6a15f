import type * as http2Types from 'http2';
import * as net from 'net';
import type * as tlsTypes from 'tls';
import type { FailureClassifier, HttpAnswer } from './http-answer';

export type { FailureClassifier } from './http-answer';

/** Options of {@link Http2Sessions}. */
export interface Http2SessionsOptions {
  /** TLS options (CA, certificate checks) for a host. */
  readonly tlsOptions: (host: string) => tlsTypes.ConnectionOptions;
  /** Turns socket/TLS/HTTP-2 errors into the transport's errors. */
  readonly classify: FailureClassifier;
}

/**
 * One HTTP/2 connection per HTTPS origin that offers `h2` by ALPN, every request to it a
 * stream on that connection. The TLS connection offers both `h2` and `http/1.1`; an origin
 * that picks HTTP/1.1 is remembered and left to the HTTP/1.1 agents.
 */
export class Http2Sessions {
  /** Origin → its session, or `undefined` when it speaks HTTP/1.1 only. */
  private readonly sessions = new Map<string, Promise<http2Types.ClientHttp2Session | undefined>>();
  private readonly live = new Map<string, http2Types.ClientHttp2Session>();
  /** Connections opened (TLS handshakes), for statistics. */
  public connections = 0;

  constructor(private readonly options: Http2SessionsOptions) {}

  /** The live session of `url`'s origin, connecting first if needed; `undefined` for HTTP/1.1-only origins. */
  public session(url: URL): Promise<http2Types.ClientHttp2Session | undefined> {
    let pending = this.sessions.get(url.origin);
    const live = this.live.get(url.origin);
    // A session the server just closed (GOAWAY, a protocol error) may not have said so yet: connect anew.
    if (pending && live && (live.destroyed || live.closed)) {
      this.live.delete(url.origin);
      pending = undefined;
    }
    if (!pending) {
      pending = this.connect(url);
      this.sessions.set(url.origin, pending);
      pending.catch(() => this.sessions.delete(url.origin));
    }
    return pending;
  }

  /** Streams allowed at once on `origin`'s session (the server's SETTINGS), or `undefined` if it has none. */
  public async maxStreams(origin: string): Promise<number | undefined> {
    const session = await this.sessions.get(origin)?.catch(() => undefined);
    return session ? (session.remoteSettings.maxConcurrentStreams ?? 100) : undefined;
  }

  /** One request as a stream of `session`; the body is capped at `maxBytes` as over HTTP/1.1. */
  public request(
    session: http2Types.ClientHttp2Session,
    url: URL,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    maxBytes: number,
    fail: (e: Error) => void,
    done: (answer: HttpAnswer) => void,
  ): { cancel(): void } {
    const { classify } = this.options;
    const lower: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
    let stream: http2Types.ClientHttp2Stream;
    try {
      stream = session.request({ ':method': method, ':path': `${url.pathname}${url.search}`, ':authority': url.host, ':scheme': 'https', ...lower }, { endStream: true });
    } catch (e) {
      fail(classify(e as Error));
      return { cancel: () => undefined };
    }
    let finished = false;
    const settle = (f: () => void): void => {
      if (finished) return;
      finished = true;
      f();
    };
    let status = 0;
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    let length = NaN;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (h) => {
      status = Number(h[':status'] ?? 0);
      responseHeaders = Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')));
      length = Number(h['content-length']);
      if (method !== 'HEAD' && Number.isFinite(length) && length > maxBytes) {
        settle(() => fail(classify(Object.assign(new Error(`response of ${length} bytes exceeds the ${maxBytes}-byte limit`), { code: 'KUBEPIN_TOO_LARGE' }))));
        stream.close();
      }
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        settle(() => fail(classify(Object.assign(new Error(`response body exceeds the ${maxBytes}-byte limit`), { code: 'KUBEPIN_TOO_LARGE' }))));
        stream.close();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      // Closed with NO_ERROR before any response header (or after only 1xx ones): no answer at all.
      if (status === 0) {
        settle(() => fail(classify(Object.assign(new Error('the HTTP/2 stream ended without a response header'), { code: 'KUBEPIN_RESET' }))));
        return;
      }
      if (method !== 'HEAD' && Number.isFinite(length) && size !== length) {
        settle(() => fail(classify(Object.assign(new Error(`stream ended after ${size} of ${length} bytes`), { code: 'ECONNRESET' }))));
        return;
      }
      settle(() => done({ status, headers: responseHeaders, body: Buffer.concat(chunks), url }));
    });
    stream.on('error', (e) => settle(() => fail(classify(e))));
    // Reset by the server (RST_STREAM) or the connection went away before the end.
    stream.on('close', () => settle(() => fail(classify(Object.assign(new Error(`stream closed (code ${stream.rstCode})`), { code: 'ECONNRESET' })))));
    return { cancel: () => stream.close() };
  }

  /** Closes every connection. */
  public close(): void {
    for (const pending of this.sessions.values()) pending.then((s) => s?.destroy(), () => undefined);
    this.sessions.clear();
  }

  private connect(url: URL): Promise<http2Types.ClientHttp2Session | undefined> {
    const tls = require('tls') as typeof tlsTypes;
    const http2 = require('http2') as typeof http2Types;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return new Promise((resolve, reject) => {
      this.connections++;
      const socket = tls.connect({
        host,
        port: Number(url.port || 443),
        ...(net.isIP(host) ? {} : { servername: host }),
        ALPNProtocols: ['h2', 'http/1.1'],
        ...this.options.tlsOptions(url.host),
      });
      const onError = (e: Error): void => reject(this.options.classify(e));
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        if (socket.alpnProtocol !== 'h2') {
          // HTTP/1.1 only: the keep-alive agents take this origin from now on.
          socket.destroy();
          resolve(undefined);
          return;
        }
        // Server push is refused (SETTINGS_ENABLE_PUSH 0): kubepin asks for every answer it needs.
        const session = http2.connect(url.origin, { createConnection: () => socket, settings: { enablePush: false } });
        // A pushed stream arriving anyway is refused; its errors (a body longer than its content-length) must not go unheard.
        session.on('stream', (pushed: http2Types.ClientHttp2Stream) => {
          pushed.on('error', () => undefined);
          pushed.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        });
        // A closed or failed session is replaced by a new connection on the next request.
        const forget = (): void => {
          if (this.live.get(url.origin) === session) {
            this.live.delete(url.origin);
            this.sessions.delete(url.origin);
          }
        };
        this.live.set(url.origin, session);
        session.on('error', forget);
        session.on('close', forget);
        session.on('goaway', forget);
        // Idle sessions must not keep the process alive.
        session.unref();
        resolve(session);
      });
    });
  }
}
