/**
 * A real OCI registry (Debian's `docker-registry`, distribution 2.8) for integration tests:
 * started on 127.0.0.1 with a random free port, anonymous / Basic (htpasswd) / Bearer token
 * auth, optionally over TLS with a throw-away CA; images pushed through the HTTP API.
 *
 * Share one registry per suite (`beforeAll`/`afterAll`): it starts in ~100 ms but pushes add up.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseChallenge } from '../../lib/registry/auth';
import { freePort, testRequest, TestHttpResponse } from './registry-http';
import { startTokenServer, TokenServer } from './token-server';

/** The registry binary; CI installs it (`.ci/run`). Tests fail loudly when it is missing. */
export const REGISTRY_BINARY = process.env.KUBEPIN_TEST_REGISTRY_BINARY ?? '/usr/bin/docker-registry';

export interface TestRegistry {
  readonly host: string; // '127.0.0.1:<port>'
  readonly auth: 'anonymous' | 'basic' | 'token';
  readonly tls: boolean;
  readonly caFile?: string; // PEM path of the CA when tls
  readonly username?: string; // credentials for basic/token setups
  readonly password?: string;
  stop(): Promise<void>; // kills the process, removes its temp dir
}

/** What the harness knows beyond {@link TestRegistry}; every registry from {@link startRegistry} has it. */
export interface TestRegistryDetails extends TestRegistry {
  /** `http://host` or `https://host`. */
  readonly baseUrl: string;
  /** The temp dir holding config, storage, keys. */
  readonly dir: string;
  /** The token server, for `auth: 'token'`. */
  readonly tokenServer?: TokenServer;
  /** The registry's process id (benchmarks read its CPU time from /proc). */
  readonly pid: number;
  /**
   * Requests the registry served, from its access log: `"HEAD /v2/app/manifests/1.0"` with the
   * status, in order. The log is written asynchronously: call {@link settle} before counting.
   */
  accessLog(): Array<{ method: string; path: string; status: number; protocol: string }>;
  /** Waits until the access log has stopped growing (bounded: at most 2 s). */
  settle(): Promise<void>;
  /** Forgets the access log and token-server records gathered so far. */
  resetCounters(): void;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a registry; always `stop()` it (afterAll). */
export async function startRegistry(
  options: {
    auth?: 'anonymous' | 'basic' | 'token';
    tls?: boolean;
    /** For `auth: 'token'`: the `host:port` to put in the realm instead of the token server's own (e.g. a proxy in front of it). */
    tokenRealmHost?: (tokenServerHost: string) => Promise<string>;
    /** Let `DELETE /v2/<repo>/manifests/<digest>` delete (storage.delete.enabled), as registries with retention rules do. @default false */
    deletes?: boolean;
  } = {},
): Promise<TestRegistryDetails> {
  if (!fs.existsSync(REGISTRY_BINARY)) {
    throw new Error(`${REGISTRY_BINARY} not found: the registry integration tests need Debian's docker-registry package (apt-get install docker-registry; .ci/run installs it)`);
  }
  const auth = options.auth ?? 'anonymous';
  const tls = options.tls ?? false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-registry-'));
  let tokenServer: TokenServer | undefined;
  try {
    const username = auth === 'anonymous' ? undefined : 'kubepin-test';
    const password = auth === 'anonymous' ? undefined : crypto.randomBytes(12).toString('hex');
    const lines: string[] = [];
    const authConfig: string[] = [];
    if (auth === 'basic') {
      fs.writeFileSync(path.join(dir, 'htpasswd'), `${username}:${bcrypt(password!)}\n`, { mode: 0o600 });
      authConfig.push('auth:', '  htpasswd:', '    realm: kubepin-test', `    path: ${path.join(dir, 'htpasswd')}`);
    } else if (auth === 'token') {
      openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'token.key', '-out', 'token.pem', '-days', '2', '-subj', '/CN=kubepin test token issuer']);
      tokenServer = await startTokenServer({
        keyFile: path.join(dir, 'token.key'),
        certFile: path.join(dir, 'token.pem'),
        issuer: 'kubepin-test-issuer',
        service: 'kubepin-test-registry',
        username: username!,
        password: password!,
      });
      authConfig.push(
        'auth:',
        '  token:',
        `    realm: ${options.tokenRealmHost ? tokenServer.realm.replace(new URL(tokenServer.realm).host, await options.tokenRealmHost(new URL(tokenServer.realm).host)) : tokenServer.realm}`,
        '    service: kubepin-test-registry',
        '    issuer: kubepin-test-issuer',
        `    rootcertbundle: ${path.join(dir, 'token.pem')}`,
      );
    }
    let caFile: string | undefined;
    const tlsConfig: string[] = [];
    if (tls) {
      caFile = makeServerCertificate(dir);
      tlsConfig.push('  tls:', `    certificate: ${path.join(dir, 'server.pem')}`, `    key: ${path.join(dir, 'server.key')}`);
    }
    let child: ChildProcess | undefined;
    let host = '';
    let lastError = '';
    // A port picked free can be taken before the registry binds it: try a few ports (bounded).
    for (let attempt = 0; attempt < 5 && !child; attempt++) {
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      const config = [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: false',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${path.join(dir, 'data')}`,
        ...(options.deletes ? ['  delete:', '    enabled: true'] : []),
        '  cache:',
        '    blobdescriptor: inmemory',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: ${host}`,
        `  secret: ${crypto.randomBytes(16).toString('hex')}`,
        ...tlsConfig,
        ...authConfig,
        '',
      ];
      fs.writeFileSync(path.join(dir, 'config.yml'), config.join('\n'));
      const proc = spawn(REGISTRY_BINARY, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      children.add(proc);
      let stderr = '';
      proc.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      let pending = '';
      proc.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        const parts = pending.split('\n');
        pending = parts.pop()!;
        lines.push(...parts);
      });
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const ready = await waitReady(`${tls ? 'https' : 'http'}://${host}/v2/`, caFile, exited);
      if (ready) {
        child = proc;
      } else {
        lastError = stderr;
        proc.kill('SIGKILL');
        await exited;
        children.delete(proc);
      }
    }
    if (!child) throw new Error(`docker-registry did not start: ${lastError.trim().split('\n').slice(-3).join(' | ')}`);
    const proc = child;
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once('exit', () => resolve());
    });
    let stopped = false;
    const ts = tokenServer;
    const accessLog = (): Array<{ method: string; path: string; status: number; protocol: string }> => {
      const out = [];
      for (const line of lines) {
        const m = /"([A-Z]+) (\S+) (HTTP\/[\d.]+)" (\d{3})/.exec(line);
        if (m) out.push({ method: m[1], path: m[2], status: Number(m[4]), protocol: m[3] });
      }
      return out;
    };
    return {
      host,
      auth,
      tls,
      caFile,
      username,
      password,
      baseUrl: `${tls ? 'https' : 'http'}://${host}`,
      dir,
      tokenServer: ts,
      pid: proc.pid!,
      accessLog,
      async settle() {
        let last = -1;
        for (let i = 0; i < 40 && lines.length !== last; i++) {
          last = lines.length;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      resetCounters() {
        lines.length = 0;
        if (ts) ts.requests.length = 0;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        children.delete(proc);
        if (ts) await ts.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (tokenServer) await tokenServer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function waitReady(url: string, caFile: string | undefined, exited: Promise<void>): Promise<boolean> {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && !dead) {
    try {
      const res = await testRequest(url, { caFile, timeoutMs: 1000 });
      if (res.status === 200 || res.status === 401) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for 127.0.0.1 signed by it (`server.pem`, `server.key` in `dir`); returns the CA's PEM path. */
export function makeServerCertificate(dir: string): string {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=kubepin test CA']);
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  return path.join(dir, 'ca.pem');
}

/**
 * A bcrypt hash (all docker-registry's htpasswd accepts), made by the C library's crypt(3)
 * through perl (Debian's libxcrypt supports `$2b$`; perl-base is an essential package).
 * Cost 4, the minimum: the registry checks the hash on every request.
 */
function bcrypt(password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = [...crypto.randomBytes(22)].map((b) => alphabet[b % 64]).join('').replace(/.$/, '.');
  const out = execFileSync('perl', ['-e', 'print crypt($ENV{KP_PW}, $ENV{KP_SALT})'], {
    env: { KP_PW: password, KP_SALT: `$2b$04$${salt}`, PATH: process.env.PATH ?? '/usr/bin:/bin' },
  }).toString();
  if (!out.startsWith('$2b$04$') || out.length !== 60) {
    throw new Error('cannot make a bcrypt hash for the htpasswd file: perl crypt() lacks bcrypt support (need libxcrypt)');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pushing images

export interface PushedImage {
  /** Digest of the manifest (the index / list for multi-arch formats) the tag names. */
  digest: string;
  /** Its media type. */
  mediaType: string;
  /** `os/arch[/variant]` → child manifest digest; empty for single-platform formats. */
  platforms: Record<string, string>;
}

/** Options of {@link pushImage}. */
export interface PushImageOptions {
  /** @default 'oci-index' */
  format?: 'oci-index' | 'docker-list' | 'oci' | 'docker';
  /** Platforms of an index/list; the first is used for single-manifest formats. @default ['linux/amd64', 'linux/arm64'] */
  platforms?: string[];
  /** Makes the content (and so the digests) differ; push the same tag with another seed to move it. @default `${repository}:${tag}` */
  seed?: string;
  /** gzipped tar layers to use instead of the generated one (e.g. for images a container runtime runs). */
  layers?: Buffer[];
}

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** sha256 digest of bytes, `sha256:<hex>`. */
export function sha256(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Uploads blobs and manifests of an image through the registry API (with the registry's
 * credentials) and tags it; digests are computed from the bytes sent.
 */
export async function pushImage(registry: TestRegistry, repository: string, tag: string, options: PushImageOptions = {}): Promise<PushedImage> {
  const format = options.format ?? 'oci-index';
  const platforms = options.platforms ?? ['linux/amd64', 'linux/arm64'];
  const seed = options.seed ?? `${repository}:${tag}`;
  const client = new PushClient(registry, repository);
  const oci = format === 'oci-index' || format === 'oci';
  const multi = format === 'oci-index' || format === 'docker-list';
  const children: Array<{ platform: string; digest: string; size: number; mediaType: string }> = [];
  for (const platform of multi ? platforms : platforms.slice(0, 1)) {
    const [osName, arch, variant] = platform.split('/');
    const layer = options.layers ?? [zlib.gzipSync(Buffer.from(`kubepin test layer ${seed} ${platform}\n`))];
    const diffIds = layer.map((l) => sha256(zlib.gunzipSync(l)));
    const config = Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: osName,
        ...(variant ? { variant } : {}),
        created: '2024-01-01T00:00:00Z',
        config: { Labels: { 'dev.kubepin.test.seed': seed } },
        rootfs: { type: 'layers', diff_ids: diffIds },
      }),
    );
    await client.uploadBlob(config);
    for (const l of layer) await client.uploadBlob(l);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest,
        config: { mediaType: oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig, digest: sha256(config), size: config.length },
        layers: layer.map((l) => ({ mediaType: oci ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayer, digest: sha256(l), size: l.length })),
      }),
    );
    const mediaType = oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
    const digest = sha256(manifest);
    // Children are pushed by digest; a single-platform image directly under the tag.
    await client.putManifest(multi ? digest : tag, manifest, mediaType);
    if (!multi) return { digest, mediaType, platforms: {} };
    children.push({ platform, digest, size: manifest.length, mediaType });
  }
  const mediaType = oci ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.dockerList;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => {
        const [osName, arch, variant] = c.platform.split('/');
        return { mediaType: c.mediaType, digest: c.digest, size: c.size, platform: { architecture: arch, os: osName, ...(variant ? { variant } : {}) } };
      }),
    }),
  );
  await client.putManifest(tag, index, mediaType);
  return { digest: sha256(index), mediaType, platforms: Object.fromEntries(children.map((c) => [c.platform, c.digest])) };
}

