import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { ORIGINAL_IMAGES_ANNOTATION } from '../../lib/core/policy/engine';
import { ImagePolicy } from '../../lib/pulumi';
import { runProgram } from './harness';

const FIXTURES = path.join(__dirname, 'fixtures');
const lock = ImageLock.load(path.join(FIXTURES, 'kubepin.lock.json'));
const NGINX = lock.get('nginx:1.27.5')!.digest;

// Shaped as Argo Rollouts' examples/rollout-canary.yaml and a Knative Service (test/fixtures/crds).
function rolloutArgs(image: string): k8s.apiextensions.CustomResourceArgs {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollouts-demo' },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: 'rollouts-demo' } },
      template: { metadata: { labels: { app: 'rollouts-demo' } }, spec: { containers: [{ name: 'rollouts-demo', image }] } },
      strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
    },
  };
}

describe('ImagePolicy and image locations (Pulumi, under setMocks)', () => {
  test('a CustomResource Rollout is pinned by the built-in preset', async () => {
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.apiextensions.CustomResource('rollout', rolloutArgs('nginx:1.27.5'));
    });
    const rollout = resources.find((r) => r.type === 'kubernetes:argoproj.io/v1alpha1:Rollout')!;
    expect(rollout.inputs.spec.template.spec.containers).toEqual([{ name: 'rollouts-demo', image: `docker.io/library/nginx:1.27.5@${NGINX}`, imagePullPolicy: 'IfNotPresent' }]);
    expect(JSON.parse(rollout.inputs.spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ 'rollouts-demo': 'nginx:1.27.5' });
  });

  test('a Knative Service is pinned only when the imageLocations option names it', async () => {
    for (const imageLocations of [[{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', podSpec: 'spec.template.spec' }], undefined]) {
      const { resources } = await runProgram(() => {
        ImagePolicy.register({ lock, ...(imageLocations ? { imageLocations } : {}) });
        new k8s.apiextensions.CustomResource('hello', {
          apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello' },
          spec: { template: { spec: { containers: [{ image: 'nginx:1.27.5' }] } } },
        });
      });
      const service = resources.find((r) => r.type === 'kubernetes:serving.knative.dev/v1:Service')!;
      expect(service.inputs.spec.template.spec.containers[0].image).toBe(imageLocations ? `docker.io/library/nginx:1.27.5@${NGINX}` : 'nginx:1.27.5');
    }
  });

  test('a Tekton Task (a kind no location covers) is named once per kind, with the imageLocations entry to add', async () => {
    const said: string[] = [];
    const task = (name: string): k8s.apiextensions.CustomResourceArgs => ({
      apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name },
      spec: { steps: [{ name: 'build', image: 'golang:1.22', script: 'go build ./...' }] },
    });
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock, onWarning: (m) => said.push(m) });
      new k8s.apiextensions.CustomResource('build', task('build'));
      new k8s.apiextensions.CustomResource('test', task('test'));
    });
    expect(resources.filter((r) => r.type === 'kubernetes:tekton.dev/v1:Task').map((r) => r.inputs.spec.steps[0].image)).toEqual(['golang:1.22', 'golang:1.22']);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('kubernetes:tekton.dev/v1:Task "build"');
    expect(said[0]).toContain('image-location-unknown');
    expect(said[0]).toContain('kubepin knows no image location for kind Task');
    expect(said[0]).toContain('{"apiVersion":"tekton.dev/*","kind":"Task","image":"spec.steps[].image","pullPolicyField":"imagePullPolicy"}');
  });
});
