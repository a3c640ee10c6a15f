/**
 * Pulumi's real engine (`pulumi up --yes`, local backend, rendering provider) on a program with every
 * component kind that makes Kubernetes objects: helm.v4.Chart and yaml/kustomize v2 (remote
 * components: the provider registers their children), helm.v3.Chart and yaml.ConfigFile v1 (rendered
 * in the program), plain resources, and kubepin's own components. The rendered files are compared
 * with the same program run without kubepin.
 */
import * as path from 'path';
import { ImageLock } from '../../../lib/core/lock/image-lock';
import { PREPULL_LABEL } from '../../../lib/core/policy/prepull-helpers';
import { findPodTemplates } from '../../../lib/core/objects/pod-templates';
import { ORIGINAL_IMAGES_ANNOTATION } from '../../../lib/core/objects/original-images';
import { EXISTING_PULL_SECRETS_ANNOTATION } from '../../../lib/core/credentials/existing-pull-secrets';
import { EngineRun, REPO, objectKey, pulumiUp, renderedObjects } from '../../support/engine';

jest.setTimeout(15 * 60 * 1000);

const PROGRAM = path.join(__dirname, 'components-program.ts');
const lock = ImageLock.load(path.join(REPO, 'kubepin.lock.json'));
const pinned = (image: string) => {
  const entry = lock.get(image);
  if (!entry) throw new Error(`${image} is not in kubepin.lock.json`);
  return `${entry.reference}@${entry.digest}`;
};

type Obj = Record<string, any>;
/** Every container of every pod template in `object`, with its list's name. */
function containersOf(object: Obj): { list: string; container: Obj; spec: Obj }[] {
  return findPodTemplates(object).flatMap((t) => (['initContainers', 'containers', 'ephemeralContainers'] as const)
    .flatMap((list) => ((t.spec[list] as Obj[] | undefined) ?? []).map((container) => ({ list, container, spec: t.spec as Obj }))));
}
const isPrePuller = (o: Obj) => o.metadata?.labels?.[PREPULL_LABEL] === 'true';

function mustSucceed(run: EngineRun): void {
  if (run.status !== 0) throw new Error(`pulumi up failed (${run.status}):\n${run.transcript}`);
}

