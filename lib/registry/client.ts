import * as crypto from 'crypto';
import { ImageReference, DOCKER_HUB } from '../image-reference';
import { KubepinError, KubepinUsageError } from '../errors';
import { RegistryError } from './errors';
import { RegistryCredential, RegistryCredentialProvider } from './credentials';
import { HttpAnswer, Transport, TransportError, toRegistryError } from './transport';
import type { ArtifactSource, FetchedManifest } from '../signatures/artifacts';

/** The manifest media types asked for, indexes first: without them registries down-convert to one platform. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const KNOWN_TYPES = new Set([
  ...INDEX_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const USER_AGENT = `kubepin/${safeVersion()}`;

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Where credentials come from. @default none: anonymous only */
  readonly credentials?: RegistryCredentialProvider;
  /** PEM text of extra CA certificates trusted on top of the system CAs. @default none */
  readonly ca?: string | Buffer;
  /** Hosts reached over plain HTTP (or HTTPS without certificate checks); loopback hosts always may. @default none */
  readonly insecureRegistries?: readonly string[];
  /** Registry host → mirror host (`{ 'docker.io': 'mirror.example:5000' }`): resolved through the mirror, recorded under the original name. @default none */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** Requests in flight per registry host. @default 16 */
  readonly concurrency?: number;
  /** Milliseconds per request, connect to last byte. @default 10000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt on 5xx, 408, 429, resets and timeouts. @default 3 */
  readonly retries?: number;
  /** First back-off delay; doubles per retry. @default 200 */
  readonly backoffMs?: number;
  /** Longest back-off delay. @default 3000 */
  readonly maxBackoffMs?: number;
  /** Longest `Retry-After` honoured; a longer one fails the image as rate-limited. @default 30000 */
  readonly maxRetryAfterMs?: number;
  /**
   * Requests to one host that may time out in a row (each after its retries) before the host is
   * taken for down and its remaining images fail at once instead of each waiting out its own
   * timeouts. @default 3
   */
  readonly maxConsecutiveTimeouts?: number;
  /** Largest manifest body read. @default 4 MiB (the OCI limit registries must accept) */
  readonly maxManifestBytes?: number;
}

/** Options of one resolution. */
export interface ResolveOptions {
  /** Platforms (`os/arch[/variant]`) whose manifest digests to record from the verified index. @default none */
  readonly platforms?: readonly string[];
}

/** A tag resolved to its digest. */
export interface ResolvedImage {
  /** The normalized tagged reference, e.g. `docker.io/library/nginx:1.27`. */
  readonly reference: string;
  /** Digest of what the tag names (the index for multi-arch images). */
  readonly digest: string;
  /** Media type of that manifest. */
  readonly mediaType: string;
  /** `os/arch[/variant]` → platform manifest digest, when asked for and the image is multi-arch. */
  readonly platforms?: Readonly<Record<string, string>>;
  /** The host actually asked (a mirror, or the API host of Docker Hub). */
  readonly resolvedFrom: string;
  /** The credential that worked (source and user, never the secret), if any was used. */
  readonly credential?: { readonly source: string; readonly username: string };
}

/** Counters for benchmarks and tests. */
export interface RegistryClientStats {
  /** HTTP requests sent, all kinds. */
  readonly requests: number;
  /** `GET /v2/` pings. */
  readonly pings: number;
  /** Token requests. */
  readonly tokenRequests: number;
  /** Manifest HEADs and GETs. */
  readonly manifestRequests: number;
  /** Retries after failures. */
  readonly retries: number;
}

type Challenge = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

interface HostState {
  /** Scheme and auth challenge, found by one `GET /v2/` shared by all requests to the host. */
  ping?: Promise<{ origin: string; challenge: Challenge }>;
  limiter: Limiter;
}

/**
 * Resolves image tags to digests against OCI / Docker registries, as
 * `KUBERNETES-FACTS.md` §6 says: one HEAD per tag when warm, GET + sha256 when the digest
 * header is missing, header and body hash must agree; anonymous, Basic and Bearer auth
 * with a shared token cache; bounded retries; a per-host concurrency limit.
 *
 * @example
 * const client = new RegistryClient({ credentials: DockerConfigCredentials.fromEnvironment() });
 * const { digest } = await client.resolve('ghcr.io/acme/api:1.4');
 * client.close();
 */
