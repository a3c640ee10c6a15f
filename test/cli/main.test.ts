import { PassThrough } from 'stream';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { main } from '../../lib/cli/main';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = { stdout: '', stderr: '' };
  stdout.on('data', (d) => (out.stdout += d));
  stderr.on('data', (d) => (out.stderr += d));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() }, out };
}

describe('kubepin CLI dispatcher', () => {
  test('--help lists every command; no command is a usage error', async () => {
    const a = io();
    expect(await main(['--help'], a.io)).toBe(0);
    for (const name of ['lock', 'verify', 'check', 'node-config']) expect(a.out.stdout).toContain(`  ${name}`);
    const b = io();
    expect(await main([], b.io)).toBe(2);
  });

  test('--version prints the package version, from the sources and from the compiled bin', async () => {
    const version = require('../../package.json').version;
    const a = io();
    expect(await main(['--version'], a.io)).toBe(0);
    expect(a.out.stdout).toBe(`${version}\n`);
    const root = path.join(__dirname, '..', '..');
    // The compiled CLI sits one level deeper (dist/lib/cli); run it as users do when it is built.
    const built = path.join(root, 'dist', 'lib', 'cli', 'main.js');
    if (require('fs').existsSync(built)) {
      expect(execFileSync(process.execPath, [path.join(root, 'bin', 'kubepin.js'), '--version']).toString()).toBe(`${version}\n`);
    }
  });

  test('an unknown command is a usage error naming it', async () => {
    const a = io();
    expect(await main(['lokc'], a.io)).toBe(2);
    expect(a.out.stderr).toContain('unknown command "lokc"');
  });
});
