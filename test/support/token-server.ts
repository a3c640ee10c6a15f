import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** PEM private key (EC P-256) that signs tokens. */
  readonly keyFile: string;
  /** PEM self-signed certificate of that key: the registry's `rootcertbundle`. */
  readonly certFile: string;
  /** The registry's `auth.token.issuer`. */
  readonly issuer: string;
  /** The registry's `auth.token.service` (the JWT audience). */
  readonly service: string;
  /** The only account; anonymous callers get tokens without any access. */
  readonly username: string;
  readonly password: string;
}

/** A request the token server answered, without any secret. */
export interface TokenRequestRecord {
  readonly scopes: string[];
  /** The user name presented, or undefined for anonymous requests. */
  readonly username?: string;
  readonly status: number;
}

/** A running token server (in this process, on 127.0.0.1). */
export interface TokenServer {
  /** `http://127.0.0.1:<port>/token`, the registry's `auth.token.realm`. */
  readonly realm: string;
  /** Every request answered, in order. */
  readonly requests: TokenRequestRecord[];
  /** Seconds tokens live (`expires_in`); tests may change it. @default 300 */
  expiresIn: number;
  /** Which JSON field carries the token: both (`token` and `access_token`), or one. @default 'both' */
  tokenField: 'both' | 'token' | 'access_token';
  /**
   * How a request naming several `scope`s is answered: `grant-all` (the token spec; Docker Hub),
   * `refuse` (HTTP 400, as servers that take one scope do), or `first-only` (a token covering
   * only the first scope: an under-granting server). @default 'grant-all'
   */
  multiScope: 'grant-all' | 'refuse' | 'first-only';
  stop(): Promise<void>;
}

/**
 * Starts a Docker-registry token server (the "token authentication specification" flow):
 * `GET /token?service=…&scope=repository:<name>:pull,push` with optional Basic credentials
 * answers `{token, access_token, expires_in, issued_at}`. Tokens are ES256 JWTs with the
 * signing certificate in the `x5c` header, which docker-registry 2.8 checks against its
 * `rootcertbundle` (a self-signed leaf that is itself in the bundle verifies).
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = crypto.createPrivateKey(fs.readFileSync(options.keyFile));
  const certDer = new crypto.X509Certificate(fs.readFileSync(options.certFile)).raw;
  const requests: TokenRequestRecord[] = [];
  const state = { expiresIn: 300, tokenField: 'both' as TokenServer['tokenField'], multiScope: 'grant-all' as TokenServer['multiScope'] };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    const answer = (status: number, body: unknown, username?: string): void => {
      requests.push({ scopes, username, status });
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (url.pathname !== '/token') return answer(404, { errors: [{ code: 'NOT_FOUND' }] });
    let username: string | undefined;
    const authz = req.headers.authorization;
    if (authz) {
      const m = /^Basic\s+(.+)$/i.exec(authz);
      const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      username = colon === -1 ? decoded : decoded.slice(0, colon);
      const password = colon === -1 ? '' : decoded.slice(colon + 1);
      if (!safeEqual(username, options.username) || !safeEqual(password, options.password)) {
        return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }, username);
      }
    }
    if (scopes.length > 1 && state.multiScope === 'refuse') {
      return answer(400, { errors: [{ code: 'UNSUPPORTED', message: 'one scope per request' }] }, username);
    }
    const access = [];
    for (const scope of state.multiScope === 'first-only' ? scopes.slice(0, 1) : scopes) {
      const parts = scope.split(':');
      if (parts.length < 3 || parts[0] !== 'repository') continue;
      const actions = parts[parts.length - 1].split(',').filter((a) => a === 'pull' || a === 'push');
      const name = parts.slice(1, -1).join(':');
      // Anonymous callers get a token, but one that grants nothing (as Docker Hub does for private repos).
      if (username !== undefined && actions.length > 0) access.push({ type: 'repository', name, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(key, certDer, {
      iss: options.issuer,
      sub: username ?? '',
      aud: url.searchParams.get('service') ?? options.service,
      exp: now + state.expiresIn,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomBytes(8).toString('hex'),
      access,
    });
    const body: Record<string, unknown> = { expires_in: state.expiresIn, issued_at: new Date(now * 1000).toISOString() };
    if (state.tokenField !== 'access_token') body.token = token;
    if (state.tokenField !== 'token') body.access_token = token;
    return answer(200, body, username);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.keepAliveTimeout = 30000;
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    get expiresIn() {
      return state.expiresIn;
    },
    set expiresIn(v: number) {
      state.expiresIn = v;
    },
    get tokenField() {
      return state.tokenField;
    },
    set tokenField(v: TokenServer['tokenField']) {
      state.tokenField = v;
    },
    get multiScope() {
      return state.multiScope;
    },
    set multiScope(v: TokenServer['multiScope']) {
      state.multiScope = v;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signJwt(key: crypto.KeyObject, certDer: Buffer, claims: Record<string, unknown>): string {
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JOSE wants the raw r||s form, not DER.
  const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}
