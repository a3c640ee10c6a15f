import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { ImageLock, ORIGINAL_IMAGES_ANNOTATION, applyImagePolicy, Finding } from '../../../lib';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function makeLock(images: string[]): ImageLock {
  const lock = ImageLock.empty(path.join(os.tmpdir(), 'never-saved.lock.json'));
  for (const image of images) lock.set(image, { digest: digestOf(image), mediaType: INDEX });
  return lock;
}

function deployment(name: string, containers: object[], extra: Record<string, unknown> = {}, namespace?: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers, ...extra } } },
  };
}

const codes = (findings: Finding[]) => findings.map((f) => `${f.severity}:${f.code}`);

describe('applyImagePolicy', () => {
  const lock = makeLock(['nginx:1.27.5', 'ghcr.io/acme/api:1.4.2', 'ghcr.io/acme/worker:2', 'busybox:latest']);

  test('pins from the lock, keeps the tag, sets IfNotPresent, annotates originals, does not mutate input', () => {
    const input = deployment('web', [{ name: 'web', image: 'nginx:1.27.5' }]);
    const snapshot = JSON.stringify(input);
    const { objects, findings } = applyImagePolicy([input], { lock });
    expect(JSON.stringify(input)).toBe(snapshot);
    const spec = (objects[0] as any).spec.template;
    expect(spec.spec.containers[0]).toEqual({ name: 'web', image: `docker.io/library/nginx:1.27.5@${digestOf('nginx:1.27.5')}`, imagePullPolicy: 'IfNotPresent' });
    expect(JSON.parse(spec.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ web: 'nginx:1.27.5' });
    expect(findings).toEqual([]);
  });

  test('keepTag: false drops the tag', () => {
    const { objects } = applyImagePolicy([deployment('w', [{ name: 'w', image: 'nginx:1.27.5' }])], { lock, keepTag: false });
    expect((objects[0] as any).spec.template.spec.containers[0].image).toBe(`docker.io/library/nginx@${digestOf('nginx:1.27.5')}`);
  });

  test('handles every workload kind and every image field', () => {
    const podSpec = {
      initContainers: [{ name: 'init', image: 'ghcr.io/acme/worker:2' }],
      containers: [{ name: 'main', image: 'ghcr.io/acme/api:1.4.2' }],
      ephemeralContainers: [{ name: 'debug', image: 'nginx:1.27.5' }],
      volumes: [{ name: 'data', image: { reference: 'ghcr.io/acme/worker:2' } }, { name: 'tmp', emptyDir: {} }],
    };
    const template = { metadata: {}, spec: podSpec };
    const objects = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec },
      { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'pt' }, template },
      ...['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].map((kind) => ({ apiVersion: 'apps/v1', kind, metadata: { name: kind }, spec: { template } })),
      { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' }, spec: { jobTemplate: { spec: { template } } } },
      // A List comes back as the List (issue #13 item 14), its items pinned.
      { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'in-list' }, spec: podSpec }] },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { image: 'nginx' } },
    ];
    const { objects: result, findings } = applyImagePolicy(objects, { lock });
    const out = result as any[];
    expect(findings).toEqual([]);
    expect(out).toHaveLength(11);
    const specs = [out[0].spec, out[1].template.spec, ...out.slice(2, 8).map((o: any) => o.spec.template.spec), out[8].spec.jobTemplate.spec.template.spec, out[9].items[0].spec] as any[];
    for (const spec of specs) {
      for (const c of [...spec.initContainers, ...spec.containers, ...spec.ephemeralContainers]) {
        expect(c.image).toMatch(/@sha256:[a-f0-9]{64}$/);
        expect(c.imagePullPolicy).toBe('IfNotPresent');
      }
      expect(spec.volumes[0].image).toEqual({ reference: `ghcr.io/acme/worker:2@${digestOf('ghcr.io/acme/worker:2')}`, pullPolicy: 'IfNotPresent' });
      expect(spec.volumes[1]).toEqual({ name: 'tmp', emptyDir: {} });
    }
    expect(out[10]).toEqual(objects[10]);
    expect(JSON.parse(out[0].metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({
      'ephemeral:debug': 'nginx:1.27.5', 'init:init': 'ghcr.io/acme/worker:2', main: 'ghcr.io/acme/api:1.4.2', 'volume:data': 'ghcr.io/acme/worker:2',
    });
  });

  test('running the policy on its own output changes nothing', () => {
    const first = applyImagePolicy([deployment('w', [{ name: 'w', image: 'nginx:1.27.5' }, { name: 'x', image: 'redis:7' }])], {
      lock, pullSecrets: [{ name: 'hub', registries: ['docker.io'] }],
    });
    const second = applyImagePolicy(first.objects, { lock, pullSecrets: [{ name: 'hub', registries: ['docker.io'] }] });
    expect(second.objects).toEqual(first.objects);
  });

  test('unpinned images: warning by default, error in strict mode, left unchanged with the API server default', () => {
    const input = [deployment('w', [{ name: 'w', image: 'quay.io/x/y:3' }])];
    const loose = applyImagePolicy(input, { lock });
    expect(codes(loose.findings)).toEqual(['warning:unpinned-image']);
    expect(loose.findings[0].message).toMatch(/kubepin lock/);
    expect(loose.findings[0].path).toBe('spec.template.spec.containers[0].image');
    expect((loose.objects[0] as any).spec.template.spec.containers[0]).toEqual({ name: 'w', image: 'quay.io/x/y:3', imagePullPolicy: 'IfNotPresent' });
    expect(codes(applyImagePolicy(input, { lock, strict: true }).findings)).toEqual(['error:unpinned-image']);
  });

  test('invalid images are error findings and the object is left as it was', () => {
    const input = deployment('w', [{ name: 'w', image: 'Nginx:1' }]);
    const { objects, findings } = applyImagePolicy([input], { lock });
    expect(codes(findings)).toEqual(['error:invalid-image']);
    expect(findings[0].message).toMatch(/must be lowercase.*InvalidImageName/);
    expect(findings[0].object).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'w', namespace: undefined });
    expect(objects[0]).toEqual(input);
  });

  test('latest and the :latest@sha256 Always gotcha; an untagged image is pinned as the kubelet pulls it (:latest)', () => {
    const { findings, objects } = applyImagePolicy([deployment('w', [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox:latest' }, { name: 'c', image: 'alpine' }])], { lock });
    expect(codes(findings)).toEqual(['warning:latest-tag', 'warning:latest-tag', 'warning:latest-tag', 'warning:unpinned-image']);
    // Pinned by kubepin: no "moves", and no latest-with-digest about kubepin's own output.
    expect(findings[0].message).not.toMatch(/moves/);
    expect(findings[1].message).not.toMatch(/moves/);
    expect(findings[0].message).toMatch(/digest fixes which build runs/);
    expect(findings[2].message).toMatch(/which moves/); // alpine: unpinned
    const written = applyImagePolicy([deployment('w', [{ name: 'a', image: `busybox:latest@${digestOf('busybox:latest')}` }])], { lock });
    expect(codes(written.findings)).toEqual(['warning:latest-tag', 'warning:latest-with-digest']);
    const [a, b, c] = (objects[0] as any).spec.template.spec.containers;
    expect(a.image).toBe(`docker.io/library/busybox:latest@${digestOf('busybox:latest')}`);
    expect(a.imagePullPolicy).toBe('IfNotPresent'); // pinned, and explicit
    expect(c.image).toBe('alpine');
    expect(c.imagePullPolicy).toBe('Always'); // unpinned, no tag: the API server default, written explicitly
    expect(b.image).toBe(`docker.io/library/busybox:latest@${digestOf('busybox:latest')}`);
    expect(b.imagePullPolicy).toBe('IfNotPresent'); // explicit, so the Always default never applies
  });

  test('digest already present: kept; a lock disagreement is an error', () => {
    const good = `nginx:1.27.5@${digestOf('nginx:1.27.5')}`;
    const bad = `nginx:1.27.5@${digestOf('stale')}`;
    const { findings, objects } = applyImagePolicy([deployment('w', [{ name: 'a', image: good }, { name: 'b', image: bad }])], { lock });
    expect(codes(findings)).toEqual(['error:digest-mismatch-with-lock']);
    expect(findings[0].message).toContain(digestOf('nginx:1.27.5'));
    expect((objects[0] as any).spec.template.spec.containers[1].image).toBe(bad);
  });

  test('pull policies: explicit kept, forced, replaced; Never only when pre-pulled', () => {
    const input = [deployment('w', [
      { name: 'a', image: 'nginx:1.27.5', imagePullPolicy: 'Always' },
      { name: 'b', image: 'ghcr.io/acme/api:1.4.2', imagePullPolicy: 'Never' },
      { name: 'c', image: 'ghcr.io/acme/worker:2', imagePullPolicy: 'Sometimes' },
    ])];
    const kept = applyImagePolicy(input, { lock, prePulled: ['ghcr.io/acme/api'] });
    expect(codes(kept.findings)).toEqual(['error:invalid-pull-policy']);
    expect((kept.objects[0] as any).spec.template.spec.containers.map((c: any) => c.imagePullPolicy)).toEqual(['Always', 'Never', 'Sometimes']);

    const single = [deployment('w', [{ name: 'a', image: 'nginx:1.27.5', imagePullPolicy: 'Always' }])];
    const never = applyImagePolicy(single, { lock, pullPolicy: 'Never' });
    expect(codes(never.findings)).toEqual(['error:never-without-prepull']);
    expect(never.findings[0].message).toMatch(/ErrImageNeverPull/);
    expect(never.findings[0].path).toBe('spec.template.spec.containers[0].imagePullPolicy');

    expect(codes(applyImagePolicy(single, { lock, pullPolicy: 'Never', prePulled: ['nginx:1.27.5'] }).findings)).toEqual([]);
    const replaced = applyImagePolicy(single, { lock, replaceExistingPullPolicy: true });
    expect((replaced.objects[0] as any).spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  test('pull secrets attached where the kubelet would use them, user secrets first, never duplicated', () => {
    const pullSecrets = [
      { name: 'ghcr-acme', registries: ['ghcr.io/acme'] },
      { name: 'ghcr-all', registries: ['ghcr.io'] },
      { name: 'quay', registries: ['quay.io'] },
      { name: 'team-b-only', registries: ['ghcr.io'], namespace: 'team-b' },
    ];
    const input = [
      deployment('w', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }, { name: 'b', image: 'nginx:1.27.5' }], { imagePullSecrets: [{ name: 'mine' }, { name: 'ghcr-all' }] }),
      deployment('x', [{ name: 'a', image: 'nginx:1.27.5' }]),
      deployment('y', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }], {}, 'team-b'),
    ];
    const { objects } = applyImagePolicy(input, { lock, pullSecrets });
    expect((objects[0] as any).spec.template.spec.imagePullSecrets).toEqual([{ name: 'mine' }, { name: 'ghcr-all' }, { name: 'ghcr-acme' }]);
    expect((objects[1] as any).spec.template.spec.imagePullSecrets).toBeUndefined();
    expect((objects[2] as any).spec.template.spec.imagePullSecrets).toEqual([{ name: 'ghcr-acme' }, { name: 'ghcr-all' }, { name: 'team-b-only' }]);
  });

  test('private registry without a serving secret is an error; a secret for a public registry a warning', () => {
    const { findings } = applyImagePolicy([
      deployment('w', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }]),
      deployment('x', [{ name: 'a', image: 'nginx:1.27.5' }]),
      deployment('y', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }], { imagePullSecrets: [{ name: 'made-elsewhere' }] }),
    ], {
      lock,
      privateRegistries: ['ghcr.io'],
      publicRegistries: ['docker.io'],
      pullSecrets: [{ name: 'hub-mirror', registries: ['https://index.docker.io/v1/', 'docker.io'] }],
    });
    expect(codes(findings)).toEqual(['error:no-pull-secret-for-private-registry', 'warning:pull-secret-for-public-registry']);
    expect(findings[0].object.name).toBe('w');
    expect(findings[1].message).toMatch(/never retries anonymously/);
  });

  test('ServiceAccount pull secrets serve pods that list none; once a pod lists its own they are added with a warning', () => {
    const pullSecrets = [{ name: 'ghcr-sa', registries: ['ghcr.io'] }, { name: 'hub', registries: ['docker.io'] }];
    const serviceAccounts = [{ name: 'builder', namespace: 'ci', pullSecrets: ['ghcr-sa'] }];
    const viaAccount = deployment('sa-only', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }], { serviceAccountName: 'builder' }, 'ci');
    const mixed = deployment('mixed', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }, { name: 'b', image: 'nginx:1.27.5' }], { serviceAccountName: 'builder' }, 'ci');
    const otherNamespace = deployment('elsewhere', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }], { serviceAccountName: 'builder' }, 'prod');
    const { objects, findings } = applyImagePolicy([viaAccount, mixed, otherNamespace], { lock, pullSecrets, serviceAccounts, privateRegistries: ['ghcr.io'] });
    const secretsOf = (o: any) => o.spec.template.spec.imagePullSecrets;
    // The kubelet copies the account's secret in: nothing to add, and the private image is served.
    expect(secretsOf(objects[0])).toBeUndefined();
    // The pod now lists "hub", so the kubelet ignores the account's secrets: kubepin adds the serving one.
    expect(secretsOf(objects[1])).toEqual([{ name: 'hub' }, { name: 'ghcr-sa' }]);
    // Another namespace's "builder" account carries nothing: the declared secret is attached directly.
    expect(secretsOf(objects[2])).toEqual([{ name: 'ghcr-sa' }]);
    expect(codes(findings)).toEqual(['warning:service-account-pull-secrets-ignored']);
    expect(findings[0].object.name).toBe('mixed');
    expect(findings[0].path).toBe('spec.template.spec.imagePullSecrets');
  });

  test('allowed registries', () => {
    const { findings } = applyImagePolicy([deployment('w', [{ name: 'a', image: 'ghcr.io/acme/api:1.4.2' }, { name: 'b', image: 'nginx:1.27.5' }])], {
      lock, allowedRegistries: ['ghcr.io/acme'],
    });
    expect(codes(findings)).toEqual(['error:registry-not-allowed']);
    expect(findings[0].image).toBe('nginx:1.27.5');
  });

  test('bad options are typed errors', () => {
    expect(() => applyImagePolicy('nope' as any)).toThrow(/array of Kubernetes objects/);
    expect(() => applyImagePolicy([], { pullPolicy: 'Sometimes' as any })).toThrow(/not one of Always/);
    expect(() => applyImagePolicy([], { pullSecrets: [{ name: 'x' } as any] })).toThrow(/name and a list of registries/);
    expect(() => applyImagePolicy([], { prePulled: ['Bad Image'] })).toThrow(/invalid image reference/);
  });
});
