/**
 * The parity app (app.ts) as a Pulumi program, and its lock: app.test.ts runs it under mocks,
 * engine-program.ts under Pulumi's real engine (test/parity/engine.test.ts).
 */
import * as crypto from 'crypto';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import * as pulumiFace from '../../lib/pulumi';
import { API_LABELS, API_POD, GHCR, NAMESPACE, POLICY, PREPULL, QUAY, WORKER } from './app';

// Private images have no public digest: computed here from bytes, as a registry computes them.
export const digestOf = (text: string): string => `sha256:${crypto.createHash('sha256').update(text).digest('hex')}`;

/** The repository's lock plus the app's two private images. */
export function parityLock(): ImageLock {
  const l = ImageLock.load(path.join(__dirname, '..', '..', 'kubepin.lock.json'));
  l.set('ghcr.io/acme/api:2.0.1', { digest: digestOf('api 2.0.1 index'), mediaType: 'application/vnd.oci.image.index.v1+json' });
  l.set('quay.io/acme/worker:3.1.0', { digest: digestOf('worker 3.1.0 index'), mediaType: 'application/vnd.oci.image.index.v1+json' });
  return l;
}

/** Declares the app in the running Pulumi program (policy first, then every resource). */
export function definePulumiApp(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require('@pulumi/kubernetes') as typeof import('@pulumi/kubernetes');
  pulumiFace.ImagePolicy.register({ lock: parityLock(), ...POLICY });
  pulumiFace.RegistryPullSecret.fromCredentials('ghcr', { secretName: GHCR.name, namespace: NAMESPACE, credentials: [{ registry: GHCR.registry, username: GHCR.username, passwordEnv: GHCR.passwordEnv }] });
  const { name, ...external } = QUAY;
  pulumiFace.RegistryPullSecret.fromExternalSecret('quay', { secretName: name, namespace: NAMESPACE, ...external });
  const prePull = new pulumiFace.PrePullDaemonSet('prepull', { namespace: NAMESPACE, ...PREPULL });
  const { containers, initContainers, ...podSpec } = API_POD;
  const typed = (list: ReadonlyArray<{ image: string; imagePullPolicy: string; name: string }>) => list.map(({ image, imagePullPolicy, ...rest }) => ({ ...rest, image: pulumiFace.Image.of(image), pullPolicy: imagePullPolicy as pulumiFace.PullPolicy }));
  new pulumiFace.Deployment('api', {
    metadata: { name: 'api', namespace: NAMESPACE },
    podMetadata: { labels: API_LABELS },
    prePull,
    podSpec,
    containers: typed(containers),
    initContainers: typed(initContainers),
  });
  const { apiVersion: _a, kind: _k, ...worker } = WORKER;
  new k8s.apps.v1.Deployment('worker', worker as any);
}
