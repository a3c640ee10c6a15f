import * as fs from 'fs';
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as cdk8sFace from '../../lib/cdk8s';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { buildPrePull } from '../../lib/prepull';
import * as pulumiFace from '../../lib/pulumi';
import { runProgram } from '../pulumi/harness';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

/**
 * An amd64-only image (an index without arm64, pushed to a real registry and locked by a real
 * `kubepin lock`) under a Deployment pinned to arm64 nodes: the same rule fails synthesis in
 * both faces, `kubepin check`, and the pre-pull DaemonSet's `arch`.
 */
describe('a workload scheduled on a platform its image lacks', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let image: string;
  let digest: string;
  let single: string;
  beforeAll(async () => {
    registry = await startRegistry();
    image = `${registry.host}/plat/amd-only:1.0`;
    digest = (await pushImage(registry, 'plat/amd-only', '1.0', { platforms: ['linux/amd64'] })).digest;
    single = `${registry.host}/plat/single-amd:1.0`;
    await pushImage(registry, 'plat/single-amd', '1.0', { format: 'docker', platforms: ['linux/amd64'] });
    dir = tempProject();
    writeFiles(dir, { 'kubepin.config.json': JSON.stringify({ platforms: ['linux/amd64'] }), 'src/app.yaml': deploymentYaml('app', [image, single]) });
    const run = await runKubepin(['lock', 'src'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
  afterAll(async () => {
    await registry?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lock = (): ImageLock => ImageLock.load(path.join(dir, 'kubepin.lock.json'));
  const podSpec = (nodeSelector?: Record<string, string>): Record<string, unknown> => ({ ...(nodeSelector ? { nodeSelector } : {}), containers: [{ name: 'web', image }] });
  const deployment = (spec: Record<string, unknown>) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec } },
  });
  const ARM64 = { 'kubernetes.io/arch': 'arm64' };
  const NOT_FOUND = /platform-not-found .*has no manifest for linux\/arm64, where the pod's nodeSelector \{kubernetes\.io\/arch: arm64\} sends it: .*offers linux\/amd64 .*ErrImagePull \("no match for platform in manifest: not found"\), then ImagePullBackOff\. Fix: publish the image for linux\/arm64/;

  test('the lock records that the index offers linux/amd64 only', () => {
    expect(lock().get(image)).toMatchObject({ digest, offeredPlatforms: ['linux/amd64'] });
  });

  test('cdk8s: synthesis fails with platform-not-found; the same Deployment on amd64 nodes synthesizes', () => {
    const chart = new Chart(Testing.app(), 'test');
    new cdk8sFace.ImagePolicy(chart, 'ImagePolicy', { lock: lock(), log: () => undefined });
    new ApiObject(chart, 'web', deployment(podSpec(ARM64)));
    expect(() => Testing.synth(chart)).toThrow(cdk8sFace.ImagePolicyError);
    expect(() => Testing.synth(chart)).toThrow(NOT_FOUND);

    const ok = new Chart(Testing.app(), 'ok');
    new cdk8sFace.ImagePolicy(ok, 'ImagePolicy', { lock: lock(), log: () => undefined });
    new ApiObject(ok, 'web', deployment(podSpec({ 'kubernetes.io/arch': 'amd64' })));
    expect(Testing.synth(ok)[0].spec.template.spec.containers[0].image).toBe(`${image}@${digest}`);
  });

  test('Pulumi (setMocks): the Deployment fails with platform-not-found', async () => {
    const run = runProgram(() => {
      pulumiFace.ImagePolicy.register({ lock: lock() });
      new k8s.apps.v1.Deployment('web', deployment(podSpec(ARM64)) as unknown as k8s.apps.v1.DeploymentArgs);
    });
    await expect(run).rejects.toThrow(pulumiFace.ImagePolicyViolationError);
    await expect(run).rejects.toThrow(NOT_FOUND);
  });

  test('a single-platform image: its platform, read from its config by kubepin lock, counts the same', () => {
    expect(lock().get(single)).toMatchObject({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', offeredPlatforms: ['linux/amd64'] });
    const chart = new Chart(Testing.app(), 'single');
    new cdk8sFace.ImagePolicy(chart, 'ImagePolicy', { lock: lock(), log: () => undefined });
    new ApiObject(chart, 'web', deployment({ nodeSelector: ARM64, containers: [{ name: 'web', image: single }] }));
    expect(() => Testing.synth(chart)).toThrow(/platform-not-found .*single-amd:1\.0 has no manifest for linux\/arm64/);
  });

  test('required node affinity on kubernetes.io/arch counts as well', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }] } } };
    const chart = new Chart(Testing.app(), 'affinity');
    new cdk8sFace.ImagePolicy(chart, 'ImagePolicy', { lock: lock(), log: () => undefined });
    new ApiObject(chart, 'web', deployment({ ...podSpec(), affinity }));
    expect(() => Testing.synth(chart)).toThrow(/platform-not-found .*where the pod's required node affinity kubernetes\.io\/arch In arm64 sends it/);
  });

  test('kubepin check: platform-not-found (ErrImagePull), from the lock in the working directory', async () => {
    writeFiles(dir, { 'dist/app.yaml': deploymentYaml('web', [`${image}@${digest}`]).replace('    spec:\n', '    spec:\n      nodeSelector: { kubernetes.io/arch: arm64 }\n') });
    const run = await runKubepin(['check', 'dist', '--format', 'json'], { cwd: dir });
    const findings = JSON.parse(run.stdout).findings.filter((f: { code: string }) => f.code.startsWith('platform-'));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'platform-not-found', severity: 'error', state: 'ErrImagePull', path: 'spec.template.spec.containers[0].image' });
    expect(run.code).toBe(1);
  });

  test('a cluster with arm64 nodes: a Deployment free to land anywhere gets platform-not-covered, a warning (synthesis, check)', async () => {
    // The lock stays as it was (locked before the cluster got arm64 nodes); only the config changes.
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ platforms: ['linux/amd64', 'linux/arm64'] }));
    try {
      const lines: string[] = [];
      const chart = new Chart(Testing.app(), 'warn');
      new cdk8sFace.ImagePolicy(chart, 'ImagePolicy', { lock: lock(), log: (l) => lines.push(l) });
      new ApiObject(chart, 'web', deployment(podSpec()));
      Testing.synth(chart);
      expect(lines.join('\n')).toMatch(/platform-not-covered .*has no manifest for linux\/arm64, and the pod may land on those nodes of the cluster/);

      writeFiles(dir, { 'dist/app.yaml': deploymentYaml('web', [`${image}@${digest}`]) });
      const run = await runKubepin(['check', 'dist', '--format', 'json'], { cwd: dir });
      expect(JSON.parse(run.stdout).findings.filter((f: { code: string }) => f.code.startsWith('platform-'))).toMatchObject([{ code: 'platform-not-covered', severity: 'warning' }]);
      expect(run.code).toBe(0);
    } finally {
      fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ platforms: ['linux/amd64'] }));
    }
  });

  test('the pre-pull DaemonSet\'s arch goes through the same rule', () => {
    const arm = buildPrePull({ images: [image], arch: 'arm64', lock: lock() });
    expect(arm.findings.map((f) => f.code)).toContain('platform-not-found');
    const amd = buildPrePull({ images: [image], arch: 'amd64', lock: lock() });
    expect(amd.findings.map((f) => f.code)).not.toContain('platform-not-found');
  });
});
