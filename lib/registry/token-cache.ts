import * as crypto from 'crypto';
import { RegistryError } from '../core/findings/registry-error';
import { RegistryCredential } from './credentials';
import { allowedScheme } from './plain-http';
import { RetryPolicy } from './retries';
import { Transport } from './transport';
import { loginCommand } from './login-command';

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

/** Where tokens come from: a bearer challenge's realm and service. */
export interface TokenRealm {
  readonly realm: string;
  readonly service?: string;
}

/** Longest token URL sent: scopes beyond it go into another request (servers and proxies cap request lines at 8 KiB). */
const MAX_TOKEN_URL = 4096;
/**
 * Most repositories one token is asked for. The token travels in every request's header and the
 * registry checks all of it each time: 80 repositories make a ~9 KB header, over the 8 KB header
 * buffer of nginx (which fronts many registries), and docker-registry answered 160 HEADs a little
 * slower with such tokens (median 0.49 s vs 0.45 s with 20-repository tokens, ~2.8 KB; noisy).
 * The chunks are fetched in parallel, so more of them cost no round trip.
 */
const MAX_TOKEN_SCOPES = 20;

interface Waiter {
  readonly scope: string;
  readonly image: string;
  resolve(token: string): void;
  reject(e: unknown): void;
}

interface Batch {
  readonly host: string;
  readonly realm: TokenRealm;
  readonly credential: RegistryCredential | undefined;
  readonly waiters: Waiter[];
}

/**
 * Bearer tokens, cached per scope set until they expire. A token is asked for many
 * repositories at once (several `scope` parameters, as the token spec allows): the scopes
 * callers announced with {@link expect} and every scope asked for within one turn of the event
 * loop, chunked so the URL stays short. A token server that refuses such a request, or whose
 * token turns out not to cover a repository, is asked one scope per request from then on.
 */
export class TokenCache {
  /** (realm, credential, scope) → the token covering it. */
  private readonly tokens = new Map<string, { token: string; expiresAt: number; shared: boolean }>();
  /** (realm, credential, scope) → a fetch under way. */
  private readonly pending = new Map<string, Promise<string>>();
  /** (realm, credential) → scopes announced and not yet fetched. */
  private readonly expected = new Map<string, Set<string>>();
  /** (realm, credential) → callers waiting for the next fetch. */
  private readonly batches = new Map<string, Batch>();
  /** Realms asked one scope per request. */
  private readonly singleScope = new Set<string>();
  private readonly credentialIds = new WeakMap<RegistryCredential, string>();

  constructor(private readonly ctx: AuthContext) {}

  /** Announces that `scope` will be needed with `credential`, so the next fetch for the realm covers it too. */
  public expect(realm: TokenRealm, scope: string, credential: RegistryCredential | undefined): void {
    if (this.singleScope.has(realmKey(realm)) || this.cached(realm, scope, credential) || this.pending.has(this.key(realm, scope, credential))) return;
    const group = this.groupKey(realm, credential);
    let scopes = this.expected.get(group);
    if (!scopes) this.expected.set(group, (scopes = new Set()));
    scopes.add(scope);
  }

  /** A token covering `scope`: from the cache, or from a fetch shared with every caller of this turn. */
  public token(host: string, realm: TokenRealm, scope: string, credential: RegistryCredential | undefined, image: string): Promise<string> {
    const cached = this.cached(realm, scope, credential);
    if (cached) return Promise.resolve(cached);
    try {
      // A realm kubepin may not ask (plain HTTP to a remote host, not a URL) fails here, before any connection.
      this.tokenUrl(host, realm, [], image);
    } catch (e) {
      return Promise.reject(e);
    }
    const key = this.key(realm, scope, credential);
    let pending = this.pending.get(key);
    if (!pending) {
      pending = new Promise<string>((resolve, reject) => {
        const group = this.groupKey(realm, credential);
        let batch = this.batches.get(group);
        if (!batch) {
          const created: Batch = (batch = { host, realm, credential, waiters: [] });
          this.batches.set(group, batch);
          // One turn of the event loop: callers resuming from the same answer join this fetch.
          // Whatever the fetch throws fails its callers: thrown from setImmediate, it would be an unhandled rejection.
          setImmediate(() => this.flush(group).catch((e) => created.waiters.forEach((w) => w.reject(e))));
        }
        batch.waiters.push({ scope, image, resolve, reject });
      });
      this.pending.set(key, pending);
      const clear = (): void => {
        this.pending.delete(key);
      };
      pending.then(clear, clear);
    }
    return pending;
  }

