import * as fs from 'fs';
import * as path from 'path';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

describe('kubepin verify', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let web: PushedImage;
  let worker: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry();
    web = await pushImage(registry, 'shop/web', '2.0');
    worker = await pushImage(registry, 'shop/worker', '2.0', { format: 'docker' });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    dir = tempProject();
    // The lock comes from a real `kubepin lock` run over the unpinned sources.
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('app', [`${registry.host}/shop/web:2.0`, `${registry.host}/shop/worker:2.0`]) });
    const lock = await runKubepin(['lock', 'src', '--platform', 'linux/arm64'], { cwd: dir });
    expect(lock.code).toBe(0);
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const h = (): string => registry.host;

  test('pinned manifests that agree with the lock pass', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/web:2.0@${web.digest}`, `${h()}/shop/worker:2.0@${worker.digest}`, `${h()}/shop/web@${web.digest}`]) });
    const run = await runKubepin(['verify'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 image references checked against kubepin.lock.json: ok');
    // A platform digest recorded in the lock is an accepted pin too.
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/web:2.0@${web.platforms['linux/arm64']}`]) });
    expect((await runKubepin(['verify'], { cwd: dir })).code).toBe(0);
  });

  test('unpinned, unlocked and disagreeing images fail with file and line', async () => {
    writeFiles(dir, {
      'dist/app.yaml': deploymentYaml('app', [
        `${h()}/shop/web:2.0`,
        `${h()}/shop/worker:2.0@${web.digest}`,
        `${h()}/shop/other:1@${web.digest}`,
        `${h()}/shop/nolock:1`,
      ]),
    });
    const run = await runKubepin(['verify', '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout);
    expect(out.ok).toBe(false);
    expect(out.findings.map((f: { code: string; line: number }) => [f.code, f.line])).toEqual([
      ['unpinned', 14],
      ['digest-mismatch', 16],
      ['not-in-lock', 18],
      ['unpinned', 20],
    ]);
    expect(out.findings[0].message).toContain(`kubepin.lock.json has ${web.digest}`);
    expect(out.findings[3].message).toContain('not in kubepin.lock.json');
    const text = await runKubepin(['verify'], { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('error: dist/app.yaml:16: Deployment/app:');
    expect(text.stdout).toContain('4 problems');
  });

  test('what cannot be read fails with file and line, as in kubepin check; an unrendered Helm template is named with the fix', async () => {
    writeFiles(dir, {
      'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/web:2.0@${web.digest}`]),
      'dist/broken.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n spec: [unclosed\n',
      'dist/chart/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "app.fullname" . }}\nspec:\n  template:\n    spec:\n      containers:\n        - image: {{ .Values.image }}\n',
    });
    const run = await runKubepin(['verify'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: dist\/broken\.yaml:\d+: not valid YAML/);
    expect(run.stderr).toMatch(/error: dist\/chart\/deployment\.yaml(:\d+)?: .*unrendered Helm template.*render it with `helm template` first/);
    const json = JSON.parse((await runKubepin(['verify', '--json'], { cwd: dir })).stdout);
    expect(json.findings.map((f: { code: string; file: string; line: number }) => [f.code, f.file, f.line])).toEqual([
      ['unreadable-manifest', 'dist/broken.yaml', 5],
      ['unreadable-manifest', 'dist/chart/deployment.yaml', 4],
      // The template's YAML happens to parse: its image (a mapping) is no image at all.
      ['invalid-reference', 'dist/chart/deployment.yaml', 9],
    ]);
    // A symlink loop is not readable either.
    fs.rmSync(path.join(dir, 'dist', 'broken.yaml'));
    fs.rmSync(path.join(dir, 'dist', 'chart'), { recursive: true });
    fs.symlinkSync('loop.yaml', path.join(dir, 'dist', 'loop.yaml'));
    const loop = await runKubepin(['verify'], { cwd: dir });
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/error: dist\/loop\.yaml: /);
  });

  test('Go templates inside string values (an Alertmanager ConfigMap, an Argo parameter) are data, not unrendered templates', async () => {
    writeFiles(dir, {
      'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/web:2.0@${web.digest}`]),
      'dist/alerts.yaml': [
        'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: alert-templates', 'data:',
        '  title: "{{ .CommonLabels.alertname }}"', '  slack.tmpl: |', '    {{ define "slack.text" }}{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}{{ end }}', '',
      ].join('\n'),
    });
    const run = await runKubepin(['verify'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  test('an untagged image fails until pinned; once locked and pinned (as :latest@digest) it passes', async () => {
    const plain = await pushImage(registry, 'shop/plain', 'latest');
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/plain`]) });
    const unpinned = await runKubepin(['verify'], { cwd: dir });
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toContain(`${h()}/shop/plain is not pinned to a digest and is not in kubepin.lock.json`);
    expect((await runKubepin(['lock', 'dist'], { cwd: dir })).code).toBe(0);
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/plain:latest@${plain.digest}`]) });
    const pinned = await runKubepin(['verify'], { cwd: dir });
    expect(pinned.stderr).toBe('');
    expect(pinned.code).toBe(0);
  });

  test('--remote reports a moved tag and writes nothing', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('app', [`${h()}/shop/web:2.0@${web.digest}`]) });
    const lockPath = path.join(dir, 'kubepin.lock.json');
    const before = fs.readFileSync(lockPath, 'utf8');
    expect((await runKubepin(['verify', '--remote'], { cwd: dir })).code).toBe(0);
    const moved = await pushImage(registry, 'shop/worker', '2.0', { format: 'docker', seed: 'rebuilt' });
    try {
      const run = await runKubepin(['verify', '--remote', '--json'], { cwd: dir });
      expect(run.code).toBe(1);
      const out = JSON.parse(run.stdout);
      expect(out.drift).toEqual([{ reference: `${h()}/shop/worker:2.0`, locked: worker.digest, current: moved.digest }]);
      expect(out.findings.map((f: { code: string }) => f.code)).toEqual(['tag-moved']);
      expect(fs.readFileSync(lockPath, 'utf8')).toBe(before);
    } finally {
      worker = await pushImage(registry, 'shop/worker', '2.0', { format: 'docker' });
    }
  });

  test('usage: --platform belongs to lock; --help', async () => {
    expect((await runKubepin(['verify', '--platform', 'linux/amd64'], { cwd: dir })).code).toBe(2);
    const help = await runKubepin(['verify', '-h'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--remote');
  });
});
