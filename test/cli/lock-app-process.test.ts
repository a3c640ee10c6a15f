import * as fs from 'fs';
import * as path from 'path';
import { MAX_RECORD_FILE_BYTES } from '../../lib/core/policy/collect-mode';
import { spawnCli } from '../support/cli';
import { pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { tempProject } from '../support/registry-cli';

/*
 * Issue #24 items 5 and 7: `kubepin lock` running an app, as real processes. A signal reaching
 * kubepin stops the app's whole process group, removes the temporary directory and exits with
 * the shell's status; the app's image records are read line by line under a cap, a bad line named;
 * an app that exits leaving a background child on its stdout does not keep the run waiting.
 */
const RECORD_PATH = 'spec.template.spec.containers[0].image';

/** Processes of group `pgid` that are still running (zombies waiting to be reaped are not). */
function liveMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Gone meanwhile.
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after its last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') live.push(Number(entry));
  }
  return live;
}

/** Waits (bounded) until `check` holds; returns whether it did. */
async function eventually(check: () => boolean, tries = 400): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('kubepin lock running an app: signals, record files, stdout', () => {
  let registry: TestRegistryDetails;
  let image: PushedImage;
  let dir: string;
  let tmp: string;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'app/web', '1.0', { format: 'oci' });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-lock-app-');
    // The child's own temporary directory, so what it leaves there is seen.
    tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp);
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `kubepin lock --app COMMAND` as a child process. */
  const lockApp = (command: string, env: NodeJS.ProcessEnv = {}) => spawnCli(['lock', '--app', command, '--no-docker-login'], { cwd: dir, env: { TMPDIR: tmp, ...env } });
  const record = (image: string, object = 'Deployment/web') => JSON.stringify({ image, object, path: RECORD_PATH });
  const lockedImages = () => Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images as object);

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('item 5: %s during the app run stops the app and its background child, removes the temporary directory, exits %i', async (signal, status) => {
    // The shell is the group leader ($$); its background sleep ignores SIGINT (as in any non-interactive shell).
    const run = lockApp('sleep 600 & echo $$ > app.pid; echo "$KUBEPIN_COLLECT_IMAGES" > collect.path; wait');
    expect(await eventually(() => fs.existsSync(path.join(dir, 'collect.path')) && fs.readFileSync(path.join(dir, 'collect.path'), 'utf8').endsWith('\n'))).toBe(true);
    const pgid = Number(fs.readFileSync(path.join(dir, 'app.pid'), 'utf8'));
    const work = path.dirname(fs.readFileSync(path.join(dir, 'collect.path'), 'utf8').trim());
    expect(path.dirname(work)).toBe(tmp);
    expect(liveMembers(pgid).length).toBe(2);
    run.child.kill(signal);
    const result = await run.done;
    expect(result.stderr).toBe(`kubepin lock: stopped by ${signal} while running \`sleep 600 & echo $$ > app.pid; echo "$KUBEPIN_COLLECT_IMAGES" > collect.path; wait\`: the app and everything it started were stopped, nothing was locked\n`);
    expect([result.code, result.signal]).toEqual([status, null]);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(await eventually(() => liveMembers(pgid).length === 0)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
  });

  test('item 7: a truncated record line and a record whose image is not a string are named by line; the good record is locked, exit 1', async () => {
    const good = `${registry.host}/app/web:1.0`;
    const lines = [record(good), JSON.stringify({ image: 42, object: 'Deployment/x', path: RECORD_PATH }), record(`${registry.host}/app/other:2`).slice(0, 30)];
    const run = await lockApp(`printf '%s\\n' '${lines.join("' '")}' > "$KUBEPIN_COLLECT_IMAGES"`).done;
    expect(run.stderr).not.toContain('internal error');
    expect(run.stderr).toContain('recorded its images with line 2 unreadable ("image" must be a non-empty string, got number); the images on it are unknown. Fix: run `kubepin lock` again');
    expect(run.stderr).toContain('recorded its images with line 3 unreadable (not a JSON record (cut short?))');
    expect(run.stdout).toContain('1 resolved (1 new, 0 changed), 0 already locked, 2 failed');
    expect(run.code).toBe(1);
    expect(lockedImages()).toEqual([good]);
  });

  test('item 7: a record file of junk lines names the first ten and counts the rest', async () => {
    const run = await lockApp(`for i in $(seq 25); do echo "junk $i"; done > "$KUBEPIN_COLLECT_IMAGES"`).done;
    expect(run.code).toBe(1);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toHaveLength(11);
    expect(errors[9]).toContain('recorded its images with line 10 unreadable (not a JSON record (cut short?))');
    expect(errors[10]).toMatch(/^error: 15 more lines of the image records of `.+` are unreadable$/);
  });

  test('item 7: a record file just over the cap (sparse: nothing written) fails the run with the size, not an internal error', async () => {
    const run = await lockApp(`truncate -s ${MAX_RECORD_FILE_BYTES + 1} "$KUBEPIN_COLLECT_IMAGES"`).done;
    expect(run.stderr).toMatch(new RegExp(`^kubepin lock: running .+ to learn its images: the image records are larger than ${MAX_RECORD_FILE_BYTES} bytes \\(${MAX_RECORD_FILE_BYTES + 1}\\), more than any app records; something other than kubepin wrote to it\\. Fix: .+\\n$`));
    expect(run.code).toBe(1);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('item 7: an app that exits 0 leaving a background child on its stdout is not waited for; the child is stopped', async () => {
    const good = `${registry.host}/app/web:1.0`;
    // The default app timeout (ten minutes) is what a wait for the child would run into.
    const run = await lockApp(`printf '%s\\n' '${record(good)}' > "$KUBEPIN_COLLECT_IMAGES"; sleep 600 & echo $! > child.pid; echo started`).done;
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(lockedImages()).toEqual([good]);
    const child = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    expect(await eventually(() => !fs.existsSync(`/proc/${child}`) || fs.readFileSync(`/proc/${child}/stat`, 'utf8').includes(') Z '))).toBe(true);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