  /**
   * Forgets the token for `scope` (the registry refused it: expired, revoked, or not covering
   * the repository). A refused token that was shared by several scopes means the server grants
   * less than asked: its realm is asked one scope per request from then on.
   */
  public forget(realm: TokenRealm, scope: string, credential: RegistryCredential | undefined): void {
    const key = this.key(realm, scope, credential);
    if (this.tokens.get(key)?.shared) this.singleScope.add(realmKey(realm));
    this.tokens.delete(key);
  }

  private cached(realm: TokenRealm, scope: string, credential: RegistryCredential | undefined): string | undefined {
    const entry = this.tokens.get(this.key(realm, scope, credential));
    return entry && entry.expiresAt > Date.now() ? entry.token : undefined;
  }

  private async flush(group: string): Promise<void> {
    const batch = this.batches.get(group)!;
    this.batches.delete(group);
    const { host, realm, credential } = batch;
    const expected = this.expected.get(group) ?? new Set<string>();
    this.expected.delete(group);
    const asked = new Set(batch.waiters.map((w) => w.scope));
    if (this.singleScope.has(realmKey(realm))) {
      await Promise.all([...asked].map((scope) => this.fetchInto([scope], batch)));
      return;
    }
    const extra = [...expected].filter((s) => !asked.has(s) && !this.cached(realm, s, credential) && !this.pending.has(this.key(realm, s, credential)));
    await Promise.all(this.chunks([...asked, ...extra], batch).map((scopes) => this.fetchInto(scopes, batch)));
  }

  /** Fetches one token for `scopes`, caches it for each, and answers the batch's callers of those scopes. */
  private async fetchInto(scopes: string[], batch: Batch): Promise<void> {
    const { host, realm, credential } = batch;
    const waiters = batch.waiters.filter((w) => scopes.includes(w.scope));
    const label = waiters[0]?.image ?? `${host} (token for ${scopes.length} repositories)`;
    try {
      const { token, expiresIn } = await this.fetchToken(host, realm, scopes, credential, label);
      // Renew a little early so a token does not expire between check and use.
      const expiresAt = Date.now() + Math.max(1, expiresIn - 5) * 1000;
      for (const scope of scopes) this.tokens.set(this.key(realm, scope, credential), { token, expiresAt, shared: scopes.length > 1 });
      for (const w of waiters) w.resolve(token);
    } catch (e) {
      const refused = e instanceof RegistryError && ['unauthorized', 'forbidden', 'bad-response'].includes(e.kind);
      if (scopes.length > 1 && refused) {
        // Not every server takes several scopes: ask this one a scope at a time, for the callers waiting.
        this.singleScope.add(realmKey(realm));
        await Promise.all(waiters.map((w) => this.fetchInto([w.scope], { ...batch, waiters: [w] })));
        return;
      }
      for (const w of waiters) w.reject(relabel(e, label, w.image));
    }
  }

