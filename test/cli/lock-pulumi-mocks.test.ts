import * as fs from 'fs';
import * as path from 'path';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { helmBinary, kustomizeBinary, toolsPath } from '../support/render-tools';

/*
 * `kubepin lock` in a Pulumi project with no pulumi CLI: the program runs under mocks and kubepin
 * expands what it can read itself (yaml.v2 files, globs, yaml and objs; a local chart through a
 * real helm, v4 and v3; a local kustomization through a real kustomize), resolving every image
 * against a real registry. A component it cannot see is named with the fix, counted in the
 * summary, fails the exit status, and keeps --prune from removing anything.
 */
const REPO = path.resolve(__dirname, '..', '..');
const CHART = path.join(REPO, 'test', 'pulumi', 'fixtures', 'expand', 'chart');
const POLICY = path.join(REPO, 'lib', 'pulumi');

describe('kubepin lock of a Pulumi program under mocks sees the children of the components it can expand', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let tools: string;
  const pushed: Record<string, PushedImage> = {};
  const names = ['one', 'grp', 'inline', 'obj', 'kz', 'web', 'migrate', 'report', 'old-web', 'stale'];
  const image = (name: string) => `${registry.host}/shop/${name}:1`;

  beforeAll(async () => {
    registry = await startRegistry();
    for (const name of names) pushed[name] = await pushImage(registry, `shop/${name}`, '1', { format: 'oci' });
    // PATH holds helm and kustomize, and no pulumi: the lock runs under mocks.
    tools = toolsPath({ helm: helmBinary(), kustomize: kustomizeBinary() });
  });
  afterAll(async () => {
    await registry?.stop();
    if (tools) fs.rmSync(tools, { recursive: true, force: true });
  });
  beforeEach(() => {
    dir = tempProject();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name} }\nspec:\n  containers: [{ name: ${name}, image: ${JSON.stringify(image(name))} }]\n`;
  const program = (extra: string[] = []) => {
    writeFiles(dir, {
      'Pulumi.yaml': 'name: shop\nruntime: nodejs\n',
      'package.json': '{ "name": "shop", "private": true, "main": "index.js" }',
      'manifests/one.yaml': pod('one'),
      'group/grp.yaml': pod('grp'),
      'kz/pod.yaml': pod('kz'),
      'kz/kustomization.yaml': 'resources:\n- pod.yaml\n',
      'index.js': [
        "const k8s = require('@pulumi/kubernetes');",
        `const { ImagePolicy } = require(${JSON.stringify(POLICY)});`,
        `const { ImageLock } = require(${JSON.stringify(path.join(REPO, 'lib', 'core', 'lock', 'image-lock'))});`,
        // Strict and no lock yet: in collect mode it records instead of failing.
        "ImagePolicy.register({ strict: true, lock: ImageLock.load('kubepin.lock.json') });",
        "new k8s.yaml.v2.ConfigFile('one', { file: 'manifests/one.yaml' });",
        `new k8s.yaml.v2.ConfigGroup('grp', { files: ['group/*.yaml'], yaml: ${JSON.stringify(pod('inline'))}, objs: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'obj' }, spec: { containers: [{ name: 'obj', image: ${JSON.stringify(image('obj'))} }] } }] });`,
        "new k8s.kustomize.v2.Directory('kz', { directory: 'kz' });",
        `new k8s.helm.v4.Chart('shop', { chart: ${JSON.stringify(CHART)}, values: { image: ${JSON.stringify(image('web'))}, migrateImage: ${JSON.stringify(image('migrate'))}, reportImage: ${JSON.stringify(image('report'))} } });`,
        `new k8s.helm.v3.Chart('legacy', { path: ${JSON.stringify(CHART)}, values: { image: ${JSON.stringify(image('old-web'))}, migrateImage: ${JSON.stringify(image('migrate'))}, reportImage: ${JSON.stringify(image('report'))} } });`,
        ...extra,
        '',
      ].join('\n'),
    });
  };
  const env = (pathDirs: string) => ({ NODE_PATH: path.join(REPO, 'node_modules'), PATH: pathDirs });
  const readLock = () => JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images as Record<string, { digest: string }>;
  const seen = names.filter((n) => n !== 'stale');

  test('every child image (yaml.v2 file, glob, yaml, objs; kustomize.v2; helm v4 and v3 with init containers and a CronJob) is locked to the registry\'s digest; exit 0', async () => {
    program();
    const lock = await runKubepin(['lock'], { cwd: dir, env: env(tools) });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain(`${seen.length} resolved (${seen.length} new, 0 changed), 0 already locked, 0 failed (images from the Pulumi program (Pulumi.yaml) under mocks)`);
    expect(readLock()).toEqual(Object.fromEntries(seen.map((n) => [image(n), expect.objectContaining({ digest: pushed[n].digest })])));

    // kubepin verify with no PATH checks the program's resources, run under mocks with the lock: all pinned.
    const verify = await runKubepin(['verify'], { cwd: dir, env: env(tools) });
    expect(verify.stderr).toBe('checking the resources of the Pulumi program (Pulumi.yaml) under mocks\n');
    expect(verify.code).toBe(0);
    // Five pods, and per chart a Deployment (init + main container) and a CronJob.
    expect(verify.stdout).toMatch(/^11 image references checked against kubepin\.lock\.json: /);
    const check = await runKubepin(['check', '--json'], { cwd: dir, env: env(tools) });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).summary.errors).toBe(0);

    // A lock missing an entry: the (strict) program fails on it, and verify with it, in the policy's words.
    const lockFile = path.join(dir, 'kubepin.lock.json');
    const data = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    delete data.images[image('report')];
    fs.writeFileSync(lockFile, JSON.stringify(data));
    const stale = await runKubepin(['verify'], { cwd: dir, env: env(tools) });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(image('report'));
    expect(stale.stderr).not.toContain('cdk8s synth');
    expect((await runKubepin(['check'], { cwd: dir, env: env(tools) })).code).toBe(1);
  });

  test('a chart from a repository is named with the fix; the summary counts it, the exit is 1, and --prune removes nothing and says why', async () => {
    program(["new k8s.helm.v4.Chart('remote', { chart: 'oci://127.0.0.1:9/charts/web' });"]);
    // A stale entry, locked from a manifest: an unseen component could be what uses it.
    writeFiles(dir, { 'stale.yaml': pod('stale') });
    expect((await runKubepin(['lock', 'stale.yaml'], { cwd: dir, env: env(tools) })).code).toBe(0);
    const lock = await runKubepin(['lock', '--prune'], { cwd: dir, env: env(tools) });
    expect(lock.code).toBe(1);
    expect(lock.stderr).toContain('warning: kubernetes:helm.sh/v4:Chart "remote": its children were not seen (its chart oci://127.0.0.1:9/charts/web comes from a repository), so their images are not in kubepin.lock.json. Fix: vendor it (`helm pull oci://127.0.0.1:9/charts/web --untar`) and name the local directory, or run `kubepin lock` where the pulumi CLI is on PATH');
    expect(lock.stderr).toContain('warning: --prune removed nothing: 1 component of the program was not seen (kubernetes:helm.sh/v4:Chart "remote"), so an entry its images use would look unused');
    expect(lock.stdout).toContain(`${seen.length} resolved (${seen.length} new, 0 changed), 0 already locked, 0 failed, 0 pruned, 1 component not seen (incomplete: its images are missing)`);
    expect(Object.keys(readLock()).sort()).toEqual([...seen, 'stale'].map(image).sort());
    expect(lock.stdout).not.toContain('pruned shop');

    // Seen whole again: --prune removes the stale entry.
    program();
    const pruned = await runKubepin(['lock', '--prune'], { cwd: dir, env: env(tools) });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain(`pruned ${image('stale')} (no longer used)`);
    expect(Object.keys(readLock())).not.toContain(image('stale'));
  });

  test('without helm on PATH both charts are named (not seen), the JSON lists them, and nothing fails "has no answer under mocks"', async () => {
    program();
    const lock = await runKubepin(['lock', '--json'], { cwd: dir, env: env(toolsPath({ kustomize: kustomizeBinary() })) });
    expect(lock.code).toBe(1);
    const out = JSON.parse(lock.stdout);
    expect(out.notSeen.map((u: { type: string; name: string; reason: string }) => `${u.type} "${u.name}": ${u.reason}`).sort()).toEqual([
      'kubernetes:helm.sh/v3:Chart "legacy": helm is not on PATH',
      'kubernetes:helm.sh/v4:Chart "shop": helm is not on PATH',
    ]);
    expect(Object.keys(readLock()).sort()).toEqual(['one', 'grp', 'inline', 'obj', 'kz'].map(image).sort());
    expect(lock.stderr).not.toContain('has no answer under mocks');
  });

  test('a chart that fails to render: the lock fails with the component and helm\'s message, in words of Pulumi (not cdk8s synth), nothing written', async () => {
    writeFiles(dir, {
      'Pulumi.yaml': 'name: shop\nruntime: nodejs\n',
      'package.json': '{ "name": "shop", "private": true, "main": "index.js" }',
      'bad/Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n',
      'bad/templates/x.yaml': 'kind: {{ required "values.kind is required" .Values.kind }}\n',
      'index.js': "const k8s = require('@pulumi/kubernetes');\nnew k8s.helm.v4.Chart('broken', { chart: './bad' });\n",
    });
    const lock = await runKubepin(['lock'], { cwd: dir, env: env(tools) });
    expect(lock.code).toBe(1);
    expect(lock.stderr).toMatch(/kubernetes:helm\.sh\/v4:Chart "broken": `helm template broken .*` failed: .*values\.kind is required/);
    expect(lock.stderr).toContain('`pulumi preview` or the program\'s own tests show the same error');
    expect(lock.stderr).not.toContain('cdk8s synth');
    expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
  });
});
