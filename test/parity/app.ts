/**
 * One app definition, engine-neutral data, that the parity test renders through both faces:
 * a private API pre-pulled and run with `Never`, a worker written as a plain manifest, a pull
 * secret built from credentials (password from the environment) and one from an ExternalSecret,
 * and an explicit pre-puller restricted to amd64 nodes of a tainted pool.
 */
export const NAMESPACE = 'payments';
export const PASSWORD_ENV = 'KUBEPIN_PARITY_GHCR_TOKEN';

export const GHCR = { name: 'ghcr-pull', registry: 'ghcr.io/acme', username: 'ci-bot', passwordEnv: PASSWORD_ENV } as const;
export const QUAY = {
  name: 'quay-pull',
  registries: ['quay.io/acme'],
  secretStore: { name: 'vault', kind: 'ClusterSecretStore' as const },
  remote: { key: 'ci/quay' },
};

export const POOL_TOLERATION = { key: 'pool', operator: 'Equal', value: 'payments', effect: 'NoSchedule' };
export const PREPULL = {
  name: 'payments-prepull',
  images: ['ghcr.io/acme/api:2.0.1', 'redis:7.4.2'],
  arch: 'amd64',
  tolerations: [POOL_TOLERATION],
};

export const API_LABELS = { 'app.kubernetes.io/name': 'api' };
/** The API's pod spec; its image is pre-pulled, so it may use `Never`. */
export const API_POD = {
  nodeSelector: { pool: 'payments' },
  tolerations: [POOL_TOLERATION],
  containers: [{ name: 'api', image: 'ghcr.io/acme/api:2.0.1', imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }] }],
  initContainers: [{ name: 'migrate', image: 'ghcr.io/acme/api:2.0.1', imagePullPolicy: 'Never', command: ['/api', 'migrate'] }],
};

/** A worker written as a plain manifest (neither face's typed workload). */
export const WORKER = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'worker', namespace: NAMESPACE },
  spec: {
    replicas: 2,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'worker' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'worker' } },
      spec: {
        containers: [
          { name: 'worker', image: 'quay.io/acme/worker:3.1.0', args: ['--queue', 'payments'] },
          { name: 'cache', image: 'redis:7.4.2' },
        ],
      },
    },
  },
};

/** The policy options both faces get. */
export const POLICY = {
  strict: true,
  privateRegistries: ['ghcr.io/acme', 'quay.io/acme'],
  publicRegistries: ['registry.k8s.io'],
};
