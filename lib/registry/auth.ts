import { RegistryError } from '../core/findings/registry-error';
import { RegistryCredential } from './credentials';
import { isLoopback } from './plain-http';
import { AuthContext, TokenCache, basicAuthorization } from './token-cache';

export type { AuthContext } from './token-cache';
import { HttpAnswer, TransportError, toRegistryError } from './transport';

/** How a registry asks to be authenticated (its `WWW-Authenticate` header). */
export type Challenge = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/** What a host's `GET /v2/` taught: the origin that answered and its challenge. */
export interface HostAccess {
  /** `https://host[:port]`, or `http://…` for loopback and insecure hosts that do not speak TLS. */
  readonly origin: string;
  /** The challenge; replaced when a later 401 shows another one. */
  challenge: Challenge;
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

/** The `Authorization` header for requests under a challenge; bearer tokens from one {@link TokenCache} per client. */
export class RegistryAuth {
  private readonly tokens: TokenCache;

  constructor(ctx: AuthContext) {
    this.tokens = new TokenCache(ctx);
  }

  /** The header value for a request to `host` needing `scope`, or `undefined` for an anonymous request. */
  public async authorization(host: string, challenge: Challenge, scope: string, credential: RegistryCredential | undefined, image: string): Promise<string | undefined> {
    if (challenge.scheme === 'basic') return credential ? basicAuthorization(credential) : undefined;
    if (challenge.scheme === 'bearer') return `Bearer ${await this.tokens.token(host, challenge, scope, credential, image)}`;
    return undefined;
  }

  /** Announces a request needing `scope` under `challenge`, so that one token request covers many repositories. */
  public expect(challenge: Challenge, scope: string, credential: RegistryCredential | undefined): void {
    if (challenge.scheme === 'bearer') this.tokens.expect(challenge, scope, credential);
  }

  /** Forgets the token for `scope` (the registry refused it). */
  public forget(challenge: Challenge, scope: string, credential: RegistryCredential | undefined): void {
    if (challenge.scheme === 'bearer') this.tokens.forget(challenge, scope, credential);
  }
}
