import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkManifests } from '../../lib/check';
import { probePlans } from '../../lib/check/probe';
import { freePort } from '../support/registry-http';
import { pushImage, sha256, startRegistry, TestRegistryDetails } from '../support/registry';
import { runCli } from './support';

/*
 * Online predictions against reality: for each real registry (anonymous, Basic, Bearer) and
 * each image × credential cell, the prediction of `kubepin check --online` must equal the
 * outcome of an actual pull attempt with the same credentials, by skopeo (the oracle).
 */

type Auth = 'anonymous' | 'basic' | 'token';
type Creds = 'none' | 'right' | 'wrong';

interface Oracle {
  pulls: boolean;
  kind: 'ok' | 'unauthorized' | 'not-found' | 'other';
  text: string;
}

function skopeo(registry: TestRegistryDetails, image: string, creds: { username: string; password: string } | undefined, home: string): Promise<Oracle> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : ['--no-creds']), `docker://${image}`];
  return new Promise((resolve) => {
    execFile('skopeo', args, { env: { PATH: process.env.PATH, HOME: home }, timeout: 30000 }, (error, _stdout, stderr) => {
      if (!error) return resolve({ pulls: true, kind: 'ok', text: '' });
      const text = String(stderr);
      // Scrub the password before any assertion could print it.
      const clean = creds ? text.split(creds.password).join('***') : text;
      // Status codes as whole words: skopeo quotes the image, and a digest's hex may hold "401".
      const kind = /unauthorized|authentication required|\b401\b|denied/i.test(clean) ? 'unauthorized' : /manifest unknown|not found|\b404\b/i.test(clean) ? 'not-found' : 'other';
      resolve({ pulls: false, kind, text: clean.slice(0, 300) });
    });
  });
}

function manifests(host: string, image: string, creds: { username: string; password: string } | undefined): object[] {
  const objects: object[] = [];
  if (creds) {
    objects.push({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pull' }, type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } })).toString('base64') },
    });
  }
  objects.push({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    spec: { ...(creds ? { imagePullSecrets: [{ name: 'pull' }] } : {}), containers: [{ name: 'c', image, imagePullPolicy: 'Always' }] },
  });
  return objects;
}

