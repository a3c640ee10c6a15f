import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withLockFile } from '../../lib/core/lock/image-lock';
import { writeFileAtomic } from '../../lib/util/fs/write-file-atomic';
import { spawnCli } from '../support/cli';
import { pushImage, PushClient, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, tempProject, writeFiles } from '../support/registry-cli';

/*
 * Issue #24 items 3 and 8: the lock file under real `kubepin lock` child processes and a real
 * registry. A lock shared through symlinks is guarded by the lock file of the file that is
 * replaced; what would stop the save is found before the app runs or a registry is asked; a
 * save that fails after the work keeps the results, and says where.
 */
const TAGS_PER_PROJECT = 6;

describe('the lock file: symlinks, odd files beside it, saves that fail', () => {
  let registry: TestRegistryDetails;
  let image: PushedImage;
  let dir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'edge/app', 'seed', { format: 'oci' });
    const res = await fetch(`${registry.baseUrl}/v2/edge/app/manifests/seed`, { headers: { Accept: image.mediaType } });
    const body = Buffer.from(await res.arrayBuffer());
    const client = new PushClient(registry, 'edge/app');
    await Promise.all(Array.from({ length: 2 * TAGS_PER_PROJECT }, (_, i) => client.putManifest(`t${i}`, body, image.mediaType)));
  }, 120000);
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-lock-edges-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A project under `dir` using tags t<from>… and a manifest of them. */
  function project(name: string, from: number): string {
    const root = path.join(dir, name);
    const images = Array.from({ length: TAGS_PER_PROJECT }, (_, i) => `${registry.host}/edge/app:t${from + i}`);
    writeFiles(root, { 'app.yaml': deploymentYaml(name, images) });
    return root;
  }
  const lock = (cwd: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => spawnCli(['lock', 'app.yaml', '--no-docker-login', ...extra], { cwd, env }).done;
  const entriesOf = (file: string) => Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).images as object).sort();
  const expected = (from: number, count: number) => Array.from({ length: count }, (_, i) => `${registry.host}/edge/app:t${from + i}`).sort();

  test('item 3: two projects whose locks are symlinks to one shared lock, run at once, keep every entry, 8 rounds in a row', async () => {
    const shared = path.join(dir, 'shared', 'kubepin.lock.json');
    fs.mkdirSync(path.dirname(shared));
    const a = project('a', 0);
    const b = project('b', TAGS_PER_PROJECT);
    fs.symlinkSync(shared, path.join(a, 'kubepin.lock.json'));
    fs.symlinkSync(path.relative(b, shared), path.join(b, 'kubepin.lock.json'));
    for (let round = 0; round < 8; round++) {
      fs.rmSync(shared, { force: true });
      const [ra, rb] = await Promise.all([lock(a), lock(b)]);
      expect([ra.code, ra.stderr, rb.code, rb.stderr]).toEqual([0, '', 0, '']);
      expect(entriesOf(shared)).toEqual(expected(0, 2 * TAGS_PER_PROJECT));
      // Both links are still links, and no lock file is left, beside the links or the target.
      expect(fs.lstatSync(path.join(a, 'kubepin.lock.json')).isSymbolicLink()).toBe(true);
      expect(fs.readdirSync(path.dirname(shared))).toEqual(['kubepin.lock.json']);
    }
  }, 180000);

  test('item 3: a run through a symlink waits for the lock file of the target, not of the link (held here, so the run gives up)', async () => {
    const shared = path.join(dir, 'shared', 'kubepin.lock.json');
    fs.mkdirSync(path.dirname(shared));
    const a = project('a', 0);
    fs.symlinkSync(shared, path.join(a, 'kubepin.lock.json'));
    // This (live) process holds the target's lock file, as a concurrent run writing it directly would.
    fs.writeFileSync(`${shared}.lock`, `${process.pid}@${os.hostname()}\n`);
    const run = await lock(a, { KUBEPIN_LOCK_WAIT_MS: '200' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`another kubepin (pid ${process.pid} on ${os.hostname()}) has held ${shared}.lock`);
    expect(fs.existsSync(shared)).toBe(false);
    expect(fs.existsSync(path.join(a, 'kubepin.lock.json.lock'))).toBe(false);
  });

  test('item 8: a save that fails after the images are resolved keeps them: the lock with them is written beside the lock file, and the run says where', async () => {
    const a = project('a', 0);
    const file = path.join(a, 'kubepin.lock.json');
    fs.writeFileSync(`${file}.lock`, `${process.pid}@${os.hostname()}\n`);
    const run = await lock(a, { KUBEPIN_LOCK_WAIT_MS: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .+kubepin\.lock\.json: another kubepin \(pid \d+ on .+\) has held .+kubepin\.lock\.json\.lock for more than 0 s\. Fix: .+\n/);
    expect(run.stderr).toContain(`error: the lock with this run's results (${TAGS_PER_PROJECT} entries) was written to kubepin.lock.json.unsaved instead. Fix: once that is solved, move it to kubepin.lock.json`);
    expect(run.stdout).toContain(`${TAGS_PER_PROJECT} resolved`);
    expect(fs.existsSync(file)).toBe(false);
    expect(entriesOf(`${file}.unsaved`)).toEqual(expected(0, TAGS_PER_PROJECT));
    // It is a complete lock: moved into place, the next run has nothing to resolve.
    fs.rmSync(`${file}.lock`);
    fs.renameSync(`${file}.unsaved`, file);
    const again = await lock(a, {}, ['--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ resolved: [], alreadyLocked: TAGS_PER_PROJECT });
  });

  test('item 8: a lock that is a dangling symlink into a missing directory is refused before the app runs, naming the directory', async () => {
    const a = project('a', 0);
    const missing = path.join(dir, 'gone', 'deeper', 'kubepin.lock.json');
    fs.symlinkSync(missing, path.join(a, 'kubepin.lock.json'));
    writeFiles(a, { 'app.js': `require('fs').writeFileSync(${JSON.stringify(path.join(a, 'ran'))}, '')` });
    const run = await spawnCli(['lock', '--app', `${JSON.stringify(process.execPath)} app.js`, '--no-docker-login'], { cwd: a }).done;
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`kubepin lock: ${path.join(a, 'kubepin.lock.json')} (a symlink to ${missing}) cannot be written: the directory ${path.dirname(missing)} does not exist. Fix: create it, or point the symlink at a lock in an existing directory\n`);
    expect(fs.existsSync(path.join(a, 'ran'))).toBe(false);
    // Created, the same link works.
    fs.mkdirSync(path.dirname(missing), { recursive: true });
    const fixed = await lock(a);
    expect([fixed.code, fixed.stderr]).toEqual([0, '']);
    expect(entriesOf(missing)).toEqual(expected(0, TAGS_PER_PROJECT));
  });

  test('item 8: a directory named like a stale temporary file is left alone, and the lock is written', async () => {
    const a = project('a', 0);
    // A pid no process has (above the kernel's pid_max), so the name reads as a dead writer's.
    const odd = path.join(a, '.kubepin.lock.json.2147483646.1.tmp');
    fs.mkdirSync(odd);
    fs.writeFileSync(path.join(odd, 'keep'), 'not kubepin\'s');
    const run = await lock(a);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(entriesOf(path.join(a, 'kubepin.lock.json'))).toEqual(expected(0, TAGS_PER_PROJECT));
    expect(fs.readFileSync(path.join(odd, 'keep'), 'utf8')).toBe('not kubepin\'s');
  });

  test('item 8: a FIFO where the lock file goes is refused at once (no wait bound set), before any registry is asked', async () => {
    const a = project('a', 0);
    const fifo = path.join(a, 'kubepin.lock.json.lock');
    execFileSync('mkfifo', [fifo]);
    const run = await lock(a);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`kubepin lock: ${path.join(a, 'kubepin.lock.json')}: ${fifo} is a FIFO, not a lock file kubepin made (those are regular files holding pid@host). Fix: remove it\n`);
    // The same holds for a FIFO that appears after that check, when the save takes the lock.
    expect(() => withLockFile(path.join(a, 'kubepin.lock.json'), () => 'ran')).toThrow(`${fifo} is a FIFO, not a lock file kubepin made`);
  });

  test('item 8: writing a file where a FIFO is replaces the FIFO without opening it (no reader needed, no wait)', () => {
    const target = path.join(dir, 'out.yaml');
    execFileSync('mkfifo', [target]);
    writeFileAtomic(target, 'kind: List\n');
    expect(fs.lstatSync(target).isFile()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('kind: List\n');
  });
});
