import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/cli';
import { packedKubepin } from '../support/packed';
import { offlineEnv, runPackedKubepin } from '../support/packed-cli';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * `kubepin lock` in a project, as a user runs it: the compiled bin of the packed tarball, a
 * cdk8s app (cdk8s.yaml) run to learn its images, a registry on 127.0.0.1.
 */
describe('kubepin lock: --frozen, --dry-run, the project root from a subdirectory, progress, unused entries', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let pkg: string;
  let dir: string;
  const pushed: Record<string, PushedImage> = {};

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-frozen-'));
    pkg = packedKubepin().dir;
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'acme/api', '1.0');
    pushed.worker = await pushImage(registry, 'acme/worker', '1.0');
    dir = path.join(work, 'shop');
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src', 'charts'), { recursive: true });
    fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'kubepin'));
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
  }, 180000);

  afterAll(async () => {
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function uses(...repos: string[]): void {
    const objects = repos.map((repo) => `new ApiObject(chart, '${repo}', { apiVersion: 'v1', kind: 'Pod', metadata: { name: '${repo}' },
  spec: { containers: [{ name: 'c', image: '${registry.host}/acme/${repo}:1.0' }] } });`);
    fs.writeFileSync(path.join(dir, 'main.js'), `const { App, Chart, ApiObject } = require('cdk8s');
const { ImagePolicy } = require('kubepin/cdk8s');
const app = new App();
new ImagePolicy(app, 'images', { strict: true });
const chart = new Chart(app, 'shop');
${objects.join('\n')}
app.synth();
`);
  }

  const kubepin = (cwd: string, args: string[]) => runPackedKubepin(pkg, [...args, '--no-docker-login'], { cwd, env: offlineEnv(work) });
  const lockText = () => fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8');

  test('from a subdirectory, lock finds the project root (cdk8s.yaml) and writes its lock there', () => {
    uses('api');
    const run = kubepin(path.join(dir, 'src', 'charts'), ['lock']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${path.join(dir, 'kubepin.lock.json')}: 1 resolved (1 new, 0 changed)`);
    expect(fs.existsSync(path.join(dir, 'src', 'charts', 'kubepin.lock.json'))).toBe(false);
    expect(JSON.parse(lockText()).images[`${registry.host}/acme/api:1.0`].digest).toBe(pushed.api.digest);
  }, 120000);

  test('--frozen passes on an up-to-date lock and fails, writing nothing and asking no registry, when an image is missing', async () => {
    expect(kubepin(dir, ['lock', '--frozen'])).toMatchObject({ code: 0, stderr: '' });
    uses('api', 'worker');
    const before = lockText();
    await registry.settle();
    registry.resetCounters();
    const frozen = kubepin(dir, ['lock', '--frozen']);
    expect(frozen.code).toBe(1);
    expect(frozen.stdout).toContain(`would add ${registry.host}/acme/worker:1.0 (not in the lock)`);
    expect(frozen.stdout).toContain('kubepin.lock.json: frozen, nothing written: 1 to add, 0 to update, 0 to prune, 1 already locked, 0 failed');
    expect(frozen.stderr).toContain('error: kubepin.lock.json is not up to date (--frozen: nothing was written). Fix: run `kubepin lock` and commit kubepin.lock.json');
    expect(lockText()).toBe(before);
    await registry.settle();
    expect(registry.accessLog()).toEqual([]);
  }, 120000);

  test('--dry-run resolves and prints what would change, writing nothing; --json says the same', () => {
    const before = lockText();
    const dry = kubepin(dir, ['lock', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would add ${registry.host}/acme/worker:1.0 (${pushed.worker.digest})`);
    expect(dry.stdout).toContain('dry run, nothing written: 1 to add');
    expect(lockText()).toBe(before);
    const json = JSON.parse(kubepin(dir, ['lock', '--dry-run', '--json']).stdout);
    expect(json).toMatchObject({ written: false, wouldChange: true, changes: { added: [{ reference: `${registry.host}/acme/worker:1.0`, digest: pushed.worker.digest }], changed: [], pruned: [] } });
    expect(lockText()).toBe(before);
  }, 120000);

  test('entries the app no longer uses are named with the --prune hint; --frozen --prune fails on them', () => {
    expect(kubepin(dir, ['lock']).code).toBe(0);
    uses('worker');
    const run = kubepin(dir, ['lock']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`note: 1 entry of kubepin.lock.json is no longer used (${registry.host}/acme/api:1.0); \`kubepin lock --prune\` removes it`);
    expect(kubepin(dir, ['lock', '--frozen']).code).toBe(0);
    const frozen = kubepin(dir, ['lock', '--frozen', '--prune']);
    expect(frozen.code).toBe(1);
    expect(frozen.stdout).toContain(`would prune ${registry.host}/acme/api:1.0 (no longer used)`);
    expect(kubepin(dir, ['lock', '--prune']).stdout).toContain(`pruned ${registry.host}/acme/api:1.0`);
  }, 120000);

  test('while the app runs: --verbose says so on stderr and --json stays one JSON document; a terminal gets a live line', async () => {
    const run = kubepin(dir, ['lock', '--verbose', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('running `node main.js` (cdk8s.yaml) to learn its images…\n');
    expect(run.stderr).toMatch(/the app ran \([\d.]+ s\)\n/);
    expect(JSON.parse(run.stdout)).toMatchObject({ images: 1, alreadyLocked: 1 });
    // A terminal on stderr (in-process: the stream claims to be a TTY): a line that is redrawn, then cleared.
    const tty = await runCli(['lock', '--no-docker-login'], { cwd: dir, env: offlineEnv(work), tty: 'stderr' });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('\r\x1b[Krunning `node main.js` (cdk8s.yaml) to learn its images… 0 s');
    expect(tty.stderr.endsWith('\r\x1b[K')).toBe(true);
    // Not a terminal, no --verbose: nothing on stderr.
    expect(kubepin(dir, ['lock']).stderr).toBe('');
  }, 120000);
});
