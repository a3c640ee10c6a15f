/**
 * A latency "site" in a child process of its own: a TLS docker-registry with token auth, its
 * token server, and two delay proxies (one in front of the registry, one in front of the token
 * server). Benchmarks run the client under test alone in their process: proxies copying bytes
 * and a token server signing JWTs in the same event loop would be timed as the client's cost.
 *
 * The parent talks to the child over the IPC channel (`startLatencySite()`); this file is also
 * the child's entry point (run with `-r scripts/ts-register.js`).
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { DelayProxy, startDelayProxy } from './delay-proxy';
import { pushImage, PushImageOptions, startRegistry, TestRegistryDetails } from './registry';
import { signatureSet } from './signature-sets';
import { keyFromPrivatePem } from './signatures';

/** What the parent learns about a site. */
export interface LatencySiteInfo {
  /** `127.0.0.1:<port>` of the delay proxy in front of the registry: the host images name. */
  readonly host: string;
  /** `127.0.0.1:<port>` of the registry itself (no delay). */
  readonly registryHost: string;
  /** PEM path of the registry's CA. */
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  /** The token realm (through its delay proxy). */
  readonly realm: string;
}

/** A site running in a child process. */
export interface LatencySite extends LatencySiteInfo {
  /**
   * Pushes images (8 at a time, each tried up to 3 times), signing those with a `sign` set
   * (test/support/signature-sets.ts) with `keyPem` (PKCS#8); returns `repo:tag` → digest.
   */
  seed(images: SeedImage[], keyPem?: string): Promise<Record<string, string>>;
  /** Sets the round-trip time both proxies add from the next connection on. */
  setRtt(ms: number): Promise<void>;
  /** Connections accepted so far by the registry's proxy and the token server's proxy. */
  connections(): Promise<{ registry: number; token: number }>;
  /** CPU milliseconds used so far by the registry process and by the site's own process (both delay proxies and the token server). */
  cpu(): Promise<{ registry: number; site: number }>;
  stop(): Promise<void>;
}

/** An image to push into a site. */
export interface SeedImage {
  readonly repository: string;
  readonly tag: string;
  readonly format: PushImageOptions['format'];
  /** The signature set to sign it with, by name. @default unsigned */
  readonly sign?: string;
}

type Call = { op: 'seed'; images: SeedImage[]; keyPem?: string } | { op: 'rtt'; ms: number } | { op: 'connections' } | { op: 'cpu' } | { op: 'stop' };
type Request = Call & { id: number };
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string } | { ready: LatencySiteInfo } | { failed: string };

/** Starts a site in a new child process. */
export function startLatencySite(): Promise<LatencySite> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', path.join(__dirname, '..', '..', 'scripts', 'ts-register.js')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const call = (req: Call): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const e = new Error(`latency site process exited (code ${code})`);
      reject(e);
      for (const w of waiting.values()) w.reject(e);
    });
    child.on('message', (m: Reply) => {
      if ('failed' in m) return reject(new Error(`latency site failed to start: ${m.failed}`));
      if ('ready' in m) {
        resolve({
          ...m.ready,
          seed: (images, keyPem) => call({ op: 'seed', images, keyPem }) as Promise<Record<string, string>>,
          setRtt: async (ms) => void (await call({ op: 'rtt', ms })),
          connections: () => call({ op: 'connections' }) as Promise<{ registry: number; token: number }>,
          cpu: () => call({ op: 'cpu' }) as Promise<{ registry: number; site: number }>,
          stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise<void>((r) => child.once('exit', () => r()));
            await call({ op: 'stop' }).catch(() => undefined);
            await exited;
          },
        });
        return;
      }
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
  });
}

