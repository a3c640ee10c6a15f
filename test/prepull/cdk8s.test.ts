import { ApiObject, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { PrePullDaemonSet } from '../../lib/cdk8s/pre-pull-daemon-set';
import { buildPrePull } from '../../lib/prepull';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LOCK_FILE_CONTEXT } from '../../lib/cdk8s/pre-pull-daemon-set';
import { publicDigest, publicLock, validateSchema } from './fixtures';

function daemonSets(docs: any[]): any[] {
  return docs.filter((d) => d.kind === 'DaemonSet');
}

describe('PrePullDaemonSet', () => {
  test('of() returns one pre-puller per chart and namespace, created on first use', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const inner = new Construct(chart, 'web');
    const a = PrePullDaemonSet.of(inner);
    expect(PrePullDaemonSet.of(chart)).toBe(a);
    const other = PrePullDaemonSet.of(chart, 'batch');
    expect(other).not.toBe(a);
    expect(PrePullDaemonSet.of(inner, 'batch')).toBe(other);
    expect(PrePullDaemonSet.isPrePullDaemonSet(a)).toBe(true);
    expect(PrePullDaemonSet.isPrePullDaemonSet(chart)).toBe(false);
    expect(PrePullDaemonSet.isPrePullDaemonSet(undefined)).toBe(false);
    const docs = Testing.synth(chart);
    expect(docs.map((d: any) => `${d.kind}/${d.metadata.namespace ?? ''}`)).toEqual([
      'ServiceAccount/', 'DaemonSet/', 'ServiceAccount/batch', 'DaemonSet/batch',
    ]);
  });

  test('images added after construction are in the synthesized DaemonSet, pinned from the lock', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'web' });
    const pp = new PrePullDaemonSet(chart, 'pp', { name: 'prepull', lock: publicLock() });
    pp.addImage('nginx:1.27.5');
    PrePullDaemonSet.of(chart); // a different construct: chart's own
    pp.addImage('redis:7.4.2', { nodeSelector: { pool: 'cache' } });
    pp.addImage('docker.io/library/nginx:1.27.5'); // same image, spelled differently
    expect(pp.images).toEqual(['nginx:1.27.5', 'redis:7.4.2', 'docker.io/library/nginx:1.27.5']);
    const ds = daemonSets(Testing.synth(chart)).find((d) => d.metadata.name === 'prepull');
    const spec = ds.spec.template.spec;
    expect(ds.metadata.namespace).toBe('web');
    expect(spec.initContainers.map((c: any) => c.image)).toEqual([
      'docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662',
      'docker.io/library/nginx:1.27.5@sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d',
      'docker.io/library/redis:7.4.2@sha256:fbdbaea47b9ae4ecc2082ecdb4e1cea81e32176ffb1dcf643d422ad07427e5d9',
    ]);
    expect(spec.containers[0].image).toBe('registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a');
    // nginx runs anywhere, so the pre-puller must too.
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  test('synthesized objects equal the core builder output (the face adds no logic)', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const lock = publicLock();
    const props = { name: 'pp', namespace: 'ops', lock, split: 2, arch: 'arm64', fast: true, priorityClassName: 'low', tolerations: [{ key: 'gpu', operator: 'Exists' }] };
    const pp = new PrePullDaemonSet(chart, 'pp', props);
    pp.addImage('nginx:1.27.5');
    pp.addImage('redis:7.4.2', { pullSecrets: ['hub'] });
    pp.addImage('postgres:16.4');
    const core = buildPrePull({ ...props, images: [{ image: 'nginx:1.27.5' }, { image: 'redis:7.4.2', pullSecrets: ['hub'] }, { image: 'postgres:16.4' }] });
    const sorted = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v)));
    expect(sorted(Testing.synth(chart))).toEqual(sorted(core.objects));
    expect(pp.daemonSets).toHaveLength(2);
  });

  test('split counts images as the builder does (spellings of one image count once)', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const pp = new PrePullDaemonSet(chart, 'pp', { name: 'pp', lock: publicLock(), split: 3 });
    pp.addImage('nginx:1.27.5');
    pp.addImage('docker.io/library/nginx:1.27.5');
    expect(pp.daemonSets).toHaveLength(1);
    pp.addImage('redis:7.4.2');
    expect(daemonSets(Testing.synth(chart)).map((d) => d.metadata.name)).toEqual(['pp-1', 'pp-2']);
  });

  test('errors fail synthesis and name the construct path', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const pp = new PrePullDaemonSet(chart, 'pp', { strict: true, lock: ImageLock.empty('/nonexistent/kubepin.lock.json') });
    pp.addImage('nginx:1.27.5');
    pp.addImage('Not A Valid/Image');
    expect(() => Testing.synth(chart)).toThrow(/c\/pp: error unpinned-image[\s\S]*c\/pp: error invalid-image/);
  });

  test('bad props and arguments throw with the construct path and the fix', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    expect(() => new PrePullDaemonSet(chart, 'a', { split: 0 })).toThrow(/^c\/a: pre-pull option split must be a whole number/);
    expect(() => new PrePullDaemonSet(chart, 'b', { memoryLimit: '16Mi' })).toThrow(/c\/b: .*below 32Mi.*Fix/);
    expect(() => new PrePullDaemonSet(chart, 'b2', { helperImage: 'busybox:bad tag' })).toThrow(/c\/b2: invalid image reference/);
    const pp = new PrePullDaemonSet(chart, 'd');
    expect(() => pp.addImage(42 as unknown as string)).toThrow(/c\/d: addImage\(image\) needs a non-empty image string, got number/);
    expect(() => pp.addImage('nginx:1', { tolerations: 'x' as unknown as object[] })).toThrow(/c\/d: .*tolerations must be a list/);
    expect(() => pp.addImage('nginx:1', { pullSecrets: [''] })).toThrow(/pullSecrets must be a list of Secret names/);
  });

  test('of() refuses a foreign construct with the reserved id', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    new ApiObject(chart, 'kubepin-prepull', { apiVersion: 'v1', kind: 'ConfigMap' });
    expect(() => PrePullDaemonSet.of(chart)).toThrow(/c\/kubepin-prepull: this construct id is reserved.*Fix/);
  });

  test('every synthesized document passes the Kubernetes schema', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'ops' });
    const pp = new PrePullDaemonSet(chart, 'pp', { lock: publicLock(), split: 2, arch: ['amd64', 'arm64'], tolerations: [{ operator: 'Exists' }] });
    pp.addImage('nginx:1.27.5', { nodeSelector: { pool: 'a' }, pullSecrets: ['hub'] });
    pp.addImage('redis:7.4.2', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['b'] }] }] } } } });
    const docs = Testing.synth(chart);
    expect(docs).toHaveLength(3);
    for (const doc of docs) validateSchema(doc);
  });

  test('a lock given late (as ImagePolicy does with useLock) and pull secret declarations are used at synthesis', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    const pp = PrePullDaemonSet.of(chart);
    pp.addImage('ghcr.io/acme/api:1');
    pp.addImage('nginx:1.27.5');
    expect(pp.findings.map((f) => f.code)).toContain('unpinned-image');
    pp.useLock(publicLock());
    pp.addPullSecrets({ name: 'ghcr', registries: ['ghcr.io/acme'], namespace: 'shop' }, { name: 'other-ns', registries: ['ghcr.io'], namespace: 'batch' });
    const ds = daemonSets(Testing.synth(chart))[0];
    expect(ds.spec.template.spec.imagePullSecrets).toEqual([{ name: 'ghcr' }]);
    expect(ds.spec.template.spec.initContainers[1].image).toBe(`docker.io/library/nginx:1.27.5@${publicDigest('docker.io/library/nginx:1.27.5')}`);
    expect(pp.findings.map((f) => `${f.severity} ${f.code} ${f.image}`)).toEqual(['warning unpinned-image ghcr.io/acme/api:1', 'info prepull-private-image ghcr.io/acme/api:1']);
    expect(() => pp.useLock({} as never)).toThrow(/useLock\(lock\) needs a DigestSource/);
  });

  test('without a lock handed over, the lock file of the app (kubepin:lockFile context) is used; a corrupt one fails synthesis naming the construct and the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-prepull-'));
    try {
      const file = path.join(dir, 'kubepin.lock.json');
      const lock = publicLock();
      fs.writeFileSync(file, lock.serialize());
      const app = Testing.app();
      app.node.setContext(LOCK_FILE_CONTEXT, file);
      const chart = new Chart(app, 'c');
      new PrePullDaemonSet(chart, 'pp', { images: ['redis:7.4.2'] });
      const ds = daemonSets(Testing.synth(chart))[0];
      expect(ds.spec.template.spec.initContainers[1].image).toBe(`docker.io/library/redis:7.4.2@${publicDigest('docker.io/library/redis:7.4.2')}`);

      fs.writeFileSync(file, '{ not json');
      const brokenApp = Testing.app();
      brokenApp.node.setContext(LOCK_FILE_CONTEXT, file);
      const broken = new Chart(brokenApp, 'b');
      new PrePullDaemonSet(broken, 'pp', { images: ['redis:7.4.2'] });
      expect(() => Testing.synth(broken)).toThrow(new RegExp(`b/pp: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('images given as props, strings or objects with the workload scope', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const pp = new PrePullDaemonSet(chart, 'pp', { lock: publicLock(), images: ['nginx:1.27.5', { image: 'redis:7.4.2', nodeSelector: { pool: 'cache' } }] });
    expect(pp.images).toEqual(['nginx:1.27.5', 'redis:7.4.2']);
    expect(() => new PrePullDaemonSet(chart, 'bad', { images: [42 as never] })).toThrow(/c\/bad: each of props.images must be an image string/);
    expect(() => new PrePullDaemonSet(chart, 'bad2', { images: 'nginx:1' as never })).toThrow(/c\/bad2: props.images must be a list of images, got string/);
    const app2 = Testing.app();
    expect(() => new PrePullDaemonSet(app2, 'loose')).toThrow(/loose: a pre-pull DaemonSet must be created inside a cdk8s Chart.*Fix/);
    expect(() => PrePullDaemonSet.of(new Construct(app2, 'x'))).toThrow(/x: a pre-pull DaemonSet must be created inside a cdk8s Chart/);
  });
  test('props are the core PrePullOptions: keepTag and binVolumeSizeLimit reach the DaemonSet as with buildPrePull', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'web' });
    new PrePullDaemonSet(chart, 'pp', { name: 'prepull', lock: publicLock(), images: ['nginx:1.27.5'], keepTag: false, binVolumeSizeLimit: '8Mi' });
    const [ds] = daemonSets(Testing.synth(chart));
    const core = buildPrePull({ name: 'prepull', namespace: 'web', lock: publicLock(), images: ['nginx:1.27.5'], keepTag: false, binVolumeSizeLimit: '8Mi' }).daemonSets[0] as any;
    expect(ds.spec.template.spec.volumes).toEqual(core.spec.template.spec.volumes);
    expect(ds.spec.template.spec.volumes[0].emptyDir.sizeLimit).toBe('8Mi');
    const images = ds.spec.template.spec.initContainers.map((c: any) => c.image);
    expect(images).toEqual(core.spec.template.spec.initContainers.map((c: any) => c.image));
    // keepTag: false pins by digest alone.
    expect(images.some((i: string) => /^docker\.io\/library\/nginx@sha256:|^nginx@sha256:/.test(i))).toBe(true);
  });
});
