import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * The new user, with no manual step: a project whose main.ts is the README's ten-line example
 * (read from README.md, so the docs cannot drift from what works), kubepin installed from the
 * tarball `npm pack` made, then `kubepin lock` (no arguments), `cdk8s synth` with strict on, `kubepin
 * verify`; and the same for a Pulumi program run under the runtime's mocks. Every process is
 * real; the images live in a registry on 127.0.0.1 (docker.io and registry.k8s.io, which the
 * pre-puller uses, are reached through --mirror).
 */
const REPO = path.resolve(__dirname, '..', '..');
const CDK8S = path.join(REPO, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const REGISTER = path.join(REPO, 'scripts', 'ts-register.js');

/** The README's ten-line example, as the README shows it. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const match = /## A cdk8s app in ten lines\n\n```ts\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no "A cdk8s app in ten lines" TypeScript block');
  return match[1];
}

describe('a new user locks, synthesizes and verifies with no manual step', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let pkg: string;
  const pushed: Record<string, PushedImage> = {};

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-new-user-'));
    // kubepin as a user installs it: from the tarball `npm pack` made (global-setup.js).
    pkg = packedKubepin().dir;
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'acme/api', '1.4.2');
    pushed.worker = await pushImage(registry, 'acme/worker', '2.0');
    pushed.nginx = await pushImage(registry, 'acme/nginx', 'latest');
    // The pre-puller's helper and pause images, served under their real names through --mirror.
    pushed.busybox = await pushImage(registry, 'library/busybox', '1.36.1');
    pushed.pause = await pushImage(registry, 'pause', '3.10');
  }, 180000);

  afterAll(async () => {
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A project directory with kubepin installed (other packages come from the repository's node_modules). */
  function project(name: string, files: Record<string, string>): string {
    const dir = path.join(work, name);
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'kubepin'));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    return dir;
  }

  function env(): NodeJS.ProcessEnv {
    const closed = 'http://127.0.0.1:9';
    return {
      PATH: process.env.PATH,
      HOME: work,
      NODE_PATH: path.join(REPO, 'node_modules'),
      HTTP_PROXY: closed, HTTPS_PROXY: closed, http_proxy: closed, https_proxy: closed,
      npm_config_offline: 'true',
      CDK8S_CHECK_UPGRADE: 'false',
    };
  }

  function run(dir: string, command: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
    const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout: 120000, env: env() });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function kubepin(dir: string, args: string[]) {
    const mirrors = ['--mirror', `docker.io=${registry.host}`, '--mirror', `registry.k8s.io=${registry.host}`];
    return run(dir, process.execPath, [path.join(dir, 'node_modules', 'kubepin', 'bin', 'kubepin.js'), ...args, ...(args[0] === 'lock' ? mirrors : []), '--no-docker-login']);
  }

  function lockFile(dir: string): { images: Record<string, { requested: string; digest: string }> } {
    return JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8'));
  }

  test('cdk8s: the README example, `kubepin lock` with no arguments, strict synth, verify; a new image resolves alone', async () => {
    const main = readmeExample().split('ghcr.io/acme').join(`${registry.host}/acme`);
    expect(main).toContain('strict: true');
    const dir = project('cdk8s-app', {
      'main.ts': main,
      // What `cdk8s init` writes, with the repository's TypeScript hook instead of ts-node.
      'cdk8s.yaml': `language: typescript\napp: node -r ${REGISTER} main.ts\nimports:\n  - k8s\n`,
    });

    // Strict, with no lock: synthesis fails and names the command that works.
    const first = run(dir, process.execPath, [CDK8S, 'synth', '--no-check-upgrade']);
    expect(first.code).not.toBe(0);
    expect(`${first.stdout}${first.stderr}`).toContain('Fix: run `npx kubepin lock` where cdk8s.yaml or Pulumi.yaml is');

    // The app runs into a temporary directory: the project's output directory is left alone.
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'keep.txt'), 'mine');
    const lock = kubepin(dir, ['lock']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['keep.txt']);
    expect(lock.stdout).toContain('3 resolved (3 new, 0 changed), 0 already locked, 0 failed');
    expect(lock.stdout).toContain('(images from `node -r');
    const locked = lockFile(dir).images;
    expect(locked[`${registry.host}/acme/api:1.4.2`].digest).toBe(pushed.api.digest);
    expect(locked['docker.io/library/busybox:1.36.1'].digest).toBe(pushed.busybox.digest);
    expect(locked['registry.k8s.io/pause:3.10'].digest).toBe(pushed.pause.digest);

    const synth = run(dir, process.execPath, [CDK8S, 'synth', '--no-check-upgrade']);
    expect(synth.stderr).not.toContain('error');
    expect(synth.code).toBe(0);
    const yaml = fs.readFileSync(path.join(dir, 'dist', 'shop.k8s.yaml'), 'utf8');
    const images = [...yaml.matchAll(/^\s*(?:- )?image: (.+)$/gm)].map((m) => m[1]);
    expect(images.length).toBeGreaterThanOrEqual(4); // api, and the pre-puller's copy, api and pause
    for (const image of images) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(images).toContain(`${registry.host}/acme/api:1.4.2@${pushed.api.digest}`);

    const verify = kubepin(dir, ['verify']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/image references checked against kubepin\.lock\.json: ok/);

    // A new image: the next lock resolves it and nothing else.
    fs.writeFileSync(path.join(dir, 'main.ts'), main.replace('app.synth();', `new Deployment(chart, 'worker', { containers: [{ image: Image.of('${registry.host}/acme/worker:2.0') }] });\napp.synth();`));
    await registry.settle();
    registry.resetCounters();
    const again = kubepin(dir, ['lock']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('1 resolved (1 new, 0 changed), 3 already locked, 0 failed');
    await registry.settle();
    const manifestRequests = registry.accessLog().filter((r) => r.path.includes('/manifests/'));
    expect(manifestRequests.length).toBeGreaterThan(0);
    expect(manifestRequests.every((r) => r.path.startsWith('/v2/acme/worker/'))).toBe(true);
    expect(run(dir, process.execPath, [CDK8S, 'synth', '--no-check-upgrade']).code).toBe(0);
    expect(kubepin(dir, ['verify']).code).toBe(0);

    // The worker goes again: --prune lists and removes its entry.
    fs.writeFileSync(path.join(dir, 'main.ts'), main);
    const prune = kubepin(dir, ['lock', '--prune']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain(`pruned ${registry.host}/acme/worker:2.0 (no longer used)`);
    expect(Object.keys(lockFile(dir).images).sort()).toEqual(Object.keys(locked).sort());
  }, 180000);

  test('Pulumi: `kubepin lock` runs the TypeScript program under mocks; then the program, strict, gives pinned resources', () => {
    const h = registry.host;
    const dir = project('pulumi-app', {
      'Pulumi.yaml': 'name: shop\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n',
      'index.ts': [
        "import * as k8s from '@pulumi/kubernetes';",
        "import { ImageLock } from 'kubepin';",
        "import { Deployment, Image, ImagePolicy } from 'kubepin/pulumi';",
        '',
        "ImagePolicy.register({ lock: ImageLock.load('kubepin.lock.json'), strict: true });",
        `new Deployment('api', { containers: [{ name: 'api', image: Image.of('${h}/acme/api:1.4.2') }] });`,
        '// A plain @pulumi/kubernetes object with an untagged image (pulled as :latest).',
        "new k8s.apps.v1.Deployment('plain', { spec: { selector: { matchLabels: { app: 'plain' } }, template: { metadata: { labels: { app: 'plain' } },",
        `  spec: { containers: [{ name: 'web', image: '${h}/acme/nginx' }] } } } });`,
        '',
      ].join('\n'),
    });

    const lock = kubepin(dir, ['lock']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('2 resolved (2 new, 0 changed), 0 already locked, 0 failed (images from the Pulumi program');
    const locked = lockFile(dir).images;
    expect(locked[`${h}/acme/api:1.4.2`].digest).toBe(pushed.api.digest);
    expect(locked[`${h}/acme/nginx:latest`]).toMatchObject({ requested: `${h}/acme/nginx`, digest: pushed.nginx.digest });

    // The program under mocks through the public API, as a user's own test would run it.
    const script = `require('kubepin/pulumi/testing').runProgramUnderMocks('.').then(
      (r) => process.stdout.write(JSON.stringify(r.resources.filter((x) => x.type === 'kubernetes:apps/v1:Deployment'))),
      (e) => { process.stderr.write(String(e.stack || e)); process.exit(1); })`;
    const program = run(dir, process.execPath, ['-e', script]);
    expect(program.stderr).toBe('');
    expect(program.code).toBe(0);
    const deployments = JSON.parse(program.stdout) as Array<{ name: string; inputs: any }>;
    const containers = Object.fromEntries(deployments.map((d) => [d.name, d.inputs.spec.template.spec.containers[0]]));
    expect(containers.api).toMatchObject({ image: `${h}/acme/api:1.4.2@${pushed.api.digest}`, imagePullPolicy: 'IfNotPresent' });
    expect(containers.plain).toMatchObject({ image: `${h}/acme/nginx:latest@${pushed.nginx.digest}`, imagePullPolicy: 'IfNotPresent' });
  }, 180000);
});
