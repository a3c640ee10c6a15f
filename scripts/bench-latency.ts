/**
 * Benchmark: resolution at real-world latency. Three docker-registry instances over HTTPS (test
 * CA) with token auth, each behind a delay proxy of its own (and its token server behind
 * another), adding a round-trip time; 500 images spread over them. Registries, token servers and
 * proxies run in child processes (test/support/latency-site.ts): this process holds only the
 * client being timed. For each RTT prints, from one run: kubepin (a fresh RegistryClient
 * resolving all images, as `kubepin lock` does after reading the manifests), `skopeo inspect`
 * 8 at a time on the same images, and the floor (see FLOOR below), with round trips per image
 * and, per registry, when each phase of the last kubepin run ended (in RTTs).
 *
 *   npm run bench:latency            # RTT 50 ms
 *   BENCH_RTTS=0,20,50,150 npm run bench:latency
 *
 * Signed sets (issue #23 §3): BENCH_SIGNED_IMAGES images of each set of
 * test/support/signature-sets.ts (cosign `.sig`, Sigstore bundles; keyless joins there), locked
 * as `kubepin lock` does (LockUpdater with the set's requirement) against as many unsigned images
 * locked without a policy: each set's ratio, requests and round trips per image (goal at 50 ms:
 * <= 1.5x unsigned).
 *
 * Environment: BENCH_RTTS (50), BENCH_IMAGES (500), BENCH_RUNS (3; kubepin and the floor's
 * HEAD rounds alternate, medians reported), BENCH_SKOPEO (1: run skopeo; 0: skip),
 * BENCH_SIGNED_IMAGES (200 per signed set, at most BENCH_IMAGES; 0: skip).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CredentialKeyring } from '../lib/core/credentials/keyring';
import { KeyringCredentials, MANIFEST_ACCEPT, RegistryClient } from '../lib/registry';
import type { Transport } from '../lib/registry/transport';
import { ImageLock } from '../lib/core/lock/image-lock';
import { LockUpdater } from '../lib/registry/lock-images';
import { SignaturePolicy } from '../lib/signatures/policy';
import { HeadRoundSpec, headRounds } from '../test/support/head-round';
import { SIGNATURE_SETS, SignatureSet } from '../test/support/signature-sets';
import { TestKey, generateKey } from '../test/support/signatures';
import { LatencySite, measureRtt, retrying, siteTokens, startLatencySite } from '../test/support/latency-site';

const RTTS = (process.env.BENCH_RTTS ?? '50').split(',').map(Number);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SKOPEO = process.env.BENCH_SKOPEO !== '0';
/** Images per signed set (test/support/signature-sets.ts) compared with as many unsigned ones; 0 skips them. */
const SIGNED = Number(process.env.BENCH_SIGNED_IMAGES ?? 200);
const REGISTRIES = 3;
/**
 * FLOOR. What resolving the images physically requires, per registry (registries in parallel):
 * TCP connect, TLS 1.3, the ping (GET /v2/ to learn the token realm), the token (TCP connect +
 * GET: the realm is plain HTTP on loopback), and one round of HEADs all in flight at once.
 * Every step but the last is one round trip: FLOOR_FIXED_ROUND_TRIPS x the measured RTT, with no
 * server time (the ping and token answers are tiny).
 *
 * The round of HEADs is NOT one round trip: the registries must verify a bearer token and read
 * their storage for each of ~167 requests, which on this 2-core machine takes most of a second
 * (it is most of kubepin's time at 0 ms added, where round trips cost nothing). Counting it as
 * one RTT (the first version of this bench: floor = 6 x RTT) made a floor no client can reach.
 * So the round is measured, in the same run and through the same proxies: per registry a
 * minimal HTTP/2 client in a process of its own (test/support/head-round.ts) sends all its HEADs
 * at once on one connection, the three started together. Its tokens are fetched beforehand, one
 * per repository: the smallest header, so the least work for the registry per request. Its time
 * includes its TCP connect and TLS handshake, so those two round trips are not added again:
 * floor = (ping + token connect + token request) x RTT + that round. (`curl --parallel --http2`
 * was tried first and was slower than kubepin itself: a floor must not be a slow client.)
 *
 * Not in the floor: kubepin's plain-HTTP probe of a loopback host (TCP + GET /v2/, answered 400
 * by a TLS server) before its HTTPS ping, 2 round trips a remote registry does not cost. The
 * bench's registries are on 127.0.0.1, so kubepin pays them here; the phase trace shows them.
 */
const FLOOR_FIXED_ROUND_TRIPS = 3;
/** The network-only floor: TCP, TLS, ping, token connect + request, one round of HEADs, each one RTT. */
const NETWORK_ROUND_TRIPS = 6;

