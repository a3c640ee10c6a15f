import { buildPrePull, PrePullOptions, DEFAULT_HELPER_IMAGE, DEFAULT_PAUSE_IMAGE, PREPULL_USER_ID } from '../../lib/prepull';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { ImageReference } from '../../lib/core/names/image-reference';
import { KubepinUsageError } from '../../lib/util/errors';
import { publicDigest, publicLock, validateSchema } from './fixtures';

const podSpec = (ds: any) => ds.spec.template.spec;
const pulled = (ds: any) => podSpec(ds).initContainers.slice(1).map((c: any) => c.image);

function build(options: PrePullOptions) {
  const result = buildPrePull({ lock: publicLock(), ...options });
  for (const doc of result.objects) validateSchema(doc);
  return result;
}

describe('buildPrePull: the pod template', () => {
  test('one image (snapshot) and the safety and footprint rules', () => {
    const result = build({ images: ['nginx:1.27.5'], namespace: 'web' });
    expect(result.objects).toMatchSnapshot();
    expect(result.findings).toEqual([]);
    const [sa, ds] = result.objects as any[];
    expect(sa).toMatchObject({ kind: 'ServiceAccount', automountServiceAccountToken: false, metadata: { name: 'kubepin-prepull', namespace: 'web' } });
    expect(ds.metadata.namespace).toBe('web');
    const spec = podSpec(ds);
    expect(spec).toMatchObject({
      serviceAccountName: 'kubepin-prepull', automountServiceAccountToken: false, enableServiceLinks: false, terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: PREPULL_USER_ID, runAsGroup: PREPULL_USER_ID, seccompProfile: { type: 'RuntimeDefault' } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    });
    expect(spec.volumes).toEqual([{ name: 'kubepin-noop', emptyDir: { sizeLimit: '16Mi' } }]);
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources).toEqual({ requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: '32Mi' } });
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
    expect(ds.spec.revisionHistoryLimit).toBeLessThanOrEqual(3);
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
    expect(ds.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'kubepin-prepull', 'app.kubernetes.io/instance': 'kubepin-prepull' });
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
    expect(ds.metadata.annotations['kubepin.dev/note']).toMatch(/usable by every pod on these nodes/);
    // Helper first, copying the static busybox into the shared emptyDir; pause holds the pod.
    expect(spec.initContainers[0]).toMatchObject({ name: 'copy-noop', command: ['/bin/busybox', 'cp', '/bin/busybox', '/.kubepin-prepull/busybox'] });
    expect(spec.initContainers[0].volumeMounts).toEqual([{ name: 'kubepin-noop', mountPath: '/.kubepin-prepull' }]);
    expect(spec.initContainers[1]).toMatchObject({ name: 'pull-1-nginx', command: ['/.kubepin-prepull/busybox', 'true'], workingDir: '/.kubepin-prepull' });
    expect(spec.initContainers[1].volumeMounts).toEqual([{ name: 'kubepin-noop', mountPath: '/.kubepin-prepull', readOnly: true }]);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['pause']);
    expect(spec.containers[0].command).toBeUndefined();
  });

  test('every image, helper and pause included, is pinned through the lock: no digest is built in', () => {
    const pinned = build({ images: ['nginx:1.27.5'] });
    const spec = podSpec(pinned.daemonSets[0]);
    expect(spec.initContainers[0].image).toBe(`docker.io/library/busybox:1.36.1@${publicDigest('docker.io/library/busybox:1.36.1')}`);
    expect(spec.initContainers[1].image).toBe(`docker.io/library/nginx:1.27.5@${publicDigest('docker.io/library/nginx:1.27.5')}`);
    expect(spec.containers[0].image).toBe(`registry.k8s.io/pause:3.10@${publicDigest('registry.k8s.io/pause:3.10')}`);
    expect(pinned.images).toEqual([`docker.io/library/nginx:1.27.5@${publicDigest('docker.io/library/nginx:1.27.5')}`]);

    const unlocked = buildPrePull({ images: ['nginx:1.27.5'] });
    const images = [...podSpec(unlocked.daemonSets[0]).initContainers, ...podSpec(unlocked.daemonSets[0]).containers].map((c: any) => c.image);
    expect(images).toEqual([DEFAULT_HELPER_IMAGE, 'nginx:1.27.5', DEFAULT_PAUSE_IMAGE]);
    expect(unlocked.findings.map((f) => `${f.severity} ${f.code} ${f.image}`)).toEqual([
      'warning unpinned-image busybox:1.36.1', 'warning unpinned-image nginx:1.27.5', 'warning unpinned-image registry.k8s.io/pause:3.10',
    ]);
    const strict = buildPrePull({ images: ['nginx:1.27.5'], strict: true, lock: ImageLock.empty('/nonexistent.json') });
    expect(strict.findings.every((f) => f.severity === 'error' && f.code === 'unpinned-image')).toBe(true);
  });

  test('a new digest in the lock changes the template, so the DaemonSet rolls', () => {
    const lock = publicLock();
    const before = buildPrePull({ images: ['nginx:1.27.5'], lock });
    lock.set('nginx:1.27.5', { digest: `sha256:${'ab'.repeat(32)}`, mediaType: 'application/vnd.oci.image.index.v1+json' });
    const after = buildPrePull({ images: ['nginx:1.27.5'], lock });
    expect(after.daemonSets[0].spec).not.toEqual(before.daemonSets[0].spec);
    expect(pulled(after.daemonSets[0])).toEqual([`docker.io/library/nginx:1.27.5@sha256:${'ab'.repeat(32)}`]);
  });

  test('many images: sorted, de-duplicated across spellings, unique valid container names; the order of adding does not matter', () => {
    const images = ['redis:7.4.2', 'nginx:1.27.5', 'docker.io/library/nginx:1.27.5', 'postgres:16.4', 'ghcr.io/acme/very-long-repository-name-that-goes-on-and-on-and-on/app_server:1', 'quay.io/a/app-server:2', 'quay.io/b/app-server:2'];
    const a = build({ images });
    const b = build({ images: [...images].reverse() });
    expect(a.objects).toEqual(b.objects);
    expect(a.daemonSets).toMatchSnapshot();
    const inits = podSpec(a.daemonSets[0]).initContainers;
    expect(inits).toHaveLength(7);
    const names = inits.map((c: any) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(inits.slice(1).map((c: any) => ImageReference.parse(c.image).name)).toEqual([
      'docker.io/library/nginx', 'docker.io/library/postgres', 'docker.io/library/redis',
      'ghcr.io/acme/very-long-repository-name-that-goes-on-and-on-and-on/app_server', 'quay.io/a/app-server', 'quay.io/b/app-server',
    ]);
    expect(a.findings.filter((f) => f.severity !== 'warning' || f.code !== 'unpinned-image')).toEqual([]);
  });

  test('more than 50 images is a finding suggesting split; split spreads them evenly over DaemonSets', () => {
    const images = Array.from({ length: 53 }, (_, i) => `registry.example.com/team/app${i}:1`);
    const one = buildPrePull({ images });
    expect(one.findings.filter((f) => f.code === 'prepull-too-many-images')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/53 images in one pre-pull pod \(more than 50\).*Fix: set split to 2 or more/) }),
    ]);
    const split = buildPrePull({ images, split: 3 });
    expect(split.daemonSets.map((d: any) => d.metadata.name)).toEqual(['kubepin-prepull-1', 'kubepin-prepull-2', 'kubepin-prepull-3']);
    expect(split.daemonSets.map((d: any) => pulled(d).length)).toEqual([18, 18, 17]);
    expect(split.daemonSets.map((d: any) => d.spec.selector.matchLabels['app.kubernetes.io/instance'])).toEqual(['kubepin-prepull-1', 'kubepin-prepull-2', 'kubepin-prepull-3']);
    expect(split.findings.filter((f) => f.code === 'prepull-too-many-images')).toEqual([]);
    const many = Array.from({ length: 130 }, (_, i) => `registry.example.com/team/app${i}:1`);
    expect(buildPrePull({ images: many, split: 2 }).findings.filter((f) => f.code === 'prepull-too-many-images').map((f) => f.message)).toEqual([
      expect.stringMatching(/^65 images in one pre-pull pod.*set split to 3 or more$/), expect.stringMatching(/^65 images.*set split to 3 or more$/),
    ]);
    expect(split.objects.filter((o) => o.kind === 'ServiceAccount')).toHaveLength(1);
    // Fewer images than asked-for DaemonSets: no empty ones.
    expect(buildPrePull({ images: ['a.example.com/x:1'], split: 4 }).daemonSets.map((d: any) => d.metadata.name)).toEqual(['kubepin-prepull-1']);
  });

  test('shell-less images: the no-op binary replaces the entrypoint, so nothing of the image runs', () => {
    const result = build({ images: ['gcr.io/distroless/static-debian12:nonroot', 'registry.example.com/data-only:1'] });
    expect(result.daemonSets).toMatchSnapshot();
    for (const c of podSpec(result.daemonSets[0]).initContainers.slice(1)) {
      expect(c.command).toEqual(['/.kubepin-prepull/busybox', 'true']);
      expect(c.args).toBeUndefined();
      expect(c.workingDir).toBe('/.kubepin-prepull');
    }
  });

  test('several namespaces: one pre-puller each, secrets only from their own namespace', () => {
    const pullSecrets = [
      { name: 'acme-web', registries: ['ghcr.io/acme'], namespace: 'web' },
      { name: 'acme-batch', registries: ['ghcr.io/acme'], namespace: 'batch' },
    ];
    const web = build({ images: ['ghcr.io/acme/api:1'], namespace: 'web', pullSecrets });
    const batch = build({ images: ['ghcr.io/acme/api:1'], namespace: 'batch', pullSecrets });
    expect(podSpec(web.daemonSets[0]).imagePullSecrets).toEqual([{ name: 'acme-web' }]);
    expect(podSpec(batch.daemonSets[0]).imagePullSecrets).toEqual([{ name: 'acme-batch' }]);
    expect(web.objects.map((o: any) => o.metadata.namespace)).toEqual(['web', 'web']);
    expect([...web.objects, ...batch.objects]).toMatchSnapshot();
  });
});

