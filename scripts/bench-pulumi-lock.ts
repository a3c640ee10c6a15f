/**
 * Benchmark: `kubepin lock` of examples/pulumi through Pulumi's engine against under mocks,
 * measured in one run, side by side:
 *
 *   mocks      `kubepin lock --mocks`: the program under the runtime's mocks (no engine)
 *   engine     `kubepin lock --stack bench`: `pulumi preview --json` of a stack on a local file
 *              backend, the provider rendering YAML (no cluster)
 *
 * Both with the lock already filled (the repository's kubepin.lock.json, copied): nothing is
 * resolved, so no registry is asked and no traffic leaves the machine; what is timed is learning
 * the images. The engine is the one scripts/install-pulumi-engine.sh builds
 * (${KUBEPIN_ENGINE_HOME:-~/.cache/kubepin-engine}/bin). Whole processes, alternated, BENCH_RUNS
 * (5) times each; prints medians and the ratio engine / mocks.
 *
 *   npm run build && npm run bench:pulumi-lock
 */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'kubepin.js');
const ENGINE_BIN = process.env.KUBEPIN_ENGINE_BIN ?? path.join(process.env.KUBEPIN_ENGINE_HOME ?? path.join(os.homedir(), '.cache', 'kubepin-engine'), 'bin');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** How many images each way found already locked: they must agree, or the comparison is void. */
const seen = new Map<string, number>();

function timed(what: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, expect: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(process.execPath, [CLI, ...args], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const locked = /(\d+) already locked/.exec(stdout)?.[1];
      if (locked !== undefined) seen.set(what, Number(locked));
      if (error || !expect.test(stdout)) reject(new Error(`${what} failed (${error ? `exit ${(error as { code?: unknown }).code}` : 'unexpected output'}):\n${stdout}${stderr}`));
      else resolve(ms);
    });
  });
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (the benchmark times the built CLI, as users run it)');
  for (const name of ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes']) {
    if (!fs.existsSync(path.join(ENGINE_BIN, name))) throw new Error(`${path.join(ENGINE_BIN, name)} is missing: build the engine with bash scripts/install-pulumi-engine.sh`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-pulumi-lock-'));
  try {
    const project = path.join(work, 'project');
    for (const sub of ['home', 'backend', 'project', 'rendered']) fs.mkdirSync(path.join(work, sub));
    // The example as shipped, run from a project of its own (its entry stays in place: its relative imports hold).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
    fs.writeFileSync(path.join(project, 'Pulumi.yaml'), `name: kubepin-shop\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: ${path.join(ROOT, 'examples', 'pulumi', 'index.ts')}\n`);
    const lockFile = path.join(project, 'kubepin.lock.json');
    fs.copyFileSync(path.join(ROOT, 'kubepin.lock.json'), lockFile);
    const images = Object.keys((JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { images: object }).images).length;
    const env: NodeJS.ProcessEnv = {
      PATH: `${ENGINE_BIN}${path.delimiter}${process.env.PATH}`,
      HOME: path.join(work, 'home'),
      PULUMI_HOME: path.join(work, 'home'),
      PULUMI_BACKEND_URL: `file://${path.join(work, 'backend')}`,
      PULUMI_CONFIG_PASSPHRASE: 'kubepin-bench',
      PULUMI_SKIP_UPDATE_CHECK: 'true',
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
      PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
      KUBECONFIG: path.join(work, 'no-kubeconfig'),
      NO_COLOR: '1',
    };
    const pulumi = (args: string[]) => {
      const r = spawnSync(path.join(ENGINE_BIN, 'pulumi'), [...args, '--non-interactive'], { cwd: project, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`pulumi ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    };
    pulumi(['stack', 'init', 'bench']);
    pulumi(['config', 'set', 'kubernetes:renderYamlToDirectory', path.join(work, 'rendered')]);
    // Both ways must learn the same images: the count of already-locked ones is compared below.
    const expect = /0 resolved \(0 new, 0 changed\), \d+ already locked, 0 failed/;
    const times = { mocks: [] as number[], engine: [] as number[] };
    process.stdout.write(`examples/pulumi, lock filled (${images} entries); ${RUNS} runs each; engine in ${ENGINE_BIN}\n`);
    for (let i = 0; i < RUNS; i++) {
      times.mocks.push(await timed('kubepin lock --mocks', ['lock', '--mocks', '--no-docker-login'], project, env, expect));
      times.engine.push(await timed('kubepin lock --stack bench', ['lock', '--stack', 'bench', '--no-docker-login'], project, env, expect));
    }
    if (new Set(seen.values()).size !== 1) throw new Error(`the two ways learned different images: ${JSON.stringify(Object.fromEntries(seen))}`);
    process.stdout.write(`both learned the same ${[...seen.values()][0]} images\n`);
    const mocks = median(times.mocks);
    const engine = median(times.engine);
    process.stdout.write(`${'kubepin lock under mocks (--mocks)'.padEnd(44)} ${mocks.toFixed(0).padStart(6)} ms  1.00×\n`);
    process.stdout.write(`${'kubepin lock through pulumi preview'.padEnd(44)} ${engine.toFixed(0).padStart(6)} ms  ${(engine / mocks).toFixed(2)}× mocks\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
