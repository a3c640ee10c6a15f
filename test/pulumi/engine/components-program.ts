/**
 * A Pulumi program run by Pulumi's real engine (components.test.ts): every component kind that
 * creates Kubernetes objects, from local files only (no network, no cluster; the stack's provider
 * renders YAML). Environment knobs, set by the test:
 * - KUBEPIN_TEST_WITH_KUBEPIN=0: the same program without kubepin (no policy, no kubepin components),
 *   the baseline for "nothing else changed";
 * - KUBEPIN_TEST_MISSING_IMAGE=<image>: one more plain Deployment whose image is not in the lock
 *   (strict mode must fail `pulumi up` with kubepin's finding).
 */
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import { ImageLock } from '../../../lib/core/lock/image-lock';
import { Deployment, Image, ImagePolicy, PrePullDaemonSet, PullPolicy, RegistryPullSecret } from '../../../lib/pulumi';

const withKubepin = process.env.KUBEPIN_TEST_WITH_KUBEPIN !== '0';
const fixtures = path.resolve(__dirname, '..', '..', 'fixtures', 'engine');
const namespace = 'apps';
const lock = ImageLock.load(path.resolve(__dirname, '..', '..', '..', 'kubepin.lock.json'));

// A plain resource created before the policy (no images: the policy does not need to see it).
new k8s.core.v1.Namespace('apps', { metadata: { name: namespace } });

if (withKubepin) {
  ImagePolicy.register({
    lock,
    strict: true,
    defaultPullPolicy: PullPolicy.IfNotPresent,
    publicRegistries: ['registry.k8s.io'],
  });
  // Docker Hub images get this secret, by registry; registry.k8s.io's get none.
  RegistryPullSecret.fromExistingSecret('hub', { secretName: 'hub-pull', registries: ['docker.io'], namespace });
}

// helm.v4.Chart: a remote component (the provider renders the chart and registers its children).
new k8s.helm.v4.Chart('web4', { chart: path.join(fixtures, 'charts', 'web'), namespace });
// helm.v3.Chart: rendered in the program (the provider's helm template invoke).
new k8s.helm.v3.Chart('web3', { path: path.join(fixtures, 'charts', 'web'), namespace, values: { replicas: 1 } });
// yaml.v2.ConfigFile: remote.
new k8s.yaml.v2.ConfigFile('cf2', { file: path.join(fixtures, 'manifests', 'config-file-v2.yaml') });
// yaml.v2.ConfigGroup from files, inline YAML and objects: remote.
new k8s.yaml.v2.ConfigGroup('cg2', {
  files: [path.join(fixtures, 'manifests', 'config-group-file.yaml')],
  yaml: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: cg-inline\nspec:\n  containers:\n    - name: inline\n      image: redis:7.4.2\n',
  objs: [{
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'cg-objs' },
    spec: { selector: { matchLabels: { app: 'cg-objs' } }, template: { metadata: { labels: { app: 'cg-objs' } }, spec: { containers: [{ name: 'agent', image: 'busybox:1.36.1' }] } } },
  }],
});
// kustomize.v2.Directory from a local kustomization: remote.
new k8s.kustomize.v2.Directory('kust', { directory: path.join(fixtures, 'kustomize') });
// yaml.ConfigFile (v1): rendered in the program.
new k8s.yaml.ConfigFile('cf1', { file: path.join(fixtures, 'manifests', 'config-file-v1.yaml') });

// A plain resource created after the policy.
new k8s.batch.v1.CronJob('nightly', {
  metadata: { name: 'nightly', namespace },
  spec: {
    schedule: '0 1 * * *',
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'report', image: 'postgres:16.4', command: ['true'] }] } } } },
  },
});

if (process.env.KUBEPIN_TEST_MISSING_IMAGE) {
  new k8s.apps.v1.Deployment('unlocked', {
    metadata: { name: 'unlocked', namespace },
    spec: {
      selector: { matchLabels: { app: 'unlocked' } },
      template: { metadata: { labels: { app: 'unlocked' } }, spec: { containers: [{ name: 'app', image: process.env.KUBEPIN_TEST_MISSING_IMAGE }] } },
    },
  });
}

if (withKubepin) {
  // kubepin's own components: a pre-pulled Deployment and an explicit pre-puller.
  new Deployment('shop', {
    metadata: { name: 'shop', namespace },
    podMetadata: { labels: { app: 'shop' } },
    prePull: true,
    containers: [{ name: 'nginx', image: Image.of('nginx:1.27.5'), pullPolicy: PullPolicy.Never }],
  });
  new PrePullDaemonSet('warm', { name: 'warm', namespace, images: ['redis:7.4.2', 'postgres:16.4'] });
}
