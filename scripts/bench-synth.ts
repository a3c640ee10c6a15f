/**
 * Benchmark: one chart with 1,000 cdk8s-plus Deployments (3 containers each) synthesized with
 * an ImagePolicy and without one, as paired whole processes (alternating, so drift hits both
 * sides alike). Prints median synthesis times, their ratio, and peak memory of each side.
 *
 *   node -r ./scripts/ts-register.js scripts/bench-synth.ts
 *
 * Environment: BENCH_DEPLOYMENTS (default 1000), BENCH_RUNS (pairs, default 7),
 * BENCH_CDK8S_PLUS (the cdk8s-plus majors to measure, each on its own; default "27,33": the
 * baseline major and the one `cdk8s init` installs).
 * Targets from the issue: time ratio ≤ 1.15, memory ratio ≤ 1.2. Nothing here asserts them.
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const DISTINCT_IMAGES = 250;
const MAJORS = (process.env.BENCH_CDK8S_PLUS ?? '27,33').split(',').map((m) => m.trim()).filter(Boolean);

/** Real public index digests; the bench reuses them for synthetic names (nothing is pulled). */
const REAL_DIGESTS = [
  'sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d',
  'sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662',
  'sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a',
  'sha256:fbdbaea47b9ae4ecc2082ecdb4e1cea81e32176ffb1dcf643d422ad07427e5d9',
  'sha256:e62fbf9d3e2b49816a32c400ed2dba83e3b361e6833e624024309c35d334b412',
];

interface Sample {
  readonly mode: 'baseline' | 'policy';
  /** Wall-clock milliseconds to build the constructs and synthesize the YAML. */
  readonly ms: number;
  /** CPU milliseconds (user + system) of the same span: steadier than wall-clock on a busy machine. */
  readonly cpuMs: number;
  /** Peak resident set size of the whole process, in KiB. */
  readonly maxRssKb: number;
  /** Resident set size just before building the app (modules loaded), in KiB. */
  readonly baseRssKb: number;
  /** Bytes of YAML produced (a sanity check that both sides did the work). */
  readonly bytes: number;
  /** Containers written with a pinned image and `IfNotPresent` (the policy side must pin all). */
  readonly pinned: number;
}

function imageOf(i: number): string {
  return `ghcr.io/acme/svc-${i % DISTINCT_IMAGES}:1.${i % 5}.0`;
}

function child(mode: 'baseline' | 'policy', major: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { App, Chart } = require('cdk8s') as typeof import('cdk8s');
  const kplus = require(`cdk8s-plus-${major}`) as typeof import('cdk8s-plus-27');
  const { ImagePolicy } = require('../lib/cdk8s') as typeof import('../lib/cdk8s');
  const { ImageLock } = require('../lib/core/lock/image-lock') as typeof import('../lib/core/lock/image-lock');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const lock = ImageLock.empty(path.join(os.tmpdir(), 'kubepin-bench-never-saved.json'));
  for (let i = 0; i < DISTINCT_IMAGES * 5; i++) {
    lock.set(imageOf(i), { digest: REAL_DIGESTS[i % REAL_DIGESTS.length], mediaType: 'application/vnd.oci.image.index.v1+json' });
  }
  const baseRssKb = Math.round(process.memoryUsage().rss / 1024);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const app = new App({ outdir: path.join(os.tmpdir(), 'kubepin-bench-unused') });
  const chart = new Chart(app, 'bench');
  if (mode === 'policy') new ImagePolicy(chart, 'ImagePolicy', { lock, log: () => undefined });
  for (let i = 0; i < DEPLOYMENTS; i++) {
    new kplus.Deployment(chart, `app-${i}`, {
      containers: [0, 1, 2].map((k) => ({ name: `c${k}`, image: imageOf(i * 3 + k), portNumber: 8080 + k })),
    });
  }
  const yaml = app.synthYaml();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  const pinned = yaml.match(/image: \S+@sha256:[0-9a-f]{64}\n\s+imagePullPolicy: IfNotPresent\n/g)?.length ?? 0;
  const sample: Sample = { mode, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, baseRssKb, bytes: yaml.length, pinned };
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function run(mode: 'baseline' | 'policy', major: string): Sample {
  const result = spawnSync(process.execPath, ['-r', path.join(__dirname, 'ts-register.js'), __filename, '--child', mode, major], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`bench child (${mode}) failed: ${result.stderr}`);
  const sample = JSON.parse(result.stdout.trim().split('\n').pop()!) as Sample;
  // A policy side that did not pin every container (or a major whose implicit Always was kept)
  // would measure the wrong thing.
  const expected = mode === 'policy' ? DEPLOYMENTS * 3 : 0;
  if (sample.pinned !== expected) throw new Error(`bench child (${mode}, cdk8s-plus-${major}) pinned ${sample.pinned} containers with IfNotPresent, expected ${expected}`);
  return sample;
}

function main(): void {
  for (const major of MAJORS) measure(major);
}

function measure(major: string): void {
  const samples: Sample[] = [];
  // Warm the OS file cache once so the first pair is not penalized.
  run('baseline', major);
  for (let i = 0; i < RUNS; i++) {
    const order: Array<'baseline' | 'policy'> = i % 2 === 0 ? ['baseline', 'policy'] : ['policy', 'baseline'];
    for (const mode of order) samples.push(run(mode, major));
  }
  const of = (mode: string) => samples.filter((s) => s.mode === mode);
  const base = of('baseline');
  const pol = of('policy');
  const t0 = median(base.map((s) => s.ms));
  const t1 = median(pol.map((s) => s.ms));
  const c0 = median(base.map((s) => s.cpuMs));
  const c1 = median(pol.map((s) => s.cpuMs));
  const m0 = median(base.map((s) => s.maxRssKb));
  const m1 = median(pol.map((s) => s.maxRssKb));
  const g0 = median(base.map((s) => s.maxRssKb - s.baseRssKb));
  const g1 = median(pol.map((s) => s.maxRssKb - s.baseRssKb));
  const lines = [
    `bench-synth: ${DEPLOYMENTS} cdk8s-plus-${major} Deployments × 3 containers, one chart, ${RUNS} paired processes (median)`,
    `  without policy: ${t0.toFixed(0)} ms wall, ${c0.toFixed(0)} ms CPU, peak RSS ${(m0 / 1024).toFixed(1)} MiB (synthesis growth ${(g0 / 1024).toFixed(1)} MiB), ${base[0].bytes} bytes of YAML`,
    `  with policy:    ${t1.toFixed(0)} ms wall, ${c1.toFixed(0)} ms CPU, peak RSS ${(m1 / 1024).toFixed(1)} MiB (synthesis growth ${(g1 / 1024).toFixed(1)} MiB), ${pol[0].bytes} bytes of YAML`,
    `  time ratio   ${(t1 / t0).toFixed(3)}× wall, ${(c1 / c0).toFixed(3)}× CPU (target ≤ 1.15×)`,
    `  memory ratio ${(m1 / m0).toFixed(3)}× peak RSS (target ≤ 1.2×); ${(g1 / g0).toFixed(3)}× counting only growth during synthesis`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const childIndex = process.argv.indexOf('--child');
if (childIndex !== -1) child(process.argv[childIndex + 1] as 'baseline' | 'policy', process.argv[childIndex + 2]);
else main();
