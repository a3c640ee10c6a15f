import * as fs from 'fs';
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { ORIGINAL_IMAGES_ANNOTATION } from '../../lib/core/policy/engine';
import { ImagePolicy, ImagePolicyRegistrationError, ImagePolicyViolationError, PrePullDaemonSet, supportsResourceTransforms } from '../../lib/pulumi';
import { CapturedResource, runProgram, yamlDecode } from './harness';

const FIXTURES = path.join(__dirname, 'fixtures');
const lock = ImageLock.load(path.join(FIXTURES, 'kubepin.lock.json'));
const NGINX = lock.get('nginx:1.27.5')!.digest;
const REDIS = lock.get('redis:7.4.2')!.digest;

function deploymentArgs(image: pulumi.Input<string>, extra: Record<string, unknown> = {}): k8s.apps.v1.DeploymentArgs {
  return {
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, ...extra }] } },
    },
  };
}

function containersOf(resource: CapturedResource): Array<Record<string, unknown>> {
  return resource.inputs.spec.template.spec.containers;
}

function only(resources: CapturedResource[], type: string, name?: string): CapturedResource {
  const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('ImagePolicy.register under setMocks (@pulumi/pulumi 3.248)', () => {
  test('falls back to the stack transformation: the mock monitor cannot take a resource transform', async () => {
    let api: string | undefined;
    let supported: boolean | undefined;
    await runProgram(() => {
      // The runtime's feature flag says "transforms" inside a mocked stack; the detection must not believe it.
      supported = supportsResourceTransforms();
      api = ImagePolicy.register({ lock }).registeredWith;
    });
    expect(supported).toBe(false);
    expect(api).toBe('transformations');
  });

  test('pins a plain k8s.apps.v1.Deployment it did not create, with an explicit pull policy and the original recorded', async () => {
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.27.5'));
    });
    const web = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(containersOf(web)).toEqual([{ name: 'web', image: `docker.io/library/nginx:1.27.5@${NGINX}`, imagePullPolicy: 'IfNotPresent' }]);
    expect(JSON.parse(web.inputs.spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ web: 'nginx:1.27.5' });
  });

  test('pins images given as Outputs (resolved when known), keeping the other inputs', async () => {
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      const tag = pulumi.output('1.27.5');
      new k8s.apps.v1.Deployment('web', deploymentArgs(pulumi.interpolate`nginx:${tag}`, { args: ['-g', 'daemon off;'] }));
    });
    const web = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(containersOf(web)[0]).toEqual({ name: 'web', image: `docker.io/library/nginx:1.27.5@${NGINX}`, imagePullPolicy: 'IfNotPresent', args: ['-g', 'daemon off;'] });
    expect(web.inputs.metadata).toEqual({ name: 'web' });
  });

  test('pins the children of a k8s.yaml.ConfigFile (vendored YAML) and leaves other kinds alone', async () => {
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.yaml.ConfigFile('vendor', { file: path.join(FIXTURES, 'vendor.yaml') });
    });
    const cache = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(cache.name).toBe('cache');
    expect(containersOf(cache)).toEqual([{ name: 'redis', image: `docker.io/library/redis:7.4.2@${REDIS}`, imagePullPolicy: 'IfNotPresent' }]);
    const config = only(resources, 'kubernetes:core/v1:ConfigMap');
    expect(config.inputs.data).toEqual({ maxmemory: '64mb' });
  });

  test('pins a ConfigGroup of inline YAML, and is idempotent when applied twice (stack + per-resource)', async () => {
    const yaml = `apiVersion: batch/v1
kind: Job
metadata: { name: migrate }
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers: [{ name: wait, image: "busybox:1.36.1" }]
      containers: [{ name: migrate, image: "postgres:16.4", imagePullPolicy: Always }]
`;
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.yaml.ConfigGroup('jobs', { yaml }, ImagePolicy.resourceOptions({ lock }));
    });
    const job = only(resources, 'kubernetes:batch/v1:Job');
    const spec = job.inputs.spec.template.spec;
    expect(spec.initContainers[0]).toEqual({ name: 'wait', image: `docker.io/library/busybox:1.36.1@${lock.get('busybox:1.36.1')!.digest}`, imagePullPolicy: 'IfNotPresent' });
    // An explicit policy is the user's choice and is kept.
    expect(spec.containers[0]).toEqual({ name: 'migrate', image: `docker.io/library/postgres:16.4@${lock.get('postgres:16.4')!.digest}`, imagePullPolicy: 'Always' });
    expect(JSON.parse(job.inputs.spec.template.metadata.annotations[ORIGINAL_IMAGES_ANNOTATION])).toEqual({ 'init:wait': 'busybox:1.36.1', migrate: 'postgres:16.4' });
  });

  test('pins the children of a Helm v3 Chart (rendered in the program process)', async () => {
    // No helm binary or provider here: the mock answers the provider's `helm template` invoke
    // with the chart's rendered manifest, as the provider would.
    const rendered = fs.readFileSync(path.join(FIXTURES, 'vendor.yaml'), 'utf8');
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.helm.v3.Chart('cache', { chart: 'redis', fetchOpts: { repo: 'https://charts.example.invalid' } });
    }, { calls: { 'kubernetes:helm:template': () => ({ result: yamlDecode(rendered) }) } });
    const cache = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(containersOf(cache)).toEqual([{ name: 'redis', image: `docker.io/library/redis:7.4.2@${REDIS}`, imagePullPolicy: 'IfNotPresent' }]);
  });

  test('the per-resource option pins only the resource it is given to', async () => {
    const { resources } = await runProgram(() => {
      new k8s.apps.v1.Deployment('pinned', deploymentArgs('nginx:1.27.5'), ImagePolicy.resourceOptions({ lock }));
      new k8s.apps.v1.Deployment('left', deploymentArgs('nginx:1.27.5'));
    });
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment', 'pinned'))[0].image).toBe(`docker.io/library/nginx:1.27.5@${NGINX}`);
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment', 'left'))[0].image).toBe('nginx:1.27.5');
  });

  test('registering after resources exist is an error naming them (a stack transform would miss them)', async () => {
    const run = runProgram(() => {
      new k8s.apps.v1.Deployment('early', deploymentArgs('nginx:1.27.5'));
      ImagePolicy.register({ lock });
    });
    await expect(run).rejects.toThrow(ImagePolicyRegistrationError);
    await expect(run).rejects.toThrow(/after 1 resource\(s\) were created \(kubernetes:apps\/v1:Deployment "early"\).*pulumi #16304.*call ImagePolicy.register\(\) at the top/);
  });

  test('a provider or a ConfigMap created first is no gap; a component created first is', async () => {
    const { resources } = await runProgram(() => {
      const provider = new k8s.Provider('cluster', { namespace: 'shop' });
      new k8s.core.v1.ConfigMap('settings', { data: { a: 'b' } }, { provider });
      ImagePolicy.register({ lock });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.27.5'), { provider });
    });
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment'))[0].image).toBe(`docker.io/library/nginx:1.27.5@${NGINX}`);
    await expect(runProgram(() => {
      new k8s.yaml.ConfigGroup('early', { yaml: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n' });
      ImagePolicy.register({ lock });
    })).rejects.toThrow(/after 1 resource\(s\) were created \(kubernetes:yaml:ConfigGroup "early"\)/);
  });

  test('lateRegistration: warn logs the gap instead and still pins what comes after', async () => {
    const { resources, logs } = await runProgram(() => {
      new k8s.apps.v1.Deployment('early', deploymentArgs('nginx:1.27.5'));
      ImagePolicy.register({ lock, lateRegistration: 'warn' });
      new k8s.apps.v1.Deployment('late', deploymentArgs('nginx:1.27.5'));
    });
    expect(logs.some((l) => l.startsWith('warn: kubepin: ImagePolicy.register() was called after 1 resource(s)'))).toBe(true);
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment', 'early'))[0].image).toBe('nginx:1.27.5');
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment', 'late'))[0].image).toBe(`docker.io/library/nginx:1.27.5@${NGINX}`);
  });

  test('outside a Pulumi program, register() says where it must run', () => {
    expect(() => ImagePolicy.register({ lock })).toThrow(/must run inside a Pulumi program/);
  });
});

describe('the transform for engines that run `transforms` (props arrive resolved)', () => {
  test('pins a custom workload resource and leaves components and other kinds alone', async () => {
    const policy = new ImagePolicy({ lock });
    const props = { apiVersion: 'apps/v1', kind: 'Deployment', ...deploymentArgs('nginx:1.27.5') };
    const result = await policy.transform({ custom: true, type: 'kubernetes:apps/v1:Deployment', name: 'web', props, opts: {} });
    expect((result!.props.spec as any).template.spec.containers[0]).toEqual({ name: 'web', image: `docker.io/library/nginx:1.27.5@${NGINX}`, imagePullPolicy: 'IfNotPresent' });
    expect(await policy.transform({ custom: false, type: 'kubepin:index:Deployment', name: 'web', props: {}, opts: {} })).toBeUndefined();
    expect(await policy.transform({ custom: true, type: 'kubernetes:core/v1:ConfigMap', name: 'c', props: { data: {} }, opts: {} })).toBeUndefined();
    // The input object is not changed: the engine keeps its own copy.
    expect((props.spec as any).template.spec.containers[0].image).toBe('nginx:1.27.5');
  });

  test('in a preview, an image the engine reports as unknown (missing) is left for the update to check', async () => {
    const policy = new ImagePolicy({ lock, strict: true });
    const props = { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'web' }] } } } };
    let preview: unknown;
    await runProgram(async () => {
      preview = await policy.transform({ custom: true, type: 'kubernetes:apps/v1:Deployment', name: 'web', props, opts: {} });
    }, { preview: true });
    expect((preview as { props: unknown }).props).toEqual(props);
    // Outside a preview a container without an image is an error, as the API server would say.
    let update: Promise<unknown> | undefined;
    await runProgram(() => {
      update = Promise.resolve(policy.transform({ custom: true, type: 'kubernetes:apps/v1:Deployment', name: 'web', props, opts: {} }));
      return update.catch(() => undefined);
    }, { preview: false });
    await expect(update).rejects.toThrow(/invalid-image/);
  });

  test('errors throw from the transform with the resource named', async () => {
    const policy = new ImagePolicy({ lock, strict: true });
    const props = { apiVersion: 'batch/v1', kind: 'CronJob', spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'x', image: 'nginx:0.0.1' }] } } } } } };
    await expect(policy.transform({ custom: true, type: 'kubernetes:batch/v1:CronJob', name: 'tick', props, opts: {} }))
      .rejects.toThrow(/kubernetes:batch\/v1:CronJob "tick".*\n.*unpinned-image .*spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.image/);
  });
});

