/** Issue #13 items 7 (`-o` naming a directory) and 9 (lock files, directory modes, message sizes). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ImageLock, LockFileError } from '../../../lib/core/lock/image-lock';
import { writeFileAtomic } from '../../../lib/util/fs/write-file-atomic';
import { KubepinUsageError } from '../../../lib/util/errors';
import { writeNodeCredentialFiles, buildNodeCredentialFiles } from '../../../lib/node';
import { runCli } from '../../support/cli';

const APP = path.join(__dirname, '..', '..', 'node', 'fixtures', 'app.yaml');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-files-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('item 7: -o naming a directory', () => {
  test('node-config docker-config -o DIR is a usage error (exit 2), not an internal error', async () => {
    fs.mkdirSync(path.join(dir, 'out'));
    const r = await runCli(['node-config', 'docker-config', '--auth', 'ghcr.io=u,env:TOKEN', '-o', 'out', APP], { cwd: dir, env: { TOKEN: 'tok-123' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a directory, not a file/);
    expect(r.stderr).not.toContain('tok-123');
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual([]);
  });

  test('writeFileAtomic refuses a directory target with a KubepinUsageError', () => {
    expect(() => writeFileAtomic(dir, 'x')).toThrow(KubepinUsageError);
  });
});

describe('item 9: lock files', () => {
  test('a lock symlinked to a file that is not a lock: the error quotes none of its content', () => {
    const secret = path.join(dir, 'passwd');
    fs.writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash\nhunter2:secret-line\n');
    const lock = path.join(dir, 'kubepin.lock.json');
    fs.symlinkSync(secret, lock);
    let caught: unknown;
    try {
      ImageLock.load(lock);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LockFileError);
    expect((caught as Error).message).toMatch(/not valid JSON, so not a kubepin lock/);
    expect((caught as Error).message).not.toMatch(/root|hunter2|bash/);
  });

  test('a lock symlinked to /dev/zero is refused, not read forever', () => {
    const lock = path.join(dir, 'kubepin.lock.json');
    fs.symlinkSync('/dev/zero', lock);
    expect(() => ImageLock.load(lock)).toThrow(/not a regular file \(a device\)/);
  });

  test('a symlinked lock stays a symlink: save replaces the file it names', () => {
    fs.mkdirSync(path.join(dir, 'shared'));
    const target = path.join(dir, 'shared', 'images.lock.json');
    const lock = path.join(dir, 'kubepin.lock.json');
    fs.symlinkSync(path.join('shared', 'images.lock.json'), lock);
    const l = ImageLock.load(lock);
    l.set('nginx:1.27', { digest: DIGEST, mediaType: INDEX });
    l.save();
    expect(fs.lstatSync(lock).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).images['docker.io/library/nginx:1.27'].digest).toBe(DIGEST);
  });

  test('a *.tmp left by a writer killed mid-save is removed by the next save; a live writer\'s is kept', () => {
    const lock = path.join(dir, 'kubepin.lock.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const stale = path.join(dir, `.kubepin.lock.json.${dead}.1700000000000.tmp`);
    const live = path.join(dir, `.kubepin.lock.json.${process.ppid}.1700000000000.tmp`);
    fs.writeFileSync(stale, '{"half');
    fs.writeFileSync(live, '{"half');
    const l = ImageLock.load(lock);
    l.set('nginx:1.27', { digest: DIGEST, mediaType: INDEX });
    l.save();
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });

  test('a lock error that would quote thousands of entries is capped', () => {
    const lock = path.join(dir, 'kubepin.lock.json');
    const images: Record<string, unknown> = { 'docker.io/library/nginx:1': { requested: 'nginx:1', reference: 'docker.io/library/nginx:1', digest: DIGEST, mediaType: INDEX } };
    const extra: Record<string, number> = {};
    for (let i = 0; i < 19000; i++) extra[`field-${i}`] = i;
    Object.assign(images['docker.io/library/nginx:1'] as object, extra);
    fs.writeFileSync(lock, JSON.stringify({ version: 1, images }));
    expect(() => ImageLock.load(lock)).toThrow(LockFileError);
    try {
      ImageLock.load(lock);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(4200);
      expect((e as Error).message).toMatch(/more characters cut/);
    }
  });
});

describe('item 9: directory modes', () => {
  test('node-config generate creates its --out-dir 0700 even under umask 000, like docker-config', () => {
    const old = process.umask(0);
    try {
      const out = path.join(dir, 'a', 'node');
      const built = buildNodeCredentialFiles({ images: ['ghcr.io/acme/api:1'], credentialProviders: [{ name: 'ghcr', registries: ['ghcr.io'] }] } as never);
      writeNodeCredentialFiles(out, built);
      expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    } finally {
      process.umask(old);
    }
  });
});
