import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import {
  ImageLock, ImageLocationRule, ImageLocations, KubepinUsageError, ORIGINAL_IMAGES_ANNOTATION, ProjectConfigError,
  applyImagePolicy, checkManifests, extractImages,
} from '../../../lib';
import { loadManifests } from '../../../lib/core/manifests/manifests';
import { unlocatedImages } from '../../../lib/core/findings/unlocated-images';
import { findPodTemplates } from '../../../lib/core/objects/pod-templates';

// Real example manifests of Argo Rollouts, OpenKruise, Knative and prometheus-operator
// (test/fixtures/crds/SOURCE.md names each file's repository, path and commit).
const CRDS = path.join(__dirname, '..', '..', 'fixtures', 'crds');
const INDEX = 'application/vnd.oci.image.index.v1+json';
const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function fixture(name: string): Record<string, any>[] {
  const loaded = loadManifests([path.join(CRDS, name)]);
  expect(loaded.problems).toEqual([]);
  return loaded.documents.map((d) => d.object as Record<string, any>);
}

function lockOf(images: string[]): ImageLock {
  const lock = ImageLock.empty(path.join(os.tmpdir(), 'never-saved.lock.json'));
  for (const image of images) lock.set(image, { digest: digestOf(image), mediaType: INDEX });
  return lock;
}

/** The value at a JSON path such as `spec.metrics[0].provider.job.spec.template.spec.containers[0].image`. */
function at(object: unknown, jsonPath: string): any {
  let value: any = object;
  for (const part of jsonPath.replace(/\[(\d+)\]/g, '.$1').split('.')) value = value?.[part];
  return value;
}

const KNATIVE: ImageLocationRule = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', podSpec: 'spec.template.spec' };
const THANOS_RULER: ImageLocationRule = { apiVersion: 'monitoring.coreos.com/*', kind: 'ThanosRuler', image: 'spec.image', pullPolicyField: 'imagePullPolicy', pullSecretsField: 'imagePullSecrets' };
const PROMETHEUS: ImageLocationRule[] = ['Prometheus', 'Alertmanager'].map((kind) => (
  { apiVersion: 'monitoring.coreos.com/v1', kind, image: 'spec.image', pullPolicyField: 'imagePullPolicy', pullSecretsField: 'imagePullSecrets' }));

