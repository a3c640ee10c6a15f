import { ImageReference, DOCKER_HUB } from '../core/names/image-reference';
import { KubepinError, KubepinUsageError } from '../util/errors';
import { packageVersion } from '../util/version';
import type { ArtifactSource, FetchedManifest } from '../signatures/artifacts';
import { AuthContext, HostAccess, RegistryAuth, parseChallenge, pingHost } from './auth';
import { RegistryError } from '../core/findings/registry-error';
import { RegistryCredential } from './credentials';
import { Limiter } from './limiter';
import { INDEX_TYPES, KNOWN_TYPES, MANIFEST_ACCEPT, SHA256_DIGEST, contentType, headerDigest, parsePlatform, refuseEncodedBody, sha256Digest, verifyBody } from './manifest-verification';
import { allowedScheme } from './plain-http';
import { indexPlatforms, platformDigests } from './index-platforms';
import { RetryPolicy } from './retries';
import { checkStatus, registryErrorOf } from './status-errors';
import { HttpAnswer, Transport } from './transport';

/** Most requests in flight on one HTTP/2 connection (Go's servers allow 250). */
const MAX_HTTP2_STREAMS = 256;

const USER_AGENT = `kubepin/${packageVersion() ?? 'dev'}`;

export type { ManifestPresence, RegistryClientOptions, RegistryClientStats, ResolveOptions, ResolvedImage } from './client-types';
import type { ManifestPresence, RegistryClientOptions, RegistryClientStats, ResolveOptions, ResolvedImage } from './client-types';

/** Per API host: what its ping taught, and its concurrency limit. */
interface HostState {
  /** Scheme and auth challenge, found by one `GET /v2/` shared by all requests to the host. */
  ping?: Promise<HostAccess>;
  limiter: Limiter;
}

