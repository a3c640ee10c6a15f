/**
 * Benchmark: resolution at real-world latency. Three docker-registry instances over HTTPS (test
 * CA) with token auth, each behind a delay proxy of its own (and its token server behind
 * another), adding a round-trip time; 500 images spread over them. For each RTT prints, from
 * one run: kubepin (a fresh RegistryClient resolving all images, as `kubepin lock` does after
 * reading the manifests), `skopeo inspect` 8 at a time on the same images, and the floor
 * computed from the measured RTT: per registry, TCP connect + TLS + ping + token (connect +
 * request) + one round of requests, the registries in parallel.
 *
 *   npm run bench:latency            # RTT 50 ms
 *   BENCH_RTTS=0,20,50,150 npm run bench:latency
 *
 * Environment: BENCH_RTTS (50), BENCH_IMAGES (500), BENCH_RUNS (3, kubepin median), BENCH_SKOPEO (1: run skopeo; 0: skip).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../lib/credentials/keyring';
import { KeyringCredentials, RegistryClient } from '../lib/registry';
import { DelayProxy, startDelayProxy } from '../test/support/delay-proxy';
import { pushImage, startRegistry, TestRegistryDetails } from '../test/support/registry';

const RTTS = (process.env.BENCH_RTTS ?? '50').split(',').map(Number);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SKOPEO = process.env.BENCH_SKOPEO !== '0';
const REGISTRIES = 3;
/** Round trips of the floor per registry: TCP, TLS 1.3, GET /v2/, token (TCP + GET, plain-HTTP realm on loopback), one round of HEADs. */
const FLOOR_ROUND_TRIPS = 6;