describe('buildPrePull: pull secrets for private images', () => {
  test('declared secrets are chosen by the kubelet matching (globs, path prefixes, ports); public images get none', () => {
    const result = build({
      namespace: 'shop',
      images: ['myreg.azurecr.io/shop/cart:3', 'registry.example.com:5000/team/api:1', 'nginx:1.27.5'],
      pullSecrets: [
        { name: 'acr', registries: ['*.azurecr.io'] },
        { name: 'team', registries: ['registry.example.com:5000/team'] },
        { name: 'wrong-port', registries: ['registry.example.com/team'] },
        { name: 'elsewhere', registries: ['*.azurecr.io'], namespace: 'other' },
      ],
    });
    expect(podSpec(result.daemonSets[0]).imagePullSecrets).toEqual([{ name: 'acr' }, { name: 'team' }]);
    expect(result.daemonSets).toMatchSnapshot();
    const info = result.findings.filter((f) => f.code === 'prepull-private-image');
    expect(info.map((f) => `${f.severity} ${f.image}`)).toEqual(['info myreg.azurecr.io/shop/cart:3', 'info registry.example.com:5000/team/api:1']);
    expect(info[0].message).toMatch(/every pod on those nodes can use it on clusters before Kubernetes 1\.35/);
  });

  test('secrets named by the workloads are used as they are', () => {
    const result = build({ images: [{ image: 'ghcr.io/acme/api:1', pullSecrets: ['ghcr-acme'] }, { image: 'ghcr.io/acme/api:1', pullSecrets: ['ghcr-acme', 'ghcr-2'] }] });
    expect(podSpec(result.daemonSets[0]).imagePullSecrets).toEqual([{ name: 'ghcr-2' }, { name: 'ghcr-acme' }]);
    expect(result.findings.filter((f) => f.code === 'prepull-private-image').map((f) => f.message)).toEqual([expect.stringContaining('pulled with ghcr-acme, ghcr-2')]);
  });
});