interface Site {
  /** Registry, token server and both delay proxies, in a child process of their own. */
  remote: LatencySite;
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

/** Start and end (ms from the run's start) of each request kind per host, read off the client's transport. */
type Trace = Map<string, { start: number; end: number; firstEnd: number; count: number }>;

function traceTransport(client: RegistryClient, t0: () => number): Trace {
  // Reaches into the client (a benchmark's privilege) to time its requests without changing it.
  const transport = (client as unknown as { transport: Transport }).transport;
  const trace: Trace = new Map();
  const request = transport.request.bind(transport);
  transport.request = (url, method, headers, maxBytes) => {
    const start = performance.now() - t0();
    const kind = url.pathname === '/v2/' ? `ping ${url.protocol.slice(0, -1)}` : /\/manifests\//.test(url.pathname) ? method : 'token';
    const answer = request(url, method, headers, maxBytes);
    const note = (): void => {
      const end = performance.now() - t0();
      const key = `${url.host}\0${kind}`;
      const entry = trace.get(key);
      if (!entry) trace.set(key, { start, end, firstEnd: end, count: 1 });
      else Object.assign(entry, { start: Math.min(entry.start, start), end: Math.max(entry.end, end), firstEnd: Math.min(entry.firstEnd, end), count: entry.count + 1 });
    };
    answer.then(note, note);
    return answer;
  };
  return trace;
}

/** Times LockUpdater runs (fresh client each) on the unsigned images and on each signed set, alternating; one row per set. */
async function signedComparison(
  rtt: number,
  measured: number,
  unsigned: Array<{ ref: string }>,
  sets: Array<{ set: SignatureSet; images: Array<{ ref: string; site: Site }> }>,
  sites: Site[],
  key: TestKey,
  work: string,
  newClient: () => RegistryClient,
): Promise<string[]> {
  const runs = [{ label: 'unsigned, no policy', refs: unsigned.map((i) => i.ref), policy: SignaturePolicy.NONE }];
  for (const { set, images } of sets) {
    const dir = fs.mkdtempSync(path.join(work, `policy-${set.name}-`));
    const patterns = [...new Set(images.map((img) => `${img.site.remote.host}/sig-${set.name}`))];
    const { requirement, files } = set.requirement(patterns, key);
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    runs.push({ label: set.label, refs: images.map((i) => i.ref), policy: SignaturePolicy.fromConfig({ require: [requirement] }, dir) });
  }
  const times: number[][] = runs.map(() => []);
  const requests: number[] = runs.map(() => 0);
  // The registries' CPU per image (docker-registry processes, from /proc): what the signed requests cost the servers.
  const registryCpu: number[][] = runs.map(() => []);
  const cpuNow = async (): Promise<number> => (await Promise.all(sites.map((s) => s.remote.cpu()))).reduce((n, c) => n + c.registry, 0);
  for (let i = 0; i < RUNS; i++) {
    for (const [n, run] of runs.entries()) {
      const client = newClient();
      try {
        const lock = ImageLock.empty(path.join(work, 'unused.lock.json'));
        const updater = new LockUpdater(client, lock, { signatures: run.policy });
        const cpuBefore = await cpuNow();
        const ms = await timed(async () => {
          for (const ref of run.refs) updater.add(ref);
          const failed = (await updater.finish()).filter((o) => o.status === 'failed');
          if (failed.length > 0) throw new Error(`${run.label}: ${failed.length} images failed (${failed[0].status === 'failed' ? failed[0].error.message : ''})`);
        });
        if (run.policy !== SignaturePolicy.NONE && lock.list().some((e) => e.signature === undefined)) throw new Error(`${run.label}: an entry lacks its signature record`);
        times[n].push(ms);
        registryCpu[n].push(((await cpuNow()) - cpuBefore) / run.refs.length);
        requests[n] = client.stats.requests / run.refs.length;
      } finally {
        client.close();
      }
    }
  }
  const medians = times.map(median);
  process.stdout.write(`RTT ${rtt} ms signed sets: ${runs.map((r, n) => `${r.label} ${times[n].map((t) => (t / 1000).toFixed(3)).join(' ')} s`).join('; ')}; load ${os.loadavg()[0].toFixed(2)}\n`);
  return runs.map((run, n) => `  ${String(rtt).padStart(4)} ms  ${run.label.padEnd(24)} ${(medians[n] / 1000).toFixed(3).padStart(7)}  ${n === 0 ? '       ' : `${(medians[n] / medians[0]).toFixed(2)}x`.padStart(7)}   ${requests[n].toFixed(2).padStart(7)}  ${rtt === 0 ? '   n/a' : (medians[n] / measured).toFixed(1).padStart(6)}  ${median(registryCpu[n]).toFixed(1).padStart(8)}`);
}

async function connectionCount(sites: Site[]): Promise<number> {
  const counts = await Promise.all(sites.map((s) => s.remote.connections()));
  return counts.reduce((n, c) => n + c.registry + c.token, 0);
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-latency-'));
  const sites: Site[] = [];
  try {
    // Each site in its own process: the client is alone in this one (its CPU time is all kubepin's).
    const remotes = await Promise.all(Array.from({ length: REGISTRIES }, () => startLatencySite()));
    remotes.forEach((remote, r) => {
      const certDir = path.join(work, `certs-${r}`);
      fs.mkdirSync(certDir);
      fs.copyFileSync(remote.caFile, path.join(certDir, 'ca.crt'));
      sites.push({ remote, certDir });
    });
    process.stdout.write(`3 registries (docker-registry, TLS, token auth; each with its proxies in a child process), seeding ${IMAGES} images…\n`);
    const images: Array<{ site: Site; ref: string; repo: string }> = [];
    for (let i = 0; i < IMAGES; i++) {
      const site = sites[i % REGISTRIES];
      const repo = `bench/app-${String(i).padStart(3, '0')}`;
      images.push({ site, repo, ref: `${site.remote.host}/${repo}:1.0` });
    }
    const expected = new Map<string, string>();
    await Promise.all(
      sites.map(async (site) => {
        const mine = images.filter((img) => img.site === site);
        const digests = await site.remote.seed(mine.map((img) => ({ repository: img.repo, tag: '1.0', format: Number(img.repo.slice(-1)) % 4 === 0 ? 'oci-index' : 'docker' })));
        for (const img of mine) expected.set(img.ref, digests[`${img.repo}:1.0`]);
      }),
    );
    // The signed sets (test/support/signature-sets.ts), SIGNED images each, and the unsigned reference: the first SIGNED of the images above.
    const key = generateKey('ecdsa-p256');
    const signedSets = SIGNATURE_SETS.map((set) => ({
      set,
      images: Array.from({ length: SIGNED }, (_, i) => {
        const site = sites[i % REGISTRIES];
        const repo = `sig-${set.name}/app-${String(i).padStart(3, '0')}`;
        return { site, repo, ref: `${site.remote.host}/${repo}:1.0` };
      }),
    }));
    if (SIGNED > 0) {
      process.stdout.write(`seeding ${SIGNED} images for each signed set (${SIGNATURE_SETS.map((s) => s.name).join(', ')})…\n`);
      const keyPem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await Promise.all(sites.map((site) => site.remote.seed(signedSets.flatMap(({ set, images: list }) => list.filter((img) => img.site === site).map((img) => ({ repository: img.repo, tag: '1.0', format: Number(img.repo.slice(-1)) % 4 === 0 ? ('oci-index' as const) : ('docker' as const), sign: set.name }))), keyPem)));
    }
    const ca = Buffer.concat(sites.map((s) => fs.readFileSync(s.remote.caFile)));
    const keyring = new CredentialKeyring();
    for (const s of sites) keyring.add(`bench-${s.remote.host}`, { auths: { [s.remote.host]: { username: s.remote.username, password: s.remote.password } } });
    const credentials = new KeyringCredentials(keyring);

    const rows: string[] = [];
    const phases: string[] = [];
    const signedRows: string[] = [];
    for (const rtt of RTTS) {
      await Promise.all(sites.map((s) => s.remote.setRtt(rtt)));
      const measured = median(await Promise.all(sites.map((s) => retrying(() => measureRtt(s.remote, ca)))));
      const roundSpecs: HeadRoundSpec[] = await Promise.all(
        sites.map(async (site) => {
          const repos = images.filter((img) => img.site === site).map((img) => img.repo);
          const tokens = await siteTokens(site.remote, repos);
          return { origin: `https://${site.remote.host}`, caFile: site.remote.caFile, tokens, accept: MANIFEST_ACCEPT, paths: repos.map((repo) => `/v2/${repo}/manifests/1.0`) };
        }),
      );
      // kubepin (a fresh client per run: cold connections, no tokens) and the floor's HEAD round, alternating.
      const times: number[] = [];
      const cpuTimes: number[] = [];
      const rounds: number[] = [];
      let stats: RegistryClient['stats'] | undefined;
      let connections = 0;
      let trace: Trace = new Map();
      for (let i = 0; i < RUNS; i++) {
        const before = await connectionCount(sites);
        const client = new RegistryClient({ ca, credentials });
        let start = 0;
        trace = traceTransport(client, () => start);
        try {
          let results: Array<{ reference: string; digest: string }> = [];
          start = performance.now();
          const cpuBefore = process.cpuUsage();
          times.push(await timed(async () => {
            results = await Promise.all(images.map((img) => client.resolve(img.ref)));
          }));
          const cpu = process.cpuUsage(cpuBefore);
          cpuTimes.push((cpu.user + cpu.system) / 1000);
          const wrong = results.filter((res, n) => res.digest !== expected.get(images[n].ref)).length;
          if (wrong > 0) throw new Error(`${wrong} digests differ from the pushed ones`);
          stats = client.stats;
        } finally {
          client.close();
        }
        connections = (await connectionCount(sites)) - before;
        rounds.push(await headRounds(roundSpecs));
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
            const args = ['inspect', '--cert-dir', img.site.certDir, '--no-tags', '--creds', `${img.site.remote.username}:${img.site.remote.password}`, '--format', '{{.Digest}}', `docker://${img.ref}`];
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
      const round = median(rounds);
      const floor = FLOOR_FIXED_ROUND_TRIPS * measured + round;
      const networkFloor = NETWORK_ROUND_TRIPS * measured;
      const inRtts = (ms: number): string => (rtt === 0 ? `${ms.toFixed(0)} ms` : `${(ms / measured).toFixed(1)}`);
      for (const [key, t] of [...trace].sort((a, b) => a[1].start - b[1].start)) {
        const [host, kind] = key.split('\0');
        phases.push(`  ${String(rtt).padStart(4)} ms  ${host.padEnd(16)} ${kind.padEnd(10)} x${String(t.count).padEnd(4)} start ${inRtts(t.start).padStart(6)}  first answer ${inRtts(t.firstEnd).padStart(6)}  last answer ${inRtts(t.end).padStart(6)}`);
      }
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
          fmt(networkFloor).padStart(7),
          fmt(round).padStart(7),
          fmt(floor).padStart(7),
          ratio(kubepin / floor).padStart(8),
          (Number.isNaN(skopeo) ? 'n/a' : `${(skopeo / kubepin).toFixed(1)}x`).padStart(8),
        ].join('  '),
      );
      if (SIGNED > 0) signedRows.push(...(await signedComparison(rtt, measured, images.slice(0, SIGNED), signedSets, sites, key, work, () => new RegistryClient({ ca, credentials }))));
      process.stdout.write(`RTT ${rtt} ms done (kubepin runs: ${times.map((t) => (t / 1000).toFixed(3)).join(' ')} s; floor rounds: ${rounds.map((t) => (t / 1000).toFixed(3)).join(' ')} s; kubepin CPU ${(median(cpuTimes) / 1000).toFixed(3)} s = ${((median(cpuTimes) * 1000) / stats!.requests).toFixed(0)} µs per request; skopeo retries: ${skopeoRetries}, failed: ${skopeoFailures}${lastSkopeoError ? ` (${lastSkopeoError})` : ''}; load ${os.loadavg()[0].toFixed(2)})\n`);
    }
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    process.stdout.write(
      [
        '',
        `${IMAGES} images on ${REGISTRIES} registries (HTTPS, token auth), kubepin and floor round medians of ${RUNS}, skopeo inspect x8 once; load average ${load}`,
        'RTT is added by the delay proxies; "measured" is a warm request through them. rt = seconds / measured RTT; req/img = HTTP requests per image;',
        'tok = token requests; conn = TCP connections (registries and token servers). net floor = 6 x RTT (TCP, TLS, ping, token connect + request, HEADs: no server time);',
        `round = the registries answering all HEADs (minimal HTTP/2 client per registry, warm per-repository tokens, connect included); floor = ${FLOOR_FIXED_ROUND_TRIPS} x RTT (ping, token connect + request) + round.`,
        '',
        '  added  measured  kubepin s       rt  rt/img  req/img  tok  conn  skopeo8 s    rt/img  netfloor   round   floor  k/floor  skopeo/k',
        ...rows.map((r) => `  ${r}`),
        '',
        'Phases of the last kubepin run per registry (times in measured RTTs from the start; ms at 0 added):',
        ...phases,
        '',
        ...(SIGNED > 0
          ? [
              `Signed resolution (kubepin lock's LockUpdater, fresh client per run, ${SIGNED} images per set on the 3 registries, medians of ${RUNS} alternating runs; unsigned = the first ${SIGNED} images above, no policy):`,
              '  added  set                        s    x unsigned   req/img   rt/img  reg. CPU ms/img',
              ...signedRows,
              '',
            ]
          : []),
        'Goals at 50 ms: kubepin <= 2x floor, skopeo x8 >= 20x slower than kubepin; each signed set <= 1.5x unsigned.',
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(sites.map((s) => s.remote.stop()));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-latency: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