interface Site {
  registry: TestRegistryDetails;
  front: DelayProxy;
  tokenFront: DelayProxy;
  certDir: string;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Set-up steps on a loaded machine sometimes see a dropped connection: tried up to 3 times. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Median time of a request on a warm keep-alive connection through the proxy: the RTT as the client sees it. */
async function measureRtt(site: Site, ca: Buffer): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  const once = (): Promise<number> =>
    timed(() => new Promise<void>((resolve, reject) => {
      https.get(`https://${site.front.host}/v2/`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      }).on('error', reject);
    }));
  await once();
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) samples.push(await once());
  agent.destroy();
  return median(samples);
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-latency-'));
  const sites: Site[] = [];
  try {
    for (let r = 0; r < REGISTRIES; r++) {
      let tokenFront: DelayProxy | undefined;
      const registry = await startRegistry({
        auth: 'token',
        tls: true,
        tokenRealmHost: async (target) => (tokenFront = await startDelayProxy(target, 0)).host,
      });
      const front = await startDelayProxy(registry.host, 0);
      const certDir = path.join(work, `certs-${r}`);
      fs.mkdirSync(certDir);
      fs.copyFileSync(registry.caFile!, path.join(certDir, 'ca.crt'));
      sites.push({ registry, front, tokenFront: tokenFront!, certDir });
    }
    process.stdout.write(`3 registries (docker-registry, TLS, token auth), seeding ${IMAGES} images…\n`);
    const images: Array<{ site: Site; ref: string; repo: string }> = [];
    for (let i = 0; i < IMAGES; i++) {
      const site = sites[i % REGISTRIES];
      const repo = `bench/app-${String(i).padStart(3, '0')}`;
      images.push({ site, repo, ref: `${site.front.host}/${repo}:1.0` });
    }
    const expected = new Map<string, string>();
    await pool(images, 8, async (img) => {
      const pushed = await retrying(() => pushImage(img.site.registry, img.repo, '1.0', { format: Number(img.repo.slice(-1)) % 4 === 0 ? 'oci-index' : 'docker' }));
      expected.set(img.ref, pushed.digest);
    });
    const ca = Buffer.concat(sites.map((s) => fs.readFileSync(s.registry.caFile!)));
    const keyring = new CredentialKeyring();
    for (const s of sites) keyring.add(`bench-${s.front.host}`, { auths: { [s.front.host]: { username: s.registry.username!, password: s.registry.password! } } });
    const credentials = new KeyringCredentials(keyring);

    const rows: string[] = [];
    for (const rtt of RTTS) {
      for (const s of sites) {
        s.front.rttMs = rtt;
        s.tokenFront.rttMs = rtt;
      }
      const measured = median(await Promise.all(sites.map((s) => retrying(() => measureRtt(s, ca)))));
      // kubepin: a fresh client per run (cold connections, no tokens).
      const times: number[] = [];
      let stats: RegistryClient['stats'] | undefined;
      let connections = 0;
      for (let i = 0; i < RUNS; i++) {
        const before = sites.reduce((n, s) => n + s.front.connections + s.tokenFront.connections, 0);
        const client = new RegistryClient({ ca, credentials });
        try {
          let results: Array<{ reference: string; digest: string }> = [];
          times.push(await timed(async () => {
            results = await Promise.all(images.map((img) => client.resolve(img.ref)));
          }));
          const wrong = results.filter((res, n) => res.digest !== expected.get(images[n].ref)).length;
          if (wrong > 0) throw new Error(`${wrong} digests differ from the pushed ones`);
          stats = client.stats;
        } finally {
          client.close();
        }
        connections = sites.reduce((n, s) => n + s.front.connections + s.tokenFront.connections, 0) - before;
      }
      const kubepin = median(times);
      // skopeo inspect, 8 processes at a time, same images.
      let skopeo = NaN;
      let skopeoRetries = 0;
      let skopeoFailures = 0;
      let lastSkopeoError = '';
      if (SKOPEO) {
        skopeo = await timed(() =>
          pool(images, 8, async (img) => {
            const args = ['inspect', '--cert-dir', img.site.certDir, '--no-tags', '--creds', `${img.site.registry.username}:${img.site.registry.password}`, '--format', '{{.Digest}}', `docker://${img.ref}`];
            let res = await run('skopeo', args);
            // skopeo sometimes reads EOF through the delay proxy: tried again (at most twice), counted, and reported.
            for (let attempt = 0; attempt < 2 && res.code !== 0; attempt++) {
              skopeoRetries++;
              res = await run('skopeo', args);
            }
            if (res.code !== 0) {
              skopeoFailures++;
              lastSkopeoError = res.stderr.trim().slice(0, 300);
            } else if (res.stdout.trim() !== expected.get(img.ref)) {
              throw new Error(`skopeo disagrees on ${img.ref}: ${res.stdout.trim()}`);
            }
          }),
        );
      }
      const floor = FLOOR_ROUND_TRIPS * measured;
      const fmt = (ms: number): string => (Number.isNaN(ms) ? '   n/a' : `${(ms / 1000).toFixed(3)}`);
      const ratio = (x: number): string => (rtt === 0 || Number.isNaN(x) ? '  n/a' : `${x.toFixed(2)}x`);
      rows.push(
        [
          `${String(rtt).padStart(4)} ms`,
          `${measured.toFixed(1).padStart(6)} ms`,
          fmt(kubepin).padStart(8),
          (rtt === 0 ? '   n/a' : (kubepin / measured).toFixed(1)).padStart(7),
          (rtt === 0 ? '   n/a' : (kubepin / measured / IMAGES).toFixed(3)).padStart(8),
          `${(stats!.requests / IMAGES).toFixed(2)}`.padStart(6),
          `${stats!.tokenRequests}`.padStart(4),
          `${connections}`.padStart(5),
          fmt(skopeo).padStart(8),
          (rtt === 0 || !SKOPEO ? '   n/a' : (skopeo / measured / IMAGES).toFixed(2)).padStart(8),
          fmt(floor).padStart(7),
          ratio(kubepin / floor).padStart(8),
          (Number.isNaN(skopeo) ? 'n/a' : `${(skopeo / kubepin).toFixed(1)}x`).padStart(8),
        ].join('  '),
      );
      process.stdout.write(`RTT ${rtt} ms done (kubepin runs: ${times.map((t) => (t / 1000).toFixed(3)).join(' ')} s; skopeo retries: ${skopeoRetries}, failed: ${skopeoFailures}${lastSkopeoError ? ` (${lastSkopeoError})` : ''}; load ${os.loadavg()[0].toFixed(2)})\n`);
    }
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    process.stdout.write(
      [
        '',
        `${IMAGES} images on ${REGISTRIES} registries (HTTPS, token auth), kubepin median of ${RUNS} fresh clients, skopeo inspect x8 once; load average ${load}`,
        'RTT is added by the delay proxies; "measured" is a warm request through them. Floor = ' + `${FLOOR_ROUND_TRIPS} x measured RTT (TCP, TLS, ping, token connect + request, one round of HEADs; registries in parallel).`,
        'rt = seconds / measured RTT (sequential round trips); req/img = HTTP requests per image; tok = token requests; conn = TCP connections (registries and token servers).',
        '',
        '  added  measured  kubepin s  rt  rt/img  req/img  tok  conn  skopeo8 s  rt/img    floor s  k/floor  skopeo/k',
        ...rows.map((r) => `  ${r}`),
        '',
        'Goals at 50 ms: kubepin <= 2x floor, skopeo x8 >= 20x slower than kubepin.',
        '',
      ].join('\n'),
    );
  } finally {
    for (const s of sites) {
      await s.front.stop();
      await s.tokenFront.stop();
      await s.registry.stop();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-latency: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
