import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { runKubepin, writeFiles } from '../support/registry-cli';
import { engineBinDir } from '../support/render-tools';

/*
 * `kubepin lock` through Pulumi's real engine (the binaries scripts/install-pulumi-engine.sh
 * builds; a missing one fails here, never skips): `pulumi preview` of a stack on a local file
 * backend, the provider rendering YAML (no cluster). The preview sees the children the provider
 * makes for a helm.v4.Chart; the stack's state keeps its bytes; a program that throws and a chart
 * that cannot render fail the lock with their own messages. A CLI too old for transforms is
 * refused with the version needed, and a pulumi on PATH with no stack leaves the lock to mocks.
 */
const REPO = path.resolve(__dirname, '..', '..');
const PROGRAM = path.join(REPO, 'test', 'pulumi', 'fixtures', 'engine-lock', 'index.ts');

function engine(pieces = ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes']): string {
  const bin = engineBinDir();
  for (const name of pieces) {
    if (!fs.existsSync(path.join(bin, name))) throw new Error(`${path.join(bin, name)} is missing, so the engine tests cannot run. Fix: bash scripts/install-pulumi-engine.sh`);
  }
  return bin;
}

/** Every file under `dir` (the backend's state) → its bytes, lock files left out (a run holds one while it runs). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (!full.includes(`${path.sep}locks${path.sep}`)) out[path.relative(dir, full)] = fs.readFileSync(full).toString('base64');
    }
  };
  walk(dir);
  return out;
}

describe('kubepin lock of a Pulumi program through pulumi preview', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const pushed: Record<string, PushedImage> = {};
  const names = ['web', 'migrate', 'report', 'one', 'api'];
  const image = (name: string) => `${registry.host}/shop/${name}:1`;

  const pulumi = (args: string[]) => {
    const r = spawnSync(path.join(engine(), 'pulumi'), [...args, '--non-interactive'], { cwd: dir, env, encoding: 'utf8', timeout: 240_000 });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    const bin = engine();
    registry = await startRegistry();
    for (const name of names) pushed[name] = await pushImage(registry, `shop/${name}`, '1', { format: 'oci' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-engine-lock-'));
    for (const sub of ['home', 'backend', 'project']) fs.mkdirSync(path.join(dir, sub));
    env = {
      PATH: `${bin}${path.delimiter}${process.env.PATH}`,
      HOME: path.join(dir, 'home'),
      PULUMI_HOME: path.join(dir, 'home'),
      PULUMI_SKIP_UPDATE_CHECK: 'true',
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
      PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
      PULUMI_CONFIG_PASSPHRASE: 'kubepin-engine-lock',
      PULUMI_BACKEND_URL: `file://${path.join(dir, 'backend')}`,
      KUBECONFIG: path.join(dir, 'no-kubeconfig'),
      NO_COLOR: '1',
    };
    dir = path.join(dir, 'project');
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    writeFiles(dir, {
      'Pulumi.yaml': `name: engine-lock\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
      // The program runs from the project's directory, as a user's does (the engine runs `main` in its own).
      'index.ts': `import ${JSON.stringify(PROGRAM.replace(/\.ts$/, ''))};\n`,
      'one.yaml': `apiVersion: v1\nkind: Pod\nmetadata: { name: one }\nspec:\n  containers: [{ name: one, image: ${JSON.stringify(image('one'))} }]\n`,
    });
    pulumi(['stack', 'init', 'test']);
    pulumi(['config', 'set', 'kubernetes:renderYamlToDirectory', path.join(dir, '..', 'rendered')]);
    pulumi(['config', 'set', 'registry', registry.host]);
    // A deployed stack (before any lock, so not strict): the preview must leave its state as it is.
    pulumi(['config', 'set', 'strict', 'false']);
    pulumi(['up', '--yes', '--skip-preview']);
    // Strict from here on: the lock's preview runs the program in collect mode, so it still learns every image.
    pulumi(['config', 'set', 'strict', 'true']);
  }, 600_000);
  afterAll(async () => {
    await registry?.stop();
    if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
  afterEach(() => {
    fs.rmSync(path.join(dir, 'kubepin.lock.json'), { force: true });
  });

  test('learns every image, the helm.v4 chart\'s children (init container, CronJob) included, and leaves the stack\'s state byte for byte', async () => {
    const before = snapshot(path.join(dir, '..', 'backend'));
    const lock = await runKubepin(['lock', '--stack', 'test'], { cwd: dir, env });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain(`${names.length} resolved (${names.length} new, 0 changed), 0 already locked, 0 failed (images from the Pulumi program (Pulumi.yaml) through \`pulumi preview\` of stack test)`);
    const locked = JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images;
    expect(locked).toEqual(Object.fromEntries(names.map((n) => [image(n), expect.objectContaining({ digest: pushed[n].digest })])));
    expect(snapshot(path.join(dir, '..', 'backend'))).toEqual(before);
  }, 300_000);

  test('pulumi on PATH and a selected stack: used without flags; verify then checks the preview\'s resources', async () => {
    pulumi(['stack', 'select', 'test']);
    const lock = await runKubepin(['lock'], { cwd: dir, env });
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('through `pulumi preview`');
    // Non-strict preview with the lock now filled: every child pinned, so verify passes.
    const verify = await runKubepin(['verify'], { cwd: dir, env });
    expect(verify.stderr).toContain('checking the resources of the Pulumi program (Pulumi.yaml) through `pulumi preview`');
    expect(verify.code).toBe(0);
  }, 300_000);

  test('a program that throws: the lock fails with the program\'s own message, no stack trace, nothing written', async () => {
    pulumi(['config', 'set', 'fail', 'true']);
    try {
      const lock = await runKubepin(['lock', '--stack', 'test'], { cwd: dir, env });
      expect(lock.code).toBe(1);
      expect(lock.stderr).toContain('boom: the program refuses to run');
      expect(lock.stderr).not.toMatch(/^\s+\|?\s*at .+:\d+:\d+\)?$/m);
      expect(lock.stderr).not.toContain('cdk8s');
      expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
    } finally {
      pulumi(['config', 'rm', 'fail']);
    }
  }, 300_000);

  test('a chart that cannot render: the lock fails naming the chart and with the provider\'s message', async () => {
    const bad = path.join(dir, 'bad');
    writeFiles(bad, { 'Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n', 'templates/x.yaml': 'kind: {{ required "values.kind is required" .Values.kind }}\n' });
    pulumi(['config', 'set', 'badChart', bad]);
    try {
      const lock = await runKubepin(['lock', '--stack', 'test'], { cwd: dir, env });
      expect(lock.code).toBe(1);
      expect(lock.stderr).toContain('values.kind is required');
      expect(lock.stderr).toContain('broken');
    } finally {
      pulumi(['config', 'rm', 'badChart']);
    }
  }, 300_000);
});

describe('kubepin lock picks the engine or mocks', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-engine-pick-'));
    writeFiles(dir, { 'Pulumi.yaml': 'name: pick\nruntime: nodejs\n', 'package.json': '{ "name": "pick", "private": true, "main": "index.js" }', 'index.js': '' });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a pulumi CLI older than 3.118.0 is refused with the version needed', async () => {
    writeFiles(dir, { 'old/pulumi': '#!/bin/sh\necho v3.100.0\n' });
    fs.chmodSync(path.join(dir, 'old', 'pulumi'), 0o755);
    const lock = await runKubepin(['lock', '--engine', 'old/pulumi'], { cwd: dir });
    expect(lock.code).toBe(1);
    expect(lock.stderr).toContain(`the pulumi CLI at ${path.join(dir, 'old', 'pulumi')} is 3.100.0, too old for transforms: kubepin needs pulumi 3.118.0 or later`);
    expect(lock.stderr).toContain('Fix: upgrade the pulumi CLI, or lock under mocks with --mocks');
  });

  test('the real pulumi on PATH with no stack here: the program runs under mocks (--verbose says why)', async () => {
    const lock = await runKubepin(['lock', '--verbose'], { cwd: dir, env: { PATH: `${engine(['pulumi'])}${path.delimiter}${process.env.PATH}`, PULUMI_HOME: path.join(dir, 'home'), PULUMI_BACKEND_URL: `file://${path.join(dir, 'none')}` } });
    expect(lock.stderr).toMatch(/note: pulumi is on PATH but `pulumi stack` has no stack here \(.+\); ran the program under mocks/);
    expect(lock.stderr).toContain('warning: no images found in the Pulumi program (Pulumi.yaml) under mocks');
    expect(lock.code).toBe(0);
  });

  test('--mocks with --stack is a usage error; --stack in a cdk8s app too', async () => {
    expect((await runKubepin(['lock', '--mocks', '--stack', 'dev'], { cwd: dir })).code).toBe(2);
    writeFiles(dir, { 'cdk8s.yaml': 'app: node main.js\n' });
    const cdk8s = await runKubepin(['lock', '--stack', 'dev'], { cwd: dir });
    expect(cdk8s.code).toBe(2);
    expect(cdk8s.stderr).toContain('--engine, --stack and --mocks are for a Pulumi project (Pulumi.yaml); this is a cdk8s app');
  });
});
