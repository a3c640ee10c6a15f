/**
 * Benchmark: the cost of signature verification in `kubepin lock`. One registry holds 200
 * unsigned images and 200 signed ones (half classic cosign `.sig`, half Sigstore bundles found
 * through the referrers tag schema, signed with @sigstore/sign). `kubepin lock` (a whole
 * process, empty lock) runs alternately on both sets, the signed set under a
 * `kubepin.config.json` requiring the key; prints the medians and the ratio (target ≤ 2.5×).
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
import { generateKey, pushBundleSignature, pushCosignSignature } from '../test/support/signatures';

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
    process.stdout.write(`registry ${registry.host}; seeding ${IMAGES} unsigned and ${IMAGES} signed images…\n`);
    const unsigned = Array.from({ length: IMAGES }, (_, i) => `plain/app-${i}`);
    const signed = Array.from({ length: IMAGES }, (_, i) => `signed/app-${i}`);
    await pool(unsigned, 8, async (repo) => {
      await pushImage(registry, repo, '1.0');
    });
    await pool(signed, 8, async (repo) => {
      const image = await pushImage(registry, repo, '1.0');
      const sign = Number(repo.split('-')[1]) % 2 === 0 ? pushCosignSignature : pushBundleSignature;
      await sign(registry, repo, image.digest, { key });
    });
    const plainDir = path.join(work, 'plain');
    const signedDir = path.join(work, 'signed');
    project(plainDir, unsigned.map((r) => `${registry.host}/${r}:1.0`));
    project(signedDir, signed.map((r) => `${registry.host}/${r}:1.0`), { signatures: { require: [{ images: [`${registry.host}/signed`], keys: ['release.pub'] }] } });
    fs.writeFileSync(path.join(signedDir, 'release.pub'), key.publicPem);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, CI: '1' };

    const times = { plain: [] as number[], signed: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      for (const [name, dir] of [['plain', plainDir], ['signed', signedDir]] as const) {
        fs.rmSync(path.join(dir, 'kubepin.lock.json'), { force: true });
        const result = await lock(dir, env);
        if (result.code !== 0) throw new Error(`kubepin lock (${name}) failed: ${result.stderr.slice(0, 500)}`);
        times[name].push(result.ms);
      }
    }
    const lockFile = JSON.parse(fs.readFileSync(path.join(signedDir, 'kubepin.lock.json'), 'utf8')) as { images: Record<string, { signature?: { format: string } }> };
    const formats = Object.values(lockFile.images).map((e) => e.signature?.format);
    if (formats.length !== IMAGES || formats.some((f) => f === undefined)) throw new Error('not every signed image was locked with a signature record');

    // Requests per image in one more run of each.
    const requests: Record<string, number> = {};
    for (const [name, dir] of [['plain', plainDir], ['signed', signedDir]] as const) {
      fs.rmSync(path.join(dir, 'kubepin.lock.json'), { force: true });
      await registry.settle();
      registry.resetCounters();
      await lock(dir, env);
      await registry.settle();
      requests[name] = registry.accessLog().length / IMAGES;
    }
    const p = median(times.plain);
    const s = median(times.signed);
    const fmt = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
    process.stdout.write(
      [
        '',
        `${IMAGES} images per set, medians of ${RUNS} alternating runs of \`kubepin lock\` (process, empty lock)`,
        `  unsigned, no policy                 ${fmt(p)}   [${times.plain.map((t) => (t / 1000).toFixed(2)).join(' ')}]   ${requests.plain.toFixed(2)} requests/image`,
        `  signed, verified (cosign + bundle)  ${fmt(s)}   [${times.signed.map((t) => (t / 1000).toFixed(2)).join(' ')}]   ${requests.signed.toFixed(2)} requests/image`,
        `  signed / unsigned                   ${(s / p).toFixed(2)}x   (target <= 2.5x)`,
        `  formats recorded: ${formats.filter((f) => f === 'cosign').length} cosign, ${formats.filter((f) => f === 'sigstore-bundle').length} sigstore-bundle`,
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