describe('buildPrePull: node scope', () => {
  const gpu = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };
  test('workloads sharing a selector: the same plain selector, their tolerations, plus kubernetes.io/os', () => {
    const result = build({ images: [{ image: 'nginx:1.27.5', nodeSelector: { pool: 'gpu' }, tolerations: [gpu] }, { image: 'redis:7.4.2', nodeSelector: { pool: 'gpu' }, tolerations: [gpu] }] });
    const spec = podSpec(result.daemonSets[0]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', pool: 'gpu' });
    expect(spec.affinity).toBeUndefined();
    expect(spec.tolerations).toEqual([gpu]);
  });

  test('different selectors and affinities: OR-ed node selector terms (the union), tolerations united', () => {
    const zoneAffinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a', 'b'] }] },
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-7'] }] },
    ] } } };
    const result = build({ images: [
      { image: 'nginx:1.27.5', nodeSelector: { pool: 'web' }, tolerations: [{ key: 'web', operator: 'Equal', value: 'only', effect: 'NoSchedule' }] },
      { image: 'redis:7.4.2', nodeSelector: { pool: 'cache' }, affinity: zoneAffinity, tolerations: [gpu] },
    ] });
    const spec = podSpec(result.daemonSets[0]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['web'] }] },
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['cache'] }, { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a', 'b'] }] },
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['cache'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-7'] }] },
    ]);
    expect(spec.tolerations).toEqual([{ key: 'web', operator: 'Equal', value: 'only', effect: 'NoSchedule' }, gpu]);
    expect(result.daemonSets).toMatchSnapshot();
  });

  test('one workload that may run anywhere makes the pre-puller run anywhere', () => {
    const result = build({ images: [{ image: 'nginx:1.27.5', nodeSelector: { pool: 'web' } }, 'redis:7.4.2'] });
    expect(podSpec(result.daemonSets[0]).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(podSpec(result.daemonSets[0]).affinity).toBeUndefined();
  });

  test('an explicit node scope replaces the union; extra tolerations reach tainted pools', () => {
    const result = build({
      images: [{ image: 'nginx:1.27.5', nodeSelector: { pool: 'web' } }],
      nodeScope: { nodeSelector: { 'kubepin.dev/prepull': 'yes' } },
      tolerations: [{ operator: 'Exists' }],
    });
    expect(podSpec(result.daemonSets[0]).nodeSelector).toEqual({ 'kubepin.dev/prepull': 'yes', 'kubernetes.io/os': 'linux' });
    expect(podSpec(result.daemonSets[0]).tolerations).toEqual([{ operator: 'Exists' }]);
  });

  test('arch restriction: one architecture as a selector, several as a term requirement', () => {
    expect(podSpec(build({ images: ['nginx:1.27.5'], arch: 'arm64' }).daemonSets[0]).nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux' });
    const several = podSpec(build({ images: [{ image: 'nginx:1.27.5', nodeSelector: { pool: 'a' } }, { image: 'redis:7.4.2', nodeSelector: { pool: 'b' } }], arch: ['arm64', 'amd64'] }).daemonSets[0]);
    expect(several.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['a'] }, { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] },
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['b'] }, { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] },
    ]);
    expect(several).toMatchSnapshot();
    const anywhere = podSpec(build({ images: ['nginx:1.27.5'], arch: ['arm64', 'amd64'] }).daemonSets[0]);
    expect(anywhere.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] },
    ]);
  });
});

