import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { MockedProgramRun, runProgramUnderMocks } from '../../lib/pulumi/testing';
import { globFiles } from '../../lib/pulumi/render';
import { helmBinary, kustomizeBinary } from '../support/render-tools';

/*
 * kubepin/pulumi/testing expands what the kubernetes provider would, under mocks: yaml.v2 files,
 * globs, inline yaml and objs; local charts through a real `helm template` (helm.v4 and v3);
 * local kustomize directories through a real `kustomize build`. The children are the program's
 * resources under their component, so the program's ImagePolicy pins them; what cannot be
 * expanded is listed in `unseen`, with why and the fix.
 */
const FIXTURES = path.join(__dirname, 'fixtures');
/** fixtures/expand/index.js: every expandable component, from files beside it, under a strict ImagePolicy. */
const PROGRAM = path.join(FIXTURES, 'expand');
const CHART = path.join(PROGRAM, 'chart');
const lock = ImageLock.load(path.join(FIXTURES, 'kubepin.lock.json'));
const digest = (image: string) => lock.get(image)!.digest;

function imagesOf(run: MockedProgramRun): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of run.resources) {
    const spec = r.inputs?.spec?.jobTemplate?.spec?.template?.spec ?? r.inputs?.spec?.template?.spec ?? r.inputs?.spec;
    const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])] as Array<{ image: string }>;
    if (r.custom && containers.length > 0) out[`${r.type} ${r.name}`] = containers.map((c) => c.image);
  }
  return out;
}

describe('runProgramUnderMocks expands the components the provider would', () => {
  const dir = PROGRAM;

  test('yaml.v2 (file, ** glob, List, yaml, objs), kustomize.v2 and helm v4/v3 children are registered under their components and pinned by the program\'s strict ImagePolicy', async () => {
    const run = await runProgramUnderMocks(dir, { tools: { helm: helmBinary(), kustomize: kustomizeBinary(), kubectl: false } });
    expect(run.unseen).toEqual([]);
    const pinned = (image: string) => `docker.io/library/${image}@${digest(`docker.io/library/${image}`)}`;
    expect(imagesOf(run)).toEqual({
      'kubernetes:core/v1:Pod one:one': [pinned('nginx:1.27.5')],
      'kubernetes:core/v1:Pod grp:a': [pinned('redis:7.4.2')],
      'kubernetes:core/v1:Pod grp:b': [pinned('busybox:1.36.1')],
      'kubernetes:core/v1:Pod grp:c': [pinned('postgres:16.4')],
      'kubernetes:core/v1:Pod grp:inline': [pinned('redis:7.4.2')],
      'kubernetes:core/v1:Pod grp:obj': [pinned('busybox:1.36.1')],
      'kubernetes:core/v1:Pod kz:shop/kz-k': [pinned('nginx:1.27.5')],
      // helm.v4: rendered by helm, named prefix:namespace/name, the chart's namespace on namespaced objects.
      'kubernetes:apps/v1:Deployment shop:shop/shop-web': [pinned('postgres:16.4'), pinned('nginx:1.27.5')],
      'kubernetes:batch/v1:CronJob shop:shop/shop-report': [pinned('busybox:1.36.1')],
      // helm.v3: the SDK's own Chart, its `helm template` invoke answered by a real helm.
      'kubernetes:apps/v1:Deployment legacy-web': [pinned('postgres:16.4'), pinned('redis:7.4.2')],
      'kubernetes:batch/v1:CronJob legacy-report': [pinned('busybox:1.36.1')],
    });
    const service = run.resources.find((r) => r.type === 'kubernetes:core/v1:Service' && r.name === 'shop:shop/shop-web')!;
    expect(service.inputs.metadata.namespace).toBe('shop');
    // Each child depends on nothing but is registered after (and under) its component.
    const order = run.resources.map((r) => r.name);
    expect(order.indexOf('shop:shop/shop-web')).toBeGreaterThan(order.indexOf('shop'));
  });

  test('without helm, kustomize or kubectl the charts and the kustomization are unseen, each with why and the fix; helm.v3 no longer fails "has no answer under mocks"', async () => {
    const run = await runProgramUnderMocks(dir, { tools: { helm: false, kubectl: false, kustomize: false } });
    expect(run.unseen.map((u) => `${u.type} ${u.name}: ${u.reason}`).sort()).toEqual([
      'kubernetes:helm.sh/v3:Chart legacy: helm is not on PATH',
      'kubernetes:helm.sh/v4:Chart shop: helm is not on PATH',
      'kubernetes:kustomize/v2:Directory kz: neither kustomize nor kubectl is on PATH',
    ]);
    expect(run.unseen.find((u) => u.name === 'shop')!.fix).toMatch(/^put helm on PATH, or run `kubepin lock` where the pulumi CLI is on PATH .*`pulumi preview`/);
    // The yaml components are still expanded.
    expect(run.resources.filter((r) => r.name.startsWith('grp:'))).toHaveLength(5);
  });

  test('a chart from a repository, a remote file and a Helm Release are unseen; expand: false expands nothing', async () => {
    const run = await runProgramUnderMocks(async () => {
      const k8s = require('@pulumi/kubernetes');
      new k8s.helm.v4.Chart('remote', { chart: 'oci://127.0.0.1:9/charts/web' });
      new k8s.yaml.v2.ConfigFile('far', { file: 'https://127.0.0.1:9/app.yaml' });
      new k8s.helm.v3.Release('rel', { chart: CHART });
    }, { tools: { helm: false } });
    expect(Object.fromEntries(run.unseen.map((u) => [u.name, u.reason]))).toEqual({
      remote: 'its chart oci://127.0.0.1:9/charts/web comes from a repository',
      far: 'its file https://127.0.0.1:9/app.yaml is fetched by the provider',
      rel: expect.stringContaining('neither Pulumi nor kubepin sees its objects, under the engine either'),
    });
    const plain = await runProgramUnderMocks(dir, { expand: false, calls: { 'kubernetes:helm:template': () => ({ result: [] }) } });
    expect(plain.unseen).toEqual([]);
    expect(plain.resources.filter((r) => r.name.includes(':'))).toEqual([]);
  });

  test('a chart that fails to render fails the run with the component and helm\'s own message', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-badchart-'));
    try {
      fs.mkdirSync(path.join(bad, 'templates'));
      fs.writeFileSync(path.join(bad, 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: 0.1.0\n');
      fs.writeFileSync(path.join(bad, 'templates', 'x.yaml'), 'kind: {{ .Values.kind | required "values.kind is required" }}\n');
      await expect(runProgramUnderMocks(async () => {
        const k8s = require('@pulumi/kubernetes');
        new k8s.helm.v4.Chart('broken', { chart: bad });
      }, { tools: { helm: helmBinary() } })).rejects.toThrow(/kubernetes:helm\.sh\/v4:Chart "broken": `helm template broken .*` failed: .*values\.kind is required/s);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  test('globFiles: *, ? and ** match as the provider\'s patterns do, sorted', () => {
    expect(globFiles('group/*.yaml', dir).map((f) => path.relative(dir, f))).toEqual(['group/a.yaml']);
    expect(globFiles('group/**/?.yaml', dir).map((f) => path.relative(dir, f))).toEqual(['group/a.yaml', 'group/more/b.yaml']);
    expect(globFiles('none/*.yaml', dir)).toEqual([]);
  });
});
