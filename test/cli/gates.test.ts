import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';
import { cdk8sSynth, offlineEnv, runPackedKubepin } from '../support/packed-cli';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * The CI gates as a user meets them: kubepin from the tarball `npm pack` made, a cdk8s app with
 * a strict ImagePolicy, the real `cdk8s synth` of cdk8s-cli, the compiled bin as a process, and
 * images in a registry on 127.0.0.1.
 */
describe('the CI gates (verify, check) never pass on nothing, and point at the real fix', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let pkg: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-gates-'));
    pkg = packedKubepin().dir;
    registry = await startRegistry();
    await pushImage(registry, 'acme/web', '1.0', { seed: 'web 1.0, first build' });
    await pushImage(registry, 'acme/web', '2.0');
  }, 180000);

  afterAll(async () => {
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A strict cdk8s app using `image`, with kubepin installed from the tarball. */
  function app(name: string, image: string): string {
    const dir = path.join(work, name);
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'kubepin'));
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
    writeMain(dir, image);
    return dir;
  }

  function writeMain(dir: string, image: string): void {
    fs.writeFileSync(path.join(dir, 'main.js'), `
const { App, Chart, ApiObject } = require('cdk8s');
const { ImagePolicy } = require('kubepin/cdk8s');
const app = new App();
new ImagePolicy(app, 'images', { strict: true });
const chart = new Chart(app, 'shop');
new ApiObject(chart, 'web', {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: ${JSON.stringify(image)} }] } } },
});
app.synth();
`);
  }

  const env = () => offlineEnv(work);
  const kubepin = (dir: string, args: string[]) => runPackedKubepin(pkg, [...args, '--no-docker-login'], { cwd: dir, env: env() });
  const check = (dir: string, args: string[]) => runPackedKubepin(pkg, ['check', ...args], { cwd: dir, env: env() });

  test('after a failed strict synth (dist/ left empty), verify and check exit 5 saying why; --allow-empty passes', () => {
    const dir = app('failed-synth', `${registry.host}/acme/web:1.0`);
    // Strict with no lock: the synth fails, and cdk8s leaves the output directory empty.
    const synth = cdk8sSynth(dir, env());
    expect(synth.code).not.toBe(0);
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual([]);

    const verify = kubepin(dir, ['verify']);
    expect(verify.code).toBe(5);
    expect(verify.stdout).toBe('');
    expect(verify.stderr).toContain('kubepin verify: nothing to check: no .yaml, .yml or .json file under dist/');
    expect(verify.stderr).toContain('did `cdk8s synth` fail');
    expect(verify.stderr).toContain('pass --allow-empty');

    const text = check(dir, []);
    expect(text.code).toBe(5);
    expect(text.stdout).not.toContain('No problems found');
    expect(text.stderr).toContain('kubepin check: nothing to check');

    // The SARIF file CI uploads records a failed run, not an empty success.
    const sarif = check(dir, ['dist', '--format', 'sarif']);
    expect(sarif.code).toBe(5);
    const invocation = JSON.parse(sarif.stdout).runs[0].invocations[0];
    expect(invocation.executionSuccessful).toBe(false);
    expect(invocation.toolExecutionNotifications[0].message.text).toContain('nothing to check');

    const json = kubepin(dir, ['verify', '--json']);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, images: 0, nothingToCheck: expect.stringContaining('nothing to check') });

    // Standard input with nothing in it (a pipe from a failed render) is nothing to check too.
    const stdin = runPackedKubepin(pkg, ['check', '-'], { cwd: dir, env: env(), input: '' });
    expect(stdin.code).toBe(5);
    expect(stdin.stderr).toContain('nothing to check: no Kubernetes object in standard input');

    expect(kubepin(dir, ['verify', '--allow-empty']).code).toBe(0);
    expect(check(dir, ['--allow-empty']).code).toBe(0);

    // No dist/ at all (synth never ran): the same gate, and it says so.
    fs.rmSync(path.join(dir, 'dist'), { recursive: true });
    const missing = kubepin(dir, ['verify']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('nothing to check: dist/ does not exist');
    expect(check(dir, []).code).toBe(5);
    // A YAML file with no Kubernetes object is nothing to check too.
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'values.yaml'), 'replicas: 3\n');
    expect(check(dir, []).code).toBe(5);
  }, 180000);

  test('stale manifests: verify says to synthesize again with the current lock, and to lock only a tag the app still uses', async () => {
    const old = `${registry.host}/acme/web:1.0`;
    const dir = app('stale', old);
    expect(kubepin(dir, ['lock']).code).toBe(0);
    expect(cdk8sSynth(dir, env()).code).toBe(0);
    expect(kubepin(dir, ['verify']).code).toBe(0);

    // A hand-written manifest left unpinned: lock it, then synthesize again (cdk8s synth names the step).
    fs.writeFileSync(path.join(dir, 'dist', 'extra.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: extra }\nspec:\n  containers:\n    - { name: c, image: "' + `${registry.host}/acme/web:2.0` + '" }\n');
    expect(kubepin(dir, ['verify']).stderr).toContain(`${registry.host}/acme/web:2.0 is not pinned to a digest and is not in kubepin.lock.json. Fix: run \`kubepin lock\`, then synthesize again with the lock (\`cdk8s synth\`)`);
    fs.rmSync(path.join(dir, 'dist', 'extra.yaml'));

    // The tag moves and the lock is updated, but dist/ is from before.
    await pushImage(registry, 'acme/web', '1.0', { seed: 'web 1.0, rebuilt' });
    expect(kubepin(dir, ['lock', '--update']).stdout).toContain(`updated ${old}`);
    const moved = kubepin(dir, ['verify']);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain('the manifests were written with an older lock. Fix: synthesize again with the current lock (`cdk8s synth`)');
    expect(moved.stderr).not.toContain('Fix: run `kubepin lock`');
    expect(cdk8sSynth(dir, env()).code).toBe(0);
    expect(kubepin(dir, ['verify']).code).toBe(0);

    // The app moves to 2.0 and the lock is pruned; dist/ still pins 1.0, which the lock no longer has.
    writeMain(dir, `${registry.host}/acme/web:2.0`);
    expect(kubepin(dir, ['lock', '--prune']).stdout).toContain(`pruned ${old}`);
    const pruned = kubepin(dir, ['verify']);
    expect(pruned.code).toBe(1);
    expect(pruned.stderr).toContain(`has no entry for ${old}: the manifests are older than the lock`);
    expect(pruned.stderr).toContain(`Fix: synthesize again with the current lock (\`cdk8s synth\`); only if the app still uses ${old}, lock it first (\`kubepin lock\`)`);

    // In a Pulumi project the manifests come from the program, not from cdk8s synth.
    const pulumi = path.join(work, 'stale-pulumi');
    fs.mkdirSync(pulumi);
    fs.cpSync(path.join(dir, 'dist'), path.join(pulumi, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'kubepin.lock.json'), path.join(pulumi, 'kubepin.lock.json'));
    fs.writeFileSync(path.join(pulumi, 'Pulumi.yaml'), 'name: shop\nruntime: nodejs\n');
    const stale = kubepin(pulumi, ['verify']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('run the program again with the current lock (`pulumi preview` or `pulumi up`)');
    expect(stale.stderr).not.toContain('synthesize');
    expect(stale.stderr).not.toContain('cdk8s synth');
  }, 240000);
});