describe.each<Auth>(['anonymous', 'basic', 'token'])('online predictions equal real pulls: %s registry', (auth) => {
  let registry: TestRegistryDetails;
  let home: string;
  let images: Record<string, string>;
  const seen = new Set<string>();

  beforeAll(async () => {
    registry = await startRegistry({ auth });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-oracle-'));
    const pushed = await pushImage(registry, 'team/app', '1.0');
    const host = registry.host;
    images = {
      'existing tag': `${host}/team/app:1.0`,
      'missing tag': `${host}/team/app:9.9`,
      'existing digest': `${host}/team/app@${pushed.digest}`,
      // A digest of bytes never pushed: computed, not invented.
      'missing digest': `${host}/team/app@${sha256(`never pushed ${host}`)}`,
      'missing repository': `${host}/team/nope:1.0`,
    };
  });
  afterAll(async () => {
    await registry?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  const cells: Array<[string, Creds]> = [];
  for (const image of ['existing tag', 'missing tag', 'existing digest', 'missing digest', 'missing repository']) {
    for (const creds of ['none', 'right', 'wrong'] as Creds[]) cells.push([image, creds]);
  }

  test.each(cells)('%s with %s credentials', async (imageName, credsName) => {
    const image = images[imageName];
    // On the anonymous registry "wrong" is a stale secret for an open registry.
    const creds = credsName === 'none' ? undefined
      : credsName === 'right' ? { username: registry.username ?? 'anyone', password: registry.password ?? 'anything' }
        : { username: registry.username ?? 'stale-user', password: 'stale-password-123' };
    const { plans, findings: staticFindings } = checkManifests(manifests(registry.host, image, creds));
    expect(staticFindings.filter((f) => f.severity === 'error')).toEqual([]);
    const { probes, findings } = await probePlans(plans, {});
    const oracle = await skopeo(registry, image, creds, home);
    seen.add(oracle.kind);
    const predicted = probes[0];
    expect({ cell: `${imageName}/${credsName}`, pulls: predicted.prediction === 'pulls' }).toEqual({ cell: `${imageName}/${credsName}`, pulls: oracle.pulls });
    if (!oracle.pulls) {
      expect(predicted.prediction).toBe('fails');
      expect(findings[0]).toMatchObject({ code: 'pull-fails', state: 'ErrImagePull' });
      const outcome = predicted.attempts[predicted.attempts.length - 1].outcome;
      if (oracle.kind === 'unauthorized') expect(['unauthorized', 'forbidden']).toContain(outcome);
      if (oracle.kind === 'not-found') expect(outcome).toBe('not-found');
    }
    if (creds) expect(JSON.stringify({ probes, findings })).not.toContain(creds.password);
  });

  test('the matrix saw pulls that work and pulls that fail, for the reasons expected of this registry', () => {
    // Guards the oracle itself: a matrix where everything fails (or works) would prove nothing.
    const expected = auth === 'anonymous' ? ['ok', 'not-found'] : ['ok', 'not-found', 'unauthorized'];
    expect([...seen].sort()).toEqual(expected.sort());
  });

  test('a credential the registry does not need is flagged; one it needs is not', async () => {
    const creds = { username: registry.username ?? 'anyone', password: registry.password ?? 'anything' };
    const { plans } = checkManifests(manifests(registry.host, images['existing tag'], creds));
    const { probes, findings } = await probePlans(plans, {});
    expect(probes[0].prediction).toBe('pulls');
    expect(probes[0].anonymousPulls).toBe(auth === 'anonymous');
    expect(findings.map((f) => f.code)).toEqual(auth === 'anonymous' ? ['pull-secret-for-public-registry'] : []);
  });

  // An open registry accepts any credential, so only the authenticating ones can tell credentials apart.
  (auth === 'anonymous' ? [] : ['secret-file and node-config']).forEach(() => test('credentials from --secret-file and --node-config are tried as the kubelet would', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-oracle-cli-'));
    try {
      const file = path.join(dir, 'app.yaml');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { imagePullSecrets: [{ name: 'kept-elsewhere' }], containers: [{ name: 'c', image: images['existing tag'] }] } };
      fs.writeFileSync(file, JSON.stringify(pod));
      const payload = (password: string) => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } });
      fs.writeFileSync(path.join(dir, 'right.json'), payload(registry.password!));
      fs.writeFileSync(path.join(dir, 'wrong.json'), payload('stale-password-123'));
      const right = await runCli(['check', file, '--online', '--secret-file', `kept-elsewhere=${path.join(dir, 'right.json')}`, '--format', 'json']);
      expect(JSON.parse(right.stdout).probes[0]).toMatchObject({ prediction: 'pulls', attempts: [{ stage: 'pod-secret', source: 'kept-elsewhere', outcome: 'found' }] });
      expect(right.code).toBe(0);
      const wrong = await runCli(['check', file, '--online', '--secret-file', `kept-elsewhere=${path.join(dir, 'wrong.json')}`, '--format', 'json']);
      expect(JSON.parse(wrong.stdout).findings.map((f: { code: string }) => f.code)).toEqual(['pull-fails']);
      expect(wrong.code).toBe(1);
      // A pod secret that fails is not rescued by the node's config.json: the kubelet tries both, in order.
      const both = await runCli(['check', file, '--online', '--secret-file', `kept-elsewhere=${path.join(dir, 'wrong.json')}`, '--node-config', path.join(dir, 'right.json'), '--format', 'json']);
      expect(JSON.parse(both.stdout).probes[0]).toMatchObject({ prediction: 'pulls', attempts: [{ stage: 'pod-secret', outcome: 'unauthorized' }, { stage: 'node-config', outcome: 'found' }] });
      for (const run of [right, wrong, both]) expect(run.stdout).not.toContain(registry.password!);
      const oracle = await skopeo(registry, images['existing tag'], { username: registry.username!, password: registry.password! }, home);
      expect(oracle.pulls).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }));

  test('kubepin check --online through the CLI: exit code, state and schedule', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-oracle-cli-'));
    try {
      const file = path.join(dir, 'app.yaml');
      const objects = manifests(registry.host, images['missing tag'], registry.username ? { username: registry.username, password: registry.password! } : undefined);
      fs.writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
      const run = await runCli(['check', file, '--online', '--format', 'json']);
      const report = JSON.parse(run.stdout);
      expect(report.findings.map((f: { code: string }) => f.code)).toEqual(['pull-fails']);
      expect(report.probes[0]).toMatchObject({ prediction: 'fails', state: 'ErrImagePull', backoffSeconds: [10, 20, 40, 80, 160, 300] });
      expect(run.code).toBe(1);
      if (registry.password) expect(run.stdout).not.toContain(registry.password);
      fs.writeFileSync(file, manifests(registry.host, images['existing tag'], registry.username ? { username: registry.username, password: registry.password! } : undefined).map((o) => JSON.stringify(o)).join('\n---\n'));
      const ok = await runCli(['check', file, '--online']);
      expect(ok.stdout).toContain('No problems found.');
      expect(ok.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('online predictions for unreachable and untrusted registries', () => {
  test('skopeo, the oracle of these tests, is installed (as docker-registry and podman are asserted)', () => {
    expect(require('child_process').execFileSync('skopeo', ['--version']).toString()).toMatch(/^skopeo version \d+\.\d+/);
  });

  test('a closed port is predicted unreachable, as skopeo finds it', async () => {
    const port = await freePort();
    const image = `127.0.0.1:${port}/team/app:1.0`;
    const { plans } = checkManifests(manifests(`127.0.0.1:${port}`, image, undefined));
    const { probes, findings } = await probePlans(plans, { timeoutMs: 5000 });
    expect(probes[0]).toMatchObject({ prediction: 'fails', attempts: [{ outcome: 'unreachable' }] });
    expect(findings[0].message).toMatch(/^registry 127\.0\.0\.1:\d+: connection refused: nothing listens on 127\.0\.0\.1 port \d+\. /);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-oracle-'));
    try {
      const failure = await new Promise<(Error & { code?: unknown }) | null>((resolve) => execFile('skopeo', ['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${image}`], { env: { PATH: process.env.PATH, HOME: home }, timeout: 30000 }, (e) => resolve(e)));
      // skopeo ran and failed to connect: a missing skopeo (ENOENT) would "fail" too, for the wrong reason.
      expect(failure).not.toBeNull();
      expect(failure!.code).not.toBe('ENOENT');
      expect(failure!.message).toMatch(/connection refused|connect/i);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  test('a TLS registry with an untrusted CA is a TLS failure; trusting its CA, it pulls', async () => {
    const registry = await startRegistry({ tls: true });
    try {
      await pushImage(registry, 'team/app', '1.0');
      const image = `${registry.host}/team/app:1.0`;
      const { plans } = checkManifests(manifests(registry.host, image, undefined));
      const untrusted = await probePlans(plans, {});
      expect(untrusted.probes[0]).toMatchObject({ prediction: 'fails', attempts: [{ outcome: 'tls' }] });
      const trusted = await probePlans(plans, { ca: fs.readFileSync(registry.caFile!) });
      expect(trusted.probes[0].prediction).toBe('pulls');
      const file = path.join(registry.dir, 'app.json');
      fs.writeFileSync(file, JSON.stringify(manifests(registry.host, image, undefined)[0]));
      const cli = await runCli(['check', file, '--online', '--ca-file', registry.caFile!]);
      expect(cli.stdout).toContain('No problems found.');
      const cliUntrusted = await runCli(['check', file, '--online']);
      expect(cliUntrusted.stdout).toMatch(/Registry 127\.0\.0\.1:\d+\n  ✗ error   pull-fails: TLS failed \(.+\); the image on it will not pull\n[\s\S]*fix: use a certificate the nodes' container runtime trusts/);
      expect(cliUntrusted.code).toBe(1);
    } finally {
      await registry.stop();
    }
  });
});
