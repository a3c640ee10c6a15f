/**
 * The example shop of examples/cdk8s, as a Pulumi program: the same web Deployment (pre-pulled),
 * Postgres StatefulSet, migration Job and vendored Redis YAML, pinned from the same
 * kubepin.lock.json by the same core. test/parity checks that both produce the same objects.
 *
 * In your own program, import from 'kubepin/pulumi' and 'kubepin' instead of the relative paths.
 */
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { Deployment, Image, ImagePolicy, PullPolicy, RegistryPullSecret, StatefulSet } from '../../lib/pulumi';

const namespace = 'shop';
/** The lock written by `kubepin lock`, at the repository root (shared with the cdk8s example). */
const lock = ImageLock.load(path.resolve(__dirname, '..', '..', 'kubepin.lock.json'));

// First, before any resource: a stack transform only sees resources created after it.
ImagePolicy.register({
  lock,
  // Every image must be in the lock (run `kubepin lock` after changing an image).
  strict: true,
  defaultPullPolicy: PullPolicy.IfNotPresent,
  publicRegistries: ['registry.k8s.io'],
  privateRegistries: ['registry.shop.test'],
  allowedRegistries: ['docker.io', 'registry.k8s.io', 'registry.shop.test'],
});

// Docker Hub limits anonymous pulls, so pods pulling from it use the cluster's Hub account.
// The Secret already exists in the cluster: nothing secret is in the program or the state.
// Declared before the workloads: they are pinned (and get their secrets) when created.
const hub = RegistryPullSecret.fromExistingSecret('dockerhub', { secretName: 'dockerhub-pull', registries: ['docker.io'], namespace });
// The shop's private registry; kubepin.config.json requires its images to be signed (docs/signatures.md).
RegistryPullSecret.fromExistingSecret('shop-registry', { secretName: 'shop-registry-pull', registries: ['registry.shop.test'], namespace });

// cdk8s-plus writes these defaults into every pod; a Pulumi program spells them out to get the
// same objects (they are good defaults anyway: bounded resources, no privilege escalation).
const resources = { limits: { cpu: '1500m', memory: '2048Mi' }, requests: { cpu: '1000m', memory: '512Mi' } };
const hardened = { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true };
const rootWritable = { ...hardened, readOnlyRootFilesystem: false, runAsNonRoot: false };
const podDefaults = {
  automountServiceAccountToken: false,
  dnsPolicy: 'ClusterFirst',
  hostNetwork: false,
  restartPolicy: 'Always',
  securityContext: { fsGroupChangePolicy: 'Always', runAsNonRoot: true },
  setHostnameAsFQDN: false,
  terminationGracePeriodSeconds: 30,
};
// The pod labels cdk8s-plus gave these workloads. Selectors are immutable, so keeping them lets
// this program take over objects the cdk8s app deployed; a new app would use any labels.
const webLabels = { 'cdk8s.io/metadata.addr': 'shop-web-c80b2a96' };
const dbLabels = { 'cdk8s.io/metadata.addr': 'shop-db-c8b8558a' };
const migrateLabels = { 'cdk8s.io/metadata.addr': 'shop-migrate-c8123702' };

const web = new Deployment('web', {
  metadata: { namespace },
  podMetadata: { labels: webLabels },
  replicas: 3,
  spec: { minReadySeconds: 0, progressDeadlineSeconds: 600, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } },
  // Pre-pulled on every node, so a rollout never waits for a pull.
  prePull: true,
  podSpec: podDefaults,
  initContainers: [{
    name: 'wait-for-db',
    image: Image.of('busybox:1.36.1'),
    command: ['sh', '-c', 'until nc -z shop-db 5432; do sleep 2; done'],
    resources,
    securityContext: hardened,
  }],
  containers: [{
    name: 'nginx',
    image: Image.of('nginx:1.27.5'),
    ports: [{ containerPort: 8080 }],
    resources,
    securityContext: rootWritable,
    startupProbe: { failureThreshold: 3, tcpSocket: { port: 8080 } },
  }, {
    name: 'payments',
    image: Image.of('registry.shop.test/shop/payments:1.0'),
    resources,
    securityContext: hardened,
  }],
});
new k8s.core.v1.Service('web-service', {
  metadata: { name: 'shop-web', namespace },
  spec: { externalIPs: [], ports: [{ port: 80, targetPort: 8080 }], selector: webLabels, type: 'ClusterIP' },
});

new k8s.core.v1.Service('db-service', {
  metadata: { name: 'shop-db', namespace },
  spec: { clusterIP: 'None', externalIPs: [], ports: [{ port: 5432 }], selector: dbLabels, type: 'ClusterIP' },
});
new StatefulSet('db', {
  metadata: { namespace },
  podMetadata: { labels: dbLabels },
  replicas: 1,
  spec: { serviceName: 'shop-db', minReadySeconds: 0, podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } },
  podSpec: { ...podDefaults, volumes: [{ name: 'data', emptyDir: {} }] },
  containers: [{
    name: 'postgres',
    image: Image.of('postgres:16.4'),
    ports: [{ containerPort: 5432 }],
    env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
    resources,
    securityContext: rootWritable,
    startupProbe: { failureThreshold: 3, tcpSocket: { port: 5432 } },
    volumeMounts: [{ mountPath: '/var/lib/postgresql/data', name: 'data' }],
  }],
});

// A plain @pulumi/kubernetes Job: the stack policy pins it too. It runs as a ServiceAccount
// that carries the Hub secret, so the pod itself lists none (the kubelet copies the account's in).
const migrator = new k8s.core.v1.ServiceAccount('migrator', {
  metadata: { name: 'shop-migrator', namespace },
  automountServiceAccountToken: false,
  imagePullSecrets: [{ name: hub.secretName }],
});
new k8s.batch.v1.Job('migrate', {
  metadata: { namespace },
  spec: {
    template: {
      metadata: { labels: migrateLabels },
      spec: {
        ...podDefaults,
        restartPolicy: 'Never',
        serviceAccountName: 'shop-migrator',
        containers: [{
          name: 'migrate',
          image: 'busybox:1.36.1',
          command: ['sh', '-c', 'echo running migrations'],
          resources,
          securityContext: hardened,
        }],
      },
    },
  },
}, { dependsOn: [migrator] });

// Third-party YAML, included as is; the stack policy pins its images like ours.
new k8s.yaml.ConfigFile('redis-cache', {
  file: path.resolve(__dirname, '..', 'cdk8s', 'vendor', 'redis-cache.yaml'),
  transformations: [(object: { metadata?: { namespace?: string } }) => {
    object.metadata = { ...object.metadata, namespace };
  }],
});

/** The pinned images of the web pods, as Pulumi shows them in the stack outputs. */
export const webImages = web.deployment.spec.template.spec.containers.apply((cs) => cs.map((c) => c.image));
