import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { RegistryError } from '../../lib/core/findings/registry-error';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { hostFailure } from '../../lib/core/findings/host-failure';
import { packedKubepin } from '../support/packed';
import { offlineEnv, runPackedKubepin } from '../support/packed-cli';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

interface UnreachableHosts {
  /** Accepts connections and never answers. */
  readonly silentPort: number;
  /** Nothing listens on it. */
  readonly closedPort: number;
  close(): Promise<void>;
}

/** Two registries that cannot be talked to, on 127.0.0.1: a server that never answers and a closed port. */
async function unreachableHosts(): Promise<UnreachableHosts> {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  // A port nothing listens on: taken, then given back.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return {
    silentPort: (silent.address() as net.AddressInfo).port,
    closedPort,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    },
  };
}

/*
 * What `kubepin lock` says when registries fail, as a user meets it: the compiled bin of the
 * packed tarball, manifests naming images on 127.0.0.1 (a real registry, a closed port, a
 * server that never answers).
 */
describe('kubepin lock names the registry once, the images it affects, the cause in words and the fix', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let silentPort: number;
  let closedPort: number;
  let hosts: UnreachableHosts;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-registry-failures-'));
    registry = await startRegistry();
    await pushImage(registry, 'acme/web', '1.0');
    await pushImage(registry, 'acme/web', '2.0');
    await pushImage(registry, 'acme/worker', '1.0');
    hosts = await unreachableHosts();
    ({ silentPort, closedPort } = hosts);
  }, 180000);

  afterAll(async () => {
    await hosts?.close();
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

/*
 * The same for `kubepin verify --remote` and `kubepin check --online`: one message per registry
 * that cannot be reached, naming the images it affects, with the cause in words and the fix;
 * --json keeps one finding per image.
 */
describe('verify --remote and check --online name an unreachable registry once, the images it affects, the cause and the fix', () => {
  let work: string;
  let hosts: UnreachableHosts;
  // A digest computed here: the registries are never reached, so no registry's digest exists.
  const digest = `sha256:${createHash('sha256').update('kubepin registry-failures').digest('hex')}`;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-registry-failures-remote-'));
    hosts = await unreachableHosts();
  });

  afterAll(async () => {
    await hosts?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A project whose manifests pin `images` and whose lock records them. */
  function project(images: string[]): string {
    const dir = fs.mkdtempSync(path.join(work, 'p-'));
    const containers = images.map((image, i) => `    - { name: c${i}, image: "${image}@${digest}" }`).join('\n');
    fs.writeFileSync(path.join(dir, 'pod.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: { name: app }\nspec:\n  containers:\n${containers}\n`);
    const lock = ImageLock.empty(path.join(dir, 'kubepin.lock.json'));
    for (const image of images) lock.set(image, { digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
    lock.save();
    return dir;
  }

  function run(dir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
    return runPackedKubepin(packedKubepin().dir, args, { cwd: dir, env: offlineEnv(work) });
  }

  test('verify --remote, connection refused: one message for the host listing both locked images, the fix; --json keeps a finding per image', () => {
    const host = `127.0.0.1:${hosts.closedPort}`;
    const dir = project([`${host}/acme/a:1`, `${host}/acme/b:1`]);
    const text = run(dir, ['verify', 'pod.yaml', '--remote', '--no-docker-login', '--retries', '0']);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe([
      `error: registry ${host}: connection refused: nothing listens on 127.0.0.1 port ${hosts.closedPort}; 2 images on it could not be checked:`,
      `  ${host}/acme/a:1`,
      `  ${host}/acme/b:1`,
      `  Fix: start the registry, or correct the host and port in the image (${host})`,
      '',
    ].join('\n'));
    const json = JSON.parse(run(dir, ['verify', 'pod.yaml', '--remote', '--no-docker-login', '--retries', '0', '--json']).stdout);
    expect(json.findings.map((f: { image: string }) => f.image)).toEqual([`${host}/acme/a:1`, `${host}/acme/b:1`]);
    expect(json.findings[0]).toMatchObject({ code: 'remote-error', registry: host, cause: `connection refused: nothing listens on 127.0.0.1 port ${hosts.closedPort}` });
    expect(json.findings[0].message).not.toContain('/v2/');
  }, 120000);

  test('verify --remote, no answer: the timeout in seconds once, not a URL per image', () => {
    const host = `127.0.0.1:${hosts.silentPort}`;
    const dir = project([`${host}/acme/a:1`, `${host}/acme/b:1`]);
    const text = run(dir, ['verify', 'pod.yaml', '--remote', '--no-docker-login', '--retries', '0', '--timeout', '0.5']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`error: registry ${host}: no answer within 0.5 s; 2 images on it could not be checked:\n  ${host}/acme/a:1\n  ${host}/acme/b:1\n`);
    expect(text.stderr).toContain(`  Fix: check that ${host} is reachable from here (network, VPN, firewall, proxy); for a slow registry raise --timeout SECONDS\n`);
    expect(text.stderr.match(/no answer/g)).toHaveLength(1);
    expect(text.stderr).not.toContain('/v2/');
  }, 120000);

  test('check --online, connection refused: the text report says the host once with both images; --json and SARIF keep a finding per image', () => {
    const host = `127.0.0.1:${hosts.closedPort}`;
    const dir = project([`${host}/acme/a:1`, `${host}/acme/b:1`]);
    const text = run(dir, ['check', 'pod.yaml', '--online']);
    expect(text.code).toBe(1);
    const cause = `connection refused: nothing listens on 127.0.0.1 port ${hosts.closedPort}`;
    expect(text.stdout).toContain([
      `Registry ${host}`,
      `  ✗ error   pull-fails: ${cause}; 2 images on it will not pull`,
      '      predicted: ErrImagePull, then ImagePullBackOff',
      `      "${host}/acme/a:1@${digest}"  Pod app (pod.yaml, spec.containers[0].image, line 6)`,
      `      "${host}/acme/b:1@${digest}"  Pod app (pod.yaml, spec.containers[1].image, line 7)`,
      `      fix: start the registry, or correct the host and port in the image (${host}); the nodes must reach it too`,
    ].join('\n'));
    expect(text.stdout.match(/connection refused/g)).toHaveLength(1);
    expect(text.stdout).not.toContain('/v2/');
    const json = JSON.parse(run(dir, ['check', 'pod.yaml', '--online', '--json']).stdout);
    const fails = json.findings.filter((f: { code: string }) => f.code === 'pull-fails');
    expect(fails).toHaveLength(2);
    for (const f of fails) {
      expect(f).toMatchObject({ registry: host, cause, state: 'ErrImagePull' });
      expect(f.message).toContain(`registry ${host}: ${cause}.`);
      expect(f.message).not.toContain('/v2/');
    }
    const sarif = JSON.parse(run(dir, ['check', 'pod.yaml', '--online', '--format', 'sarif']).stdout);
    expect(sarif.runs[0].results.filter((r: { ruleId: string }) => r.ruleId === 'pull-fails')).toHaveLength(2);
  }, 120000);

  test('check --online, no answer: the host and its cause once in the text report', () => {
    const host = `127.0.0.1:${hosts.silentPort}`;
    const dir = project([`${host}/acme/a:1`, `${host}/acme/b:1`]);
    const text = run(dir, ['check', 'pod.yaml', '--online', '--timeout', '0.5']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`Registry ${host.replace(/[.]/g, '\\.')}\n  ✗ error   pull-fails: (no answer within 0\\.5 s|requests kept timing out, so it looks down); 2 images on it will not pull\n`));
    expect(text.stdout).toContain(`fix: check that ${host} is reachable from here (network, VPN, firewall, proxy); for a slow registry raise --timeout SECONDS; the nodes must reach it too`);
    expect(text.stdout.match(/no answer|looks down/g)).toHaveLength(1);
    expect(text.stdout).not.toContain('/v2/');
  }, 120000);
});