  /** Scopes split so that each token URL stays within {@link MAX_TOKEN_URL} and each token covers at most {@link MAX_TOKEN_SCOPES}. */
  private chunks(scopes: string[], batch: Batch): string[][] {
    const base = this.tokenUrl(batch.host, batch.realm, [], batch.waiters[0]?.image ?? batch.host).toString().length;
    const out: string[][] = [];
    let current: string[] = [];
    let length = base;
    for (const scope of scopes) {
      const cost = `&scope=${encodeURIComponent(scope)}`.length;
      if (current.length > 0 && (length + cost > MAX_TOKEN_URL || current.length >= MAX_TOKEN_SCOPES)) {
        out.push(current);
        current = [];
        length = base;
      }
      current.push(scope);
      length += cost;
    }
    if (current.length > 0) out.push(current);
    return out;
  }

  private tokenUrl(host: string, realm: TokenRealm, scopes: string[], image: string): URL {
    let url: URL;
    try {
      url = new URL(realm.realm);
    } catch {
      throw new RegistryError('bad-response', host, `${image}: ${host} named a token realm that is not a URL. Fix: the registry's token auth realm must be an absolute https:// URL`);
    }
    if (!allowedScheme(url, this.ctx.insecure)) {
      throw new RegistryError(
        'insecure',
        host,
        `${image}: ${host} asks for tokens from ${url.protocol}//${url.host}; credentials are only sent over HTTPS (or to loopback / --insecure-registry hosts). ` +
          'Fix: a registry behind a TLS-terminating proxy must advertise its https:// realm (the token auth realm setting), or list the token host with --insecure-registry',
      );
    }
    if (realm.service) url.searchParams.set('service', realm.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    return url;
  }

  private async fetchToken(host: string, realm: TokenRealm, scopes: string[], credential: RegistryCredential | undefined, image: string): Promise<{ token: string; expiresIn: number }> {
    const url = this.tokenUrl(host, realm, scopes, image);
    const headers: Record<string, string> = { 'User-Agent': this.ctx.userAgent };
    if (credential) headers.Authorization = basicAuthorization(credential);
    this.ctx.counters.tokenRequests++;
    const res = await this.ctx.retry.run(host, image, () => this.ctx.transport.request(url, 'GET', headers, 1024 * 1024));
    const tried = credential ? `credential of user "${credential.username}" from ${credential.source}` : 'no credential';
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        res.status === 401 ? 'unauthorized' : 'forbidden',
        host,
        `${image}: the token server of ${host} (${url.host}) refused the ${tried} (HTTP ${res.status}). Fix: renew the credential (${loginCommand(host)}) or correct the pull secret`,
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
    // A token travels in a header: CR/LF would split it, and Node refuses anything beyond Latin-1. Never quoted (it is a secret).
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new RegistryError('bad-response', host, `${image}: the token server of ${host} answered a token with characters no HTTP header can carry (spaces, control or non-ASCII characters); refused`);
    }
    const expiresIn = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : 60;
    return { token, expiresIn };
  }

  private groupKey(realm: TokenRealm, credential: RegistryCredential | undefined): string {
    return `${realmKey(realm)}\0${credential ? this.credentialId(credential) : '-'}`;
  }

  /** A key naming `credential` without holding its secret; hashed once per credential object (keys are built several times per request). */
  private credentialId(credential: RegistryCredential): string {
    let id = this.credentialIds.get(credential);
    if (id === undefined) {
      id = crypto.createHash('sha256').update(`${credential.source}\0${credential.username}\0${credential.password}`).digest('hex');
      this.credentialIds.set(credential, id);
    }
    return id;
  }

  private key(realm: TokenRealm, scope: string, credential: RegistryCredential | undefined): string {
    return `${this.groupKey(realm, credential)}\0${scope}`;
  }
}

/** `Basic …` of a credential. */
export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

function realmKey(realm: TokenRealm): string {
  return `${realm.realm}\0${realm.service ?? ''}`;
}

/** The error of a fetch shared by several images, told in `image`'s name. */
function relabel(e: unknown, label: string, image: string): unknown {
  if (!(e instanceof RegistryError) || label === image || !e.message.startsWith(`${label}: `)) return e;
  return new RegistryError(e.kind, e.host, `${image}: ${e.message.slice(label.length + 2)}`, e.status);
}
