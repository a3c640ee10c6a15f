import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { parse } from 'yaml';
import { CliIo, main } from '../../lib/cli/main';
import { nodeKeyring, validateCredentialProviderConfig } from '../../lib/node';

const APP = path.join(__dirname, 'fixtures', 'app.yaml');
const TOKEN = `tok-${crypto.randomBytes(12).toString('hex')}`;

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env, cwd };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

describe('kubepin node-config', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-nodecli-'));
    fs.writeFileSync(path.join(dir, 'ghcr-token'), TOKEN);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('provider-config prints a valid config for the app and says what is left uncovered', async () => {
    const r = await run(['node-config', 'provider-config', '--provider', 'ecr=*.dkr.ecr.*.amazonaws.com', '--provider', 'acr=*.azurecr.io', '--exclude', 'acmepublic.azurecr.io', APP], dir);
    expect(r.stderr).toContain('not served by any provider (pull secrets, node config.json or public): docker.io/library/busybox, ghcr.io/acme/assets');
    expect(r.code).toBe(0);
    const config = parse(r.stdout);
    expect(validateCredentialProviderConfig(config)).toEqual([]);
    expect(config.providers.map((p: { name: string; matchImages: string[] }) => [p.name, p.matchImages])).toEqual([
      ['ecr-credential-provider', ['123456789012.dkr.ecr.*.amazonaws.com']],
      ['acr-credential-provider', ['acmeprod.azurecr.io', 'acmestaging.azurecr.io']],
    ]);
  });

  it('docker-config writes 0600 from env and files, prints no secret, and refuses passwords on the command line', async () => {
    const out = path.join(dir, 'node', 'config.json');
    const env = { GHCR_USER: 'ci-bot', REG_TOKEN: TOKEN };
    const r = await run(['node-config', 'docker-config', '--auth', 'ghcr.io=env:GHCR_USER,file:ghcr-token', '--auth', 'registry.internal.example.com:5000=nodes,env:REG_TOKEN', '-o', 'node/config.json', APP], dir, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote node/config.json (mode 0600) with credentials for: ghcr.io, registry.internal.example.com:5000\n');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).auths['ghcr.io'].password).toBe(TOKEN);

    const literal = await run(['node-config', 'docker-config', '--auth', `ghcr.io=u,${TOKEN}`, '-o', 'x.json', APP], dir, env);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toContain('kubepin never takes a password on the command line');
    expect(literal.stderr).not.toContain(TOKEN);
    const toStdout = await run(['node-config', 'docker-config', '--auth', 'ghcr.io=u,env:REG_TOKEN', '-o', '-', APP], dir, env);
    expect(toStdout.code).toBe(2);
    expect(toStdout.stdout + toStdout.stderr).not.toContain(TOKEN);
    const missing = await run(['node-config', 'docker-config', '--auth', 'ghcr.io=u,env:NOT_SET', '-o', 'y.json', APP], dir, env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('environment variable NOT_SET, which is not set');
    expect(fs.existsSync(path.join(dir, 'y.json'))).toBe(false);
  });

  it('generate writes both files from a spec; validate accepts them; the readers predict the kubelet order', async () => {
    fs.writeFileSync(
      path.join(dir, 'node-spec.yaml'),
      [
        'credentialProviders:',
        '  - name: ecr',
        '    registries: ["123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com"]',
        '  - name: acr',
        '    registries: ["*.azurecr.io"]',
        '    env: { AZURE_ENVIRONMENT: AzurePublicCloud }',
        'nodeDockerConfig:',
        '  auths:',
        '    - registry: ghcr.io',
        '      username: { value: ci-bot }',
        '      password: { file: ghcr-token }',
        '',
      ].join('\n'),
    );
    const r = await run(['node-config', 'generate', '--spec', 'node-spec.yaml', '--out-dir', 'dist/manifests/node', APP], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote dist/manifests/node/credential-provider-config.yaml\nwrote dist/manifests/node/config.json (mode 0600)\n');
    expect(r.stderr).toContain('no node-side credential for: docker.io/library/busybox, registry.internal.example.com:5000/tools/uploader, registry.k8s.io/pause');
    const nodeDir = path.join(dir, 'dist', 'manifests', 'node');
    expect(fs.statSync(path.join(nodeDir, 'config.json')).mode & 0o777).toBe(0o600);

    const v = await run(['node-config', 'validate', 'dist/manifests/node/credential-provider-config.yaml', 'dist/manifests/node/config.json'], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe('dist/manifests/node/credential-provider-config.yaml: valid CredentialProviderConfig\ndist/manifests/node/config.json: valid node config.json\n');
    expect(v.stdout + v.stderr).not.toContain(TOKEN);

    const keyring = nodeKeyring({ nodeConfig: path.join(nodeDir, 'config.json'), credentialProviderConfig: path.join(nodeDir, 'credential-provider-config.yaml') });
    expect(keyring.lookup('ghcr.io/acme/assets:2024.1').map((c) => c.stage)).toEqual(['node-config']);
    expect(keyring.lookup('123456789012.dkr.ecr.us-east-1.amazonaws.com/edge/proxy:1.0.0')).toEqual([
      { stage: 'credential-provider', source: 'ecr-credential-provider', key: '123456789012.dkr.ecr.us-east-1.amazonaws.com' },
    ]);
    expect(keyring.lookup('busybox:1.36.1')).toEqual([]);
  });

  it('round-trips through kubepin check: the generated files are what makes the private images pullable', async () => {
    fs.writeFileSync(
      path.join(dir, 'rt-spec.yaml'),
      'credentialProviders:\n  - name: ecr\n    registries: ["*.dkr.ecr.*.amazonaws.com"]\nnodeDockerConfig:\n  auths:\n    - registry: ghcr.io\n      username: { value: ci-bot }\n      password: { env: GHCR_TOKEN }\n',
    );
    const gen = await run(['node-config', 'generate', '--spec', 'rt-spec.yaml', '--out-dir', 'rt', APP], dir, { GHCR_TOKEN: TOKEN });
    expect(gen.code).toBe(0);
    const privateRegistries = ['--private-registry', 'ghcr.io', '--private-registry', '123456789012.dkr.ecr.eu-west-1.amazonaws.com', '--private-registry', '123456789012.dkr.ecr.us-east-1.amazonaws.com'];
    const without = await run(['check', APP, ...privateRegistries, '--format', 'json'], dir);
    expect(without.code).toBe(1);
    const flagged = (out: string): string[] =>
      JSON.parse(out).findings.filter((f: { code: string }) => f.code === 'no-pull-secret-for-private-registry').map((f: { image: string }) => f.image).sort();
    expect(flagged(without.stdout)).toEqual([
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:2.1.0',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/migrate:2.1.0',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/edge/proxy:1.0.0',
      'ghcr.io/acme/assets:2024.1',
    ]);
    const nodeOnly = await run(['check', APP, ...privateRegistries, '--format', 'json', '--node-config', 'rt/config.json'], dir);
    expect(flagged(nodeOnly.stdout)).toEqual(flagged(without.stdout).filter((i) => !i.startsWith('ghcr.io/')));
    const both = await run(['check', APP, ...privateRegistries, '--format', 'json', '--node-config', 'rt/config.json', '--credential-provider-config', 'rt/credential-provider-config.yaml'], dir);
    expect(flagged(both.stdout)).toEqual([]);
    expect(both.code).toBe(0);
    for (const r of [gen, without, nodeOnly, both]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('validate reports the kubelet rules with file and line, exit 1', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: bin/ecr\n    matchImages: ["registry.io/*"]\n    defaultCacheDuration: 12h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n');
    const v = await run(['node-config', 'validate', 'bad.yaml'], dir);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("bad.yaml:4: error providers[0].name: \"bin/ecr\": provider name cannot contain '/'");
    expect(v.stderr).toContain('bad.yaml:5: error providers[0].matchImages[0]: "registry.io/*" the path "/*" contains a glob character');
  });

  it('refuses a spec that would carry secret values', async () => {
    fs.writeFileSync(path.join(dir, 'leaky.yaml'), `nodeDockerConfig:\n  env: { T: ${TOKEN} }\n  auths: [{ registry: ghcr.io, username: { value: u }, password: { env: T } }]\n`);
    const r = await run(['node-config', 'generate', '--spec', 'leaky.yaml', '--out-dir', 'leaky', APP], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nodeDockerConfig takes only auths and fromDockerConfig, not env');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(fs.existsSync(path.join(dir, 'leaky'))).toBe(false);
  });

  it('bad usage exits 2 with a hint', async () => {
    expect((await run(['node-config', 'provider-config', '--provider', 'ecr', APP], dir)).code).toBe(2);
    expect((await run(['node-config', 'nope'], dir)).stderr).toContain('unknown subcommand "nope"');
    expect((await run(['node-config', 'provider-config', '--bogus'], dir)).code).toBe(2);
    expect((await run(['node-config', '--help'], dir)).stdout).toContain('Usage: kubepin node-config');
  });
});
