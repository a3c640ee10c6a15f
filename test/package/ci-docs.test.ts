import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { runCli } from '../support/cli';

/*
 * The CI jobs of docs/ci.md and the scheduled job of docs/lock-freshness.md, as users copy
 * them: valid YAML, and every `npx kubepin …` line they run is accepted by the CLI and, for
 * verify and check, does its job on a synthesized `dist/` with its lock.
 */
const REPO = path.resolve(__dirname, '..', '..');

function yamlBlocks(doc: string): unknown[] {
  const text = fs.readFileSync(path.join(REPO, 'docs', doc), 'utf8');
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]));
}

/** Every shell line of a GitHub workflow (`run:`) or a GitLab job (`script:`). */
function commands(job: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [key, value] of Object.entries(v)) {
        if (key === 'run' && typeof value === 'string') found.push(...value.split('\n').filter(Boolean));
        else if (key === 'script' && Array.isArray(value)) found.push(...value.map(String));
        else walk(value);
      }
    }
  };
  walk(job);
  return found;
}

const ci = yamlBlocks('ci.md');
const scheduled = yamlBlocks('lock-freshness.md');

test('docs/ci.md has a GitHub Actions workflow and a GitLab CI job, each synth → verify → check --format sarif', () => {
  expect(ci).toHaveLength(2);
  const [github, gitlab] = ci as [any, any];
  for (const job of [github, gitlab]) {
    const lines = commands(job);
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/^npm ci$/)).toBeGreaterThanOrEqual(0);
    expect(at(/cdk8s synth/)).toBeGreaterThan(at(/^npm ci$/));
    expect(at(/kubepin verify/)).toBeGreaterThan(at(/cdk8s synth/));
    expect(at(/kubepin check .*--format sarif/)).toBeGreaterThan(at(/kubepin verify/));
  }
  const steps = github.jobs.images.steps as Array<Record<string, any>>;
  const upload = steps.find((s) => String(s.uses).startsWith('github/codeql-action/upload-sarif'));
  expect(upload).toMatchObject({ if: 'always()', with: { sarif_file: 'kubepin.sarif' } });
  expect(github.permissions['security-events']).toBe('write');
  expect(gitlab.kubepin.artifacts).toMatchObject({ when: 'always', paths: ['kubepin.sarif'] });
});

test('the scheduled job runs kubepin lock --update with flags the CLI knows', async () => {
  const lines = commands(scheduled[0]).filter((l) => l.startsWith('npx kubepin '));
  expect(lines).toEqual(['npx kubepin lock --update --prune']);
  const help = await runCli(['lock', '--help']);
  for (const flag of lines[0].split(' ').filter((w) => w.startsWith('--'))) expect(help.stdout).toContain(flag);
});

test('the daily liveness job runs kubepin verify --remote after a synthesis, with flags the CLI knows', async () => {
  const job = scheduled[1] as { on: { schedule: Array<{ cron: string }> } };
  expect(job.on.schedule[0].cron.split(' ').slice(2)).toEqual(['*', '*', '*']);
  const lines = commands(job);
  expect(lines.filter((l) => l.startsWith('npx kubepin '))).toEqual(['npx kubepin verify --remote']);
  expect(lines.findIndex((l) => /cdk8s synth/.test(l))).toBeLessThan(lines.indexOf('npx kubepin verify --remote'));
  expect((await runCli(['verify', '--help'])).stdout).toContain('--remote');
});

test('verify and check, as the CI jobs run them, on a synthesized dist/ with its lock', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-ci-docs-'));
  try {
    fs.copyFileSync(path.join(REPO, 'kubepin.lock.json'), path.join(dir, 'kubepin.lock.json'));
    fs.mkdirSync(path.join(dir, 'dist'));
    const lock = JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8'));
    const nginx = lock.images['docker.io/library/nginx:1.27.5'].digest;
    fs.writeFileSync(path.join(dir, 'dist', 'app.k8s.yaml'), [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: web }', 'spec:', '  selector: { matchLabels: { app: web } }',
      '  template:', '    metadata: { labels: { app: web } }', '    spec:', '      containers:',
      `        - { name: web, image: "nginx:1.27.5@${nginx}", imagePullPolicy: IfNotPresent }`, '',
    ].join('\n'));
    const lines = [...new Set(ci.flatMap(commands))].filter((l) => l.startsWith('npx kubepin '));
    expect(lines.length).toBe(2);
    for (const line of lines) {
      const argv = line.replace(/^npx kubepin /, '').replace(/\s*>.*$/, '').split(/\s+/);
      const result = await runCli(argv, { cwd: dir });
      expect({ line, code: result.code, stderr: result.stderr }).toEqual({ line, code: 0, stderr: '' });
      if (argv.includes('sarif')) expect(JSON.parse(result.stdout).version).toBe('2.1.0');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
