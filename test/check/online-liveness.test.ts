import * as fs from 'fs';
import { PushClient, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, runKubepin, tempProject, writeFiles } from '../support/registry-cli';

/** `kubepin check --online` on pins whose digests a registry deleted (retention rules, garbage collection). */
describe('kubepin check --online: locked digests the registry no longer serves', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry({ deletes: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a deleted digest is predicted ErrImagePull then ImagePullBackOff, with the kubelet\'s message and the re-lock fix', async () => {
    const image = await pushImage(registry, 'retention/web', '1.0');
    const pinned = `${registry.host}/retention/web:1.0@${image.digest}`;
    dir = tempProject();
    writeFiles(dir, { 'app.yaml': deploymentYaml('web', [pinned]) });
    const before = await runKubepin(['check', 'app.yaml', '--online', '--format', 'json'], { cwd: dir });
    expect(JSON.parse(before.stdout).probes[0]).toMatchObject({ prediction: 'pulls', digest: image.digest });
    expect(before.code).toBe(0);

    await new PushClient(registry, 'retention/web').deleteManifest(image.digest);
    const run = await runKubepin(['check', 'app.yaml', '--online', '--format', 'json'], { cwd: dir });
    const report = JSON.parse(run.stdout);
    expect(report.probes[0]).toMatchObject({ prediction: 'fails', state: 'ErrImagePull', attempts: [{ stage: 'anonymous', outcome: 'not-found', status: 404 }] });
    const finding = report.findings.find((f: { code: string }) => f.code === 'pull-fails');
    expect(finding.state).toBe('ErrImagePull');
    expect(finding.message).toContain(`no longer serves ${image.digest} of retention/web (404 MANIFEST_UNKNOWN`);
    expect(finding.message).toContain(`Failed to pull image "${pinned}": rpc error: code = NotFound desc = failed to pull and unpack image "${pinned}": failed to resolve reference "${pinned}": ${pinned}: not found`);
    expect(finding.message).toContain('then ImagePullBackOff');
    expect(finding.message).toContain('re-lock with `kubepin lock --update`, and check the registry\'s retention rules');
    expect(run.code).toBe(1);
  });

  test('a platform manifest the lock records and the registry deleted: the index pulls, the arm64 nodes fail', async () => {
    const image = await pushImage(registry, 'retention/multi', '1.0');
    const pinned = `${registry.host}/retention/multi:1.0@${image.digest}`;
    dir = tempProject();
    writeFiles(dir, { 'src/app.yaml': deploymentYaml('web', [`${registry.host}/retention/multi:1.0`]), 'app.yaml': deploymentYaml('web', [pinned]) });
    expect((await runKubepin(['lock', 'src', '--platform', 'linux/arm64'], { cwd: dir })).code).toBe(0);
    expect((await runKubepin(['check', 'app.yaml', '--online'], { cwd: dir })).code).toBe(0);

    await new PushClient(registry, 'retention/multi').deleteManifest(image.platforms['linux/arm64']);
    const run = await runKubepin(['check', 'app.yaml', '--online', '--format', 'json'], { cwd: dir });
    const report = JSON.parse(run.stdout);
    expect(report.probes[0]).toMatchObject({ prediction: 'fails', state: 'ErrImagePull' });
    const finding = report.findings.find((f: { code: string }) => f.code === 'pull-fails');
    expect(finding.message).toContain(`serves the index ${image.digest} of retention/multi but not its linux/arm64 manifest ${image.platforms['linux/arm64']} (404)`);
    expect(finding.message).toContain(`content at https://${registry.host}/v2/retention/multi/manifests/${image.platforms['linux/arm64']} not found: not found`);
    expect(run.code).toBe(1);
  });

  test('a pin into a repository the registry does not know says the repository is gone', async () => {
    const image = await pushImage(registry, 'retention/kept', '1.0');
    const pinned = `${registry.host}/retention/removed:1.0@${image.digest}`;
    dir = tempProject();
    writeFiles(dir, { 'app.yaml': deploymentYaml('web', [pinned]) });
    const run = await runKubepin(['check', 'app.yaml', '--online', '--format', 'json'], { cwd: dir });
    const finding = JSON.parse(run.stdout).findings.find((f: { code: string }) => f.code === 'pull-fails');
    expect(finding.message).toContain('no longer knows the repository retention/removed (404 NAME_UNKNOWN');
    expect(run.code).toBe(1);
  });
});

describe('kubepin check --online: a pinned digest behind a credential that went stale', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(async () => {
    await registry?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('401 to the pull secret: ErrImagePull with the kubelet\'s message for the digest, never the password', async () => {
    const image = await pushImage(registry, 'private/web', '1.0');
    const pinned = `${registry.host}/private/web:1.0@${image.digest}`;
    dir = tempProject();
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { imagePullSecrets: [{ name: 'pull' }], containers: [{ name: 'c', image: pinned }] } };
    const payload = (password: string): string => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } });
    writeFiles(dir, { 'app.yaml': JSON.stringify(pod), 'right.json': payload(registry.password!), 'stale.json': payload('stale-password-456') });
    expect((await runKubepin(['check', 'app.yaml', '--online', '--secret-file', 'pull=right.json'], { cwd: dir })).code).toBe(0);
    const run = await runKubepin(['check', 'app.yaml', '--online', '--secret-file', 'pull=stale.json', '--format', 'json'], { cwd: dir });
    const finding = JSON.parse(run.stdout).findings.find((f: { code: string }) => f.code === 'pull-fails');
    expect(finding.state).toBe('ErrImagePull');
    expect(finding.message).toContain(`Failed to pull image "${pinned}": rpc error: code = Unknown desc = failed to pull and unpack image "${pinned}": failed to resolve reference "${pinned}": unexpected status from HEAD request to https://${registry.host}/v2/private/web/manifests/${image.digest}: 401 Unauthorized`);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).not.toContain('stale-password-456');
    expect(run.stdout + run.stderr).not.toContain(registry.password!);
  });
});