export class RegistryClient implements ArtifactSource {
  private readonly transport: Transport;
  private readonly hosts = new Map<string, HostState>();
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly tokenFetches = new Map<string, Promise<string>>();
  private readonly inflight = new Map<string, Promise<ResolvedImage>>();
  private readonly insecure: Set<string>;
  private readonly mirrors: Map<string, string>;
  private readonly concurrency: number;
  private readonly retries: number;
  private readonly maxConsecutiveTimeouts: number;
  /** Host → requests that timed out in a row (reset by any answer). */
  private readonly timeoutStreaks = new Map<string, number>();
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxManifestBytes: number;
  private counters = { pings: 0, tokenRequests: 0, manifestRequests: 0, retries: 0 };

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.concurrency = positive(options.concurrency, 16, 'concurrency');
    this.retries = nonNegative(options.retries, 3, 'retries');
    this.maxConsecutiveTimeouts = positive(options.maxConsecutiveTimeouts, 3, 'maxConsecutiveTimeouts');
    this.backoffMs = nonNegative(options.backoffMs, 200, 'backoffMs');
    this.maxBackoffMs = nonNegative(options.maxBackoffMs, 3000, 'maxBackoffMs');
    this.maxRetryAfterMs = nonNegative(options.maxRetryAfterMs, 30000, 'maxRetryAfterMs');
    this.maxManifestBytes = positive(options.maxManifestBytes, 4 * 1024 * 1024, 'maxManifestBytes');
    this.insecure = new Set(options.insecureRegistries ?? []);
    this.mirrors = new Map(Object.entries(options.mirrors ?? {}));
    this.transport = new Transport({
      ca: options.ca,
      maxSockets: this.concurrency,
      timeoutMs: positive(options.timeoutMs, 10000, 'timeoutMs'),
      skipVerifyHosts: [...this.insecure],
    });
  }

  /** Request counters so far. */
  public get stats(): RegistryClientStats {
    return { requests: this.transport.requests, ...this.counters };
  }

  /**
   * Resolves a tagged reference to the digest the tag names now (a digest in `image` is
   * ignored: the tag is what gets resolved). A digest-only reference (`repo@sha256:…`) is
   * checked instead: the registry must serve that manifest, and its bytes must hash to it.
   * Identical calls share one resolution, and a success is kept for the client's lifetime (one
   * run sees one answer per tag; make a new client to see a tag move). Failures are not kept.
   * @throws RegistryError with a `kind` and a message naming the image, host and fix.
   */
  public resolve(image: string | ImageReference, options: ResolveOptions = {}): Promise<ResolvedImage> {
    const ref = typeof image === 'string' ? ImageReference.parse(image) : image;
    const platforms = [...new Set(options.platforms ?? [])].sort();
    for (const p of platforms) parsePlatform(p);
    const tagged = ref.tag === undefined ? ref : ref.withoutDigest();
    const key = `${tagged.toString()}\0${platforms.join(',')}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.resolveTagged(tagged, platforms);
      this.inflight.set(key, pending);
      // Keep successes for dedupe; let failures be retried by a later call.
      pending.catch(() => this.inflight.delete(key));
    }
    return pending;
  }

  /** Closes kept-alive connections. */
  public close(): void {
    this.transport.close();
  }

  private resolveTagged(ref: ImageReference, platforms: string[]): Promise<ResolvedImage> {
    return this.withAccess(ref, async (apiHost, state, credential) => ({
      ...(await this.resolveWith(apiHost, state, ref, credential, platforms)),
      reference: ref.toString(),
      resolvedFrom: apiHost,
      ...(credential ? { credential: { source: credential.source, username: credential.username } } : {}),
    }));
  }

  /**
   * Runs `attempt` against the API host of `ref` (its mirror, if any) within the host's
   * concurrency limit, anonymously first where the registry allows it, then with each matching
   * credential in turn (the kubelet's rule: first success wins).
   */
  private withAccess<T>(ref: ImageReference, attempt: (apiHost: string, state: HostState, credential: RegistryCredential | undefined) => Promise<T>): Promise<T> {
    const logicalHost = this.mirrors.get(ref.registry) ?? ref.registry;
    const apiHost = logicalHost === DOCKER_HUB ? 'registry-1.docker.io' : logicalHost;
    const state = this.hostState(apiHost);
    return state.limiter.run(async () => {
      const { challenge } = await this.ping(apiHost, state);
      let firstError: RegistryError | undefined;
      // A registry that serves /v2/ anonymously is asked anonymously first: credentials are only
      // looked up (they may come from files still being read) when it asks for them.
      if (challenge.scheme === 'none') {
        try {
          return await attempt(apiHost, state, undefined);
        } catch (e) {
          if (!(e instanceof RegistryError) || (e.kind !== 'unauthorized' && e.kind !== 'forbidden')) throw e;
          firstError = e;
        }
      }
      let credentials: RegistryCredential[] = [];
      try {
        if (this.options.credentials) credentials = await this.options.credentials.credentialsFor(`${logicalHost}/${ref.repository}`, logicalHost);
      } catch (e) {
        // A broken credential helper fails this image, not the whole run.
        if (!(e instanceof KubepinError)) throw e;
        throw new RegistryError('unauthorized', apiHost, `${ref.toString()}: cannot get credentials for ${logicalHost}: ${e.message}`);
      }
      if (credentials.length === 0 && firstError) throw firstError;
      const attempts: Array<RegistryCredential | undefined> = credentials.length > 0 ? credentials : [undefined];
      let lastError: RegistryError | undefined;
      for (const credential of attempts) {
        try {
          return await attempt(apiHost, state, credential);
        } catch (e) {
          if (!(e instanceof RegistryError) || (e.kind !== 'unauthorized' && e.kind !== 'forbidden')) throw e;
          lastError = e;
        }
      }
      throw lastError!;
    });
  }

  /**
   * The manifest `reference` (tag or digest) of `image`'s repository, at most `maxBytes`, its
   * bytes checked against the digest header (and against `reference` when that is a digest);
   * `undefined` when the registry answers 404. Used to read signatures ({@link ArtifactSource}).
   */
  public fetchManifest(image: ImageReference, reference: string, accept: readonly string[], maxBytes: number): Promise<FetchedManifest | undefined> {
    const what = `${image.name}:${reference}`;
    return this.withAccess(image, async (host, state, credential) => {
      const res = await this.fetchPath(host, state, image, `manifests/${reference}`, accept.join(', '), maxBytes, credential, what);
      if (res.status === 404) return undefined;
      this.checkStatus(res, host, what, credential);
      const digest = `sha256:${crypto.createHash('sha256').update(res.body).digest('hex')}`;
      const claimed = headerDigest(res);
      if ((claimed !== undefined && claimed !== digest) || (SHA256_DIGEST.test(reference) && reference !== digest)) {
        throw new RegistryError('digest-mismatch', host, `${what}: ${host} sent a manifest whose bytes hash to ${digest}, not ${SHA256_DIGEST.test(reference) ? reference : claimed}; refusing it`);
      }
      return { body: res.body, digest, mediaType: contentType(res) ?? '' };
    });
  }

  /** The blob `digest` of `image`'s repository, at most `maxBytes`; its bytes must hash to `digest`. */
  public fetchBlob(image: ImageReference, digest: string, maxBytes: number): Promise<Buffer> {
    const what = `${image.name}@${digest}`;
    return this.withAccess(image, async (host, state, credential) => {
      const res = await this.fetchPath(host, state, image, `blobs/${digest}`, '*/*', maxBytes, credential, what);
      this.checkStatus(res, host, what, credential);
      const actual = `sha256:${crypto.createHash('sha256').update(res.body).digest('hex')}`;
      if (actual !== digest) throw new RegistryError('digest-mismatch', host, `${what}: ${host} sent a blob whose bytes hash to ${actual}; refusing it`);
      return res.body;
    });
  }

  /** The OCI 1.1 referrers index of `digest` (filtered by `artifactType`); `undefined` when the registry lacks the API. */
  public fetchReferrers(image: ImageReference, digest: string, artifactType: string, maxBytes: number): Promise<Buffer | undefined> {
    const what = `${image.name}@${digest} referrers`;
    return this.withAccess(image, async (host, state, credential) => {
      const res = await this.fetchPath(host, state, image, `referrers/${digest}?artifactType=${encodeURIComponent(artifactType)}`, 'application/vnd.oci.image.index.v1+json', maxBytes, credential, what);
      // distribution 2.8 and other pre-1.1 registries answer 404 (or 400/405) for the path.
      if (res.status === 404 || res.status === 400 || res.status === 405) return undefined;
      this.checkStatus(res, host, what, credential);
      if (contentType(res) !== 'application/vnd.oci.image.index.v1+json') return undefined;
      return res.body;
    });
  }

  private async fetchPath(host: string, state: HostState, image: ImageReference, tail: string, accept: string, maxBytes: number, credential: RegistryCredential | undefined, what: string): Promise<HttpAnswer> {
    const { origin } = await this.ping(host, state);
    return this.send(host, state, new URL(`${origin}/v2/${image.repository}/${tail}`), 'GET', `repository:${image.repository}:pull`, credential, what, { accept, maxBytes });
  }

  private hostState(host: string): HostState {
    let state = this.hosts.get(host);
    if (!state) {
      state = { limiter: new Limiter(this.concurrency) };
      this.hosts.set(host, state);
    }
    return state;
  }

  private async resolveWith(
    host: string,
    state: HostState,
    ref: ImageReference,
    credential: RegistryCredential | undefined,
    platforms: string[],
  ): Promise<Omit<ResolvedImage, 'reference' | 'resolvedFrom' | 'credential'>> {
    // A tag, or for a digest-only reference the digest (the by-digest request the kubelet makes).
    const manifestRef = ref.tag ?? ref.digest!;
    const image = ref.tag !== undefined ? `${ref.name}:${ref.tag}` : `${ref.name}@${ref.digest}`;
    const { origin } = await this.ping(host, state);
    const scope = `repository:${ref.repository}:pull`;
    const manifestUrl = new URL(`${origin}/v2/${ref.repository}/manifests/${manifestRef}`);
    this.counters.manifestRequests++;
    let head: HttpAnswer | undefined;
    try {
      head = await this.send(host, state, manifestUrl, 'HEAD', scope, credential, image);
    } catch (e) {
      // A HEAD that keeps failing gets one GET (some registries mishandle HEAD); auth, TLS and size errors are final.
      if (!(e instanceof RegistryError) || !['server-error', 'network', 'timeout', 'bad-response'].includes(e.kind)) throw e;
    }
    if (head) this.checkStatus(head, host, image, credential);
    let digest = head ? headerDigest(head) : undefined;
    let mediaType = head ? contentType(head) : undefined;
    let body: Buffer | undefined;
    if (!digest || !mediaType || !KNOWN_TYPES.has(mediaType)) {
      this.counters.manifestRequests++;
      const get = await this.send(host, state, manifestUrl, 'GET', scope, credential, image);
      this.checkStatus(get, host, image, credential);
      ({ digest, mediaType } = verifyBody(get, host, image));
      body = get.body;
    }
    if (ref.tag === undefined && digest !== ref.digest) {
      throw new RegistryError('digest-mismatch', host, `${image}: ${host} answered the request for ${ref.digest} with ${digest}; refusing it`);
    }
    const result: { digest: string; mediaType: string; platforms?: Record<string, string> } = { digest, mediaType };
    if (platforms.length > 0 && INDEX_TYPES.has(mediaType)) {
      if (!body) {
        // Fetch the index by digest: content-addressed, so its hash must equal the pinned digest.
        const byDigest = new URL(`${origin}/v2/${ref.repository}/manifests/${digest}`);
        this.counters.manifestRequests++;
        const get = await this.send(host, state, byDigest, 'GET', scope, credential, image);
        this.checkStatus(get, host, image, credential);
        const verified = verifyBody(get, host, image);
        if (verified.digest !== digest) {
          throw new RegistryError('digest-mismatch', host, `${image}: the index fetched by digest ${digest} hashes to ${verified.digest}; refusing to record it`);
        }
        body = get.body;
      }
      result.platforms = platformDigests(body, platforms, host, image);
    }
    return result;
  }

  private checkStatus(res: HttpAnswer, host: string, image: string, credential: RegistryCredential | undefined): void {
    if (res.status >= 200 && res.status < 300) return;
    const tried = credential ? `credential of user "${credential.username}" from ${credential.source}` : 'no credential';
    const detail = registryErrorDetail(res.body);
    switch (res.status) {
      case 401:
        throw new RegistryError(
          'unauthorized',
          host,
          `${image}: 401 Unauthorized from ${host} (tried ${tried})${detail}. Fix: ${credential ? 'renew the credential (docker login) or correct the pull secret' : `log in (docker login ${host}) or pass a .dockerconfigjson with --docker-config`}`,
          401,
        );
      case 403:
        throw new RegistryError('forbidden', host, `${image}: 403 Forbidden from ${host} (tried ${tried})${detail}; the account lacks pull access to this repository`, 403);
      case 404:
        throw new RegistryError('not-found', host, `${image}: not found on ${host} (HTTP 404${detail ? `,${detail.slice(1)}` : ''}): the tag or repository does not exist. Fix: check the spelling, or push the tag`, 404);
      default:
        throw new RegistryError(res.status >= 500 ? 'server-error' : 'bad-response', host, `${image}: ${host} answered HTTP ${res.status}${detail}`, res.status);
    }
  }

  /** `GET /v2/` once per host: picks the scheme and learns the auth challenge. */
  private ping(host: string, state: HostState): Promise<{ origin: string; challenge: Challenge }> {
    if (!state.ping) {
      state.ping = this.doPing(host);
      state.ping.catch(() => {
        state.ping = undefined;
      });
    }
    return state.ping;
  }

  private async doPing(host: string): Promise<{ origin: string; challenge: Challenge }> {
    // Loopback: plain HTTP first (no network to protect, and it spares a TLS setup), HTTPS when
    // the server turns out to speak TLS. Listed insecure hosts: HTTPS first, as Docker does.
    const schemes = isLoopback(host) ? ['http', 'https'] : this.insecure.has(host) ? ['https', 'http'] : ['https'];
    for (let i = 0; i < schemes.length; i++) {
      const scheme = schemes[i];
      const last = i === schemes.length - 1;
      const url = new URL(`${scheme}://${host}/v2/`);
      const headers = { 'User-Agent': USER_AGENT };
      let res: HttpAnswer;
      this.counters.pings++;
      try {
        // A probe with a fallback is not retried: its failure is the answer.
        res = last ? await this.withRetries(host, `${host}/v2/`, () => this.transport.request(url, 'GET', headers, 64 * 1024)) : await this.transport.request(url, 'GET', headers, 64 * 1024);
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

  /** One request with auth, retries, and same-host-only credentials on redirects. */
  private async send(
    host: string,
    state: HostState,
    url: URL,
    method: 'GET' | 'HEAD',
    scope: string,
    credential: RegistryCredential | undefined,
    image: string,
    body: { accept: string; maxBytes: number } = { accept: MANIFEST_ACCEPT, maxBytes: this.maxManifestBytes },
  ): Promise<HttpAnswer> {
    let refreshed = false;
    let target = url;
    for (let hops = 0; hops <= 5; hops++) {
      const sameHost = target.host === host;
      const headers: Record<string, string> = { Accept: body.accept, 'User-Agent': USER_AGENT };
      if (sameHost) {
        const auth = await this.authorization(host, state, scope, credential, image);
        if (auth) headers.Authorization = auth;
      }
      const res = await this.withRetries(host, image, () => this.transport.request(target, method, headers, body.maxBytes));
      if (res.status === 401 && sameHost) {
        // Learn a challenge the ping did not show, or refresh an expired token once.
        const challenge = parseChallenge(res.headers['www-authenticate']);
        const ping = await this.ping(host, state);
        if (!refreshed && challenge.scheme !== 'none') {
          refreshed = true;
          ping.challenge = challenge;
          if (challenge.scheme === 'bearer') this.dropTokens(challenge, scope, credential);
          hops--;
          continue;
        }
      }
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        const next = new URL(res.headers.location, target);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (isLoopback(next.host) || this.insecure.has(next.host)))) {
          throw new RegistryError('redirect', host, `${image}: ${host} redirected to ${next.protocol}//${next.host}, which is neither HTTPS nor an allowed plain-HTTP host; refused`);
        }
        // Credentials stay with the registry host; a redirect elsewhere is followed without them.
        target = next;
        continue;
      }
      return res;
    }
    throw new RegistryError('redirect', host, `${image}: more than 5 redirects from ${host}; refused`);
  }

  private async authorization(host: string, state: HostState, scope: string, credential: RegistryCredential | undefined, image: string): Promise<string | undefined> {
    const { challenge } = await this.ping(host, state);
    if (challenge.scheme === 'basic') {
      return credential ? `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}` : undefined;
    }
    if (challenge.scheme === 'bearer') return `Bearer ${await this.token(host, challenge, scope, credential, image)}`;
    return undefined;
  }

  private tokenKey(challenge: { realm: string; service?: string }, scope: string, credential: RegistryCredential | undefined): string {
    const id = credential ? crypto.createHash('sha256').update(`${credential.source}\0${credential.username}\0${credential.password}`).digest('hex') : '-';
    return `${challenge.realm}\0${challenge.service ?? ''}\0${scope}\0${id}`;
  }

  private dropTokens(challenge: { realm: string; service?: string }, scope: string, credential: RegistryCredential | undefined): void {
    this.tokens.delete(this.tokenKey(challenge, scope, credential));
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
    const plainOk = url.protocol === 'http:' && (isLoopback(url.host) || this.insecure.has(url.host));
    if (url.protocol !== 'https:' && !plainOk) {
      throw new RegistryError('insecure', host, `${image}: ${host} asks for tokens from ${url.protocol}//${url.host}; credentials are only sent over HTTPS (or to loopback / --insecure-registry hosts)`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    if (credential) headers.Authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
    this.counters.tokenRequests++;
    const res = await this.withRetries(host, image, () => this.transport.request(url, 'GET', headers, 1024 * 1024));
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

  /** Retries 5xx, 408, 429 (after `Retry-After`), resets and timeouts with capped exponential back-off. */
  private async withRetries(host: string, what: string, call: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
    const streak = this.timeoutStreaks.get(host) ?? 0;
    if (streak >= this.maxConsecutiveTimeouts) {
      throw new RegistryError('timeout', host, `${what}: skipped: ${streak} requests to ${host} in a row timed out (each after ${this.retries + 1} attempts), so it looks down. Fix: check that ${host} is reachable, then run again`);
    }
    let lastError: RegistryError | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) this.counters.retries++;
      let res: HttpAnswer;
      try {
        res = await call();
      } catch (e) {
        const registryError = toRegistryError(e, host, what);
        const code = e instanceof TransportError ? e.code : 'other';
        if ((code === 'reset' || code === 'timeout') && attempt < this.retries) {
          lastError = registryError;
          await sleep(this.backoff(attempt));
          continue;
        }
        if (code === 'timeout') this.timeoutStreaks.set(host, (this.timeoutStreaks.get(host) ?? 0) + 1);
        throw registryError;
      }
      this.timeoutStreaks.delete(host);
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers['retry-after']) ?? this.backoff(attempt);
        if (wait > this.maxRetryAfterMs || attempt >= this.retries) {
          throw new RegistryError('rate-limited', host, `${what}: ${host} is rate-limiting (HTTP 429${res.headers['retry-after'] ? `, Retry-After ${String(res.headers['retry-after'])}` : ''}); try again later or use a mirror`, 429);
        }
        await sleep(wait);
        continue;
      }
      if ((res.status >= 500 || res.status === 408) && attempt < this.retries) {
        lastError = new RegistryError('server-error', host, `${what}: ${host} answered HTTP ${res.status}`, res.status);
        await sleep(this.backoff(attempt));
        continue;
      }
      if (res.status >= 500 || res.status === 408) {
        throw new RegistryError('server-error', host, `${what}: ${host} answered HTTP ${res.status} ${this.retries + 1} times; giving up`, res.status);
      }
      return res;
    }
    throw lastError ?? new RegistryError('network', host, `${what}: no answer from ${host}`);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }
}