describe('built-in presets on the projects\' own examples', () => {
  // Read off the files by hand: where each example keeps its images.
  const expected: Array<[file: string, kind: string, jsonPath: string, image: string, metadata: string]> = [
    ['argo-rollouts-rollout.yaml', 'Rollout', 'spec.template.spec.containers[0].image', 'argoproj/rollouts-demo:blue', 'spec.template.metadata'],
    ['argo-rollouts-rollout-bluegreen.yaml', 'Rollout', 'spec.template.spec.containers[0].image', 'argoproj/rollouts-demo:blue', 'spec.template.metadata'],
    ['argo-rollouts-rollout-workloadref.yaml', 'Deployment', 'spec.template.spec.containers[0].image', 'argoproj/rollouts-demo:blue', 'spec.template.metadata'],
    ['argo-rollouts-analysistemplate.yaml', 'AnalysisTemplate', 'spec.metrics[0].provider.job.spec.template.spec.containers[0].image', 'alpine:3.8', 'spec.metrics[0].provider.job.spec.template.metadata'],
    ['argo-rollouts-analysistemplate.yaml', 'AnalysisTemplate', 'spec.metrics[0].provider.job.spec.template.spec.containers[0].image', 'alpine:3.8', 'spec.metrics[0].provider.job.spec.template.metadata'],
    ['argo-rollouts-analysistemplate-job-metadata.yaml', 'AnalysisTemplate', 'spec.metrics[0].provider.job.spec.template.spec.containers[0].image', 'argoproj/load-tester:latest', 'spec.metrics[0].provider.job.spec.template.metadata'],
    ['argo-rollouts-experiment.yaml', 'Experiment', 'spec.templates[0].template.spec.containers[0].image', 'argoproj/rollouts-demo:purple', 'spec.templates[0].template.metadata'],
    ['argo-rollouts-experiment.yaml', 'Experiment', 'spec.templates[1].template.spec.containers[0].image', 'argoproj/rollouts-demo:orange', 'spec.templates[1].template.metadata'],
    ['openkruise-cloneset.yaml', 'CloneSet', 'spec.template.spec.containers[0].image', 'nginx:alpine', 'spec.template.metadata'],
    ['openkruise-statefulset-v1alpha1.yaml', 'StatefulSet', 'spec.template.spec.containers[0].image', 'nginx:alpine', 'spec.template.metadata'],
    ['openkruise-daemonset.yaml', 'DaemonSet', 'spec.template.spec.containers[0].image', 'openkruise/guestbook:v1', 'spec.template.metadata'],
    ['openkruise-broadcastjob.yaml', 'BroadcastJob', 'spec.template.spec.containers[0].image', 'perl', 'spec.template.metadata'],
    ['openkruise-broadcastjob-v1alpha1.yaml', 'BroadcastJob', 'spec.template.spec.containers[0].image', 'perl', 'spec.template.metadata'],
    ['openkruise-uniteddeployment.yaml', 'UnitedDeployment', 'spec.template.statefulSetTemplate.spec.template.spec.containers[0].image', 'nginx', 'spec.template.statefulSetTemplate.spec.template.metadata'],
    ['openkruise-sidecarset.yaml', 'SidecarSet', 'spec.initContainers[0].image', 'busybox:1.28', 'metadata'],
    ['openkruise-sidecarset.yaml', 'SidecarSet', 'spec.containers[0].image', 'openkruise/guestbook:sidecar', 'metadata'],
    ['openkruise-sidecarset.yaml', 'SidecarSet', 'spec.containers[1].image', 'centos:6.7', 'metadata'],
    ['openkruise-sidecarset-hotupgrade.yaml', 'SidecarSet', 'spec.containers[0].image', 'openkruise/hotupgrade-sample:sidecarv1', 'metadata'],
    ['openkruise-sidecarset-hotupgrade.yaml', 'SidecarSet', 'spec.containers[0].upgradeStrategy.hotUpgradeEmptyImage', 'openkruise/hotupgrade-sample:empty', 'metadata'],
  ];
  const files = [...new Set(expected.map((e) => e[0]))];

  test.each(files)('%s: every image found, pinned from the lock, with a policy and the originals recorded', (file) => {
    const objects = fixture(file);
    const mine = expected.filter((e) => e[0] === file);
    expect(extractImages(objects).map((u) => `${u.object.kind} ${u.path} ${u.image}`).sort())
      .toEqual(mine.map(([, kind, p, image]) => `${kind} ${p} ${image}`).sort());
    const { objects: out, findings } = applyImagePolicy(objects, { lock: lockOf(mine.map((e) => e[3])) });
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    for (const [, kind, jsonPath, image, metadata] of mine) {
      const i = objects.findIndex((o) => o.kind === kind && at(o, jsonPath) === image);
      const object = out[i];
      // Written out in full (docker.io/library/…, untagged as :latest) and pinned to the locked digest.
      expect(at(object, jsonPath)).toMatch(new RegExp(`${image.replace(/:latest$/, '').split(':')[0]}(:[^@]+)?@${digestOf(image)}$`));
      const holder = at(object, jsonPath.replace(/\.[A-Za-z]+$/, ''));
      if (jsonPath.endsWith('.image')) {
        // A policy written in the example is kept; otherwise a pinned image gets IfNotPresent.
        expect(holder.imagePullPolicy).toBe(at(objects[i], jsonPath.replace(/\.image$/, '.imagePullPolicy')) ?? 'IfNotPresent');
      } else {
        expect(holder.imagePullPolicy).toBeUndefined(); // The hot-upgrade image has no policy field.
      }
      expect(Object.values(JSON.parse(at(object, metadata).annotations[ORIGINAL_IMAGES_ANNOTATION]))).toContain(image);
    }
    // Idempotent: running on its own output changes nothing.
    expect(applyImagePolicy(out, { lock: lockOf(mine.map((e) => e[3])) }).objects).toEqual(out);
  });

  test('a Rollout with workloadRef has no pod template: nothing to pin, nothing reported', () => {
    const rollout = fixture('argo-rollouts-rollout-workloadref.yaml').find((o) => o.kind === 'Rollout')!;
    expect(rollout.spec.workloadRef).toBeDefined();
    const { objects, findings } = applyImagePolicy([rollout]);
    expect(objects[0]).toEqual(rollout);
    expect(findings).toEqual([]);
  });

  test('kinds are matched with their group: a Knative Service and a core Service are not workloads by default', () => {
    for (const file of ['knative-service.yaml', 'argo-rollouts-rollout-bluegreen.yaml']) {
      const services = fixture(file).filter((o) => o.kind === 'Service');
      expect(services.length).toBeGreaterThan(0);
      expect(extractImages(services)).toEqual([]);
    }
    // Same kind name in another group: an Argo Workflows object named Rollout is not Argo Rollouts'.
    expect(extractImages([{ apiVersion: 'example.com/v1', kind: 'Rollout', spec: { template: { spec: { containers: [{ name: 'x', image: 'nginx:1' }] } } } }])).toEqual([]);
  });

  test('OpenKruise kinds without a published sample, written from the Go types: AdvancedCronJob and ImagePullJob', () => {
    // apps.kruise.io/v1beta1 AdvancedCronJob: spec.template holds one of jobTemplate / broadcastJobTemplate.
    const cron = {
      apiVersion: 'apps.kruise.io/v1beta1', kind: 'AdvancedCronJob', metadata: { name: 'acj' },
      spec: { schedule: '*/1 * * * *', template: { broadcastJobTemplate: { spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl:5.34' }] } } } } } },
    };
    // ImagePullJob: one image; `pullPolicy` there is a backoff setting, `pullSecrets` plain names.
    const pull = {
      apiVersion: 'apps.kruise.io/v1beta1', kind: 'ImagePullJob', metadata: { name: 'pull' },
      spec: { image: 'nginx:1.27.5', pullPolicy: { backoffLimit: 3, timeoutSeconds: 300 }, pullSecrets: ['reg'], completionPolicy: { type: 'Always' } },
    };
    const lock = lockOf(['perl:5.34', 'nginx:1.27.5']);
    const { objects, findings } = applyImagePolicy([cron, pull], { lock, pullSecrets: [{ name: 'docker', registries: ['docker.io'] }] });
    expect(findings).toEqual([]);
    const [c, p] = objects as any[];
    expect(c.spec.template.broadcastJobTemplate.spec.template.spec.containers[0]).toEqual({ name: 'pi', image: `docker.io/library/perl:5.34@${digestOf('perl:5.34')}`, imagePullPolicy: 'IfNotPresent' });
    expect(c.spec.template.broadcastJobTemplate.spec.template.spec.imagePullSecrets).toEqual([{ name: 'docker' }]);
    expect(p.spec).toEqual({ ...pull.spec, image: `docker.io/library/nginx:1.27.5@${digestOf('nginx:1.27.5')}` });
    expect(JSON.parse(p.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ 'spec.image': 'nginx:1.27.5' });
  });
});

describe('image locations a project adds', () => {
  test('Knative Service: its pod spec, pinned; ko:// references (ko resolves them, not a registry) are invalid images', () => {
    const [service] = fixture('knative-service.yaml');
    const image = 'ghcr.io/knative/autoscale-go:latest';
    expect(extractImages([service])).toEqual([]);
    const { objects, findings } = applyImagePolicy([service], { lock: lockOf([image]), imageLocations: [KNATIVE] });
    expect(findings.map((f) => f.code)).toEqual(['latest-tag']);
    const container = (objects[0] as any).spec.template.spec.containers[0];
    expect(container.image).toBe(`${image}@${digestOf(image)}`);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    // Knative's containers have no name: the annotation labels them by index.
    expect(JSON.parse((objects[0] as any).spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ '#0': image });

    const ko = fixture('knative-service-initcontainers-ko.yaml');
    const result = applyImagePolicy(ko, { imageLocations: [KNATIVE] });
    expect(result.findings.filter((f) => f.code === 'invalid-image').map((f) => f.path)).toEqual([
      'spec.template.spec.initContainers[0].image', 'spec.template.spec.containers[0].image',
    ]);
  });

  test('an image field (ThanosRuler spec.image): pinned, its policy field set, pull secrets attached next to it', () => {
    const [ruler] = fixture('prometheus-operator-thanosruler.yaml');
    const image = 'quay.io/thanos/thanos:v0.42.4';
    const { objects, findings } = applyImagePolicy([ruler], {
      lock: lockOf([image]), imageLocations: [THANOS_RULER], pullSecrets: [{ name: 'quay', registries: ['quay.io'] }],
    });
    expect(findings).toEqual([]);
    const spec = (objects[0] as any).spec;
    expect(spec.image).toBe(`${image}@${digestOf(image)}`);
    expect(spec.imagePullPolicy).toBe('IfNotPresent');
    expect(spec.imagePullSecrets).toEqual([{ name: 'quay' }]);
    expect(spec.version).toBe('v0.42.4');
    expect(JSON.parse((objects[0] as any).metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ 'spec.image': image });
  });

  test('Prometheus and Alertmanager examples set no spec.image: the operator\'s default is left alone, nothing reported', () => {
    const objects = [...fixture('prometheus-operator-prometheus.yaml'), ...fixture('prometheus-operator-alertmanager.yaml')];
    const { objects: out, findings } = applyImagePolicy(objects, { imageLocations: PROMETHEUS, strict: true });
    expect(out).toEqual(objects);
    expect(findings).toEqual([]);
    // Once the project sets one, it is pinned like any other (strict: a missing lock entry is an error).
    const withImage = { ...objects[0], spec: { ...objects[0].spec, image: 'quay.io/prometheus/prometheus:v3.5.0' } };
    expect(applyImagePolicy([withImage], { imageLocations: PROMETHEUS, strict: true }).findings.map((f) => `${f.severity} ${f.code} ${f.path}`))
      .toEqual(['error unpinned-image spec.image']);
  });

  test('check uses them too: a ko:// image is InvalidImageName, ThanosRuler\'s policy field is read', () => {
    const objects = [...fixture('knative-service-multicontainer-ko.yaml'), ...fixture('prometheus-operator-thanosruler.yaml')];
    // Without them: the Service is noted as not covered (a container's image counts even when it is no reference); ThanosRuler is a built-in preset.
    expect(checkManifests(objects).findings.map((f) => `${f.severity} ${f.code} ${f.object.kind} ${f.path}`)).toEqual([
      'info image-location-unknown Service spec.template.spec.containers[0].image',
    ]);
    const { findings } = checkManifests(objects, { imageLocations: [KNATIVE, THANOS_RULER] });
    expect(findings.map((f) => `${f.code} ${f.object.kind} ${f.path} ${f.state ?? ''}`)).toEqual([
      'invalid-image Service spec.template.spec.containers[0].image InvalidImageName',
      'invalid-image Service spec.template.spec.containers[1].image InvalidImageName',
    ]);
    const never = { ...objects[1], spec: { ...objects[1].spec, imagePullPolicy: 'Never' } };
    expect(checkManifests([never], { imageLocations: [THANOS_RULER] }).findings.map((f) => `${f.code} ${f.path} ${f.state}`))
      .toEqual(['never-without-prepull spec.imagePullPolicy ErrImageNeverPull']);
  });

  test('kubepin.config.json next to the lock file supplies them to the policy; a bad entry names the file, the entry and the fix', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-locations-'));
    try {
      const image = 'ghcr.io/knative/autoscale-go:latest';
      const lock = ImageLock.empty(path.join(dir, 'kubepin.lock.json'));
      lock.set(image, { digest: digestOf(image), mediaType: INDEX });
      const [service] = fixture('knative-service.yaml');
      fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ imageLocations: [KNATIVE] }));
      expect((applyImagePolicy([service], { lock }).objects[0] as any).spec.template.spec.containers[0].image).toBe(`${image}@${digestOf(image)}`);
      // An explicit option replaces the file's list (the built-in ones stay).
      expect((applyImagePolicy([service], { lock, imageLocations: [] }).objects[0] as any).spec.template.spec.containers[0].image).toBe(image);

      fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ imageLocations: [{ kind: 'Service', podSpec: 'spec.template.spec', image: 'spec.image' }] }));
      expect(() => applyImagePolicy([service], { lock })).toThrow(ProjectConfigError);
      expect(() => applyImagePolicy([service], { lock })).toThrow(/kubepin\.config\.json: imageLocations\[0\] \(Service\) needs exactly one of "podSpec" .* and "image"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ kind: 'Rollout' }, /imageLocations\[0\] \(Rollout\) needs exactly one of "podSpec"/],
    [{ kind: 'Rollout', podSpec: 'spec..template' }, /imageLocations\[0\]\.podSpec: "spec\.\.template" is not a dotted path/],
    [{ kind: 'Rollout', podSpec: 'spec.template.spec', pullPolicyField: 'imagePullPolicy' }, /pullPolicyField goes with "image"/],
    [{ kind: 'Rollout', podSpec: 'spec.template.spec', apiVersion: 'argoproj.io' }, /apiVersion must be "group\/version", "group\/\*"/],
    [{ kind: 'Prometheus', image: 'spec.images[]' }, /image must end in a field name/],
    [{ kind: 'Rollout', podspec: 'spec.template.spec' }, /unknown field "podspec" \(did you mean "podSpec"\?\); the fields are "apiVersion", "kind", "podSpec"/],
    ['Rollout', /imageLocations\[0\] must be an object/],
  ])('a malformed location is a usage error naming it: %j', (entry, message) => {
    expect(() => applyImagePolicy([], { imageLocations: [entry as ImageLocationRule] })).toThrow(KubepinUsageError);
    expect(() => applyImagePolicy([], { imageLocations: [entry as ImageLocationRule] })).toThrow(message);
  });

  test('apiVersion patterns: exact, group/*, core version, any', () => {
    const rules: ImageLocationRule[] = [
      { apiVersion: 'a.example/v1', kind: 'A', podSpec: 'spec' },
      { apiVersion: 'b.example/*', kind: 'B', podSpec: 'spec' },
      { apiVersion: 'v1', kind: 'C', podSpec: 'spec' },
      { kind: 'D', podSpec: 'spec' },
    ];
    const locations = ImageLocations.withExtra(rules);
    expect(locations.covers('A', 'a.example/v1')).toBe(true);
    expect(locations.covers('A', 'a.example/v2')).toBe(false);
    expect(locations.covers('B', 'b.example/v9')).toBe(true);
    expect(locations.covers('B', 'c.example/v1')).toBe(false);
    expect(locations.covers('C', 'v1')).toBe(true);
    expect(locations.covers('C', 'apps/v1')).toBe(false);
    expect(locations.covers('D', 'anything.example/v1')).toBe(true);
    // An object without apiVersion is matched on kind alone, as kubepin always has.
    expect(locations.covers('A', undefined)).toBe(true);
    expect(ImageLocations.withExtra(rules)).toBe(locations);
    expect(ImageLocations.withExtra([])).toBe(ImageLocations.DEFAULT);
  });
});