describe('Pulumi engine: charts, yaml, kustomize, plain resources and kubepin components', () => {
  let withKubepin: EngineRun;
  let without: EngineRun;
  let objects: Obj[];
  let baseline: Map<string, Obj>;

  beforeAll(() => {
    withKubepin = pulumiUp({ main: PROGRAM });
    without = pulumiUp({ main: PROGRAM, env: { KUBEPIN_TEST_WITH_KUBEPIN: '0' } });
    objects = renderedObjects(withKubepin.rendered);
    baseline = new Map(renderedObjects(without.rendered).map((o) => [objectKey(o), o]));
  });

  test('pulumi up succeeds with and without kubepin, and renders the children of every component', () => {
    mustSucceed(withKubepin);
    mustSucceed(without);
    const keys = objects.map(objectKey);
    // helm v4 and v3 (Deployment with an init container, CronJob), ConfigFile v2 (Deployment, Pod with
    // an ephemeral container), ConfigGroup v2 (file, inline yaml, objs), kustomize v2, ConfigFile v1.
    for (const name of ['web4-web', 'web3-web', 'cf2-api', 'cg-job', 'cg-objs', 'kust-cache', 'v1-db', 'nightly', 'shop']) {
      expect(keys.some((k) => k.endsWith(`/${name}`))).toBe(true);
    }
    for (const name of ['web4-cleanup', 'web3-cleanup', 'cf2-debug', 'cg-inline']) expect(keys.some((k) => k.endsWith(`/${name}`))).toBe(true);
  });

  test('every container image (init, ephemeral, CronJob, the charts\' children) is pinned to the lock\'s digest with an explicit pull policy', () => {
    const sites = objects.flatMap((o) => containersOf(o).map((c) => ({ key: objectKey(o), ...c })));
    expect(sites.length).toBeGreaterThanOrEqual(20);
    expect(new Set(sites.map((s) => s.list))).toEqual(new Set(['initContainers', 'containers', 'ephemeralContainers']));
    for (const { key, list, container } of sites) {
      const base = baseline.get(key);
      const original = base ? containersOf(base).find((c) => c.list === list && c.container.name === container.name)?.container.image : undefined;
      // kubepin's own objects have no baseline: their images are pinned all the same.
      if (original !== undefined) expect({ key, image: container.image }).toEqual({ key, image: pinned(original) });
      else expect({ key, image: container.image }).toEqual({ key, image: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) });
      expect({ key, name: container.name, policy: container.imagePullPolicy }).toEqual({ key, name: container.name, policy: expect.stringMatching(/^(IfNotPresent|Never|Always)$/) });
    }
  });

  test('pods in the secret\'s namespace that pull from docker.io get its pull secret; the others get none', () => {
    // hub-pull lives in `apps`: a pod elsewhere cannot use it, so kubepin must not reference it there.
    const seen = { served: 0, otherNamespace: 0 };
    for (const o of objects) {
      const namespace = o.metadata?.namespace ?? 'default';
      for (const t of findPodTemplates(o)) {
        const images = containersOf(o).filter((c) => c.spec === t.spec).map((c) => String(c.container.image));
        const secrets = (t.spec.imagePullSecrets as Obj[] | undefined) ?? [];
        const fromHub = images.some((i) => i.startsWith('docker.io/'));
        if (fromHub) seen[namespace === 'apps' ? 'served' : 'otherNamespace'] += 1;
        expect({ key: objectKey(o), secrets }).toEqual({ key: objectKey(o), secrets: fromHub && namespace === 'apps' ? [{ name: 'hub-pull' }] : [] });
      }
      // The secret was declared as existing in the cluster: the workload names it for `kubepin check`.
      const served = findPodTemplates(o).some((t) => ((t.spec.imagePullSecrets as Obj[] | undefined) ?? []).length > 0);
      expect({ key: objectKey(o), annotation: o.metadata?.annotations?.[EXISTING_PULL_SECRETS_ANNOTATION] }).toEqual({ key: objectKey(o), annotation: served ? 'hub-pull' : undefined });
    }
    // Both cases occur in the program (charts in `apps`; ConfigGroup, ConfigFile and kustomize children in `default`).
    expect(seen.served).toBeGreaterThanOrEqual(3);
    expect(seen.otherNamespace).toBeGreaterThanOrEqual(3);
  });

  test('every pod template records its images as written in the original-images annotation', () => {
    for (const o of objects) {
      const base = baseline.get(objectKey(o));
      if (!base) continue;
      const baseTemplates = findPodTemplates(base);
      for (const [i, t] of findPodTemplates(o).entries()) {
        const metadata = t.metadataPath.reduce((m: Obj | undefined, k) => m?.[k], o);
        const recorded = JSON.parse(metadata?.annotations?.[ORIGINAL_IMAGES_ANNOTATION] ?? '{}');
        const written = containersOf(base).filter((c) => c.spec === baseTemplates[i].spec).map((c) => c.container.image);
        expect({ key: objectKey(o), images: Object.values(recorded).sort() }).toEqual({ key: objectKey(o), images: written.sort() });
      }
    }
  });

  test('the pre-pull DaemonSets pre-pull the Deployment\'s image and the explicit list, pinned', () => {
    const prePullers = objects.filter((o) => o.kind === 'DaemonSet' && isPrePuller(o));
    const images = prePullers.flatMap((o) => containersOf(o).map((c) => c.container.image));
    for (const image of ['nginx:1.27.5', 'redis:7.4.2', 'postgres:16.4']) expect(images).toContain(pinned(image));
    const shop = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'shop')!;
    expect(containersOf(shop)[0].container).toMatchObject({ image: pinned('nginx:1.27.5'), imagePullPolicy: 'Never' });
  });

  test('nothing else changed compared with the same program without kubepin', () => {
    const extra: string[] = [];
    for (const o of objects) {
      const key = objectKey(o);
      const base = baseline.get(key);
      if (!base) {
        extra.push(key);
        continue;
      }
      // Undo exactly what kubepin does (checked above), then the objects must be equal.
      const copy = structuredClone(o);
      const baseSites = containersOf(base);
      for (const { list, container, spec } of containersOf(copy)) {
        const was = baseSites.find((c) => c.list === list && c.container.name === container.name)!.container;
        container.image = was.image;
        if (was.imagePullPolicy === undefined) delete container.imagePullPolicy;
        const baseSpec = baseSites.find((c) => c.list === list && c.container.name === container.name)!.spec;
        if (baseSpec.imagePullSecrets === undefined) delete spec.imagePullSecrets;
      }
      const annotated = [...findPodTemplates(copy).map((t) => ({ path: t.metadataPath, name: ORIGINAL_IMAGES_ANNOTATION })), { path: ['metadata'], name: EXISTING_PULL_SECRETS_ANNOTATION }];
      for (const { path: at, name } of annotated) {
        const holder = at.slice(0, -1).reduce((m: Obj | undefined, k) => m?.[k], copy);
        const metadata = holder?.[at[at.length - 1]];
        if (!metadata?.annotations) continue;
        delete metadata.annotations[name];
        if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
        // kubepin made the pod template's metadata to hold the annotation.
        if (Object.keys(metadata).length === 0) delete holder![at[at.length - 1]];
      }
      expect({ key, object: copy }).toEqual({ key, object: base });
    }
    for (const key of baseline.keys()) expect(objects.map(objectKey)).toContain(key);
    // Only kubepin's own components add objects: the Deployment, its pre-puller and the explicit one.
    const added = objects.filter((o) => extra.includes(objectKey(o)));
    expect(added.filter((o) => !isPrePuller(o)).map(objectKey)).toEqual(['Deployment/apps/shop']);
    expect(added.filter(isPrePuller).length).toBeGreaterThanOrEqual(2);
  });

  test('strict mode with an image missing from the lock fails `pulumi up` with kubepin\'s finding, not a stack trace', () => {
    const run = pulumiUp({ main: PROGRAM, env: { KUBEPIN_TEST_MISSING_IMAGE: 'redis:9.9.9-missing' } });
    expect(run.status).not.toBe(0);
    const output = run.stdout + run.stderr;
    expect(output).toContain('redis:9.9.9-missing');
    expect(output).toContain('unlocked');
    expect(output).toMatch(/kubepin lock/);
    expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(renderedObjects(run.rendered).filter((o) => o.metadata?.name === 'unlocked')).toEqual([]);
  });
});
