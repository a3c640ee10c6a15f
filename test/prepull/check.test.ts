import { buildPrePull, checkPrePull, nodeScopeGap, isPrePuller } from '../../lib/prepull';
import { publicLock } from './fixtures';

function deployment(name: string, containers: Array<{ image: string; imagePullPolicy?: string }>, scheduling: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'web' },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { ...scheduling, containers: containers.map((c, i) => ({ name: `c${i}`, ...c })) } } },
  };
}

const codes = (findings: ReturnType<typeof checkPrePull>) => findings.map((f) => `${f.severity} ${f.code} ${f.object.name} ${f.image}`);

describe('checkPrePull', () => {
  const lock = publicLock();
  const pinnedNginx = `docker.io/library/nginx:1.27.5@${lock.get('nginx:1.27.5')!.digest}`;

  test('Never on an image no pre-puller pulls is an error; covered images are fine', () => {
    const pp = buildPrePull({ images: ['nginx:1.27.5'], lock });
    expect(isPrePuller(pp.daemonSets[0])).toBe(true);
    const objects = [
      ...pp.objects,
      deployment('ok', [{ image: pinnedNginx, imagePullPolicy: 'Never' }]),
      deployment('tag-only', [{ image: 'nginx:1.27.5', imagePullPolicy: 'Never' }]),
      deployment('missing', [{ image: 'redis:7.4.2', imagePullPolicy: 'Never' }]),
      deployment('other-digest', [{ image: `nginx:1.27.5@sha256:${'0'.repeat(64)}`, imagePullPolicy: 'Never' }]),
    ];
    const findings = checkPrePull(objects);
    expect(codes(findings)).toEqual([
      'error never-without-prepull missing redis:7.4.2',
      `error never-without-prepull other-digest nginx:1.27.5@sha256:${'0'.repeat(64)}`,
    ]);
    expect(findings[0].path).toBe('spec.template.spec.containers[0].imagePullPolicy');
    expect(findings[0].message).toMatch(/ErrImageNeverPull.*Fix: pre-pull the image/);
  });

  test('the helper and pause images count as pre-pulled', () => {
    const pp = buildPrePull({ images: ['nginx:1.27.5'], lock });
    const busybox = `docker.io/library/busybox:1.36.1@${lock.get('busybox:1.36.1')!.digest}`;
    expect(checkPrePull([...pp.objects, deployment('tools', [{ image: busybox, imagePullPolicy: 'Never' }])])).toEqual([]);
  });

  test('Always on a pre-pulled image is a warning: the pre-pull buys nothing (explicit or defaulted from :latest)', () => {
    const pp = buildPrePull({ images: ['nginx:1.27.5', 'busybox:latest'], lock });
    const findings = checkPrePull([...pp.objects, deployment('always', [{ image: pinnedNginx, imagePullPolicy: 'Always' }, { image: 'busybox:latest' }])]);
    expect(codes(findings)).toEqual([`warning prepull-always always ${pinnedNginx}`, 'warning prepull-always always busybox:latest']);
  });

  test('a workload scheduled onto nodes the pre-puller does not reach: warning, error with Never', () => {
    const pp = buildPrePull({ images: [{ image: 'nginx:1.27.5', nodeSelector: { pool: 'web' } }], lock });
    const findings = checkPrePull([
      ...pp.objects,
      deployment('same-pool', [{ image: pinnedNginx }], { nodeSelector: { pool: 'web' } }),
      deployment('anywhere', [{ image: pinnedNginx }]),
      deployment('other-pool', [{ image: pinnedNginx, imagePullPolicy: 'Never' }], { nodeSelector: { pool: 'batch' } }),
      deployment('tainted', [{ image: pinnedNginx }], { nodeSelector: { pool: 'web' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
    ]);
    expect(codes(findings)).toEqual([
      `warning prepull-node-scope anywhere ${pinnedNginx}`,
      `error prepull-node-scope other-pool ${pinnedNginx}`,
      `warning prepull-node-scope tainted ${pinnedNginx}`,
    ]);
    expect(findings[0].message).toMatch(/may run on any node but the pre-puller is limited to nodes matching pool In web/);
    expect(findings[2].message).toMatch(/tolerates taint dedicated=gpu:NoSchedule but the pre-puller does not.*Fix: add that toleration/);
  });

  test('an arch-restricted pre-puller does not cover a workload that may land on other architectures', () => {
    const pp = buildPrePull({ images: ['nginx:1.27.5'], lock, arch: 'amd64' });
    const findings = checkPrePull([...pp.objects, deployment('multi', [{ image: pinnedNginx }]), deployment('amd', [{ image: pinnedNginx }], { nodeSelector: { 'kubernetes.io/arch': 'amd64' } })]);
    expect(codes(findings)).toEqual([`warning prepull-node-scope multi ${pinnedNginx}`]);
  });

  test('rejects a non-array', () => {
    expect(() => checkPrePull({} as unknown as unknown[])).toThrow(/takes an array of Kubernetes objects, got an object/);
  });
});

describe('nodeScopeGap', () => {
  const term = (...matchExpressions: object[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } } });
  test.each([
    ['unrestricted pre-puller covers anything', {}, { nodeSelector: { pool: 'a' } }, false],
    ['os label is taken as met', { nodeSelector: { 'kubernetes.io/os': 'linux' } }, {}, false],
    ['In subset is covered', term({ key: 'zone', operator: 'In', values: ['a', 'b'] }), term({ key: 'zone', operator: 'In', values: ['a'] }), false],
    ['In superset is not', term({ key: 'zone', operator: 'In', values: ['a'] }), term({ key: 'zone', operator: 'In', values: ['a', 'b'] }), true],
    ['Exists implied by In', term({ key: 'gpu', operator: 'Exists' }), { nodeSelector: { gpu: 'a100' } }, false],
    ['NotIn implied by disjoint In', term({ key: 'zone', operator: 'NotIn', values: ['c'] }), term({ key: 'zone', operator: 'In', values: ['a'] }), false],
    ['NotIn not implied by overlapping In', term({ key: 'zone', operator: 'NotIn', values: ['a'] }), term({ key: 'zone', operator: 'In', values: ['a'] }), true],
    ['DoesNotExist implied only by DoesNotExist', term({ key: 'spot', operator: 'DoesNotExist' }), term({ key: 'spot', operator: 'DoesNotExist' }), false],
    ['wildcard toleration covers every taint', { tolerations: [{ operator: 'Exists' }] }, { tolerations: [{ key: 'x', operator: 'Exists', effect: 'NoExecute' }] }, false],
    ['key Exists covers values', { tolerations: [{ key: 'x', operator: 'Exists' }] }, { tolerations: [{ key: 'x', value: 'y', effect: 'NoSchedule' }] }, false],
    ['effect-specific toleration does not cover another effect', { tolerations: [{ key: 'x', operator: 'Exists', effect: 'NoSchedule' }] }, { tolerations: [{ key: 'x', operator: 'Exists', effect: 'NoExecute' }] }, true],
  ])('%s', (_name, prePull, workload, gap) => {
    expect(nodeScopeGap(prePull, workload) !== undefined).toBe(gap);
  });
});