describe('issue #24 item 6: no location path walks into the object prototype', () => {
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { template: { metadata: {}, spec: { containers: [{ name: 'app', image: `ghcr.io/acme/${name}:1` }] } } },
  });

  test.each([
    ['metadata', { kind: 'Widget', podSpec: 'spec.template.spec', metadata: '__proto__' }, '__proto__'],
    ['podSpec', { kind: 'Widget', podSpec: 'spec.__proto__.spec' }, '__proto__'],
    ['podSpec', { kind: 'Widget', podSpec: 'spec.constructor.prototype' }, 'constructor'],
    ['image', { kind: 'Widget', image: 'spec.items[].prototype.image' }, 'prototype'],
    ['image', { kind: 'Widget', image: 'spec.constructor' }, 'constructor'],
    ['pullPolicyField', { kind: 'Widget', image: 'spec.image', pullPolicyField: '__proto__' }, '__proto__'],
    ['pullSecretsField', { kind: 'Widget', image: 'spec.image', pullSecretsField: 'constructor' }, 'constructor'],
  ])('a %s naming %j is a usage error naming the entry and the segment, and Object.prototype stays clean', (field, entry, segment) => {
    const widgets = ['a', 'b'].map((name) => ({ ...deployment(name), apiVersion: 'example.com/v1', kind: 'Widget' }));
    const run = () => applyImagePolicy(widgets, { lock: lockOf(['ghcr.io/acme/a:1', 'ghcr.io/acme/b:1']), imageLocations: [entry as ImageLocationRule] });
    expect(run).toThrow(KubepinUsageError);
    expect(run).toThrow(new RegExp(`option imageLocations\\[0\\]\\.${field}: .*${segment}`));
    if (!field.endsWith('Field')) expect(run).toThrow(`the segment "${segment}" names JavaScript's object prototype machinery, not a field`);
    expect(Object.hasOwn(Object.prototype, 'annotations')).toBe(false);
  });

  test('every object keeps its own original-images annotation (none lands in a shared prototype)', () => {
    const { objects } = applyImagePolicy([deployment('a'), deployment('b')], { lock: lockOf(['ghcr.io/acme/a:1', 'ghcr.io/acme/b:1']) });
    expect(objects.map((o: any) => JSON.parse(o.spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION]))).toEqual([{ app: 'ghcr.io/acme/a:1' }, { app: 'ghcr.io/acme/b:1' }]);
    expect(Object.hasOwn(Object.prototype, 'annotations')).toBe(false);
  });

  test('paths are walked through own properties only: an inherited field is not the object\'s', () => {
    const locations = ImageLocations.withExtra([{ kind: 'Widget', image: 'spec.image' }, { kind: 'Gadget', podSpec: 'spec.template.spec' }]);
    const inheritedImage = { kind: 'Widget', metadata: { name: 'w' }, spec: Object.create({ image: 'ghcr.io/acme/evil:1' }) };
    const inheritedTemplate = { kind: 'Gadget', metadata: { name: 'g' }, spec: Object.create({ template: { spec: { containers: [{ name: 'c', image: 'ghcr.io/acme/evil:1' }] } } }) };
    expect(findPodTemplates(inheritedImage, locations)).toEqual([]);
    expect(findPodTemplates(inheritedTemplate, locations)).toEqual([]);
    // The same fields as own properties are found.
    expect(findPodTemplates({ ...inheritedImage, spec: { image: 'ghcr.io/acme/w:1' } }, locations).map((t) => t.sites[0].image)).toEqual(['ghcr.io/acme/w:1']);
  });
});

