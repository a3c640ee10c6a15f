import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { programEntry, runProgramUnderMocks } from '../../lib/pulumi/testing';

/*
 * kubepin/pulumi/testing as a user's own test calls it, beyond a program directory: a program
 * given as a function, invokes (the YAML decode @pulumi/kubernetes asks for is answered, others
 * come from options.calls or fail by name), and which entry file a project's Pulumi.yaml names.
 */
const VENDOR = path.join(__dirname, 'fixtures', 'vendor.yaml');

describe('runProgramUnderMocks with a program function', () => {
  test('a ConfigFile of vendored YAML registers its objects (the decode invoke is answered)', async () => {
    const { resources } = await runProgramUnderMocks(() => {
      new k8s.yaml.ConfigFile('vendor', { file: VENDOR });
    });
    const deployment = resources.find((r) => r.type === 'kubernetes:apps/v1:Deployment');
    expect(deployment?.inputs.spec.template.spec.containers[0].image).toBe('redis:7.4.2');
    expect(resources.map((r) => r.type)).toEqual(expect.arrayContaining(['kubernetes:core/v1:ConfigMap', 'kubernetes:yaml:ConfigFile']));
  });

  test('another invoke: answered from options.calls, or a failure naming it and the option', async () => {
    const program = async () => {
      const answer = await pulumi.runtime.invoke('acme:registry:getMirror', { host: 'docker.io' });
      new k8s.core.v1.ConfigMap('mirror', { data: { mirror: String(answer.mirror) } });
    };
    const { resources } = await runProgramUnderMocks(program, { calls: { 'acme:registry:getMirror': (inputs) => ({ mirror: `mirror.example/${inputs.host}` }) } });
    expect(resources.find((r) => r.name === 'mirror')?.inputs.data).toEqual({ mirror: 'mirror.example/docker.io' });
    await expect(runProgramUnderMocks(program)).rejects.toThrow(/the program invokes acme:registry:getMirror, which has no answer under mocks; pass one in options\.calls/);
    // An answer that throws reaches the program with its message.
    const failing = { 'acme:registry:getMirror': () => { throw new Error('no mirror for docker.io in this test'); } };
    await expect(runProgramUnderMocks(program, { calls: failing })).rejects.toThrow('no mirror for docker.io in this test');
  });

  test('config, project and stack come from the options', async () => {
    let seen: Record<string, unknown> = {};
    await runProgramUnderMocks(() => {
      const config = new pulumi.Config();
      seen = { replicas: config.requireNumber('replicas'), other: new pulumi.Config('other').require('flag'), project: pulumi.getProject(), stack: pulumi.getStack(), preview: pulumi.runtime.isDryRun() };
    }, { project: 'shop', stack: 'prod', preview: true, config: { replicas: 3, 'other:flag': 'on' } });
    expect(seen).toEqual({ replicas: 3, other: 'on', project: 'shop', stack: 'prod', preview: true });
  });
});

describe('programEntry: the file the nodejs language host would run', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-entry-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (files: Record<string, string>) => {
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
  };

  test('main naming a directory: that directory\'s package.json main, else its index', () => {
    write({ 'Pulumi.yaml': 'name: shop\nruntime: nodejs\nmain: src/\n', 'src/package.json': '{"main": "app.js"}', 'src/app.js': '' });
    expect(programEntry(dir)).toEqual({ dir, file: path.join(dir, 'src', 'app.js'), project: 'shop', typescript: false });
    fs.rmSync(path.join(dir, 'src', 'package.json'));
    write({ 'src/index.ts': '' });
    expect(programEntry(path.join(dir, 'Pulumi.yaml'))).toEqual({ dir, file: path.join(dir, 'src', 'index.ts'), project: 'shop', typescript: true });
  });

  test('an entry file given directly; TypeScript told by its extension', () => {
    write({ 'main.mts': '' });
    expect(programEntry(path.join(dir, 'main.mts'))).toEqual({ dir, file: path.join(dir, 'main.mts'), typescript: true });
  });

  test('another runtime, or no entry at all: refused with Pulumi.yaml and the fix', () => {
    write({ 'Pulumi.yaml': 'name: shop\nruntime:\n  name: python\n' });
    expect(() => programEntry(dir)).toThrow(/Pulumi\.yaml: runtime "python" cannot run under kubepin's Pulumi mocks; only the nodejs runtime .*Fix: give `kubepin lock` the manifests or a command \(--app\) instead/);
    write({ 'Pulumi.yaml': 'name: shop\nruntime: nodejs\n' });
    expect(() => programEntry(dir)).toThrow(/Pulumi\.yaml: no program entry \(no "main", and no index\.ts or index\.js in .*\)\. Fix: set "main" in Pulumi\.yaml/);
  });
});