describe('bad input through the stack policy', () => {
  test('an invalid image fails the program with the resource name, the rule and no registration', async () => {
    const run = runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.apps.v1.Deployment('web', deploymentArgs('Nginx:1.27.5'));
    });
    await expect(run).rejects.toThrow(ImagePolicyViolationError);
    await expect(run).rejects.toThrow(/kubernetes:apps\/v1:Deployment "web".*\n.*invalid-image Deployment web spec\.template\.spec\.containers\[0\]\.image: .*lowercase/);
  });

  test('strict mode: an image missing from the lock is an error with the fix', async () => {
    const run = runProgram(() => {
      ImagePolicy.register({ lock, strict: true });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.28.0'));
    });
    await expect(run).rejects.toThrow(/unpinned-image .*nginx:1\.28\.0 is not in the lock file.*run `npx kubepin lock`/);
  });

  test('non-strict: a missing image is a warning in the Pulumi log and the image stays as written', async () => {
    const { resources, logs } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.28.0'));
    });
    expect(containersOf(only(resources, 'kubernetes:apps/v1:Deployment'))[0]).toEqual({ name: 'web', image: 'nginx:1.28.0', imagePullPolicy: 'IfNotPresent' });
    expect(logs).toEqual([expect.stringMatching(/^warn: kubepin: kubernetes:apps\/v1:Deployment "web": warning unpinned-image/)]);
  });

  test('Never on a plain resource is allowed for images a PrePullDaemonSet covers, and the resource depends on it', async () => {
    const { resources } = await runProgram(() => {
      ImagePolicy.register({ lock });
      new PrePullDaemonSet('prepull', { images: ['nginx:1.27.5'] });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.27.5', { imagePullPolicy: 'Never' }));
    });
    const web = only(resources, 'kubernetes:apps/v1:Deployment');
    expect(containersOf(web)[0]).toMatchObject({ image: `docker.io/library/nginx:1.27.5@${NGINX}`, imagePullPolicy: 'Never' });
    expect(web.dependencies).toContain('urn:pulumi:test::kubepin-test::kubepin:index:PrePullDaemonSet$kubernetes:apps/v1:DaemonSet::prepull');
  });

  test('Never without a pre-puller is an error (ErrImageNeverPull)', async () => {
    const run = runProgram(() => {
      ImagePolicy.register({ lock });
      new k8s.apps.v1.Deployment('web', deploymentArgs('nginx:1.27.5', { imagePullPolicy: 'Never' }));
    });
    await expect(run).rejects.toThrow(/never-without-prepull .*ErrImageNeverPull/);
  });
});
