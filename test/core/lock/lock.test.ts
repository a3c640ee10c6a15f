import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import { ImageLock, LockFileError } from '../../../lib';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ImageLock', () => {
  test('a missing file is an empty lock', () => {
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    expect(lock.size).toBe(0);
    expect(lock.get('nginx:1.27')).toBeUndefined();
  });

  test('any spelling of a tagged reference finds the entry; the digest in the query is ignored', () => {
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    const digest = digestOf('nginx');
    lock.set('nginx:1.27', { digest, mediaType: INDEX });
    expect(lock.get('docker.io/library/nginx:1.27')?.digest).toBe(digest);
    expect(lock.get('index.docker.io/library/nginx:1.27')?.requested).toBe('nginx:1.27');
    expect(lock.get(`nginx:1.27@${digestOf('other')}`)?.digest).toBe(digest);
    expect(lock.get('nginx:1.28')).toBeUndefined();
    expect(lock.get('nginx')).toBeUndefined();
  });

  test('save writes sorted, stable JSON with a trailing newline and round-trips', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const lock = ImageLock.load(file);
    lock.set('redis:7', { digest: digestOf('redis'), mediaType: INDEX, platforms: { 'linux/arm64': digestOf('b'), 'linux/amd64': digestOf('a') } });
    lock.set('ghcr.io/acme/api:1.4', { digest: digestOf('api'), mediaType: INDEX });
    lock.save();
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text);
    expect(parsed.version).toBe(1);
    expect(Object.keys(parsed.images)).toEqual(['docker.io/library/redis:7', 'ghcr.io/acme/api:1.4']);
    expect(Object.keys(parsed.images['docker.io/library/redis:7'].platforms)).toEqual(['linux/amd64', 'linux/arm64']);

    const again = ImageLock.load(file);
    const before = fs.statSync(file).mtimeMs;
    again.save();
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).mtimeMs).toBe(before); // unchanged lock: not even rewritten
    expect(again.serialize()).toBe(text);
  });

  test('save replaces the file by rename (a new inode), never by rewriting it in place', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const lock = ImageLock.load(file);
    lock.set('a:1', { digest: digestOf('a'), mediaType: INDEX });
    lock.save();
    const inode = fs.statSync(file).ino;
    lock.set('b:1', { digest: digestOf('b'), mediaType: INDEX });
    lock.save();
    expect(fs.statSync(file).ino).not.toBe(inode);
    expect(fs.readdirSync(dir)).toEqual(['kubepin.lock.json']);
  });

  test('set validates digests and refuses untagged references', () => {
    const lock = ImageLock.empty(path.join(dir, 'l.json'));
    expect(() => lock.set('nginx:1', { digest: 'sha256:abc', mediaType: INDEX })).toThrow(/needs exactly 64/);
    expect(() => lock.set(`nginx@${digestOf('x')}`, { digest: digestOf('x'), mediaType: INDEX })).toThrow(/only tagged references/);
    expect(() => lock.set('nginx:1', { digest: digestOf('x'), mediaType: 'text/plain' })).toThrow(/unknown manifest media type/);
    expect(() => lock.set('nginx:1', undefined as any)).toThrow(LockFileError);
    expect(() => lock.set(7 as any, { digest: digestOf('x'), mediaType: INDEX })).toThrow(/must be a string/);
    expect(() => ImageLock.load(undefined as any)).toThrow(/must be a string, got undefined/);
  });

  test.each([
    ['not JSON', '{ "version": 1, ', /not valid JSON/],
    ['wrong version', '{"version": 7, "images": {}}', /version 7 is not supported/],
    ['images not an object', '{"version": 1, "images": []}', /"images" must be an object/],
    ['bad digest', JSON.stringify({ version: 1, images: { 'docker.io/library/a:1': { requested: 'a:1', reference: 'docker.io/library/a:1', digest: 'sha256:12', mediaType: INDEX } } }), /needs exactly 64/],
    ['key/reference mismatch', JSON.stringify({ version: 1, images: { 'docker.io/library/a:1': { requested: 'a:1', reference: 'docker.io/library/a:2', digest: digestOf('a'), mediaType: INDEX } } }), /must be the normalized tagged reference/],
    ['unknown field', JSON.stringify({ version: 1, images: { 'docker.io/library/a:1': { requested: 'a:1', reference: 'docker.io/library/a:1', digest: digestOf('a'), mediaType: INDEX, extra: 1 } } }), /unknown field/],
  ])('a corrupt lock (%s) is a clear error naming the file, and is never overwritten', (_name, text, message) => {
    const file = path.join(dir, 'kubepin.lock.json');
    fs.writeFileSync(file, text);
    let error: Error | undefined;
    try {
      ImageLock.load(file);
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(LockFileError);
    expect(error!.message).toContain(file);
    expect(error!.message).toMatch(message);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('killing the process in the middle of saves leaves the old or the new file, never a torn one', async () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const register = path.join(__dirname, '..', '..', '..', 'scripts', 'ts-register.js');
    const lib = path.join(__dirname, '..', '..', '..', 'lib', 'core', 'lock', 'image-lock.ts');
    // The child saves ever-growing locks (each entry's digest derived from its index) until killed.
    const writer = `
      require(${JSON.stringify(register)});
      const { createHash } = require('crypto');
      const { ImageLock } = require(${JSON.stringify(lib)});
      const lock = ImageLock.load(${JSON.stringify(file)});
      for (let i = 0; ; i++) {
        const digest = 'sha256:' + createHash('sha256').update('img' + i).digest('hex');
        lock.set('registry.example.com/app' + i + ':v' + i, { digest, mediaType: ${JSON.stringify(INDEX)} });
        lock.save();
      }`;
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ['-e', writer], { stdio: 'ignore' });
      // Wait (bounded) until the child has saved a few times, then kill it mid-flight.
      for (let i = 0; i < 400 && (!fs.existsSync(file) || ImageLock.load(file).size < 20 * (round + 1)); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 7 * round));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const lock = ImageLock.load(file); // throws if torn
      expect(lock.size).toBeGreaterThan(0);
      for (const entry of lock.list()) {
        const i = /app(\d+):/.exec(entry.reference)![1];
        expect(entry.digest).toBe(digestOf(`img${i}`));
      }
    }
  });

  test('saves merge under the lock file: two locks read before either saved both keep their entries', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const a = ImageLock.load(file);
    const b = ImageLock.load(file);
    a.set('a:1', { digest: digestOf('a'), mediaType: INDEX });
    b.set('b:1', { digest: digestOf('b'), mediaType: INDEX });
    a.save();
    b.save();
    expect(ImageLock.load(file).list().map((e) => e.reference)).toEqual(['docker.io/library/a:1', 'docker.io/library/b:1']);
    expect(b.size).toBe(2); // the saver now holds the merged entries
    // A deletion is merged too, and only for its own key.
    a.delete('a:1');
    a.save();
    expect(ImageLock.load(file).list().map((e) => e.reference)).toEqual(['docker.io/library/b:1']);
    expect(fs.readdirSync(dir)).toEqual(['kubepin.lock.json']);
  });

  test('a lock file left by a dead process is taken over; a live holder is waited for, then named', async () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    fs.writeFileSync(`${file}.lock`, `${dead.pid}@${os.hostname()}\n`);
    const lock = ImageLock.load(file);
    lock.set('a:1', { digest: digestOf('a'), mediaType: INDEX });
    lock.save();
    expect(ImageLock.load(file).size).toBe(1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);

    // This process holds it (alive): the save waits the bounded time and fails with the holder and the fix.
    fs.writeFileSync(`${file}.lock`, `${process.pid}@${os.hostname()}\n`);
    process.env.KUBEPIN_LOCK_WAIT_MS = '150';
    try {
      lock.set('b:1', { digest: digestOf('b'), mediaType: INDEX });
      expect(() => lock.save()).toThrow(LockFileError);
      expect(() => lock.save()).toThrow(new RegExp(`another kubepin \\(pid ${process.pid} on .*\\) has held .*kubepin\\.lock\\.json\\.lock.*if no kubepin is running, remove`));
    } finally {
      delete process.env.KUBEPIN_LOCK_WAIT_MS;
    }
    expect(ImageLock.load(file).size).toBe(1);
    fs.rmSync(`${file}.lock`);
    lock.save();
    expect(ImageLock.load(file).size).toBe(2);
  });

  test('an untagged image is keyed as the kubelet pulls it: tag latest', () => {
    const lock = ImageLock.load(path.join(dir, 'kubepin.lock.json'));
    const entry = lock.set('nginx', { digest: digestOf('nginx'), mediaType: INDEX });
    expect(entry).toMatchObject({ requested: 'nginx', reference: 'docker.io/library/nginx:latest' });
    expect(lock.get('docker.io/library/nginx:latest')?.digest).toBe(digestOf('nginx'));
    expect(lock.get('nginx')?.digest).toBe(digestOf('nginx'));
  });
});