describe('docs/image-locations.md', () => {
  test('the configuration shown is one kubepin reads, and does what the page says', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'image-locations.md'), 'utf8');
    const json = /```json\n([\s\S]*?)```/.exec(doc)![1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-locations-doc-'));
    try {
      fs.writeFileSync(path.join(dir, 'kubepin.config.json'), json);
      const locations = ImageLocations.forConfigFile(path.join(dir, 'kubepin.config.json'));
      const task = { apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: 'build' }, spec: { steps: [{ name: 'build', image: 'gcr.io/kaniko-project/executor:v1.23.2' }] } };
      const [knative] = fixture('knative-service.yaml');
      expect(extractImages([task, knative], locations).map((u) => `${u.object.kind} ${u.path}`))
        .toEqual(['Task spec.steps[0].image', 'Service spec.template.spec.containers[0].image']);
      // The Prometheus Operator's kinds are built in: spec.image, and the merge lists' entries that name an image.
      const [prometheus] = fixture('prometheus-operator-prometheus.yaml');
      const merged = { ...prometheus, spec: { ...prometheus.spec, image: 'quay.io/prometheus/prometheus:v3.5.0',
        containers: [{ name: 'prometheus', resources: {} }, { name: 'sidecar', image: 'ghcr.io/acme/sidecar:1' }], initContainers: [{ name: 'init', image: 'busybox:1.36.1' }] } };
      expect(extractImages([merged], ImageLocations.DEFAULT).map((u) => `${u.object.kind} ${u.path}`))
        .toEqual(['Prometheus spec.image', 'Prometheus spec.containers[1].image', 'Prometheus spec.initContainers[0].image']);
      for (const kind of ['Prometheus', 'PrometheusAgent', 'Alertmanager', 'ThanosRuler']) expect(ImageLocations.DEFAULT.covers(kind, 'monitoring.coreos.com/v1')).toBe(true);
      // Every kind the page's table lists as built in is covered without configuration.
      for (const kind of ['Rollout', 'Experiment', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun']) expect(ImageLocations.DEFAULT.covers(kind, 'argoproj.io/v1alpha1')).toBe(true);
      for (const kind of ['CloneSet', 'BroadcastJob', 'AdvancedCronJob', 'UnitedDeployment', 'SidecarSet', 'EphemeralJob', 'ImagePullJob', 'StatefulSet', 'DaemonSet']) expect(ImageLocations.DEFAULT.covers(kind, 'apps.kruise.io/v1beta1')).toBe(true);
      expect(ImageLocations.DEFAULT.covers('ImageListPullJob', 'apps.kruise.io/v1beta1')).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image fields of kinds no location covers', () => {
  // Shaped as Argo Workflows' examples/hello-world.yaml and Tekton's Task docs.
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: 'hello-world-', annotations: { image: 'not/this:1' } },
    spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'busybox', command: ['echo'], args: ['hello world'] } }] },
  };
  const task = {
    apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: 'build' },
    spec: { steps: [{ name: 'build', image: 'gcr.io/kaniko-project/executor:v1.23.2', args: ['--destination=x'] }, { name: 'echo', image: 'ubuntu', script: 'echo hi' }] },
  };

  test('are found, each with the location that would cover it; that location then covers it', () => {
    expect(unlocatedImages(workflow, ImageLocations.DEFAULT)).toEqual([
      { path: 'spec.templates[0].container.image', image: 'busybox', suggestion: { apiVersion: 'argoproj.io/*', kind: 'Workflow', image: 'spec.templates[].container.image', pullPolicyField: 'imagePullPolicy' } },
    ]);
    const found = unlocatedImages(task, ImageLocations.DEFAULT);
    expect(found.map((u) => `${u.path} ${u.image}`)).toEqual(['spec.steps[0].image gcr.io/kaniko-project/executor:v1.23.2', 'spec.steps[1].image ubuntu']);
    const covered = ImageLocations.withExtra([found[0].suggestion]);
    expect(extractImages([task], covered).map((u) => u.path)).toEqual(['spec.steps[0].image', 'spec.steps[1].image']);
    expect(unlocatedImages(task, covered)).toEqual([]);
    // A Knative Service's containers suggest its pod spec.
    const [knative] = fixture('knative-service.yaml');
    expect(unlocatedImages(knative, ImageLocations.DEFAULT).map((u) => u.suggestion)).toEqual([{ apiVersion: 'serving.knative.dev/*', kind: 'Service', podSpec: 'spec.template.spec' }]);
  });

  test('are not looked for in covered kinds, data kinds, metadata, or where a value is not an image', () => {
    const quiet = [
      ...fixture('argo-rollouts-rollout.yaml'), ...fixture('prometheus-operator-prometheus.yaml'), ...fixture('openkruise-sidecarset.yaml'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { image: 'nginx:1.27.5' } },
      { apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', spec: { values: { global: { proxy: { image: 'proxyv2' } } } } },
      { apiVersion: 'example.com/v1', kind: 'Thing', spec: { image: { repository: 'nginx', tag: '1.27.5' }, other: { image: 'not a reference' } } },
    ];
    for (const object of quiet) expect(unlocatedImages(object, ImageLocations.DEFAULT)).toEqual([]);
  });

  test('check reports them as info (one per object), which fails nothing by default', () => {
    const { findings } = checkManifests([workflow, task]);
    expect(findings.map((f) => `${f.severity} ${f.code} ${f.object.kind} ${f.path}`)).toEqual([
      'info image-location-unknown Workflow spec.templates[0].container.image',
      'info image-location-unknown Task spec.steps[0].image',
    ]);
    expect(findings[1].message).toContain('spec.steps[0].image ("gcr.io/kaniko-project/executor:v1.23.2") and 1 more: kubepin knows no image location for kind Task');
    expect(findings[1].message).toContain('add {"apiVersion":"tekton.dev/*","kind":"Task","image":"spec.steps[].image","pullPolicyField":"imagePullPolicy"} to "imageLocations" in kubepin.config.json');
  });
});

