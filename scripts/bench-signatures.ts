/**
 * Benchmark: the cost of signature verification in `kubepin lock`. One registry holds 200
 * unsigned images and 200 of each signed set of test/support/signature-sets.ts (classic cosign
 * `.sig` signatures, Sigstore bundles found through the referrers tag schema: all signed with
 * @sigstore/sign; keyless joins there). `kubepin lock` (a whole process, empty lock) runs
 * alternately on the sets, the signed ones under a `kubepin.config.json` requirement; prints
 * medians, each signed set's ratio to unsigned and its requests per image (goal: <= 2.0x, issue #23 §3).
 *
 *   npm run build && npm run bench:signatures
 *
 * Environment: BENCH_IMAGES (200 per set), BENCH_RUNS (5).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pushImage, startRegistry } from '../test/support/registry';
import { generateKey } from '../test/support/signatures';
import { SIGNATURE_SETS, SignatureSet } from '../test/support/signature-sets';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'kubepin.js');

function lock(dir: string, env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stderr: string }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'lock', 'manifests'], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code: error ? 1 : 0, stderr: String(stderr) });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function project(dir: string, refs: string[], config?: object): void {
  fs.mkdirSync(path.join(dir, 'manifests'), { recursive: true });
  const docs = refs.map((ref, i) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p${i} }\nspec:\n  containers:\n  - { name: c, image: "${ref}" }\n`);
  fs.writeFileSync(path.join(dir, 'manifests', 'pods.yaml'), docs.join('---\n'));
  if (config) fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify(config));
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-signatures-'));
  const registry = await startRegistry();
  try {
    const key = generateKey('ecdsa-p256');
    process.stdout.write(`registry ${registry.host}; seeding ${IMAGES} unsigned, ${IMAGES} cosign-signed and ${IMAGES} bundle-signed images…\n`);
    const sets: Array<{ name: string; repo: string; set?: SignatureSet }> = [{ name: 'unsigned, no policy', repo: 'plain' }, ...SIGNATURE_SETS.map((set) => ({ name: set.label, repo: set.name, set }))];
    const dirs: string[] = [];
    for (const { repo: prefix, set } of sets) {
      const repos = Array.from({ length: IMAGES }, (_, i) => `${prefix}/app-${i}`);
      await pool(repos, 8, async (repo) => {
        const image = await pushImage(registry, repo, '1.0');
        await set?.sign(registry, repo, image.digest, key);
      });
      const dir = path.join(work, prefix);
      const signed = set?.requirement([`${registry.host}/${prefix}`], key);
      project(dir, repos.map((r) => `${registry.host}/${r}:1.0`), signed ? { signatures: { require: [signed.requirement] } } : undefined);
      for (const [file, text] of Object.entries(signed?.files ?? {})) fs.writeFileSync(path.join(dir, file), text);
      dirs.push(dir);
    }
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, CI: '1' };

    // Alternating runs, so load on the machine hits every set alike.
    const times: number[][] = sets.map(() => []);
    for (let i = 0; i < RUNS; i++) {
      for (const [n, dir] of dirs.entries()) {
        fs.rmSync(path.join(dir, 'kubepin.lock.json'), { force: true });
        const result = await lock(dir, env);
        if (result.code !== 0) throw new Error(`kubepin lock (${sets[n].name}) failed: ${result.stderr.slice(0, 500)}`);
        times[n].push(result.ms);
      }
    }
    for (const [n, dir] of dirs.entries()) {
      const entries = Object.values((JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')) as { images: Record<string, { signature?: unknown }> }).images);
      if (entries.length !== IMAGES || entries.some((e) => (e.signature !== undefined) !== (sets[n].set !== undefined))) throw new Error(`${sets[n].name}: the lock does not have the expected ${IMAGES} entries and signature records`);
    }

    // Requests per image in one more run of each.
    const requests: number[] = [];
    for (const dir of dirs) {
      fs.rmSync(path.join(dir, 'kubepin.lock.json'), { force: true });
      await registry.settle();
      registry.resetCounters();
      await lock(dir, env);
      await registry.settle();
      requests.push(registry.accessLog().length / IMAGES);
    }
    const medians = times.map(median);
    const fmt = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
    const signedRatios = medians.slice(1).map((m) => m / medians[0]);
    process.stdout.write(
      [
        '',
        `${IMAGES} images per set, medians of ${RUNS} alternating runs of \`kubepin lock\` (process, empty lock); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`,
        ...sets.map((set, n) => `  ${set.name.padEnd(26)} ${fmt(medians[n])}   [${times[n].map((t) => (t / 1000).toFixed(2)).join(' ')}]   ${requests[n].toFixed(2)} requests/image` + (n > 0 ? `   ${(medians[n] / medians[0]).toFixed(2)}x unsigned` : '')),
        `  worst signed set / unsigned: ${Math.max(...signedRatios).toFixed(2)}x   (goal <= 2.0x for every format)`,
        '',
      ].join('\n'),
    );
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-signatures: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
