import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { AddressInfo } from 'net';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { DockerConfigCredentials, KeyringCredentials } from '../../lib/registry/credentials';
import { RegistryClient } from '../../lib/registry/client';
import { runCli } from '../support/cli';

const auth = (user: string, pass: string) => ({ auth: Buffer.from(`${user}:${pass}`).toString('base64') });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-creds-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function dockerConfig(config: object): DockerConfigCredentials {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return DockerConfigCredentials.fromFile(file, false, { PATH: '' });
}

describe('item 1: the developer\'s credentials reach only the host their key names (Docker CLI rules)', () => {
  test('auths: the Docker Hub credential is not sent to localhost/tools/app (the kubelet\'s fallback is not used)', async () => {
    const creds = dockerConfig({ auths: { 'https://index.docker.io/v1/': auth('hub', 'hub-secret') } });
    expect(await creds.credentialsFor('localhost/tools/app', 'localhost')).toEqual([]);
    expect(await creds.credentialsFor('tools/app', 'tools')).toEqual([]);
    expect((await creds.credentialsFor('docker.io/library/nginx', 'docker.io')).map((c) => c.username)).toEqual(['hub']);
  });

  test('auths: docker.io, index.docker.io and https://index.docker.io/v1/ all name Docker Hub; other hosts match exactly, no globs', async () => {
    const creds = dockerConfig({ auths: { 'docker.io': auth('a', 'x'), 'https://registry.example:5000': auth('b', 'y'), '*.example.com': auth('c', 'z'), 'example.com': auth('d', 'w') } });
    expect((await creds.credentialsFor('docker.io/library/nginx', 'docker.io')).map((c) => c.username)).toEqual(['a']);
    expect((await creds.credentialsFor('registry.example:5000/app', 'registry.example:5000')).map((c) => c.username)).toEqual(['b']);
    expect(await creds.credentialsFor('registry.example/app', 'registry.example')).toEqual([]);
    expect(await creds.credentialsFor('a.example.com/app', 'a.example.com')).toEqual([]);
    expect((await creds.credentialsFor('example.com/app', 'example.com')).map((c) => c.username)).toEqual(['d']);
  });

  test('--docker-config payloads and pull Secrets: exact host, a key path narrows to repositories under it', async () => {
    const keyring = new CredentialKeyring()
      .add('f', { auths: { 'https://index.docker.io/v1/': auth('hub', 'h'), 'registry.example/team': auth('team', 't'), 'registry.example': auth('all', 'a') } });
    const creds = new KeyringCredentials(keyring);
    expect(await creds.credentialsFor('localhost/tools/app', 'localhost')).toEqual([]);
    expect((await creds.credentialsFor('registry.example/team/app', 'registry.example')).map((c) => c.username)).toEqual(['team', 'all']);
    expect((await creds.credentialsFor('registry.example/other/app', 'registry.example')).map((c) => c.username)).toEqual(['all']);
    // The kubelet's rules stay for predictions: its fallback does give the Hub key to localhost/tools/app.
    expect(keyring.lookup('localhost/tools/app:1').map((m) => m.username)).toEqual(['hub']);
  });

  test('a real HTTP registry on 127.0.0.1 named through a mirror never sees the Hub credential', async () => {
    const seen: Array<string | undefined> = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const client = new RegistryClient({
        credentials: dockerConfig({ auths: { 'https://index.docker.io/v1/': auth('hub', 'hub-secret') } }),
        mirrors: { localhost: `127.0.0.1:${port}` },
        insecureRegistries: [`127.0.0.1:${port}`],
        retries: 0,
      });
      await expect(client.resolve('localhost/tools/app:1')).rejects.toThrow();
      client.close();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((h) => h !== undefined)).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe('item 3: userinfo in a mirror is refused', () => {
  test('kubepin lock --mirror docker.io=user:password@host is a usage error that does not print the password', async () => {
    fs.writeFileSync(path.join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: "nginx:1.27.5"}\n');
    const run = await runCli(['lock', '--mirror', 'docker.io=user:s3cr3t-pass@127.0.0.1:1', dir], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/user name or password/);
    expect(run.stdout + run.stderr).not.toMatch(/s3cr3t-pass|user:/);
  });

  test('the library refuses it too', () => {
    expect(() => new RegistryClient({ mirrors: { 'docker.io': 'https://u:p@mirror.example' } })).toThrow(/user name or password/);
  });
});