/**
 * Resolves image tags to digests against OCI / Docker registries, as the OCI distribution
 * spec allows (see registry/index.ts): one HEAD per tag when warm, GET + sha256 when the digest
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
  private readonly retry: RetryPolicy;
  private readonly auth: RegistryAuth;
  private readonly authContext: AuthContext;
  private readonly hosts = new Map<string, HostState>();
  private readonly inflight = new Map<string, Promise<ResolvedImage>>();
  private readonly insecure: Set<string>;
  private readonly mirrors: Map<string, string>;
  private readonly concurrency: number;
  private readonly maxManifestBytes: number;
  private readonly counters = { pings: 0, tokenRequests: 0, manifestRequests: 0 };

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.concurrency = positive(options.concurrency, 16, 'concurrency');
    this.retry = new RetryPolicy({
      retries: nonNegative(options.retries, 3, 'retries'),
      maxConsecutiveTimeouts: positive(options.maxConsecutiveTimeouts, 3, 'maxConsecutiveTimeouts'),
      backoffMs: nonNegative(options.backoffMs, 200, 'backoffMs'),
      maxBackoffMs: nonNegative(options.maxBackoffMs, 3000, 'maxBackoffMs'),
      maxRetryAfterMs: nonNegative(options.maxRetryAfterMs, 30000, 'maxRetryAfterMs'),
    });
    this.maxManifestBytes = positive(options.maxManifestBytes, 4 * 1024 * 1024, 'maxManifestBytes');
    this.insecure = new Set(options.insecureRegistries ?? []);
    for (const [registry, mirror] of Object.entries(options.mirrors ?? {})) checkMirrorHost(registry, mirror);
    this.mirrors = new Map(Object.entries(options.mirrors ?? {}));
    this.transport = new Transport({
      ca: options.ca,
      maxSockets: this.concurrency,
      timeoutMs: positive(options.timeoutMs, 10000, 'timeoutMs'),
      skipVerifyHosts: [...this.insecure],
      http2: options.http2 !== false,
    });
    this.authContext = { transport: this.transport, retry: this.retry, insecure: this.insecure, userAgent: USER_AGENT, counters: this.counters };
    this.auth = new RegistryAuth(this.authContext);
  }

  /** Request counters so far. */
  public get stats(): RegistryClientStats {
    return { requests: this.transport.requests, ...this.counters, retries: this.retry.retried };
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
    if (ref.registry === '') return Promise.reject(hostlessError(ref));
    const platforms = [...new Set(options.platforms ?? [])].sort();
    for (const p of platforms) parsePlatform(p);
    const tagged = ref.tag === undefined ? ref : ref.withoutDigest();
    const list = options.listPlatforms === true;
    const key = `${tagged.toString()}\0${platforms.join(',')}\0${list}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.resolveTagged(tagged, platforms, list);
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

  private resolveTagged(ref: ImageReference, platforms: string[], list: boolean): Promise<ResolvedImage> {
    return this.withAccess(ref, async (apiHost, state, credential) => ({
      ...(await this.resolveWith(apiHost, state, ref, credential, platforms, list)),
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
  private async withAccess<T>(ref: ImageReference, attempt: (apiHost: string, state: HostState, credential: RegistryCredential | undefined) => Promise<T>): Promise<T> {
    const logicalHost = this.mirrors.get(ref.registry) ?? ref.registry;
    const apiHost = logicalHost === DOCKER_HUB ? 'registry-1.docker.io' : logicalHost;
    const state = this.hostState(apiHost);
    const lookup = async (): Promise<RegistryCredential[]> => {
      try {
        return this.options.credentials ? await this.options.credentials.credentialsFor(`${logicalHost}/${ref.repository}`, logicalHost) : [];
      } catch (e) {
        // A broken credential helper fails this image, not the whole run.
        if (!(e instanceof KubepinError)) throw e;
        throw new RegistryError('unauthorized', apiHost, `${ref.toString()}: cannot get credentials for ${logicalHost}: ${e.message}`);
      }
    };
    // The ping and, for a token registry, the credential are known before waiting for a slot,
    // so the first token request can cover every repository queued for the registry.
    const { challenge } = await this.ping(apiHost, state);
    let found: RegistryCredential[] | undefined;
    if (challenge.scheme === 'bearer') {
      found = await lookup();
      this.auth.expect(challenge, `repository:${ref.repository}:pull`, found[0]);
    }
    return state.limiter.run(async () => {
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
      const credentials = found ?? (await lookup());
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
   * `undefined` when the registry answers 404. Used to read signatures ({@link ArtifactSource}),
   * and, with the client's own manifest bound (`maxManifestBytes`) when `maxBytes` is not given,
   * manifests the lock recorded.
   */
  public fetchManifest(image: ImageReference, reference: string, accept: readonly string[], maxBytes: number = this.maxManifestBytes): Promise<FetchedManifest | undefined> {
    const what = `${image.name}:${reference}`;
    return this.withAccess(image, async (host, state, credential) => {
      const res = await this.fetchPath(host, state, image, `manifests/${reference}`, accept.join(', '), maxBytes, credential, what);
      if (res.status === 404) return undefined;
      checkStatus(res, host, what, credential);
      refuseEncodedBody(res, host, what);
      const digest = sha256Digest(res.body);
      const claimed = headerDigest(res);
      if ((claimed !== undefined && claimed !== digest) || (SHA256_DIGEST.test(reference) && reference !== digest)) {
        throw new RegistryError('digest-mismatch', host, `${what}: ${host} sent a manifest whose bytes hash to ${digest}, not ${SHA256_DIGEST.test(reference) ? reference : claimed}; refusing it`);
      }
      return { body: res.body, digest, mediaType: contentType(res) ?? '' };
    });
  }

  /**
   * Whether the registry still serves the manifest `digest` of `image`'s repository, asked as
   * cheaply as the protocol allows: one HEAD (quota-free on Docker Hub). A HEAD answered 405, or
   * 2xx without that digest in `Docker-Content-Digest`, gets one GET whose bytes must hash to
   * `digest` (then `body` is set). A 404 is `present: false` with the registry's error code, read
   * from a GET (a HEAD answer has no body) and, unless that says `NAME_UNKNOWN`, from the
   * repository's tag list, so a deleted repository is told from a deleted manifest. With `read`,
   * for a caller that needs the bytes anyway, the GET is sent at once (no HEAD before it).
   * @throws RegistryError for any other failure (401, 403, network, a body hashing to another digest).
   */
  public probeManifest(image: ImageReference, digest: string, options: { read?: boolean } = {}): Promise<ManifestPresence> {
    if (image.registry === '') return Promise.reject(hostlessError(image));
    const what = `${image.name}@${digest}`;
    return this.withAccess(image, async (host, state, credential) => {
      const { origin } = await this.ping(host, state);
      const url = new URL(`${origin}/v2/${image.repository}/manifests/${digest}`);
      const scope = `repository:${image.repository}:pull`;
      if (options.read !== true) {
        this.counters.manifestRequests++;
        const head = await this.send(host, state, url, 'HEAD', scope, credential, what);
        if (head.status !== 404 && head.status !== 405) checkStatus(head, host, what, credential);
        if (head.status >= 200 && head.status < 300 && headerDigest(head) === digest) return { present: true, mediaType: contentType(head) ?? '' };
      }
      this.counters.manifestRequests++;
      const get = await this.send(host, state, url, 'GET', scope, credential, what);
      if (get.status === 404) {
        const error = registryErrorOf(get.body);
        if (error?.code === 'NAME_UNKNOWN') return { present: false, ...error };
        // Many registries (distribution among them) say MANIFEST_UNKNOWN in an unknown repository too: its tag list tells.
        const tags = await this.send(host, state, new URL(`${origin}/v2/${image.repository}/tags/list?n=1`), 'GET', scope, credential, what, { accept: 'application/json', maxBytes: 64 * 1024 });
        const tagsError = tags.status === 404 ? registryErrorOf(tags.body) : undefined;
        return { present: false, ...(tagsError?.code === 'NAME_UNKNOWN' ? tagsError : (error ?? {})) };
      }
      checkStatus(get, host, what, credential);
      const verified = verifyBody(get, host, what);
      if (verified.digest !== digest) throw new RegistryError('digest-mismatch', host, `${what}: ${host} answered the request for ${digest} with a manifest hashing to ${verified.digest}; refusing it`);
      return { present: true, mediaType: verified.mediaType, body: get.body };
    });
  }

  /** The blob `digest` of `image`'s repository, at most `maxBytes`; its bytes must hash to `digest`. */
  public fetchBlob(image: ImageReference, digest: string, maxBytes: number): Promise<Buffer> {
    const what = `${image.name}@${digest}`;
    return this.withAccess(image, async (host, state, credential) => {
      const res = await this.fetchPath(host, state, image, `blobs/${digest}`, '*/*', maxBytes, credential, what);
      checkStatus(res, host, what, credential);
      refuseEncodedBody(res, host, what);
      const actual = sha256Digest(res.body);
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
      checkStatus(res, host, what, credential);
      if (contentType(res) !== 'application/vnd.oci.image.index.v1+json') return undefined;
      return res.body;
    });
  }

  /**
   * `GET /v2/<apiPath>` on `image`'s registry with `scope`, at most `maxBytes`: the status and
   * body, for the listing APIs (tags, catalog: lib/registry/listing.ts). 401 and 403 throw, so the
   * next matching credential is tried.
   */
  public fetchApi(image: ImageReference, apiPath: string, scope: string, maxBytes: number): Promise<{ status: number; body: Buffer }> {
    return this.withAccess(image, async (host, state, credential) => {
      const { origin } = await this.ping(host, state);
      const what = `${host}/v2/${apiPath}`;
      const res = await this.send(host, state, new URL(`${origin}/v2/${apiPath}`), 'GET', scope, credential, what, { accept: 'application/json', maxBytes });
      if (res.status === 401 || res.status === 403) checkStatus(res, host, what, credential);
      return { status: res.status, body: res.body };
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
    list = false,
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
    if (head) checkStatus(head, host, image, credential);
    let digest = head ? headerDigest(head) : undefined;
    let mediaType = head ? contentType(head) : undefined;
    let body: Buffer | undefined;
    if (!digest || !mediaType || !KNOWN_TYPES.has(mediaType)) {
      this.counters.manifestRequests++;
      const get = await this.send(host, state, manifestUrl, 'GET', scope, credential, image);
      checkStatus(get, host, image, credential);
      ({ digest, mediaType } = verifyBody(get, host, image));
      body = get.body;
    }
    if (ref.tag === undefined && digest !== ref.digest) {
      throw new RegistryError('digest-mismatch', host, `${image}: ${host} answered the request for ${ref.digest} with ${digest}; refusing it`);
    }
    const result: { digest: string; mediaType: string; platforms?: Record<string, string>; offeredPlatforms?: Record<string, string> } = { digest, mediaType };
    if ((platforms.length > 0 || list) && INDEX_TYPES.has(mediaType)) {
      if (!body) {
        // Fetch the index by digest: content-addressed, so its hash must equal the pinned digest.
        const byDigest = new URL(`${origin}/v2/${ref.repository}/manifests/${digest}`);
        this.counters.manifestRequests++;
        const get = await this.send(host, state, byDigest, 'GET', scope, credential, image);
        checkStatus(get, host, image, credential);
        const verified = verifyBody(get, host, image);
        if (verified.digest !== digest) {
          throw new RegistryError('digest-mismatch', host, `${image}: the index fetched by digest ${digest} hashes to ${verified.digest}; refusing to record it`);
        }
        body = get.body;
      }
      if (platforms.length > 0) result.platforms = platformDigests(body, platforms, host, image);
      if (list) result.offeredPlatforms = Object.fromEntries(indexPlatforms(body));
    }
    return result;
  }

  /** `GET /v2/` once per host: picks the scheme and learns the auth challenge. */
  private ping(host: string, state: HostState): Promise<HostAccess> {
    if (!state.ping) {
      state.ping = pingHost(this.authContext, host).then(async (access) => {
        // One HTTP/2 connection carries as many requests as the registry allows streams.
        const streams = this.options.concurrency === undefined ? await this.transport.http2Streams(access.origin) : undefined;
        if (streams) state.limiter.setLimit(Math.max(1, Math.min(streams, MAX_HTTP2_STREAMS)));
        return access;
      });
      state.ping.catch(() => {
        state.ping = undefined;
      });
    }
    return state.ping;
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
      // Bodies are hashed as received: ask for them unencoded (encoded ones are refused).
      const headers: Record<string, string> = { Accept: body.accept, 'Accept-Encoding': 'identity', 'User-Agent': USER_AGENT };
      if (sameHost) {
        const { challenge } = await this.ping(host, state);
        const auth = await this.auth.authorization(host, challenge, scope, credential, image);
        if (auth) headers.Authorization = auth;
      }
      const res = await this.retry.run(host, image, () => this.transport.request(target, method, headers, body.maxBytes));
      if (res.status === 401 && sameHost) {
        // Learn a challenge the ping did not show, or refresh an expired token once.
        const challenge = parseChallenge(res.headers['www-authenticate']);
        const ping = await this.ping(host, state);
        if (!refreshed && challenge.scheme !== 'none') {
          refreshed = true;
          ping.challenge = challenge;
          this.auth.forget(challenge, scope, credential);
          hops--;
          continue;
        }
      }
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        const next = new URL(res.headers.location, target);
        if (!allowedScheme(next, this.insecure)) {
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
}

/** `a_b.c/x:1` parses (as upstream) with no registry host; a URL built from it would name the host "v2". */
function hostlessError(ref: ImageReference): RegistryError {
  return new RegistryError('invalid-reference', '', `${ref.toString()}: has no registry host ("${ref.repository.split('/')[0]}" is not a valid host name: "_" is not allowed), and container runtimes disagree on where such an image is pulled from; refusing to resolve it. Fix: write the registry's real host name`);
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

/**
 * A mirror is a host (`host[:port]`), never a URL with a user name or password: those would be
 * sent on every request and printed in errors. Credentials come from the Docker config.
 * @throws KubepinUsageError naming the registry and the mirror's host, never the userinfo.
 */
export function checkMirrorHost(registry: string, mirror: string): void {
  const at = mirror.lastIndexOf('@');
  if (at === -1) return;
  throw new KubepinUsageError(`the mirror for ${registry} (…@${mirror.slice(at + 1)}) carries a user name or password; give the mirror as host[:port] and put its credentials in your Docker config (docker login ${mirror.slice(at + 1)}) or a --docker-config file`);
}