describe('corpus cases (real files, test/fixtures/crds/SOURCE.md)', () => {
  test('a Volcano Job shares Kubernetes\' kind name but not its shape: noted, and the suggested location covers it', () => {
    const [job] = fixture('volcano-job.yaml');
    const [cron] = fixture('volcano-cronjob.yaml');
    expect(extractImages([job, cron])).toEqual([]);
    const notes = [job, cron].map((o) => unlocatedImages(o, ImageLocations.DEFAULT));
    expect(notes.map((n) => n.map((u) => `${u.path} ${JSON.stringify(u.suggestion)}`))).toEqual([
      ['spec.tasks[0].template.spec.containers[0].image {"apiVersion":"batch.volcano.sh/*","kind":"Job","podSpec":"spec.tasks[].template.spec"}'],
      ['spec.jobTemplate.spec.tasks[0].template.spec.containers[0].image {"apiVersion":"batch.volcano.sh/*","kind":"CronJob","podSpec":"spec.jobTemplate.spec.tasks[].template.spec"}'],
    ]);
    const covered = ImageLocations.withExtra(notes.map((n) => n[0].suggestion));
    expect(extractImages([job, cron], covered).map((u) => `${u.object.kind} ${u.image}`)).toEqual(['Job nginx', 'CronJob busybox:latest']);
    // Kubernetes' own Job is untouched by the addition.
    expect(extractImages([{ apiVersion: 'batch/v1', kind: 'Job', spec: { template: { spec: { containers: [{ name: 'x', image: 'perl:5.34' }] } } } }], covered).map((u) => u.path)).toEqual(['spec.template.spec.containers[0].image']);
  });

  test('an Argo Workflow\'s steps (a list of lists): the suggestion is a valid location that covers the image', () => {
    const [workflow] = fixture('argo-workflows-steps-inline.yaml');
    const [note] = unlocatedImages(workflow, ImageLocations.DEFAULT);
    expect(note.path).toBe('spec.templates[0].steps[0][0].inline.container.image');
    expect(note.suggestion).toEqual({ apiVersion: 'argoproj.io/*', kind: 'Workflow', image: 'spec.templates[].steps[][].inline.container.image', pullPolicyField: 'imagePullPolicy' });
    const { objects, findings } = applyImagePolicy([workflow], { imageLocations: [note.suggestion], lock: lockOf(['argoproj/argosay:v2']) });
    expect(findings).toEqual([]);
    const container = (objects[0] as any).spec.templates[0].steps[0][0].inline.container;
    expect(container).toEqual({ image: `docker.io/argoproj/argosay:v2@${digestOf('argoproj/argosay:v2')}`, imagePullPolicy: 'IfNotPresent', args: container.args });
  });

  test('image fields no kubelet pulls are not noted; other image-named fields are', () => {
    const notPulled = [
      { apiVersion: 'kind.x-k8s.io/v1alpha4', kind: 'Cluster', nodes: [{ role: 'control-plane', image: 'kindest/node:v1.25.3' }] },
      { apiVersion: 'image.toolkit.fluxcd.io/v1beta2', kind: 'ImageRepository', metadata: { name: 'podinfo' }, spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' } },
      { apiVersion: 'pkg.crossplane.io/v1', kind: 'ConfigurationRevision', spec: { image: 'xpkg.upbound.io/acme/config:v1' } },
    ];
    for (const object of notPulled) expect(unlocatedImages(object, ImageLocations.DEFAULT)).toEqual([]);
    // CloudNativePG keeps its image in imageName; a container's placeholder image is noted too.
    const cnpg = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'pg' }, spec: { instances: 3, imageName: 'ghcr.io/cloudnative-pg/postgresql:16.4' } };
    expect(unlocatedImages(cnpg, ImageLocations.DEFAULT).map((u) => JSON.stringify(u.suggestion))).toEqual(['{"apiVersion":"postgresql.cnpg.io/*","kind":"Cluster","image":"spec.imageName"}']);
    const task = { apiVersion: 'tekton.dev/v1', kind: 'Task', spec: { steps: [{ name: 'build', image: '$(params.BUILDER_IMAGE)', args: ['x'] }] } };
    expect(unlocatedImages(task, ImageLocations.DEFAULT).map((u) => u.image)).toEqual(['$(params.BUILDER_IMAGE)']);
  });

  test('the policy reports `image: {{ .Image }}` (a template read as YAML) as an unrendered template, not as an empty image', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'app', image: { '[object Object]': null } }] } } } };
    const { findings } = applyImagePolicy([deployment]);
    expect(findings.map((f) => `${f.code} ${f.path}`)).toEqual(['invalid-image spec.template.spec.containers[0].image']);
    expect(findings[0].message).toMatch(/holds an unrendered template \(\{\{ … \}\} read as YAML\), not an image\. Fix: render the chart/);
  });
});

describe('run-time parameters in covered kinds', () => {
  test('an Argo Workflow image given as a parameter is a warning (the controller substitutes it), not an error failing strict mode', () => {
    const workflow = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: 'build-' },
      spec: { templates: [{ name: 'main', container: { image: '{{inputs.parameters.image}}', command: ['make'] } }, { name: 'pinned', container: { image: 'golang:1.23', command: ['go'] } }] },
    };
    const rule: ImageLocationRule = { apiVersion: 'argoproj.io/*', kind: 'Workflow', image: 'spec.templates[].container.image', pullPolicyField: 'imagePullPolicy' };
    const { objects, findings } = applyImagePolicy([workflow], { imageLocations: [rule], strict: true, lock: lockOf(['golang:1.23']) });
    expect(findings.map((f) => `${f.severity} ${f.code} ${f.path}`)).toEqual(['warning run-time-image-parameter spec.templates[0].container.image']);
    const templates = (objects[0] as any).spec.templates;
    expect(templates[0].container).toEqual(workflow.spec.templates[0].container);
    expect(templates[1].container.image).toBe(`docker.io/library/golang:1.23@${digestOf('golang:1.23')}`);
  });
});
