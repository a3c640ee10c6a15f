/**
 * Benchmark: `kubepin lock` (a whole process, from an empty lock) resolving 200 tags in a
 * local docker-registry, against
 *   (a) `skopeo inspect` per image, sequential and 8 in parallel (whole processes), and
 *   (b) the floor: ONE `curl` process sending 200 keep-alive HEADs for the same references.
 * Prints each median, the ratios, and the requests per image the registry saw.
 *
 *   npm run build && node -r ./scripts/ts-register.js scripts/bench-resolve.ts
 *
 * Environment: BENCH_IMAGES (200), BENCH_RUNS (5), BENCH_SKOPEO_SEQ_RUNS (3),
 * BENCH_AUTH (anonymous | basic | token; default anonymous), BENCH_LOCK_ARGS (extra `kubepin lock` flags).
 */
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pushImage, startRegistry, TestRegistryDetails } from '../test/support/registry';
import { MANIFEST_ACCEPT as ACCEPT } from '../lib/registry';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SKOPEO_SEQ_RUNS = Number(process.env.BENCH_SKOPEO_SEQ_RUNS ?? 3);
const AUTH = (process.env.BENCH_AUTH ?? 'anonymous') as 'anonymous' | 'basic' | 'token';
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'kubepin.js');

interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
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
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** A bearer token for every repository at once (the "warm token" the floor gets for free). */
async function warmToken(registry: TestRegistryDetails, repos: string[]): Promise<string> {
  const url = new URL(registry.tokenServer!.realm);
  url.searchParams.set('service', 'kubepin-test-registry');
  for (const repo of repos) url.searchParams.append('scope', `repository:${repo}:pull`);
  const res = await run('curl', ['-s', '-u', `${registry.username}:${registry.password}`, url.toString()]);
  return (JSON.parse(res.stdout) as { token: string }).token;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (the benchmark times the built CLI, as users run it)');
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-resolve-'));
  const registry = await startRegistry({ auth: AUTH });
  try {
    process.stdout.write(`registry ${registry.host} (auth ${AUTH}); seeding ${IMAGES} repositories…\n`);
    const repos = Array.from({ length: IMAGES }, (_, i) => `bench/app-${String(i).padStart(3, '0')}`);
    const expected = new Map<string, string>();
    await pool(repos, 8, async (repo) => {
      const pushed = await pushImage(registry, repo, '1.0', { format: Number(repo.slice(-1)) % 2 ? 'docker' : 'oci-index' });
      expected.set(`${registry.host}/${repo}:1.0`, pushed.digest);
    });
    const refs = repos.map((r) => `${registry.host}/${r}:1.0`);

    // Manifests: 20 files of Deployments using all the tags.
    const manifestDir = path.join(work, 'manifests');
    fs.mkdirSync(manifestDir);
    for (let f = 0; f < 20; f++) {
      const docs = refs
        .filter((_, i) => i % 20 === f)
        .map((ref, i) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: app-${f}-${i} }\nspec:\n  selector: { matchLabels: { app: a${f}-${i} } }\n  template:\n    metadata: { labels: { app: a${f}-${i} } }\n    spec:\n      containers:\n      - { name: app, image: "${ref}" }\n`);
      fs.writeFileSync(path.join(manifestDir, `app-${f}.yaml`), docs.join('---\n'));
    }
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, CI: '1' };
    const dockerConfig = path.join(work, 'pull.json');
    if (registry.username) {
      fs.writeFileSync(dockerConfig, JSON.stringify({ auths: { [registry.host]: { username: registry.username, password: registry.password } } }));
    }
    const authArgs = [...(registry.username ? ['--docker-config', dockerConfig] : []), ...(process.env.BENCH_LOCK_ARGS ?? '').split(' ').filter(Boolean)];
    const skopeoCreds = registry.username ? ['--creds', `${registry.username}:${registry.password}`] : [];
    const lockFile = path.join(work, 'kubepin.lock.json');

    // kubepin lock, whole process, empty lock each time.
    const kubepinTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(lockFile, { force: true });
      let result: ProcResult | undefined;
      kubepinTimes.push(await timed(async () => {
        result = await run(process.execPath, [CLI, 'lock', manifestDir, '--lock-file', lockFile, ...authArgs], env);
      }));
      if (result!.code !== 0) throw new Error(`kubepin lock failed: ${result!.stderr}`);
    }
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { images: Record<string, { digest: string }> };
    let wrong = 0;
    for (const [ref, digest] of expected) if (lock.images[ref]?.digest !== digest) wrong++;
    if (wrong > 0) throw new Error(`${wrong} digests in the lock differ from the pushed ones`);

    // Requests the registry saw for one more run (warm process start, empty lock).
    fs.rmSync(lockFile, { force: true });
    await registry.settle();
    registry.resetCounters();
    await run(process.execPath, [CLI, 'lock', manifestDir, '--lock-file', lockFile, ...authArgs], env);
    await registry.settle();
    const log = registry.accessLog();
    const manifestRequests = log.filter((r) => r.path.includes('/manifests/')).length;
    const tokenRequests = registry.tokenServer?.requests.length ?? 0;

    // skopeo inspect per image: sequential, and 8 at a time.
    const skopeoOne = async (ref: string): Promise<void> => {
      const res = await run('skopeo', ['inspect', '--tls-verify=false', '--no-tags', ...skopeoCreds, '--format', '{{.Digest}}', `docker://${ref}`], env);
      if (res.code !== 0 || res.stdout.trim() !== expected.get(ref)) throw new Error(`skopeo disagrees on ${ref}: ${res.stdout.trim()} ${res.stderr.trim()}`);
    };
    const skopeoSeq: number[] = [];
    for (let i = 0; i < SKOPEO_SEQ_RUNS; i++) {
      skopeoSeq.push(await timed(async () => {
        for (const ref of refs) await skopeoOne(ref);
      }));
    }
    const skopeoPar: number[] = [];
    for (let i = 0; i < RUNS; i++) skopeoPar.push(await timed(() => pool(refs, 8, skopeoOne)));

    // The floor: one curl process, keep-alive HEADs for all references.
    const curlConfig = path.join(work, 'curl.cfg');
    const token = AUTH === 'token' ? await warmToken(registry, repos) : undefined;
    const lines = [
      'silent',
      'head',
      `header = "Accept: ${ACCEPT}"`,
      ...(AUTH === 'basic' ? [`user = "${registry.username}:${registry.password}"`] : []),
      ...(token ? [`header = "Authorization: Bearer ${token}"`] : []),
      'write-out = "%{http_code} %{num_connects}\\n"',
      'output = "/dev/null"',
    ];
    for (const ref of refs) {
      const slash = ref.indexOf('/');
      const colon = ref.lastIndexOf(':');
      lines.push(`url = "http://${ref.slice(0, slash)}/v2/${ref.slice(slash + 1, colon)}/manifests/${ref.slice(colon + 1)}"`);
      lines.push('output = "/dev/null"');
    }
    fs.writeFileSync(curlConfig, `${lines.join('\n')}\n`, { mode: 0o600 });
    const floor: number[] = [];
    let connects = 0;
    for (let i = 0; i < RUNS; i++) {
      let res: ProcResult | undefined;
      floor.push(await timed(async () => {
        res = await run('curl', ['--config', curlConfig], env);
      }));
      const statuses = res!.stdout.trim().split('\n');
      if (statuses.length !== IMAGES || statuses.some((s) => !s.startsWith('200'))) throw new Error(`curl floor failed: ${res!.stdout.slice(0, 200)}`);
      connects = statuses.reduce((n, s) => n + Number(s.split(' ')[1]), 0);
    }

    const k = median(kubepinTimes);
    const s1 = median(skopeoSeq);
    const s8 = median(skopeoPar);
    const f = median(floor);
    const fmt = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
    process.stdout.write(
      [
        '',
        `${IMAGES} references, auth ${AUTH}, medians of ${RUNS} runs (skopeo sequential: ${SKOPEO_SEQ_RUNS})`,
        `  kubepin lock (process, empty lock)   ${fmt(k)}   [${kubepinTimes.map((t) => (t / 1000).toFixed(2)).join(' ')}]`,
        `  skopeo inspect, sequential           ${fmt(s1)}`,
        `  skopeo inspect, 8 in parallel        ${fmt(s8)}`,
        `  floor: 1 curl, keep-alive HEADs      ${fmt(f)}   (${connects} connection${connects === 1 ? '' : 's'} opened)`,
        '',
        `  kubepin / floor                      ${(k / f).toFixed(2)}x   (target <= 1.5x)`,
        `  skopeo x8 / kubepin                  ${(s8 / k).toFixed(1)}x faster   (target >= 8x)`,
        `  skopeo sequential / kubepin          ${(s1 / k).toFixed(1)}x faster`,
        '',
        `  registry requests in one kubepin run: ${log.length} total, ${manifestRequests} manifest (${(manifestRequests / IMAGES).toFixed(2)} per image)` +
          (registry.tokenServer ? `, ${tokenRequests} token requests (${(tokenRequests / IMAGES).toFixed(2)} per repository)` : ''),
        `  digests: all ${IMAGES} equal the pushed ones (kubepin) and skopeo agrees`,
        '',
      ].join('\n'),
    );
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-resolve: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
