import * as fs from 'fs';
import * as path from 'path';
import { runCli } from './support';

const DIR = path.join(__dirname, 'manifests');

interface Expected {
  code: string;
  severity: 'error' | 'warning' | 'info';
  state?: string;
  object?: string;
  line?: number;
  image?: string;
}

/** One manifest per defect, with the findings `kubepin check` must report (and no other error). */
const CASES: Array<{ file: string; args?: string[]; expect: Expected[]; exit: number }> = [
  { file: 'invalid-image.yaml', exit: 1, expect: [{ code: 'invalid-image', severity: 'error', state: 'InvalidImageName', object: 'Deployment web', line: 14, image: 'Nginx:1.27' }] },
  { file: 'uppercase-digest.yaml', exit: 1, expect: [{ code: 'invalid-image', severity: 'error', state: 'InvalidImageName', line: 8 }] },
  { file: 'never-without-prepull.yaml', exit: 1, expect: [{ code: 'never-without-prepull', severity: 'error', state: 'ErrImageNeverPull', object: 'Job migrate', line: 12 }] },
  { file: 'never-with-prepuller.yaml', exit: 0, expect: [] },
  { file: 'never-without-prepull.yaml', args: ['--pre-pulled', 'registry.example.com/team/migrate'], exit: 0, expect: [] },
  {
    file: 'latest-tag.yaml', exit: 0, expect: [
      { code: 'latest-tag', severity: 'warning', image: 'postgres', line: 15 },
      { code: 'latest-tag', severity: 'warning', image: 'quay.io/prometheuscommunity/postgres-exporter:latest', line: 17 },
    ],
  },
  {
    file: 'latest-with-digest.yaml', exit: 0, expect: [
      { code: 'latest-tag', severity: 'warning' },
      { code: 'latest-with-digest', severity: 'warning', line: 8 },
    ],
  },
  {
    file: 'host-like-name.yaml', exit: 0, expect: [
      { code: 'host-like-name', severity: 'warning', image: 'localhost:5000', line: 8 },
      { code: 'host-like-name', severity: 'warning', image: 'registry.example.com', line: 10 },
      { code: 'latest-tag', severity: 'warning', image: 'registry.example.com' },
      { code: 'host-like-name', severity: 'warning', image: 'my_registry.example.com/app:1.0', line: 12 },
    ],
  },
  { file: 'registry-not-allowed.yaml', args: ['--allow-registry', 'ghcr.io/acme'], exit: 1, expect: [{ code: 'registry-not-allowed', severity: 'error', object: 'Deployment shop/api', line: 15 }] },
  { file: 'registry-not-allowed.yaml', args: ['--allow-registry', 'docker.io/acme'], exit: 0, expect: [] },
  { file: 'missing-pull-secret.yaml', exit: 0, expect: [{ code: 'missing-pull-secret', severity: 'warning', line: 13 }] },
  { file: 'missing-pull-secret.yaml', args: ['--cluster-secret', 'regcred'], exit: 0, expect: [] },
  { file: 'missing-pull-secret.yaml', args: ['--fail-on', 'warning'], exit: 1, expect: [{ code: 'missing-pull-secret', severity: 'warning' }] },
  // Once at the Secret reference, then once per container with its predicted state (issue #13 item 15).
  { file: 'malformed-pull-secret.yaml', exit: 1, expect: [
    { code: 'malformed-pull-secret', severity: 'error', object: 'Deployment api', line: 21 },
    { code: 'malformed-pull-secret', severity: 'error', state: 'ErrImagePull', object: 'Deployment api', line: 24, image: 'registry.example.com/team/api:1.0' },
    { code: 'malformed-pull-secret', severity: 'error', state: 'ErrImagePull', object: 'Deployment api', line: 26, image: 'nginx:1.27' },
  ] },
  { file: 'secret-for-public-registry.yaml', args: ['--public-registry', 'docker.io'], exit: 0, expect: [{ code: 'pull-secret-for-public-registry', severity: 'warning', image: 'nginx:1.27', line: 18 }] },
  { file: 'secret-for-public-registry.yaml', exit: 0, expect: [] },
  { file: 'service-account-secrets-ignored.yaml', exit: 0, expect: [{ code: 'service-account-pull-secrets-ignored', severity: 'warning', object: 'Pod build', line: 30 }] },
  {
    file: 'service-account-secrets-ignored.yaml', args: ['--private-registry', 'registry.example.com'], exit: 1, expect: [
      { code: 'service-account-pull-secrets-ignored', severity: 'warning' },
      { code: 'no-pull-secret-for-private-registry', severity: 'error', state: 'ErrImagePull', line: 34 },
    ],
  },
  { file: 'private-registry-without-secret.yaml', args: ['--private-registry', 'registry.example.com'], exit: 1, expect: [{ code: 'no-pull-secret-for-private-registry', severity: 'error', state: 'ErrImagePull', object: 'CronJob report', line: 14 }] },
  { file: 'prepull-credentials-differ.yaml', exit: 1, expect: [{ code: 'prepull-credentials-differ', severity: 'error', state: 'ErrImageNeverPull', object: 'Deployment app', line: 53 }] },
  { file: 'prepull-credentials-differ.yaml', args: ['--no-ensure-secret-pulled-images'], exit: 0, expect: [] },
  {
    file: 'image-volume-and-ephemeral.yaml', exit: 1, expect: [
      { code: 'invalid-image', severity: 'error', state: 'InvalidImageName', image: 'busybox:1.37 ', line: 11 },
      { code: 'latest-tag', severity: 'warning', image: 'ghcr.io/acme/models', line: 15 },
      { code: 'never-without-prepull', severity: 'error', state: 'ErrImageNeverPull', image: 'ghcr.io/acme/models', line: 16 },
    ],
  },
  { file: 'clean.yaml', exit: 0, expect: [] },
  {
    file: 'bad-yaml.yaml', exit: 1, expect: [
      { code: 'unreadable-manifest', severity: 'error', line: 15 },
      { code: 'latest-tag', severity: 'warning', object: 'Pod ok', line: 8 },
    ],
  },
  {
    // No Kubernetes object at all is nothing to check (exit 5, test/cli/gates.test.ts) unless allowed.
    file: 'not-kubernetes.yaml', args: ['--allow-empty'], exit: 0, expect: [
      { code: 'not-kubernetes', severity: 'warning', line: 2 },
      { code: 'not-kubernetes', severity: 'warning', line: 6 },
    ],
  },
];