/** Pushes with the registry's credentials; a token registry's push token is fetched once per repository. */
export class PushClient {
  private authorization?: string;
  private readonly base: string;

  constructor(private readonly registry: TestRegistry, private readonly repository: string) {
    this.base = `${registry.tls ? 'https' : 'http'}://${registry.host}/v2/${repository}`;
    if (registry.auth === 'basic') {
      this.authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
    }
  }

  async uploadBlob(data: Buffer): Promise<void> {
    const digest = sha256(data);
    const head = await this.request('HEAD', `${this.base}/blobs/${digest}`);
    if (head.status === 200) return;
    const start = await this.request('POST', `${this.base}/blobs/uploads/`);
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${start.body.toString().slice(0, 300)}`);
    const location = new URL(String(start.headers.location), this.base);
    location.searchParams.set('digest', digest);
    const put = await this.request('PUT', location.toString(), data, 'application/octet-stream');
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${put.body.toString().slice(0, 300)}`);
  }

  /** Deletes the manifest `digest` (the registry must allow deletes: `startRegistry({ deletes: true })`). */
  async deleteManifest(digest: string): Promise<void> {
    const res = await this.request('DELETE', `${this.base}/manifests/${digest}`);
    if (res.status !== 202) throw new Error(`manifest DELETE ${this.repository}@${digest}: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
  }

  async putManifest(reference: string, body: Buffer, mediaType: string): Promise<void> {
    const res = await this.request('PUT', `${this.base}/manifests/${reference}`, body, mediaType);
    if (res.status !== 201) throw new Error(`manifest PUT ${this.repository}:${reference}: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
    const digest = res.headers['docker-content-digest'];
    if (digest !== sha256(body)) throw new Error(`registry stored ${String(digest)} for a manifest whose bytes hash to ${sha256(body)}`);
  }

  private async request(method: string, url: string, body?: Buffer, contentType?: string): Promise<TestHttpResponse> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {};
      if (this.authorization) headers.Authorization = this.authorization;
      if (contentType) headers['Content-Type'] = contentType;
      const res = await testRequest(url, { method, headers, body, caFile: this.registry.caFile });
      if (res.status !== 401 || this.registry.auth !== 'token' || attempt > 0) return res;
      const challenge = parseChallenge(res.headers['www-authenticate']);
      if (challenge.scheme !== 'bearer') return res;
      const tokenUrl = new URL(challenge.realm);
      if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
      tokenUrl.searchParams.set('scope', `repository:${this.repository}:pull,push`);
      const tokenRes = await testRequest(tokenUrl.toString(), {
        headers: { Authorization: `Basic ${Buffer.from(`${this.registry.username}:${this.registry.password}`).toString('base64')}` },
      });
      if (tokenRes.status !== 200) throw new Error(`token server: HTTP ${tokenRes.status}`);
      const json = JSON.parse(tokenRes.body.toString()) as { token?: string; access_token?: string };
      this.authorization = `Bearer ${json.token ?? json.access_token}`;
    }
    throw new Error('unreachable');
  }
}