/** Set-up steps on a loaded machine sometimes see a dropped connection: tried up to 3 times. */
export async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/** User + system CPU milliseconds of process `pid` (Linux /proc; fields 14 and 15 of its stat, in clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Median time of a request (7 samples) on a warm keep-alive connection through the site's proxy: the RTT as a client sees it. */
export async function measureRtt(site: LatencySiteInfo, ca: Buffer): Promise<number> {
  const https = require('https') as typeof import('https');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  const once = (): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const start = performance.now();
      https.get(`https://${site.host}/v2/`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - start));
      }).on('error', reject);
    });
  await once();
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) samples.push(await once());
  agent.destroy();
  return samples.sort((a, b) => a - b)[3];
}

/** A bearer token of `site`'s token server for each of `repos` (fetched through its proxy, 16 at a time): what a benchmark's minimal client sends. */
export async function siteTokens(site: LatencySiteInfo, repos: readonly string[]): Promise<string[]> {
  const auth = `${site.username}:${site.password}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const tokens: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(16, repos.length) }, async () => {
        while (next < repos.length) {
          const i = next++;
          const realm = new URL(site.realm);
          realm.searchParams.set('service', 'kubepin-test-registry');
          realm.searchParams.set('scope', `repository:${repos[i]}:pull`);
          tokens[i] = await retrying(
            () =>
              new Promise<string>((resolve, reject) => {
                http.get(realm, { agent, auth }, (res) => {
                  const chunks: Buffer[] = [];
                  res.on('data', (c: Buffer) => chunks.push(c));
                  res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(Buffer.concat(chunks).toString()) as { token: string }).token) : reject(new Error(`token: HTTP ${res.statusCode}`))));
                }).on('error', reject);
              }),
          );
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return tokens;
}

async function childMain(): Promise<void> {
  const send = (m: Reply): void => void process.send!(m);
  let registry: TestRegistryDetails | undefined;
  let tokenFront: DelayProxy | undefined;
  let front: DelayProxy | undefined;
  const stop = async (): Promise<void> => {
    await front?.stop();
    await tokenFront?.stop();
    await registry?.stop();
  };
  // The parent gone (killed, crashed): take the registry down with us.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  try {
    registry = await startRegistry({ auth: 'token', tls: true, tokenRealmHost: async (target) => (tokenFront = await startDelayProxy(target, 0)).host });
    front = await startDelayProxy(registry.host, 0);
  } catch (e) {
    send({ failed: e instanceof Error ? e.message : String(e) });
    await stop();
    process.exit(1);
  }
  const reg = registry!;
  process.on('message', async (req: Request) => {
    try {
      let value: unknown = null;
      if (req.op === 'seed') {
        const digests: Record<string, string> = {};
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < req.images.length) {
              const img = req.images[next++];
              const digest = (await retrying(() => pushImage(reg, img.repository, img.tag, { format: img.format }))).digest;
              if (img.sign) await retrying(() => signatureSet(img.sign!).sign(reg, img.repository, digest, keyFromPrivatePem(req.keyPem!), front!.host));
              digests[`${img.repository}:${img.tag}`] = digest;
            }
          }),
        );
        value = digests;
      } else if (req.op === 'rtt') {
        front!.rttMs = req.ms;
        tokenFront!.rttMs = req.ms;
      } else if (req.op === 'connections') {
        value = { registry: front!.connections, token: tokenFront!.connections };
      } else if (req.op === 'cpu') {
        const own = process.cpuUsage();
        value = { registry: processCpuMs(reg.pid), site: (own.user + own.system) / 1000 };
      } else if (req.op === 'stop') {
        await stop();
        send({ id: req.id, ok: true, value });
        process.disconnect();
        return;
      }
      send({ id: req.id, ok: true, value });
    } catch (e) {
      send({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
  send({ ready: { host: front!.host, registryHost: reg.host, caFile: reg.caFile!, username: reg.username!, password: reg.password!, realm: reg.tokenServer!.realm.replace(new URL(reg.tokenServer!.realm).host, tokenFront!.host) } });
}

if (require.main === module) void childMain();