describe('kubepin check: one manifest per defect', () => {
  test.each(CASES.map((c) => [`${c.file} ${(c.args ?? []).join(' ')}`.trim(), c] as const))('%s', async (_name, c) => {
    const run = await runCli(['check', path.join('test/check/manifests', c.file), '--format', 'json', ...(c.args ?? [])]);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { findings: Array<Record<string, unknown>> };
    const got = report.findings.map((f) => {
      const object = f.object as { kind: string; namespace?: string; name: string };
      return {
        code: f.code, severity: f.severity, state: f.state, line: f.line, image: f.image,
        object: `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`,
      };
    });
    expect(got).toHaveLength(c.expect.length);
    c.expect.forEach((e, i) => {
      expect(got[i]).toMatchObject({ code: e.code, severity: e.severity, state: e.state });
      if (e.line !== undefined) expect(got[i].line).toBe(e.line);
      if (e.object !== undefined) expect(got[i].object).toBe(e.object);
      if (e.image !== undefined) expect(got[i].image).toBe(e.image);
    });
    for (const f of report.findings) expect(f.file).toBe(path.join('test/check/manifests', c.file));
    expect(run.code).toBe(c.exit);
  });

  test('no finding, in any format, contains a password from the secrets', async () => {
    for (const format of ['text', 'json', 'sarif']) {
      const run = await runCli(['check', 'test/check/manifests', '--format', format, '--public-registry', 'docker.io']);
      expect(run.stdout).not.toContain('not-a-real-password');
      expect(run.stdout).not.toContain(Buffer.from('ci-bot:not-a-real-password').toString('base64'));
    }
  });

  test('every manifest in the directory is covered by a case', () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual([...new Set(CASES.map((c) => c.file))].sort());
  });
});
