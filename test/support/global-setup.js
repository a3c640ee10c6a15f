// Once per test run, before any test:
//
// 1. One temporary directory: every test's temp files (cdk8s's Testing.app() makes an outdir per
//    app and never removes it; registries, podman storage) go under it, and global-teardown.js
//    removes it, so a run leaves nothing behind in the machine's /tmp. The name is short because
//    podman refuses a runroot path longer than 50 characters.
// 2. kubepin as users get it, when a selected test file uses it (test/support/packed.ts): built
//    with tsc, packed with `npm pack`, and the tarball unpacked as node_modules/kubepin of a
//    project whose other packages link to the repository's node_modules. The compiled bin and
//    the shipped validation plugin are tested from there, so the suites share one build and one
//    pack; a run of other files skips both (the build takes half a minute).
// 3. Pulumi's engine and helm, when a selected test file uses them (test/support/engine.ts):
//    scripts/install-pulumi-engine.sh builds them once into a cache outside the repository (a warm
//    run only checks its stamps) and its bin directory goes first on PATH. A failed build does not
//    stop the run: its message is handed to the engine tests, which then fail with it.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
/** What a test file imports to use the packed package; its presence makes the setup build. */
const USES_PACKAGE = /from '(?:\.\.\/)+support\/packed'/;
/** What a test file imports to run Pulumi's engine or the real helm. */
const USES_ENGINE = /from '(?:\.\.\/)+support\/engine'/;

module.exports = async function globalSetup(globalConfig) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kp-'));
  process.env.KUBEPIN_TEST_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir; // Workers and the processes tests start inherit it.
  // Tests never reach Sigstore's public TUF repository: where no trusted root is configured,
  // kubepin asks a mirror on a closed loopback port, with a cache of the run's own, and fails with its fix.
  process.env.KUBEPIN_SIGSTORE_TUF_MIRROR = 'http://127.0.0.1:9';
  process.env.KUBEPIN_SIGSTORE_TUF_CACHE = path.join(dir, 'sigstore-tuf');
  const selected = selectedTestFiles(globalConfig).map((file) => fs.readFileSync(file, 'utf8'));
  if (selected.some((text) => USES_ENGINE.test(text))) installEngine();
  if (selected.some((text) => USES_PACKAGE.test(text))) {
    const started = Date.now();
    const record = packKubepin(path.join(dir, 'package'));
    process.env.KUBEPIN_TEST_PACKED = record;
    process.stdout.write(`\nkubepin built and packed for the package tests in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
};

/**
 * Runs scripts/install-pulumi-engine.sh (idempotent; fast when its cache is warm) and sets
 * KUBEPIN_ENGINE_BIN and PATH, or KUBEPIN_ENGINE_ERROR with what failed.
 */
function installEngine() {
  const started = Date.now();
  const result = spawnSync('bash', [path.join(REPO, 'scripts', 'install-pulumi-engine.sh')], {
    cwd: REPO,
    encoding: 'utf8',
    // A cold build on a shared 2-core machine; warm, this takes well under a second.
    timeout: 60 * 60 * 1000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = (result.stdout ?? '').trim().split('\n');
  const bin = lines[lines.length - 1];
  if (result.status === 0 && bin && fs.existsSync(bin)) {
    process.env.KUBEPIN_ENGINE_BIN = bin;
    process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 5) process.stdout.write(`\nPulumi's engine and helm built in ${seconds.toFixed(0)} s (${bin})\n`);
    return;
  }
  process.env.KUBEPIN_ENGINE_ERROR = `scripts/install-pulumi-engine.sh exited ${result.status ?? result.signal ?? result.error}:\n${result.stderr ?? ''}`;
  process.stdout.write(`\nPulumi's engine could not be built; the engine tests will fail:\n${process.env.KUBEPIN_ENGINE_ERROR}\n`);
}

/** The test files this run may execute (all of them when the selection cannot be told in advance). */
function selectedTestFiles(globalConfig) {
  const all = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.test.ts')) all.push(full);
    }
  };
  walk(path.join(REPO, 'test'));
  if (globalConfig.findRelatedTests || globalConfig.onlyChanged || globalConfig.changedSince) return all;
  if (globalConfig.runTestsByPath && globalConfig.nonFlagArgs.length > 0) {
    const wanted = new Set(globalConfig.nonFlagArgs.map((a) => path.resolve(a)));
    return all.filter((f) => wanted.has(f));
  }
  const patterns = globalConfig.testPathPatterns;
  if (!patterns || typeof patterns.toExecutor !== 'function') return all;
  const executor = patterns.toExecutor({ rootDir: globalConfig.rootDir });
  return executor.isSet() ? all.filter((f) => executor.isMatch(f)) : all;
}

function must(what, command, args, cwd) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300000,
    // Offline: npm pack needs no registry, and must not ask one.
    env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stdout}${result.stderr}${result.error ?? ''}`);
  return result.stdout;
}

/**
 * Builds and packs kubepin under `work`; returns the path of a JSON record (test/support/packed.ts
 * reads it): the tarball, the installed package directory, and `npm pack --json`'s file list.
 */
function packKubepin(work) {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage, { recursive: true });
  // The package's own build (tsconfig.build.json), lib/ only: the examples are not shipped.
  const tsconfig = path.join(work, 'tsconfig.json');
  fs.writeFileSync(tsconfig, JSON.stringify({
    extends: path.join(REPO, 'tsconfig.build.json'),
    compilerOptions: { rootDir: REPO, outDir: path.join(stage, 'dist') },
    include: [path.join(REPO, 'lib', '**', '*.ts')],
    exclude: [],
  }));
  // tsc emits even with a type error; the typecheck is `npm run typecheck`'s job, so check the output.
  const build = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { encoding: 'utf8', timeout: 300000 });
  if (!fs.existsSync(path.join(stage, 'dist', 'lib', 'index.js'))) throw new Error(`building kubepin failed: ${build.stdout}${build.stderr}${build.error ?? ''}`);
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(stage, 'package.json'));
  for (const file of fs.readdirSync(REPO)) if (/^(README|LICENSE|NOTICE)/i.test(file)) fs.copyFileSync(path.join(REPO, file), path.join(stage, file));
  for (const entry of manifest.files) if (!entry.startsWith('dist/')) fs.cpSync(path.join(REPO, entry), path.join(stage, entry), { recursive: true });
  const packed = JSON.parse(must('npm pack', 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage))[0];
  const tarball = path.join(work, packed.filename);

  // Installed as npm would: the tarball's package/ as node_modules/kubepin, next to its
  // dependencies and the peers the tests use, linked from the repository.
  const project = path.join(work, 'project');
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  const extracted = path.join(work, 'extracted');
  fs.mkdirSync(extracted);
  must('unpacking the tarball', 'tar', ['-xzf', tarball, '-C', extracted], work);
  fs.renameSync(path.join(extracted, 'package'), path.join(modules, 'kubepin'));
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]) {
    const source = path.join(REPO, 'node_modules', name);
    if (!fs.existsSync(source)) continue;
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    fs.symlinkSync(source, path.join(modules, name));
  }
  const record = path.join(work, 'packed.json');
  fs.writeFileSync(record, JSON.stringify({
    tarball,
    project,
    dir: path.join(modules, 'kubepin'),
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    files: packed.files.map((f) => f.path),
  }));
  return record;
}
