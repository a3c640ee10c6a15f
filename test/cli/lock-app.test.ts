import * as fs from 'fs';
import * as path from 'path';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';
import { freePort } from '../support/registry-http';

/*
 * `kubepin lock` with no paths where cdk8s.yaml is: it runs the `app` command cdk8s synth runs
 * (here with real cdk8s and kubepin's ImagePolicy from the sources) and locks what the app
 * uses; a cdk8s.yaml it cannot use is refused with the file and the fix, before anything runs.
 */
const REPO = path.resolve(__dirname, '..', '..');
const REGISTER = path.join(REPO, 'scripts', 'ts-register.js');

describe('kubepin lock learns the images from the app cdk8s.yaml names', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const pushed: Record<string, PushedImage> = {};

  beforeAll(async () => {
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'shop/api', '1.4', { format: 'oci' });
    pushed.cache = await pushImage(registry, 'shop/cache', '7', { format: 'oci' });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const readLock = () => JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images as Record<string, { digest: string }>;

  test('a chart under a strict ImagePolicy (which records instead of failing) and a chart under none: both images locked', async () => {
    const api = `${registry.host}/shop/api:1.4`;
    const cache = `${registry.host}/shop/cache:7`;
    writeFiles(dir, {
      'main.ts': `
import { ApiObject, App, Chart } from 'cdk8s';
import { ImagePolicy } from ${JSON.stringify(path.join(REPO, 'lib', 'cdk8s'))};
const app = new App();
const shop = new Chart(app, 'shop');
// Strict, and no lock yet: in collect mode it records the images instead of failing.
new ImagePolicy(shop, 'ImagePolicy', { strict: true });
const pod = (image: string) => ({ selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image }] } } });
new ApiObject(shop, 'api', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' }, spec: pod(${JSON.stringify(api)}) });
// A second chart with no policy: its image is only in the synthesized YAML.
const plain = new Chart(app, 'plain');
new ApiObject(plain, 'cache', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cache' }, spec: pod(${JSON.stringify(cache)}) });
app.synth();
`,
      'cdk8s.yaml': `language: typescript\napp: ${process.execPath} -r ${REGISTER} main.ts\n`,
    });
    const lock = await runKubepin(['lock'], { cwd: dir, env: { NODE_PATH: path.join(REPO, 'node_modules') } });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('2 resolved (2 new, 0 changed), 0 already locked, 0 failed');
    expect(lock.stdout).toContain('(cdk8s.yaml)');
    expect(readLock()).toEqual({ [api]: expect.objectContaining({ digest: pushed.api.digest }), [cache]: expect.objectContaining({ digest: pushed.cache.digest }) });
    // The project's own output directory was not written: the app ran into a temporary one.
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
  });

  test('a cdk8s.yaml that is not YAML, or names no app: refused with the file and the fix, nothing run', async () => {
    writeFiles(dir, { 'cdk8s.yaml': 'language: typescript\napp: [node main.js\n', 'main.js': 'require("fs").writeFileSync("ran", "")' });
    const broken = await runKubepin(['lock'], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/cdk8s\.yaml: not valid YAML \(.+\)\. Fix: correct it, or give the command with --app/);

    writeFiles(dir, { 'cdk8s.yaml': 'language: typescript\nimports:\n  - k8s\n' });
    const appless = await runKubepin(['lock'], { cwd: dir });
    expect(appless.code).toBe(1);
    expect(appless.stderr).toMatch(/cdk8s\.yaml has no "app" command \(the one `cdk8s synth` runs\)\. Fix: add it \(e\.g\. `app: npx ts-node main\.ts`\), or give the command with --app/);
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
  });

  test('--app wins over cdk8s.yaml', async () => {
    writeFiles(dir, {
      'cdk8s.yaml': 'app: [not valid\n',
      'app.js': `const fs = require('fs'); const path = require('path');
fs.mkdirSync(process.env.CDK8S_OUTDIR, { recursive: true });
fs.writeFileSync(path.join(process.env.CDK8S_OUTDIR, 'app.k8s.yaml'), ${JSON.stringify(deploymentYaml('web', [`${registry.host}/shop/api:1.4`]))});`,
    });
    const run = await runKubepin(['lock', '--app', `${JSON.stringify(process.execPath)} app.js`], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(Object.keys(readLock())).toEqual([`${registry.host}/shop/api:1.4`]);
  });

  test('a Pulumi program with two Tekton Tasks (a kind no location covers): the lock names the kind once, with the imageLocations entry to add', async () => {
    const api = `${registry.host}/shop/api:1.4`;
    const task = (name: string) => `new k8s.apiextensions.CustomResource('${name}', { apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: '${name}' }, spec: { steps: [{ name: 'build', image: ${JSON.stringify(`${registry.host}/shop/cache:7`)}, args: ['--help'] }] } });`;
    writeFiles(dir, {
      'Pulumi.yaml': 'name: shop\nruntime: nodejs\n',
      'package.json': '{ "name": "shop", "private": true, "main": "index.js" }',
      'index.js': [
        "const k8s = require('@pulumi/kubernetes');",
        `new k8s.apps.v1.Deployment('api', { spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: ${JSON.stringify(api)} }] } } } });`,
        task('build'),
        task('test'),
        '',
      ].join('\n'),
    });
    const lock = await runKubepin(['lock'], { cwd: dir, env: { NODE_PATH: path.join(REPO, 'node_modules') } });
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('1 resolved (1 new, 0 changed), 0 already locked, 0 failed');
    expect(readLock()).toEqual({ [api]: expect.objectContaining({ digest: pushed.api.digest }) });
    const notes = lock.stderr.split('\n').filter((l) => l.includes('kubepin knows no image location for kind Task'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('note: the Pulumi program (Pulumi.yaml) under mocks: Task/build: spec.steps[0].image');
    expect(notes[0]).toContain('{"apiVersion":"tekton.dev/*","kind":"Task","image":"spec.steps[].image","pullPolicyField":"imagePullPolicy"}');
  });

  test('prePull: true, docker.io and registry.k8s.io unreachable: the failure names kubepin\'s default helper and pause images and the fix; the app\'s own busybox gets no such note', async () => {
    // docker.io and registry.k8s.io are mirrored to a port nothing listens on: no traffic leaves 127.0.0.1.
    const closed = `127.0.0.1:${await freePort()}`;
    const main = (ownBusybox: string) => `
import { App, Chart } from 'cdk8s';
import { Deployment, Image, ImagePolicy } from ${JSON.stringify(path.join(REPO, 'lib', 'cdk8s', 'plus', '33'))};
const app = new App();
new ImagePolicy(app, 'ImagePolicy', { strict: true });
const chart = new Chart(app, 'shop', { namespace: 'shop' });
new Deployment(chart, 'api', { containers: [{ image: Image.of(${JSON.stringify(`${registry.host}/shop/api:1.4`)}) }], prePull: true });
new Deployment(chart, 'tools', { containers: [{ image: Image.of(${JSON.stringify(ownBusybox)}) }] });
app.synth();
`;
    writeFiles(dir, {
      'main.ts': main('busybox:1.37.0'),
      'cdk8s.yaml': `language: typescript\napp: ${process.execPath} -r ${REGISTER} main.ts\n`,
      'kubepin.config.json': JSON.stringify({ mirrors: { 'docker.io': closed, 'registry.k8s.io': closed } }),
    });
    const env = { NODE_PATH: path.join(REPO, 'node_modules') };
    const lock = await runKubepin(['lock', '--no-docker-login'], { cwd: dir, env });
    expect(lock.code).toBe(1);
    expect(readLock()).toEqual({ [`${registry.host}/shop/api:1.4`]: expect.objectContaining({ digest: pushed.api.digest }) });
    // Each failed image with the lines that follow it (used at, Note), up to the next image.
    const blocks = (stderr: string) => Object.fromEntries([...stderr.matchAll(/^ {2}(\S+)\n((?: {4}.*\n)*)/gm)].map((m) => [m[1], m[2]]));
    const failed = blocks(lock.stderr);
    expect(Object.keys(failed).sort()).toEqual(['docker.io/library/busybox:1.36.1', 'docker.io/library/busybox:1.37.0', 'registry.k8s.io/pause:3.10']);
    expect(failed['docker.io/library/busybox:1.36.1']).toMatch(/Note: busybox:1\.36\.1 is kubepin's default pre-pull helper image \(busybox:1\.36\.1\)[^\n]*set "prePullHelpers": \{ "helperImage": "…" \} in kubepin\.config\.json, or the ImagePolicy option prePullHelpers\.helperImage/);
    expect(failed['registry.k8s.io/pause:3.10']).toMatch(/Note: registry\.k8s\.io\/pause:3\.10 is kubepin's default pre-pull pause image[^\n]*"prePullHelpers": \{ "pauseImage": "…" \}/);
    expect(failed['docker.io/library/busybox:1.37.0']).not.toContain('Note:');
    expect(failed['docker.io/library/busybox:1.37.0']).toContain('Deployment/');

    // The app uses the helper's very image itself: it is the app's image too, so no note on it.
    writeFiles(dir, { 'main.ts': main('busybox:1.36.1') });
    const mixed = blocks((await runKubepin(['lock', '--no-docker-login'], { cwd: dir, env })).stderr);
    expect(mixed['docker.io/library/busybox:1.36.1']).toContain('used at');
    expect(mixed['docker.io/library/busybox:1.36.1']).not.toContain('Note:');
    expect(mixed['registry.k8s.io/pause:3.10']).toContain('Note:');
  });
});
