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
 *   npm run bench:liveness                       # RTT 50 ms, 500 images
 *   BENCH_RTTS=0,50 BENCH_IMAGES=100 npm run bench:liveness
 *
 * Goal at 50 ms: liveness <= 1.5x lock --update, and no manifest GET.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../lib/core/credentials/keyring';
import { ImageLock } from '../lib/core/lock/image-lock';
import { KeyringCredentials, RegistryClient } from '../lib/registry';
import { LockUpdater } from '../lib/registry/lock-images';
import { checkLiveness } from '../lib/registry/liveness';
import type { Transport } from '../lib/registry/transport';
import { remoteFindings } from '../lib/cli/verify-remote';
import { SignaturePolicy } from '../lib/signatures/policy';
import { LatencySite, startLatencySite } from '../test/support/latency-site';

const RTTS = (process.env.BENCH_RTTS ?? '50').split(',').map(Number);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REGISTRIES = 3;
const CLUSTER = ['linux/amd64', 'linux/arm64'];

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

async function timedRun(newClient: () => RegistryClient, work: (client: RegistryClient) => Promise<void>): Promise<{ ms: number; cpuMs: number; counts: Map<string, number> }> {
  const client = newClient();
  const counts = countRequests(client);
  try {
    const start = performance.now();
    const cpu = process.cpuUsage();
    await work(client);
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, counts };
  } finally {
    client.close();
  }
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
    await timedRun(newClient, async (client) => {
      const updater = new LockUpdater(client, lock, { clusterPlatforms: CLUSTER });
      for (const img of images) updater.add(img.ref);
      const failed = (await updater.finish()).filter((o) => o.status === 'failed');
      if (failed.length > 0) throw new Error(`${failed.length} images failed to lock`);
    });
    if (lock.list().some((e) => Object.keys(e.platforms ?? {}).length !== 2)) throw new Error('the lock lacks platform digests');

    const rows: string[] = [];
    for (const rtt of RTTS) {
      await Promise.all(sites.map((s) => s.setRtt(rtt)));
      const lockTimes: number[] = [];
      const liveTimes: number[] = [];
      const verifyTimes: number[] = [];
      const cpu = { lock: [] as number[], live: [] as number[] };
      let lockCounts = new Map<string, number>();
      let liveCounts = new Map<string, number>();
      let verifyCounts = new Map<string, number>();
      for (let i = 0; i < RUNS; i++) {
        const relock = await timedRun(newClient, async (client) => {
          const copy = ImageLock.empty(path.join(work, 'unused.lock.json'));
          for (const e of lock.list()) copy.set(e.reference, e);
          const updater = new LockUpdater(client, copy, { update: true });
          for (const img of images) updater.add(img.ref);
          const failed = (await updater.finish()).filter((o) => o.status === 'failed');
          if (failed.length > 0) throw new Error(`lock --update: ${failed.length} failed (${failed[0].status === 'failed' ? failed[0].error.message : ''})`);
        });
        lockTimes.push(relock.ms);
        cpu.lock.push(relock.cpuMs);
        lockCounts = relock.counts;
        const live = await timedRun(newClient, async (client) => {
          const found = (await Promise.all(lock.list().map((e) => checkLiveness(client, e, CLUSTER)))).flat();
          if (found.length > 0) throw new Error(`liveness: ${found.length} findings (${found[0].message})`);
        });
        liveTimes.push(live.ms);
        cpu.live.push(live.cpuMs);
        liveCounts = live.counts;
        const verify = await timedRun(newClient, async (client) => {
          const { findings } = await remoteFindings(client, lock, SignaturePolicy.NONE, 'kubepin.lock.json', CLUSTER);
          if (findings.length > 0) throw new Error(`verify --remote: ${findings.length} findings (${findings[0].message})`);
        });
        verifyTimes.push(verify.ms);
        verifyCounts = verify.counts;
      }
      const relock = median(lockTimes);
      const live = median(liveTimes);
      const verify = median(verifyTimes);
      const gets = liveCounts.get('GET manifest') ?? 0;
      rows.push(`  ${String(rtt).padStart(4)} ms  ${(relock / 1000).toFixed(3).padStart(9)}  ${(live / 1000).toFixed(3).padStart(9)}  ${(live / relock).toFixed(2).padStart(7)}x  ${(verify / 1000).toFixed(3).padStart(9)}  ${(verify / relock).toFixed(2).padStart(7)}x  ${String(gets).padStart(13)}`);
      process.stdout.write(`RTT ${rtt} ms: lock --update ${lockTimes.map((t) => (t / 1000).toFixed(3)).join(' ')} s [${describeCounts(lockCounts)}]; liveness ${liveTimes.map((t) => (t / 1000).toFixed(3)).join(' ')} s [${describeCounts(liveCounts)}]; verify --remote ${verifyTimes.map((t) => (t / 1000).toFixed(3)).join(' ')} s [${describeCounts(verifyCounts)}]; kubepin CPU: lock --update ${(median(cpu.lock) / 1000).toFixed(3)} s, liveness ${(median(cpu.live) / 1000).toFixed(3)} s; load ${os.loadavg()[0].toFixed(2)}\n`);
    }
    process.stdout.write(
      [
        '',
        `${IMAGES} locked images (index + linux/amd64 + linux/arm64) on ${REGISTRIES} registries (HTTPS, token auth), medians of ${RUNS}, fresh client per run`,
        '',
        '   added  lock --upd s  liveness s  live/lock   verify s  verify/lock  manifest GETs',
        ...rows,
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
