/**
 * A realistic cdk8s app pinned by kubepin: `npm run synth` writes the manifests to
 * dist/manifests, every image pinned from kubepin.lock.json with an explicit pull policy.
 *
 * In your own app, import from 'kubepin/cdk8s' instead of the relative paths below.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, ChartProps, Include } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Deployment, Image, ImagePolicy, PullPolicy, RegistryPullSecret, StatefulSet } from '../../lib/cdk8s';

/** The vendored YAML lives next to this file's source (tsc does not copy it to dist/). */
const VENDOR_DIR = fs.existsSync(path.join(__dirname, 'vendor'))
  ? path.join(__dirname, 'vendor')
  : path.resolve(__dirname, '..', '..', '..', 'examples', 'cdk8s', 'vendor');

/** The shop: a web front end, its database, a migration Job and a vendored Redis cache. */
export class ShopChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);

    // Docker Hub limits anonymous pulls, so pods pulling from it use the cluster's Hub
    // account. The Secret already exists in the cluster: nothing secret is synthesized.
    const hub = RegistryPullSecret.fromExistingSecret(this, 'DockerHub', 'dockerhub-pull', {
      registries: ['docker.io'],
      namespace: props.namespace,
    });

    // The payments service comes from the shop's private registry, whose account Secret also
    // exists in the cluster; kubepin.config.json requires its images to be signed by the release
    // key (docs/signatures.md), so the lock records which key verified the digest.
    RegistryPullSecret.fromExistingSecret(this, 'ShopRegistry', 'shop-registry-pull', {
      registries: ['registry.shop.test'],
      namespace: props.namespace,
    });

    const web = new Deployment(this, 'web', {
      replicas: 3,
      // Pre-pulled on every node, so a rollout never waits for a pull.
      prePull: true,
      initContainers: [{
        name: 'wait-for-db',
        image: Image.of('busybox:1.36.1'),
        command: ['sh', '-c', 'until nc -z shop-db 5432; do sleep 2; done'],
      }],
      containers: [{
        name: 'nginx',
        image: Image.of('nginx:1.27.5'),
        portNumber: 8080,
        securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false },
      }, {
        name: 'payments',
        image: Image.of('registry.shop.test/shop/payments:1.0'),
      }],
    });
    web.exposeViaService({ name: 'shop-web', ports: [{ port: 80, targetPort: 8080 }] });

    const db = new StatefulSet(this, 'db', {
      replicas: 1,
      service: new kplus.Service(this, 'db-service', { metadata: { name: 'shop-db' }, clusterIP: 'None', ports: [{ port: 5432 }] }),
      containers: [{
        name: 'postgres',
        image: Image.of('postgres:16.4'),
        portNumber: 5432,
        envVariables: { PGDATA: kplus.EnvValue.fromValue('/var/lib/postgresql/data/pgdata') },
        securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false },
      }],
    });
    db.containers[0].mount('/var/lib/postgresql/data', kplus.Volume.fromEmptyDir(this, 'db-data', 'data'));

    // A plain cdk8s-plus Job: the ImagePolicy pins it too (and replaces cdk8s-plus's implicit
    // `Always`). It runs as a ServiceAccount that carries the Hub secret instead of the pod.
    const migrator = new kplus.ServiceAccount(this, 'migrator', { metadata: { name: 'shop-migrator' } });
    hub.addToServiceAccount(migrator);
    new kplus.Job(this, 'migrate', {
      serviceAccount: migrator,
      containers: [{
        name: 'migrate',
        image: 'busybox:1.36.1',
        command: ['sh', '-c', 'echo running migrations'],
      }],
    });

    // Third-party YAML, included as is; its images are pinned like ours.
    new Include(this, 'redis-cache', { url: path.join(VENDOR_DIR, 'redis-cache.yaml') });
  }
}

/** Adds the shop and its image policy to `app`. */
export function buildShopApp(app: App): App {
  new ImagePolicy(app, 'ImagePolicy', {
    // Every image must be in kubepin.lock.json (run `kubepin lock` after changing an image).
    strict: true,
    defaultPullPolicy: PullPolicy.IfNotPresent,
    publicRegistries: ['registry.k8s.io'],
    privateRegistries: ['registry.shop.test'],
    allowedRegistries: ['docker.io', 'registry.k8s.io', 'registry.shop.test'],
  });
  new ShopChart(app, 'shop', { namespace: 'shop' });
  return app;
}

if (require.main === module) {
  buildShopApp(new App()).synth();
}
