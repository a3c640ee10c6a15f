import * as path from 'path';
import { ApiObject, Chart, Include, Testing } from 'cdk8s';
import { ImagePolicy } from '../../lib/cdk8s';
import { ORIGINAL_IMAGES_ANNOTATION } from '../../lib/core/policy/engine';
import { DIGESTS, lockWith } from './helpers';

// Real examples of Argo Rollouts and Knative (test/fixtures/crds/SOURCE.md), synthesized by cdk8s.
const CRDS = path.join(__dirname, '..', 'fixtures', 'crds');
// Stand-ins: real public digests recorded under the examples' image names.
const LOCK = lockWith({
  'argoproj/rollouts-demo:blue': DIGESTS.nginx,
  'ghcr.io/knative/autoscale-go:latest': DIGESTS.busybox,
});
const KNATIVE = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', podSpec: 'spec.template.spec' };

describe('ImagePolicy and image locations (cdk8s)', () => {
  test('an Included Argo Rollout is pinned by the built-in preset, keys kept in cdk8s order', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'rollouts');
    new ImagePolicy(chart, 'ImagePolicy', { lock: LOCK, strict: true, log: () => undefined });
    new Include(chart, 'rollout', { url: path.join(CRDS, 'argo-rollouts-rollout.yaml') });
    const [rollout] = Testing.synth(chart);
    const container = rollout.spec.template.spec.containers[0];
    expect(container).toEqual({
      image: `docker.io/argoproj/rollouts-demo:blue@${DIGESTS.nginx}`,
      // The example asks for Always; an explicit policy is kept.
      imagePullPolicy: 'Always',
      name: 'rollouts-demo',
      ports: [{ containerPort: 8080 }],
    });
    expect(Object.keys(container)).toEqual([...Object.keys(container)].sort());
    expect(JSON.parse(rollout.spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ 'rollouts-demo': 'argoproj/rollouts-demo:blue' });
  });

  test('a Knative Service (an imported-CRD style ApiObject) is pinned through the imageLocations prop; without it, left alone', () => {
    for (const imageLocations of [[KNATIVE], undefined]) {
      const app = Testing.app();
      const chart = new Chart(app, 'knative');
      new ImagePolicy(chart, 'ImagePolicy', { lock: LOCK, log: () => undefined, ...(imageLocations ? { imageLocations } : {}) });
      new ApiObject(chart, 'hello', {
        apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello' },
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/autoscale-go:latest' }] } } },
      } as any);
      const [service] = Testing.synth(chart);
      expect(service.spec.template.spec.containers[0]).toEqual(imageLocations
        ? { image: `ghcr.io/knative/autoscale-go:latest@${DIGESTS.busybox}`, imagePullPolicy: 'IfNotPresent' }
        : { image: 'ghcr.io/knative/autoscale-go:latest' });
    }
  });

  test('a malformed imageLocations prop fails synthesis with the construct path and the fix', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'bad');
    new ImagePolicy(chart, 'ImagePolicy', { lock: LOCK, imageLocations: [{ kind: 'Service', podSpec: 'spec.template.spec', pullPolicyField: 'imagePullPolicy' }] });
    expect(() => app.synth()).toThrow(/bad\/ImagePolicy.*imageLocations\[0\]\.pullPolicyField goes with "image"/s);
  });
});
