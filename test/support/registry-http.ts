import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { RegistryError } from '../../lib/core/findings/registry-error';

/** A response read fully into memory (test helpers only deal with small bodies). */
export interface TestHttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Options of {@link testRequest}. */
export interface TestRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** PEM file of a CA to trust for https URLs. */
  readonly caFile?: string;
  /** Milliseconds before the request is aborted. @default 10000 */
  readonly timeoutMs?: number;
}

/** One HTTP(S) request with a bounded timeout; never follows redirects. */
export function testRequest(url: string, options: TestRequestOptions = {}): Promise<TestHttpResponse> {
  const target = new URL(url);
  const isHttps = target.protocol === 'https:';
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (body) headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      target,
      {
        method: options.method ?? 'GET',
        headers,
        agent: false,
        ...(isHttps && options.caFile ? { ca: fs.readFileSync(options.caFile) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10000, () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Awaits `promise` and returns the RegistryError it rejects with; anything else fails the test. */
export async function registryFailure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error('expected a RegistryError');
}