/** Limits concurrent tasks; waiters run in FIFO order. */
class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
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

function headerDigest(res: HttpAnswer): string | undefined {
  const value = res.headers['docker-content-digest'];
  const text = Array.isArray(value) ? value[0] : value;
  return text && SHA256_DIGEST.test(text.trim()) ? text.trim() : undefined;
}

function contentType(res: HttpAnswer): string | undefined {
  const value = res.headers['content-type'];
  return value ? value.split(';')[0].trim() : undefined;
}

/** Hashes a manifest body; a digest header, when present, must agree. */
function verifyBody(res: HttpAnswer, host: string, image: string): { digest: string; mediaType: string } {
  const digest = `sha256:${crypto.createHash('sha256').update(res.body).digest('hex')}`;
  const header = res.headers['docker-content-digest'];
  const claimed = Array.isArray(header) ? header[0] : header;
  if (claimed !== undefined && claimed.trim() !== digest) {
    throw new RegistryError('digest-mismatch', host, `${image}: ${host} says the manifest is ${JSON.stringify(claimed.slice(0, 80))} but its bytes hash to ${digest}; refusing to record either`);
  }
  let mediaType = contentType(res);
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    try {
      const parsed = JSON.parse(res.body.toString('utf8')) as { mediaType?: unknown };
      if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
    } catch {
      throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest that is not JSON`);
    }
  }
  if (!mediaType || !KNOWN_TYPES.has(mediaType)) {
    throw new RegistryError('bad-response', host, `${image}: ${host} sent a manifest of unsupported type ${JSON.stringify(mediaType ?? '(none)')}`);
  }
  return { digest, mediaType };
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const parts = typeof platform === 'string' ? platform.split('/') : [];
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new KubepinUsageError(`platform ${JSON.stringify(platform)} must look like os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`);
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

function platformDigests(body: Buffer, platforms: string[], host: string, image: string): Record<string, string> {
  let index: { manifests?: Array<{ digest?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }> };
  try {
    index = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('bad-response', host, `${image}: the index from ${host} is not JSON`);
  }
  const entries = Array.isArray(index.manifests) ? index.manifests : [];
  const out: Record<string, string> = {};
  for (const wanted of platforms) {
    const p = parsePlatform(wanted);
    const candidates = entries.filter((e) => e.platform?.os === p.os && e.platform?.architecture === p.architecture && typeof e.digest === 'string' && SHA256_DIGEST.test(e.digest));
    const match = p.variant ? candidates.find((e) => e.platform?.variant === p.variant) : (candidates.find((e) => e.platform?.variant === undefined) ?? candidates[0]);
    if (!match) {
      const available = entries.map((e) => [e.platform?.os, e.platform?.architecture, e.platform?.variant].filter((x) => typeof x === 'string').join('/')).filter(Boolean);
      throw new RegistryError('platform-not-found', host, `${image}: the index has no ${wanted} manifest (it has ${available.join(', ') || 'none'})`);
    }
    out[wanted] = match.digest as string;
  }
  return out;
}

function registryErrorDetail(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const data = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = data.errors?.[0];
    if (first && typeof first.code === 'string') {
      const message = typeof first.message === 'string' ? `: ${first.message.slice(0, 200)}` : '';
      return ` [${first.code}${message}]`;
    }
  } catch {
    // Not the registry error format.
  }
  return '';
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** True for hosts on this machine: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '::1';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new KubepinUsageError(`RegistryClient option ${name} must be a positive number`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new KubepinUsageError(`RegistryClient option ${name} must be a number ≥ 0`);
  return value;
}

function safeVersion(): string {
  // lib/registry in the sources, dist/lib/registry when built.
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return String(require(candidate).version);
    } catch {
      // Try the next layout.
    }
  }
  return 'dev';
}
