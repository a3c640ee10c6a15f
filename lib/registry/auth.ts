import * as crypto from 'crypto';
import { RegistryError } from './errors';
import { RegistryCredential } from './credentials';
import { allowedScheme, isLoopback } from './plain-http';
import { RetryPolicy } from './retries';
import { HttpAnswer, Transport, TransportError, toRegistryError } from './transport';

/** How a registry asks to be authenticated (its `WWW-Authenticate` header). */
export type Challenge = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/** What a host's `GET /v2/` taught: the origin that answered and its challenge. */
export interface HostAccess {
  /** `https://host[:port]`, or `http://…` for loopback and insecure hosts that do not speak TLS. */
  readonly origin: string;
  /** The challenge; replaced when a later 401 shows another one. */
  challenge: Challenge;
}

/** What authentication shares with the rest of the client. */
export interface AuthContext {
  readonly transport: Transport;
  readonly retry: RetryPolicy;
  /** Hosts the user listed as insecure. */
  readonly insecure: ReadonlySet<string>;
  readonly userAgent: string;
  /** Statistics, counted here. */
  readonly counters: { pings: number; tokenRequests: number };
}

/** Parses `Bearer realm="…",service="…"` / `Basic realm="…"`. */
export function parseChallenge(header: string | string[] | undefined): Challenge {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return { scheme: 'none' };
  const m = /^\s*(\w+)\s*(.*)$/s.exec(text);
  if (!m) return { scheme: 'none' };
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  }
  const scheme = m[1].toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme === 'bearer' && params.realm) return { scheme: 'bearer', realm: params.realm, ...(params.service ? { service: params.service } : {}) };
  return { scheme: 'none' };
}

/** `GET /v2/` of `host`: picks the scheme and learns the auth challenge. */
export async function pingHost(ctx: AuthContext, host: string): Promise<HostAccess> {
  // Loopback: plain HTTP first (no network to protect, and it spares a TLS setup), HTTPS when
  // the server turns out to speak TLS. Listed insecure hosts: HTTPS first, as Docker does.
  const schemes = isLoopback(host) ? ['http', 'https'] : ctx.insecure.has(host) ? ['https', 'http'] : ['https'];
  for (let i = 0; i < schemes.length; i++) {
    const scheme = schemes[i];
    const last = i === schemes.length - 1;
    const url = new URL(`${scheme}://${host}/v2/`);
    const headers = { 'User-Agent': ctx.userAgent };
    let res: HttpAnswer;
    ctx.counters.pings++;
    try {
      // A probe with a fallback is not retried: its failure is the answer.
      res = last ? await ctx.retry.run(host, `${host}/v2/`, () => ctx.transport.request(url, 'GET', headers, 64 * 1024)) : await ctx.transport.request(url, 'GET', headers, 64 * 1024);
    } catch (e) {
      if (!last && e instanceof TransportError && (e.code === 'not-tls' || e.code === 'reset')) continue;
      throw toRegistryError(e, host, `${host}/v2/`);
    }
    // Go's TLS servers answer a plain-HTTP request with this 400.
    if (!last && scheme === 'http' && res.status === 400 && /HTTPS server/i.test(res.body.toString('utf8'))) continue;
    return { origin: `${scheme}://${host}`, challenge: parseChallenge(res.headers['www-authenticate']) };
  }
  throw new RegistryError('insecure', host, `${host} does not speak HTTPS; plain HTTP is only used for loopback hosts and hosts listed with --insecure-registry`);
}

/** `Basic …` of a credential. */
function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

/** The `Authorization` header for requests under a challenge, with a bearer-token cache shared by all requests of a client. */
export class RegistryAuth {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly tokenFetches = new Map<string, Promise<string>>();

  constructor(private readonly ctx: AuthContext) {}

  /** The header value for a request to `host` needing `scope`, or `undefined` for an anonymous request. */
  public async authorization(host: string, challenge: Challenge, scope: string, credential: RegistryCredential | undefined, image: string): Promise<string | undefined> {
    if (challenge.scheme === 'basic') return credential ? basicAuthorization(credential) : undefined;
    if (challenge.scheme === 'bearer') return `Bearer ${await this.token(host, challenge, scope, credential, image)}`;
    return undefined;
  }

  /** Forgets the token for `scope` (the registry refused it: expired or revoked). */
  public forget(challenge: { realm: string; service?: string }, scope: string, credential: RegistryCredential | undefined): void {
    this.tokens.delete(this.tokenKey(challenge, scope, credential));
  }

  private tokenKey(challenge: { realm: string; service?: string }, scope: string, credential: RegistryCredential | undefined): string {
    const id = credential ? crypto.createHash('sha256').update(`${credential.source}\0${credential.username}\0${credential.password}`).digest('hex') : '-';
    return `${challenge.realm}\0${challenge.service ?? ''}\0${scope}\0${id}`;
  }

  /** A bearer token from the cache, or one fetch shared by every concurrent caller. */
  private token(host: string, challenge: { realm: string; service?: string }, scope: string, credential: RegistryCredential | undefined, image: string): Promise<string> {
    const key = this.tokenKey(challenge, scope, credential);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.token);
    let pending = this.tokenFetches.get(key);
    if (!pending) {
      pending = this.fetchToken(host, challenge, scope, credential, image).then(
        ({ token, expiresIn }) => {
          this.tokenFetches.delete(key);
          // Renew a little early so a token does not expire between check and use.
          this.tokens.set(key, { token, expiresAt: Date.now() + Math.max(1, expiresIn - 5) * 1000 });
          return token;
        },
        (e) => {
          this.tokenFetches.delete(key);
          throw e;
        },
      );
      this.tokenFetches.set(key, pending);
    }
    return pending;
  }

  private async fetchToken(
    host: string,
    challenge: { realm: string; service?: string },
    scope: string,
    credential: RegistryCredential | undefined,
    image: string,
  ): Promise<{ token: string; expiresIn: number }> {
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new RegistryError('bad-response', host, `${image}: ${host} named a token realm that is not a URL`);
    }
    if (!allowedScheme(url, this.ctx.insecure)) {
      throw new RegistryError('insecure', host, `${image}: ${host} asks for tokens from ${url.protocol}//${url.host}; credentials are only sent over HTTPS (or to loopback / --insecure-registry hosts)`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'User-Agent': this.ctx.userAgent };
    if (credential) headers.Authorization = basicAuthorization(credential);
    this.ctx.counters.tokenRequests++;
    const res = await this.ctx.retry.run(host, image, () => this.ctx.transport.request(url, 'GET', headers, 1024 * 1024));
    const tried = credential ? `credential of user "${credential.username}" from ${credential.source}` : 'no credential';
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        res.status === 401 ? 'unauthorized' : 'forbidden',
        host,
        `${image}: the token server of ${host} (${url.host}) refused the ${tried} (HTTP ${res.status}). Fix: renew the credential (docker login ${host}) or correct the pull secret`,
        res.status,
      );
    }
    if (res.status !== 200) {
      throw new RegistryError(res.status >= 500 ? 'server-error' : 'bad-response', host, `${image}: the token server of ${host} answered HTTP ${res.status}`, res.status);
    }
    let data: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      data = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError('bad-response', host, `${image}: the token server of ${host} answered something that is not JSON`);
    }
    const token = typeof data.token === 'string' && data.token ? data.token : typeof data.access_token === 'string' ? data.access_token : '';
    if (!token) throw new RegistryError('bad-response', host, `${image}: the token server of ${host} answered without "token" or "access_token"`);
    const expiresIn = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : 60;
    return { token, expiresIn };
  }
}
