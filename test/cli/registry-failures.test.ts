import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { RegistryError } from '../../lib/base/registry-error';
import { hostFailure } from '../../lib/cli/registry-failures';
import { packedKubepin } from '../support/packed';
import { offlineEnv, runPackedKubepin } from '../support/packed-cli';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * What `kubepin lock` says when registries fail, as a user meets it: the compiled bin of the
 * packed tarball, manifests naming images on 127.0.0.1 (a real registry, a closed port, a
 * server that never answers).
 */
describe('kubepin lock names the registry once, the images it affects, the cause in words and the fix', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let silent: net.Server;
  let silentPort: number;
  let closedPort: number;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-registry-failures-'));
    registry = await startRegistry();
    await pushImage(registry, 'acme/web', '1.0');
    await pushImage(registry, 'acme/web', '2.0');
    await pushImage(registry, 'acme/worker', '1.0');
    // Accepts connections and never answers.
    silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as net.AddressInfo).port;
    // A port nothing listens on: taken, then given back.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }, 180000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent?.close(() => resolve()));
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function lock(images: string[], extra: string[] = []): { code: number | null; stdout: string; stderr: string } {
    const dir = fs.mkdtempSync(path.join(work, 'p-'));
    const containers = images.map((image, i) => `    - { name: c${i}, image: "${image}" }`).join('\n');
    fs.writeFileSync(path.join(dir, 'pod.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: { name: app }\nspec:\n  containers:\n${containers}\n`);
    return runPackedKubepin(packedKubepin().dir, ['lock', 'pod.yaml', '--no-docker-login', ...extra], { cwd: dir, env: offlineEnv(work) });
  }

  test('connection refused: said once for the host, listing both images and where each is used, with the fix', () => {
    const host = `127.0.0.1:${closedPort}`;
    const run = lock([`${host}/acme/a:1`, `${host}/acme/b:1`], ['--retries', '0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe([
      `error: registry ${host}: connection refused: nothing listens on 127.0.0.1 port ${closedPort}; 2 images on it could not be resolved:`,
      `  ${host}/acme/a:1`,
      '    used at pod.yaml:6 (Pod/app, spec.containers[0].image)',
      `  ${host}/acme/b:1`,
      '    used at pod.yaml:7 (Pod/app, spec.containers[1].image)',
      `  Fix: start the registry, or correct the host and port in the image (${host})`,
      '',
    ].join('\n'));
    expect(run.stderr).not.toContain('/v2/');
  }, 120000);

  test('no answer: the timeout in seconds and the fix, not a URL per image', () => {
    const host = `127.0.0.1:${silentPort}`;
    const run = lock([`${host}/acme/a:1`, `${host}/acme/b:1`], ['--retries', '0', '--timeout', '0.5']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: registry ${host}: no answer within 0.5 s; 2 images on it could not be resolved:`);
    expect(run.stderr).toContain(`  Fix: check that ${host} is reachable from here (network, VPN, firewall, proxy); for a slow registry raise --timeout SECONDS`);
    expect(run.stderr.match(/no answer/g)).toHaveLength(1);
    expect(run.stderr).not.toContain('/v2/');
  }, 120000);

  test('TLS: a registry whose CA this machine does not trust, the cause and both ways out', async () => {
    const tls = await startRegistry({ tls: true });
    try {
      const run = lock([`${tls.host}/acme/a:1`], ['--retries', '0']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^error: registry ${tls.host.replace(/[.]/g, '\\.')}: TLS failed \\(.+\\); the image on it could not be resolved:\n`));
      expect(run.stderr).toContain(`  Fix: if ${tls.host} uses a private CA, pass it with --ca-file (or NODE_EXTRA_CA_CERTS); if it speaks plain HTTP, allow it with --insecure-registry ${tls.host}\n`);
    } finally {
      await tls.stop();
    }
  }, 120000);

  test('a 404 tells a missing repository (with the near name the catalog lists) from a missing tag (with the near tag)', () => {
    const h = registry.host;
    const run = lock([`${h}/acme/wbe:1.0`, `${h}/acme/web:1.1`, `${h}/acme/web:2.0`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: ${h}/acme/wbe:1.0: the repository acme/wbe does not exist on ${h} (HTTP 404); did you mean acme/web? Fix: correct the image name, or push the image\n  used at pod.yaml:6`);
    expect(run.stderr).toContain(`error: ${h}/acme/web:1.1: the repository acme/web exists on ${h} but has no tag "1.1" (HTTP 404); did you mean "1.0"? Fix: correct the tag, or push it\n  used at pod.yaml:7`);
    expect(run.stdout).toContain('1 resolved (1 new, 0 changed), 0 already locked, 2 failed');
    const json = JSON.parse(lock([`${h}/acme/wbe:1.0`], ['--json']).stdout);
    expect(json.failed[0]).toMatchObject({ kind: 'not-found', status: 404 });
  }, 120000);

  test('DNS name not found, classified from the error the transport raises (injected: a lookup would ask this machine\'s DNS server)', () => {
    const error = new RegistryError('network', 'locahost:5000', 'locahost:5000/v2/: locahost:5000: ENOTFOUND: getaddrinfo ENOTFOUND locahost');
    expect(hostFailure(error)).toEqual({
      cause: 'the DNS name "locahost" was not found',
      fix: "did you mean localhost:5000? correct the registry host in the image; if the name is right, check this machine's DNS (or /etc/hosts)",
    });
    // A near host of the same run is suggested too.
    expect(hostFailure(new RegistryError('network', 'ghcr.oi', 'ghcr.oi/v2/: ghcr.oi: ENOTFOUND: getaddrinfo ENOTFOUND ghcr.oi'), ['ghcr.io'])?.fix).toMatch(/^did you mean ghcr\.io\?/);
    expect(hostFailure(new RegistryError('not-found', 'ghcr.io', 'ghcr.io/acme/x:1: not found'))).toBeUndefined();
  });
});