describe('buildPrePull: options', () => {
  test('fast rolls every pod at once; priorityClassName, memory limit and labels are passed through', () => {
    const ds: any = build({ images: ['nginx:1.27.5'], fast: true, priorityClassName: 'system-node-critical', memoryLimit: '64Mi', labels: { team: 'platform' }, name: 'warm-cache' }).daemonSets[0];
    expect(ds.spec.updateStrategy.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: '100%' });
    expect(podSpec(ds).priorityClassName).toBe('system-node-critical');
    expect(podSpec(ds).containers[0].resources.limits).toEqual({ memory: '64Mi' });
    expect(ds.metadata).toMatchObject({ name: 'warm-cache', labels: { team: 'platform', 'kubepin.dev/pre-pull': 'true' } });
  });

  test('a custom helper image and binary', () => {
    const spec = podSpec(buildPrePull({ images: ['nginx:1.27.5'], helperImage: 'registry.example.com/tools/noop:1', helperBinary: '/noop' }).daemonSets[0]);
    expect(spec.initContainers[0]).toMatchObject({ image: 'registry.example.com/tools/noop:1', command: ['/noop', 'cp', '/noop', '/.kubepin-prepull/busybox'] });
  });

  test('an invalid image is an error finding with the rule, not a crash', () => {
    const result = buildPrePull({ images: ['nginx:1.27.5', 'Nginx:Latest'] });
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'invalid-image', image: 'Nginx:Latest', message: expect.stringMatching(/repository name "library\/Nginx" must be lowercase/) }),
    ]);
  });

  test.each([
    [{ split: 0 }, /split must be a whole number from 1 to 100/],
    [{ split: 1.5 }, /split must be a whole number/],
    [{ name: 'Bad_Name' }, /pre-pull name "Bad_Name" is not a valid DaemonSet name/],
    [{ namespace: 'Kube System' }, /namespace "Kube System" is not a valid namespace name/],
    [{ memoryLimit: '16Mi' }, /memoryLimit 16Mi is below 32Mi.*Fix: use "32Mi" or more/],
    [{ memoryLimit: 'lots' }, /memoryLimit must be a Kubernetes quantity/],
    [{ arch: 'ARM 64' }, /arch must be an architecture name/],
    [{ helperBinary: 'busybox' }, /helperBinary must be an absolute path/],
    [{ images: 'nginx' }, /images must be a list, got string/],
    [{ images: [{ img: 'nginx' }] }, /pre-pull image #1: expected an image string or \{ image/],
    [{ images: [{ image: 'nginx:1', nodeSelector: { pool: 1 } }] }, /pre-pull image #1 \(nginx:1\): nodeSelector must map label names to string values/],
    [{ tolerations: [null] }, /tolerations must be a list of toleration objects/],
    [{ priorityClassName: 'Not Valid' }, /priorityClassName "Not Valid" is not a valid PriorityClass name/],
  ])('bad option %j is a usage error naming the fix', (options, message) => {
    expect(() => buildPrePull(options as PrePullOptions)).toThrow(KubepinUsageError);
    expect(() => buildPrePull(options as PrePullOptions)).toThrow(message);
  });
});
