/**
 * Benchmark: `kubepin lock` with no arguments on the example app (examples/cdk8s, through the
 * repository's cdk8s.yaml) against plain `cdk8s synth` of the same app, measured in one run:
 *
 *   synth      `cdk8s synth` as `npm run synth` runs it (the baseline)
 *   collect    `kubepin lock`, lock already filled (kubepin.lock.json): runs the app in
 *              collect mode, reads what it synthesized, resolves nothing, writes nothing
 *   resolve    `kubepin lock --lock-file <empty>`: the same, then every image resolved against
 *              a local docker-registry on 127.0.0.1 (docker.io, registry.k8s.io and
 *              registry.shop.test reached through --mirror; no other traffic)
 *
 * Whole processes, alternated, BENCH_RUNS (7) times each; prints medians and ratios to synth.
 *
 *   npm run build && npm run bench:lock-app
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pushImage, startRegistry } from '../test/support/registry';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'kubepin.js');
const CDK8S = path.join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timed(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, expect: RegExp): Promise<number> {
  const start = process.hrtime.bigint();
  const result = await run(cmd, args, env);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.code !== 0 || !expect.test(result.output)) throw new Error(`${what} failed (exit ${result.code}):\n${result.output}`);
  return ms;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'examples', 'cdk8s', 'main.js')) || !fs.existsSync(path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (the benchmark times the built app and CLI, as users run them)');
  }
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'kubepin.lock.json'), 'utf8')) as { images: Record<string, unknown> };
  const references = Object.keys(lock.images);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-lock-app-'));
  const registry = await startRegistry();
  try {
    // Every image of the example, under its repository and tag, in the local registry.
    const registries = new Set<string>();
    for (const reference of references) {
      const slash = reference.indexOf('/');
      registries.add(reference.slice(0, slash));
      const [repository, tag] = reference.slice(slash + 1).split(':');
      await pushImage(registry, repository, tag);
    }
    const mirrors = [...registries].flatMap((r) => ['--mirror', `${r}=${registry.host}`]);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, CDK8S_CHECK_UPGRADE: 'false', npm_config_offline: 'true' };
    const emptyLock = path.join(work, 'empty.lock.json');
    const times = { synth: [] as number[], collect: [] as number[], resolve: [] as number[] };
    process.stdout.write(`example app: ${references.length} images; registry ${registry.host}; ${RUNS} runs each\n`);
    for (let i = 0; i < RUNS; i++) {
      times.synth.push(await timed('cdk8s synth', process.execPath, [CDK8S, 'synth', '--no-check-upgrade'], env, /dist\/manifests/));
      times.collect.push(await timed('kubepin lock (filled lock)', process.execPath, [CLI, 'lock', '--no-docker-login'], env, new RegExp(`0 resolved .*${references.length} already locked, 0 failed`)));
      fs.rmSync(emptyLock, { force: true });
      times.resolve.push(await timed('kubepin lock (empty lock)', process.execPath, [CLI, 'lock', '--no-docker-login', '--lock-file', emptyLock, ...mirrors], env, new RegExp(`${references.length} resolved \\(${references.length} new`)));
    }
    const synth = median(times.synth);
    const line = (name: string, ms: number) => `${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / synth).toFixed(2)}× synth\n`;
    process.stdout.write(line('cdk8s synth (baseline)', synth));
    process.stdout.write(line('kubepin lock, lock filled (collect only)', median(times.collect)));
    process.stdout.write(line(`kubepin lock, empty lock (collect + ${references.length} resolved)`, median(times.resolve)));
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
