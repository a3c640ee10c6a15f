import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { NodeCredentials } from '../../lib/pulumi/node-credentials';
import { validateCredentialProviderConfig } from '../../lib/node';
import { runProgram } from '../pulumi/harness';

const APP = path.join(__dirname, 'fixtures', 'app.yaml');
const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;
const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => (resolve(v), v)));

describe('NodeCredentials (Pulumi)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-pulumi-node-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('outputs a valid CredentialProviderConfig and the node config.json as a secret, and writes the files on request', async () => {
    const seen: Record<string, unknown> = {};
    const { resources, logs } = await runProgram(async () => {
      const pool = new NodeCredentials('gpu-pool', {
        images: [pulumi.output('ghcr.io/acme/trainer:3.0.0')],
        manifestPaths: [APP],
        credentialProviders: [{ name: 'ecr', registries: ['*.dkr.ecr.*.amazonaws.com'] }],
        nodeDockerConfig: { auths: [{ registry: 'ghcr.io', username: { value: 'ci-bot' }, password: { env: 'GHCR_TOKEN' } }], env: { GHCR_TOKEN: TOKEN } },
        outputDirectory: path.join(dir, 'node'),
      });
      seen.config = await value(pool.credentialProviderConfig);
      seen.json = await value(pool.nodeDockerConfigJson);
      seen.secret = await pulumi.isSecret(pool.nodeDockerConfigJson);
      seen.configSecret = await pulumi.isSecret(pool.credentialProviderConfig);
      seen.matchImages = await value(pool.matchImages);
      seen.notCovered = await value(pool.notCovered);
      seen.files = await value(pool.files);
    });
    expect(resources.filter((r) => r.type === 'kubepin:index:NodeCredentials').map((r) => [r.name, r.custom])).toEqual([['gpu-pool', false]]);
    // Nothing is deployed: the files are outputs, not Kubernetes resources.
    expect(resources.filter((r) => r.custom)).toEqual([]);
    expect(validateCredentialProviderConfig(parse(seen.config as string))).toEqual([]);
    expect(seen.matchImages).toEqual({ 'ecr-credential-provider': ['123456789012.dkr.ecr.*.amazonaws.com'] });
    expect(seen.secret).toBe(true);
    expect(seen.configSecret).toBe(false);
    expect(JSON.parse(seen.json as string).auths['ghcr.io'].password).toBe(TOKEN);
    expect(seen.notCovered).toEqual(['acmeprod.azurecr.io/obs/exporter', 'acmestaging.azurecr.io/jobs/report', 'docker.io/library/busybox', 'registry.internal.example.com:5000/tools/uploader', 'registry.k8s.io/pause']);
    expect(seen.files).toEqual([path.join(dir, 'node', 'credential-provider-config.yaml'), path.join(dir, 'node', 'config.json')]);
    expect(fs.statSync(path.join(dir, 'node', 'config.json')).mode & 0o777).toBe(0o600);
    expect(logs.join('\n')).not.toContain(TOKEN);
    expect(JSON.stringify(resources)).not.toContain(TOKEN);
  });

  it('fails the program with a message naming the resource, never the secret', async () => {
    await expect(
      runProgram(async () => {
        const pool = new NodeCredentials('pool', { images: ['ghcr.io/acme/x:1'], nodeDockerConfig: { auths: [{ registry: 'ghcr.io', username: { value: 'u' }, password: { env: 'MISSING' } }], env: {} } });
        await value(pool.files);
      }),
    ).rejects.toThrow(/kubepin:index:NodeCredentials "pool": cannot build the node config.json:\n {2}auths\[0\]: the ghcr.io password comes from the environment variable MISSING, which is not set/);
  });
});
