import * as crypto from 'crypto';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { ImageLock } from '../../lib/core/lock/image-lock';
import {
  Deployment, Image, ImagePolicy, ImagePolicyViolationError, Pod, PrePullDaemonSet, RegistryPullSecret, StatefulSet,
} from '../../lib/pulumi';
import { PullSecretError } from '../../lib/core/credentials/pull-secret';
import { CapturedResource, runProgram, snapshotYaml } from './harness';

const FIXTURES = path.join(__dirname, 'fixtures');
const publicLock = () => ImageLock.load(path.join(FIXTURES, 'kubepin.lock.json'));
// The private image has no public digest: the test computes one from bytes it made, as a registry would.
const PRIVATE_DIGEST = `sha256:${crypto.createHash('sha256').update('{"schemaVersion":2,"test":"ghcr.io/acme/web:1.4.2"}').digest('hex')}`;

function testLock(): ImageLock {
  const lock = publicLock();
  lock.set('ghcr.io/acme/web:1.4.2', { digest: PRIVATE_DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json' });
  return lock;
}

function only(resources: CapturedResource[], type: string, name?: string): CapturedResource {
  const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  expect(found).toHaveLength(1);
  return found[0];
}

function parentOf(resource: pulumi.Resource): unknown {
  return (resource as unknown as { __parentResource?: unknown }).__parentResource;
}

describe('components', () => {
  test('Deployment: pinned, explicit policy, only the serving pull secret attached; children parented; snapshot', async () => {
    const lock = testLock();
    let web: Deployment | undefined;
    const { resources } = await runProgram(() => {
      RegistryPullSecret.fromExistingSecret('ghcr', { secretName: 'ghcr-pull', registries: ['ghcr.io/acme'] });
      RegistryPullSecret.fromExistingSecret('quay', { secretName: 'quay-pull', registries: ['quay.io'] });
      web = new Deployment('web', {
        lock,
        metadata: { name: 'web' },
        replicas: 2,
        containers: [{ name: 'web', image: Image.of('ghcr.io/acme/web:1.4.2'), ports: [{ containerPort: 8080 }] }],
        initContainers: [{ name: 'wait', image: Image.of('busybox:1.36.1'), pullPolicy: 'Always' }],
      });
    });
    const deployment = only(resources, 'kubernetes:apps/v1:Deployment', 'web');
    const spec = deployment.inputs.spec.template.spec;
    expect(spec.containers[0].image).toBe(`ghcr.io/acme/web:1.4.2@${PRIVATE_DIGEST}`);
    expect(spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(spec.initContainers[0]).toMatchObject({ imagePullPolicy: 'Always', image: `docker.io/library/busybox:1.36.1@${lock.get('busybox:1.36.1')!.digest}` });
    // quay-pull serves no image of this pod: the kubelet would never use it, so it is not listed.
    expect(spec.imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
    expect(deployment.inputs.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'web' } });
    expect(only(resources, 'kubepin:index:Deployment').custom).toBe(false);
    expect(parentOf(web!.deployment)).toBe(web);
    expect(snapshotYaml(resources)).toMatchSnapshot();
  });

  test('StatefulSet and Pod take the same vocabulary; a workload-level pullPolicy applies to containers without one', async () => {
    const { resources } = await runProgram(() => {
      new StatefulSet('db', {
        lock: testLock(),
        metadata: { name: 'db' },
        spec: { serviceName: 'db' },
        pullPolicy: 'Always',
        containers: [{ name: 'postgres', image: Image.of('postgres:16.4') }],
      });
      new Pod('debug', { lock: testLock(), metadata: { name: 'debug' }, containers: [{ name: 'sh', image: 'busybox:1.36.1' }] });
    });
    const db = only(resources, 'kubernetes:apps/v1:StatefulSet');
    expect(db.inputs.spec.serviceName).toBe('db');
    expect(db.inputs.spec.template.spec.containers[0]).toMatchObject({ imagePullPolicy: 'Always', image: expect.stringMatching(/^docker\.io\/library\/postgres:16\.4@sha256:[0-9a-f]{64}$/) });
    const pod = only(resources, 'kubernetes:core/v1:Pod');
    expect(pod.inputs.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'debug' });
    expect(pod.inputs.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  test('Never works with a PrePullDaemonSet, and the workload depends on it', async () => {
    let prePull: PrePullDaemonSet | undefined;
    let web: Deployment | undefined;
    const { resources } = await runProgram(() => {
      prePull = new PrePullDaemonSet('prepull', { lock: testLock(), images: ['nginx:1.27.5'], skipAwait: true, customTimeouts: { create: '20m', update: '20m' } });
      web = new Deployment('web', { lock: testLock(), prePull, containers: [{ name: 'web', image: Image.of('nginx:1.27.5'), pullPolicy: 'Never' }] });
    });
    const deployment = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(deployment.inputs.spec.template.spec.containers[0].imagePullPolicy).toBe('Never');
    const ds = only(resources, 'kubernetes:apps/v1:DaemonSet');
    expect(ds.inputs.metadata.annotations['pulumi.com/skipAwait']).toBe('true');
    expect(ds.inputs.spec.template.spec.initContainers.map((c: { image: string }) => c.image)).toContain(deployment.inputs.spec.template.spec.containers[0].image);
    // What the engine receives: the Deployment waits for the pre-puller, which waits at most 20 minutes.
    // (the engine gets the component's children: the DaemonSet itself)
    expect(deployment.dependencies).toContain('urn:pulumi:test::kubepin-test::kubepin:index:PrePullDaemonSet$kubernetes:apps/v1:DaemonSet::prepull');
    expect(ds.customTimeouts).toEqual({ create: '20m', update: '20m' });
    expect(prePull!.images).toEqual([`docker.io/library/nginx:1.27.5@${publicLock().get('nginx:1.27.5')!.digest}`]);
    expect(parentOf(web!.deployment)).toBe(web);
  });

  test('prePull: true makes a pre-puller child with the workload\'s images and node scope', async () => {
    let web: Deployment | undefined;
    const { resources } = await runProgram(() => {
      web = new Deployment('web', {
        lock: testLock(), prePull: true,
        podSpec: { nodeSelector: { pool: 'web' } },
        containers: [{ name: 'web', image: Image.of('nginx:1.27.5') }],
      });
    });
    const ds = only(resources, 'kubernetes:apps/v1:DaemonSet');
    expect(ds.inputs.metadata.name).toBe('web-prepull');
    expect(ds.inputs.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', pool: 'web' });
    expect(parentOf(web!.prePull!)).toBe(web);
    expect(only(resources, 'kubepin:index:PrePullDaemonSet').name).toBe('web-prepull');
  });

  test('Never without a pre-puller fails with the component name and the fix', async () => {
    const run = runProgram(() => {
      new Deployment('web', { lock: testLock(), containers: [{ name: 'web', image: Image.of('nginx:1.27.5'), pullPolicy: 'Never' }] });
    });
    await expect(run).rejects.toThrow(ImagePolicyViolationError);
    await expect(run).rejects.toThrow(/kubepin:index:Deployment "web".*\n.*never-without-prepull.*Fix: pre-pull the image/);
  });

  test('an invalid image fails with the component name and the kubelet rule', async () => {
    const run = runProgram(() => {
      new Deployment('web', { lock: testLock(), containers: [{ name: 'web', image: Image.of('ghcr.io/Acme/web:1.4.2') }] });
    });
    await expect(run).rejects.toThrow(/kubepin:index:Deployment "web".*\n.*invalid-image .*containers\[0\]\.image/);
  });

  test('bad arguments are usage errors naming the component and the fix', async () => {
    await expect(runProgram(() => new Deployment('web', { containers: [] }))).rejects.toThrow(/^kubepin:index:Deployment "web": give at least one container, e\.g\./);
    await expect(runProgram(() => new Pod('p', { containers: [{ name: 'x', image: 42 as never }] })))
      .rejects.toThrow(/^kubepin:index:Pod "p": containers\[0\]\.image must be an Image \(Image\.of\("ghcr\.io\/acme\/api:1\.4\.2"\)\) or a reference string, got number/);
    await expect(runProgram(() => new StatefulSet('s', { pullPolicy: 'Sometimes' as never, containers: [{ name: 'x', image: 'nginx:1.27.5' }] })))
      .rejects.toThrow(/^kubepin:index:StatefulSet "s": pullPolicy "Sometimes" is not one of Always, IfNotPresent, Never/);
    await expect(runProgram(() => new Deployment('d', { prePull: 'yes' as never, containers: [{ name: 'x', image: 'nginx:1.27.5' }] })))
      .rejects.toThrow(/prePull must be true, false or a PrePullDaemonSet/);
  });

  test('strict: an image missing from the lock fails the component', async () => {
    const run = runProgram(() => {
      new Deployment('web', { lock: testLock(), strict: true, containers: [{ name: 'web', image: Image.of('nginx:1.28.0') }] });
    });
    await expect(run).rejects.toThrow(/kubepin:index:Deployment "web".*\n.*unpinned-image/);
  });

  test('a warning is logged once although the component and the stack policy both check the workload', async () => {
    const { logs } = await runProgram(() => {
      ImagePolicy.register({ lock: testLock() });
      new Deployment('web', { containers: [{ name: 'web', image: Image.of('nginx:1.28.0') }] });
    });
    expect(logs.filter((l) => l.includes('unpinned-image'))).toHaveLength(1);
  });

  test('the stack policy\'s options (lock, strictness) reach the components', async () => {
    const run = runProgram(() => {
      ImagePolicy.register({ lock: testLock(), strict: true });
      new Deployment('web', { containers: [{ name: 'web', image: Image.of('nginx:1.28.0') }] });
    });
    await expect(run).rejects.toThrow(/unpinned-image/);
  });
});

describe('RegistryPullSecret', () => {
  test('fromCredentials: the password comes from the environment and the Secret data is a Pulumi secret', async () => {
    const token = crypto.randomBytes(12).toString('hex');
    const { resources } = await runProgram(() => {
      RegistryPullSecret.fromCredentials('ghcr', { credentials: [{ registry: 'ghcr.io/acme', username: 'bot', passwordEnv: 'GHCR_TOKEN' }], env: { GHCR_TOKEN: token } });
    });
    const secret = only(resources, 'kubernetes:core/v1:Secret');
    expect(secret.secretPaths).toEqual(['data']);
    expect(secret.inputs.type).toBe('kubernetes.io/dockerconfigjson');
    const payload = JSON.parse(Buffer.from(secret.inputs.data['.dockerconfigjson'], 'base64').toString('utf8'));
    expect(Object.keys(payload.auths)).toEqual(['ghcr.io/acme']);
    expect(payload.auths['ghcr.io/acme'].password === token).toBe(true);
    expect(snapshotYaml(resources)).not.toContain(Buffer.from(JSON.stringify(payload)).toString('base64'));
  });

  test('a literal password is refused with the resource name and without echoing it', async () => {
    const password = `literal-${crypto.randomBytes(8).toString('hex')}`;
    const run = runProgram(() => {
      RegistryPullSecret.fromCredentials('ghcr', { credentials: [{ registry: 'ghcr.io', username: 'bot', password }] });
    });
    await expect(run).rejects.toThrow(PullSecretError);
    const error = await run.catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^kubepin:index:RegistryPullSecret "ghcr": a literal password for ghcr.io .*Fix: use passwordEnv/);
    expect((error as Error).message).not.toContain(password);
  });

  test('a missing environment variable names the variable, not a value', async () => {
    const run = runProgram(() => {
      RegistryPullSecret.fromCredentials('ghcr', { credentials: [{ registry: 'ghcr.io', username: 'bot', passwordEnv: 'NOT_SET_ANYWHERE' }], env: {} });
    });
    await expect(run).rejects.toThrow(/kubepin:index:RegistryPullSecret "ghcr": environment variable NOT_SET_ANYWHERE .* is not set/);
  });

  test('fromExternalSecret makes an ExternalSecret custom resource; a secret declared after its users is a loud warning', async () => {
    const { resources, logs } = await runProgram(() => {
      new Deployment('web', { lock: testLock(), containers: [{ name: 'web', image: Image.of('ghcr.io/acme/web:1.4.2') }] });
      RegistryPullSecret.fromExternalSecret('ghcr', {
        secretName: 'ghcr-pull', registries: ['ghcr.io/acme'], secretStore: { name: 'vault', kind: 'ClusterSecretStore' }, remote: { key: 'ci/ghcr' },
      });
    });
    const external = only(resources, 'kubernetes:external-secrets.io/v1beta1:ExternalSecret');
    expect(external.inputs.spec.target).toMatchObject({ name: 'ghcr-pull', template: { type: 'kubernetes.io/dockerconfigjson' } });
    expect(logs.some((l) => /warn: kubepin: kubepin:index:RegistryPullSecret "ghcr" serves images of resources created before it \(kubepin:index:Deployment "web"\)/.test(l))).toBe(true);
  });
});
