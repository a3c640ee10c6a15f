import * as fs from 'fs';
import * as path from 'path';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

function readLock(dir: string): { version: number; images: Record<string, { requested: string; digest: string; mediaType: string; platforms?: Record<string, string> }> } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8'));
}

describe('kubepin lock against a real registry', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  const pushed: Record<string, PushedImage> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'shop/api', '1.4');
    pushed.migrate = await pushImage(registry, 'shop/migrate', '1.4', { format: 'docker' });
    pushed.cron = await pushImage(registry, 'shop/cron', 'v2', { format: 'docker-list', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] });
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

  function writeApp(extra: Record<string, string> = {}): void {
    const h = registry.host;
    writeFiles(dir, {
      'dist/app.k8s.yaml': deploymentYaml('api', [`${h}/shop/api:1.4`, `${h}/shop/api:1.4`], [`${h}/shop/migrate:1.4`]),
      'dist/cron.yaml': [
        'apiVersion: batch/v1',
        'kind: CronJob',
        'metadata: { name: nightly }',
        'spec:',
        '  schedule: "0 3 * * *"',
        '  jobTemplate:',
        '    spec:',
        '      template:',
        '        spec:',
        '          restartPolicy: Never',
        '          containers:',
        `          - { name: job, image: "${h}/shop/cron:v2" }`,
        '',
      ].join('\n'),
      ...extra,
    });
  }

  test('resolves every image from an empty lock, then does nothing on the next run', async () => {
    writeApp();
    await registry.settle();
    registry.resetCounters();
    const first = await runKubepin(['lock'], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('3 resolved (3 new, 0 changed), 0 already locked, 0 failed');
    const lock = readLock(dir);
    expect(lock.images[`${registry.host}/shop/api:1.4`]).toEqual({
      requested: `${registry.host}/shop/api:1.4`,
      reference: `${registry.host}/shop/api:1.4`,
      digest: pushed.api.digest,
      mediaType: pushed.api.mediaType,
    });
    expect(lock.images[`${registry.host}/shop/migrate:1.4`].digest).toBe(pushed.migrate.digest);
    expect(lock.images[`${registry.host}/shop/cron:v2`].digest).toBe(pushed.cron.digest);
    await registry.settle();
    expect(registry.accessLog().filter((r) => r.path.includes('/manifests/'))).toHaveLength(3);

    const before = fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8');
    registry.resetCounters();
    const second = await runKubepin(['lock', 'dist'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 resolved (0 new, 0 changed), 3 already locked, 0 failed');
    expect(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).toBe(before);
    await registry.settle();
    expect(registry.accessLog()).toHaveLength(0);
  });

  test('--update re-resolves and reports a moved tag', async () => {
    const moving = await pushImage(registry, 'shop/moving', '1', { seed: 'first' });
    writeFiles(dir, { 'm.yaml': deploymentYaml('m', [`${registry.host}/shop/moving:1`]) });
    expect((await runKubepin(['lock', 'm.yaml'], { cwd: dir })).code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/shop/moving:1`].digest).toBe(moving.digest);
    const moved = await pushImage(registry, 'shop/moving', '1', { seed: 'second' });
    expect(moved.digest).not.toBe(moving.digest);
    const again = await runKubepin(['lock', 'm.yaml'], { cwd: dir });
    expect(readLock(dir).images[`${registry.host}/shop/moving:1`].digest).toBe(moving.digest);
    expect(again.stdout).toContain('1 already locked');
    const update = await runKubepin(['lock', 'm.yaml', '--update'], { cwd: dir });
    expect(update.code).toBe(0);
    expect(update.stdout).toContain(`updated ${registry.host}/shop/moving:1: ${moving.digest} -> ${moved.digest}`);
    expect(readLock(dir).images[`${registry.host}/shop/moving:1`].digest).toBe(moved.digest);
  });

  test('a failure exits 1, says where the image is used and what the registry said, and keeps the successes', async () => {
    writeApp({ 'dist/broken.yaml': deploymentYaml('broken', [`${registry.host}/shop/api:does-not-exist`, 'Bad:Image']) });
    const run = await runKubepin(['lock', '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout);
    expect(out.resolved).toHaveLength(3);
    expect(out.failed.map((f: { kind: string }) => f.kind).sort()).toEqual(['invalid-reference', 'not-found']);
    const notFound = out.failed.find((f: { kind: string }) => f.kind === 'not-found');
    expect(notFound.status).toBe(404);
    expect(notFound.usedAt).toEqual(['dist/broken.yaml:14']);
    expect(Object.keys(readLock(dir).images)).toHaveLength(3);

    const text = await runKubepin(['lock'], { cwd: dir, env: { CI: 'true' } });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`error: ${registry.host}/shop/api:does-not-exist: the repository shop/api exists on ${registry.host} but has no tag "does-not-exist" (HTTP 404); its tags include 1.4.`);
    expect(text.stderr).toContain('used at dist/broken.yaml:14 (Deployment/broken, spec.template.spec.containers[0].image)');
    expect(text.stderr).toContain('dist/broken.yaml:16');
    expect(text.stdout).toContain('3 already locked, 2 failed');
  });

  test('--platform records platform digests from the verified index', async () => {
    writeApp();
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/shop/api:1.4`].platforms).toBeUndefined();
    // Entries locked without the requested platforms are looked up again; the single-platform one is not.
    const run = await runKubepin(['lock', '--platform', 'linux/arm64', '--platform', 'linux/amd64'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2 resolved (0 new, 0 changed), 1 already locked, 0 failed');
    const lock = readLock(dir);
    expect(lock.images[`${registry.host}/shop/cron:v2`].platforms).toEqual({ 'linux/amd64': pushed.cron.platforms['linux/amd64'], 'linux/arm64': pushed.cron.platforms['linux/arm64'] });
    expect(lock.images[`${registry.host}/shop/api:1.4`].platforms).toEqual({ 'linux/amd64': pushed.api.platforms['linux/amd64'], 'linux/arm64': pushed.api.platforms['linux/arm64'] });
    // A single-platform manifest has no index to pick from: pinned by its own digest.
    expect(lock.images[`${registry.host}/shop/migrate:1.4`].platforms).toBeUndefined();
  });

  test('progress on a TTY; one line per failure in CI', async () => {
    writeApp();
    const tty = await runKubepin(['lock'], { cwd: dir, tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('[3/3]');
    fs.rmSync(path.join(dir, 'kubepin.lock.json'));
    const ci = await runKubepin(['lock'], { cwd: dir, tty: true, env: { CI: '1' } });
    expect(ci.stderr).toBe('');
  });

  test('a corrupt lock file is reported and left untouched', async () => {
    writeApp();
    fs.writeFileSync(path.join(dir, 'kubepin.lock.json'), '{"version": 1, "images": ');
    const run = await runKubepin(['lock'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not valid JSON');
    expect(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).toBe('{"version": 1, "images": ');
  });

  test('an untagged image is locked as the kubelet pulls it (:latest), keeping its spelling as requested', async () => {
    const latest = await pushImage(registry, 'shop/plain', 'latest');
    writeFiles(dir, { 'u.yaml': deploymentYaml('u', [`${registry.host}/shop/plain`]) });
    const run = await runKubepin(['lock', 'u.yaml'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 resolved (1 new, 0 changed)');
    expect(readLock(dir).images[`${registry.host}/shop/plain:latest`]).toMatchObject({ requested: `${registry.host}/shop/plain`, digest: latest.digest });
  });

  test('--update keeps "requested" as written when the digest did not change; the lock stays byte-stable', async () => {
    writeApp();
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    // The user's own spelling, e.g. from an older kubepin or a hand edit.
    const file = path.join(dir, 'kubepin.lock.json');
    const edited = readLock(dir);
    edited.images[`${registry.host}/shop/api:1.4`].requested = 'as-the-user-wrote-it';
    fs.writeFileSync(file, `${JSON.stringify(edited, null, 2)}\n`);
    const before = fs.readFileSync(file, 'utf8');
    const update = await runKubepin(['lock', '--update'], { cwd: dir });
    expect(update.code).toBe(0);
    expect(update.stdout).toContain('3 resolved (0 new, 0 changed)');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  test('--prune removes and lists entries no manifest uses; a manifest that cannot be read fails and prunes nothing', async () => {
    writeApp();
    expect((await runKubepin(['lock'], { cwd: dir })).code).toBe(0);
    fs.rmSync(path.join(dir, 'dist', 'cron.yaml'));
    const plain = await runKubepin(['lock'], { cwd: dir });
    expect(Object.keys(readLock(dir).images)).toHaveLength(3); // without --prune nothing goes
    expect(plain.stdout).not.toContain('pruned');
    writeFiles(dir, { 'dist/broken.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: { name: [unclosed\n' });
    const refused = await runKubepin(['lock', '--prune'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error: dist\/broken\.yaml(:\d+)?: not valid YAML/);
    expect(refused.stderr).toContain('--prune removed nothing');
    expect(Object.keys(readLock(dir).images)).toHaveLength(3);
    fs.rmSync(path.join(dir, 'dist', 'broken.yaml'));
    const pruned = await runKubepin(['lock', '--prune'], { cwd: dir });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain(`pruned ${registry.host}/shop/cron:v2 (no longer used)`);
    expect(pruned.stdout).toContain('0 failed, 1 pruned');
    expect(Object.keys(readLock(dir).images).sort()).toEqual([`${registry.host}/shop/api:1.4`, `${registry.host}/shop/migrate:1.4`]);
  });

  test('--app runs a cdk8s app command; its failure is reported with its output and exit 1', async () => {
    writeFiles(dir, {
      'app.js': `const fs = require('fs'); const path = require('path');
fs.mkdirSync(process.env.CDK8S_OUTDIR, { recursive: true });
fs.writeFileSync(path.join(process.env.CDK8S_OUTDIR, 'app.k8s.yaml'), ${JSON.stringify(deploymentYaml('web', [`${registry.host}/shop/api:1.4`]))});`,
      'fail.js': 'console.error("the app is broken"); process.exit(3);',
    });
    const run = await runKubepin(['lock', '--app', `${JSON.stringify(process.execPath)} app.js`], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 resolved (1 new, 0 changed)');
    expect(Object.keys(readLock(dir).images)).toEqual([`${registry.host}/shop/api:1.4`]);
    const failed = await runKubepin(['lock', '--app', `${JSON.stringify(process.execPath)} fail.js`], { cwd: dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('failed (exit 3)');
    expect(failed.stderr).toContain('  | the app is broken');
    expect((await runKubepin(['lock', '--app', 'x', 'dist'], { cwd: dir })).code).toBe(2);
  });

  test('an app that does not finish is stopped after KUBEPIN_APP_TIMEOUT_MS, with its output and exit 1', async () => {
    writeFiles(dir, { 'hang.js': 'console.log("waiting for a network that never answers"); setInterval(() => {}, 1000);' });
    const hung = await runKubepin(['lock', '--app', `${JSON.stringify(process.execPath)} hang.js`], { cwd: dir, env: { KUBEPIN_APP_TIMEOUT_MS: '1500' } });
    expect(hung.code).toBe(1);
    expect(hung.stderr).toContain('did not finish within 2 s and was stopped');
    expect(hung.stderr).toContain('  | waiting for a network that never answers');
    expect(hung.stderr).toContain('KUBEPIN_APP_TIMEOUT_MS=<milliseconds>');
    const bad = await runKubepin(['lock', '--app', 'true'], { cwd: dir, env: { KUBEPIN_APP_TIMEOUT_MS: 'soon' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('KUBEPIN_APP_TIMEOUT_MS="soon" is not a positive whole number of milliseconds');
  });

  test('usage errors exit 2; --help exits 0', async () => {
    expect((await runKubepin(['lock', '--bogus'], { cwd: dir })).code).toBe(2);
    const badPlatform = await runKubepin(['lock', '--platform', 'amd64'], { cwd: dir });
    expect(badPlatform.code).toBe(2);
    expect(badPlatform.stderr).toContain('os/arch');
    expect((await runKubepin(['lock', '--mirror', 'docker.io'], { cwd: dir })).code).toBe(2);
    expect((await runKubepin(['lock', '--timeout', 'soon'], { cwd: dir })).code).toBe(2);
    const help = await runKubepin(['lock', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kubepin lock');
    const missing = await runKubepin(['lock', 'nowhere'], { cwd: dir });
    expect(missing.code).toBe(2); // a PATH that does not exist is a usage error, for every command
    expect(missing.stderr).toContain('no such file or directory');
  });
});

describe('kubepin lock with credentials', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let pushed: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    pushed = await pushImage(registry, 'private/app', '3.1');
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject();
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${registry.host}/private/app:3.1`]) });
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (password: string): string => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } });

  test('--docker-config file', async () => {
    writeFiles(dir, { 'pull.json': config(registry.password!) });
    const run = await runKubepin(['lock', '--docker-config', 'pull.json'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/private/app:3.1`].digest).toBe(pushed.digest);
  });

  test('the Docker config of the machine ($DOCKER_CONFIG)', async () => {
    writeFiles(dir, { 'docker/config.json': config(registry.password!) });
    const run = await runKubepin(['lock'], { cwd: dir, env: { DOCKER_CONFIG: path.join(dir, 'docker') } });
    expect(run.code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/private/app:3.1`].digest).toBe(pushed.digest);
    const ignored = await runKubepin(['lock', '--update', '--no-docker-login'], { cwd: dir, env: { DOCKER_CONFIG: path.join(dir, 'docker') } });
    expect(ignored.code).toBe(1);
  });

  test('a pull Secret in the manifests', async () => {
    const payload = Buffer.from(config(registry.password!)).toString('base64');
    writeFiles(dir, {
      'dist/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: { name: regcred }\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${payload}\n`,
    });
    const run = await runKubepin(['lock'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/private/app:3.1`].digest).toBe(pushed.digest);
  });

  test('a refused credential: exit 1, which credential was tried, never the secret', async () => {
    writeFiles(dir, { 'pull.json': config('hunter2-wrong-password') });
    const run = await runKubepin(['lock', '--docker-config', 'pull.json'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`user "${registry.username}" from pull.json`);
    expect(run.stderr).toContain('HTTP 401');
    expect(run.stdout + run.stderr).not.toContain('hunter2');
    expect(run.stdout + run.stderr).not.toContain(registry.password!);
    expect(readLock(dir).images).toEqual({});
  });
});

describe('kubepin lock over TLS', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let pushed: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    pushed = await pushImage(registry, 'secure/app', '1');
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject();
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${registry.host}/secure/app:1`]) });
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--ca-file trusts the private CA; without it a clear TLS error', async () => {
    const without = await runKubepin(['lock'], { cwd: dir });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(`error: registry ${registry.host}: TLS failed (`);
    expect(without.stderr).toContain('--ca-file');
    const withCa = await runKubepin(['lock', '--ca-file', registry.caFile!], { cwd: dir });
    expect(withCa.stderr).toBe('');
    expect(withCa.code).toBe(0);
    expect(readLock(dir).images[`${registry.host}/secure/app:1`].digest).toBe(pushed.digest);
  });
});
