/**
 * Benchmark: `kubepin verify --remote`'s liveness check against a plain `kubepin lock --update`
 * of the same images, at real-world latency. Three docker-registry instances over HTTPS (test
 * CA) with token auth, each behind a delay proxy in a child process of its own
 * (test/support/latency-site.ts), 500 multi-platform images (an index with linux/amd64 and
 * linux/arm64 children) spread over them, locked with both platforms recorded.
 *
 * Timed, each with a fresh RegistryClient (cold connections, no tokens), medians of BENCH_RUNS:
 * - lock --update: every tag resolved again (LockUpdater with `update`, no platforms): one HEAD per image;
 * - liveness: every locked digest and both platform manifests asked for (checkLiveness): three HEADs per image;
 * - verify --remote: liveness and the tag check together, as the command runs them.
 * Requests are counted by method: liveness must send no GET for a manifest it only needs to see exists.
 *
 * Where the time goes, per run: the CPU the three registries used (docker-registry processes, read
 * from /proc) and the sites' own processes (delay proxies and token servers), beside the wall
 * time; and the floor of each workload: a minimal HTTP/2 client per registry
 * (test/support/head-round.ts, in processes of their own, tokens fetched beforehand) sending the
 * same HEADs all at once (lock: one tag HEAD per image; liveness: the index and both children by
 * digest), plus 3 RTTs (ping, token connect + request). floor live/lock is the ratio no client can
 * beat on this machine: when the registries are CPU-bound, 3x the HEADs cost nearly 3x the time.
 *
 *   npm run bench:liveness                       # RTT 50 ms, 500 images
 *   BENCH_RTTS=0,50 BENCH_IMAGES=100 npm run bench:liveness
 *
 * Goal at 50 ms: liveness <= 1.5x lock --update, and no manifest GET.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../lib/core/credentials/keyring';
import { ImageLock, LockEntry } from '../lib/core/lock/image-lock';
import { KeyringCredentials, RegistryClient } from '../lib/registry';
import { LockUpdater } from '../lib/registry/lock-images';
import { checkLiveness } from '../lib/registry/liveness';
import type { Transport } from '../lib/registry/transport';
import { remoteFindings } from '../lib/cli/verify-remote';
import { SignaturePolicy } from '../lib/signatures/policy';
import { HeadRoundSpec, headRounds } from '../test/support/head-round';
import { LatencySite, measureRtt, siteTokens, startLatencySite } from '../test/support/latency-site';
import { MANIFEST_ACCEPT } from '../lib/registry';

const RTTS = (process.env.BENCH_RTTS ?? '50').split(',').map(Number);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REGISTRIES = 3;
const CLUSTER = ['linux/amd64', 'linux/arm64'];
/** Round trips of the floor besides its round of HEADs (whose time includes TCP and TLS): the ping, the token's connect and request. */
const FLOOR_FIXED_ROUND_TRIPS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Counts the client's requests by `METHOD kind` (a benchmark may reach into the client; it does not change it). */
function countRequests(client: RegistryClient): Map<string, number> {
  const transport = (client as unknown as { transport: Transport }).transport;
  const counts = new Map<string, number>();
  const request = transport.request.bind(transport);
  transport.request = (url, method, headers, maxBytes) => {
    const kind = url.pathname === '/v2/' ? 'ping' : /\/manifests\//.test(url.pathname) ? 'manifest' : /\/tags\/list/.test(url.pathname) ? 'tags' : 'token';
    const key = `${method} ${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return request(url, method, headers, maxBytes);
  };
  return counts;
}

interface RunResult {
  ms: number;
  /** kubepin's CPU ms (this process). */
  cpuMs: number;
  /** The registries' CPU ms, and the sites' (proxies, token servers). */
  registryCpuMs: number;
  siteCpuMs: number;
  /** TCP connections the proxies accepted (registries and token servers): keep-alive and HTTP/2 keep this at a few per registry. */
  connections: number;
  counts: Map<string, number>;
}

async function timedRun(sites: LatencySite[], newClient: () => RegistryClient, work: (client: RegistryClient) => Promise<void>): Promise<RunResult> {
  const client = newClient();
  const counts = countRequests(client);
  try {
    const servers = await serverCpu(sites);
    const before = await connectionCount(sites);
    const start = performance.now();
    const cpu = process.cpuUsage();
    await work(client);
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - start;
    const after = await serverCpu(sites);
    const connections = (await connectionCount(sites)) - before;
    return { ms, cpuMs: (used.user + used.system) / 1000, registryCpuMs: after.registry - servers.registry, siteCpuMs: after.site - servers.site, connections, counts };
  } finally {
    client.close();
  }
}

/** CPU ms used so far by the registries and by the sites' processes (proxies, token servers). */
async function serverCpu(sites: LatencySite[]): Promise<{ registry: number; site: number }> {
  const all = await Promise.all(sites.map((s) => s.cpu()));
  return { registry: all.reduce((n, c) => n + c.registry, 0), site: all.reduce((n, c) => n + c.site, 0) };
}

async function connectionCount(sites: LatencySite[]): Promise<number> {
  const counts = await Promise.all(sites.map((s) => s.connections()));
  return counts.reduce((n, c) => n + c.registry + c.token, 0);
}

function describeCounts(counts: Map<string, number>): string {
  return [...counts].sort().map(([k, n]) => `${k} ${n}`).join(', ');
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-liveness-'));
  const sites: LatencySite[] = [];
  try {
    sites.push(...(await Promise.all(Array.from({ length: REGISTRIES }, () => startLatencySite()))));
    process.stdout.write(`3 registries (docker-registry, TLS, token auth, each with its proxies in a child process), seeding ${IMAGES} two-platform images…\n`);
    const images = Array.from({ length: IMAGES }, (_, i) => {
      const site = sites[i % REGISTRIES];
      const repo = `bench/live-${String(i).padStart(3, '0')}`;
      return { site, repo, ref: `${site.host}/${repo}:1.0` };
    });
    await Promise.all(sites.map((site) => site.seed(images.filter((img) => img.site === site).map((img) => ({ repository: img.repo, tag: '1.0', format: 'oci-index' as const })))));
    const ca = Buffer.concat(sites.map((s) => fs.readFileSync(s.caFile)));
    const keyring = new CredentialKeyring();
    for (const s of sites) keyring.add(`bench-${s.host}`, { auths: { [s.host]: { username: s.username, password: s.password } } });
    const newClient = (): RegistryClient => new RegistryClient({ ca, credentials: new KeyringCredentials(keyring) });

    // The lock, as `kubepin lock` writes it under "platforms": both children recorded (untimed, no added RTT).
    await Promise.all(sites.map((s) => s.setRtt(0)));
    const lock = ImageLock.empty(path.join(work, 'kubepin.lock.json'));
    await timedRun(sites, newClient, async (client) => {
      const updater = new LockUpdater(client, lock, { clusterPlatforms: CLUSTER });
      for (const img of images) updater.add(img.ref);
      const failed = (await updater.finish()).filter((o) => o.status === 'failed');
      if (failed.length > 0) throw new Error(`${failed.length} images failed to lock`);
    });
    if (lock.list().some((e) => Object.keys(e.platforms ?? {}).length !== 2)) throw new Error('the lock lacks platform digests');

    // The floor's requests, per registry: lock's tag HEADs, and liveness's digest HEADs (index and both children).
    const specsFor = async (paths: (e: LockEntry, repo: string) => string[]): Promise<HeadRoundSpec[]> =>
      Promise.all(sites.map(async (site) => {
        const mine = images.filter((img) => img.site === site);
        const tokens = await siteTokens(site, mine.map((img) => img.repo));
        const list = mine.flatMap((img, i) => paths(lock.get(img.ref)!, img.repo).map((p) => ({ p, token: tokens[i] })));
        return { origin: `https://${site.host}`, caFile: site.caFile, accept: MANIFEST_ACCEPT, paths: list.map((x) => x.p), tokens: list.map((x) => x.token) };
      }));

    const rows: string[] = [];
    const costs: string[] = [];
    for (const rtt of RTTS) {
      await Promise.all(sites.map((s) => s.setRtt(rtt)));
      const measured = median(await Promise.all(sites.map((s) => measureRtt(s, ca))));
      const lockSpecs = await specsFor((_e, repo) => [`/v2/${repo}/manifests/1.0`]);
      const liveSpecs = await specsFor((e, repo) => [e.digest, ...Object.values(e.platforms ?? {})].map((d) => `/v2/${repo}/manifests/${d}`));
      const runs = { lock: [] as RunResult[], live: [] as RunResult[], verify: [] as RunResult[] };
      const floors = { lock: [] as number[], live: [] as number[] };
      for (let i = 0; i < RUNS; i++) {
        runs.lock.push(await timedRun(sites, newClient, async (client) => {
          const copy = ImageLock.empty(path.join(work, 'unused.lock.json'));
          for (const e of lock.list()) copy.set(e.reference, e);
          const updater = new LockUpdater(client, copy, { update: true });
          for (const img of images) updater.add(img.ref);
          const failed = (await updater.finish()).filter((o) => o.status === 'failed');
          if (failed.length > 0) throw new Error(`lock --update: ${failed.length} failed (${failed[0].status === 'failed' ? failed[0].error.message : ''})`);
        }));
        runs.live.push(await timedRun(sites, newClient, async (client) => {
          const found = (await Promise.all(lock.list().map((e) => checkLiveness(client, e, CLUSTER)))).flat();
          if (found.length > 0) throw new Error(`liveness: ${found.length} findings (${found[0].message})`);
        }));
        runs.verify.push(await timedRun(sites, newClient, async (client) => {
          const { findings } = await remoteFindings(client, lock, SignaturePolicy.NONE, 'kubepin.lock.json', CLUSTER);
          if (findings.length > 0) throw new Error(`verify --remote: ${findings.length} findings (${findings[0].message})`);
        }));
        floors.lock.push(FLOOR_FIXED_ROUND_TRIPS * measured + (await headRounds(lockSpecs)));
        floors.live.push(FLOOR_FIXED_ROUND_TRIPS * measured + (await headRounds(liveSpecs)));
      }
      const med = (xs: RunResult[], f: (r: RunResult) => number): number => median(xs.map(f));
      const relock = med(runs.lock, (r) => r.ms);
      const live = med(runs.live, (r) => r.ms);
      const verify = med(runs.verify, (r) => r.ms);
      const floorLock = median(floors.lock);
      const floorLive = median(floors.live);
      const gets = runs.live[runs.live.length - 1].counts.get('GET manifest') ?? 0;
      const secs = (ms: number): string => (ms / 1000).toFixed(3);
      rows.push(`  ${String(rtt).padStart(4)} ms ${measured.toFixed(1).padStart(6)}  ${secs(relock).padStart(9)}  ${secs(live).padStart(9)}  ${(live / relock).toFixed(2).padStart(7)}x  ${secs(verify).padStart(9)}  ${(verify / relock).toFixed(2).padStart(7)}x  ${secs(floorLock).padStart(8)}  ${secs(floorLive).padStart(8)}  ${(floorLive / floorLock).toFixed(2).padStart(7)}x  ${String(gets).padStart(6)}`);
      for (const [name, list] of Object.entries(runs)) {
        const heads = list[0].counts.get('HEAD manifest') ?? 0;
        const reg = med(list, (r) => r.registryCpuMs);
        costs.push(`  ${String(rtt).padStart(4)} ms  ${name.padEnd(8)} ${String(heads).padStart(5)} HEADs  wall ${secs(med(list, (r) => r.ms))} s  kubepin CPU ${secs(med(list, (r) => r.cpuMs))} s  registries CPU ${secs(reg)} s (${((reg * 1000) / heads).toFixed(0)} µs/HEAD)  proxies+token servers CPU ${secs(med(list, (r) => r.siteCpuMs))} s  connections ${list[0].connections}`);
      }
      process.stdout.write(`RTT ${rtt} ms (measured ${measured.toFixed(1)}): ${Object.entries(runs).map(([name, list]) => `${name} ${list.map((r) => secs(r.ms)).join(' ')} s [${describeCounts(list[list.length - 1].counts)}]`).join('; ')}; floor lock ${floors.lock.map(secs).join(' ')} s, live ${floors.live.map(secs).join(' ')} s; load ${os.loadavg()[0].toFixed(2)}\n`);
    }
    process.stdout.write(
      [
        '',
        `${IMAGES} locked images (index + linux/amd64 + linux/arm64) on ${REGISTRIES} registries (HTTPS, token auth), medians of ${RUNS}, fresh client per run; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`,
        `floor = ${FLOOR_FIXED_ROUND_TRIPS} x measured RTT (ping, token connect + request) + the same HEADs sent at once by a minimal HTTP/2 client per registry (tokens fetched beforehand)`,
        '',
        '   added  meas.  lock --upd s  liveness s  live/lock   verify s  verify/lock  floor lock  floor live  floor l/l  m.GETs',
        ...rows,
        '',
        'Cost per run (medians):',
        ...costs,
        '',
        'Goal at 50 ms: liveness <= 1.5x lock --update, and no manifest GET (HEAD only).',
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(sites.map((s) => s.stop()));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-liveness: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
