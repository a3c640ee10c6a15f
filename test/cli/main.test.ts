import * as fs from 'fs';
import * as path from 'path';
import { runCli } from '../support/cli';

describe('kubepin CLI dispatcher', () => {
  test('--help lists every command; no command is a usage error', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['lock', 'verify', 'check', 'node-config']) expect(help.stdout).toContain(`  ${name}`);
    expect((await runCli([])).code).toBe(2);
  });

  test('--version prints the package version (the compiled bin: test/package/bin.test.ts)', async () => {
    const version = require('../../package.json').version;
    const run = await runCli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  test('an unknown command is a usage error naming it', async () => {
    const run = await runCli(['lokc']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "lokc"');
  });

  test('one rule for every command: a PATH that does not exist is a usage error (2), as the README and each --help say', async () => {
    const nowhere = path.join(__dirname, 'no-such-path.yaml');
    for (const argv of [['lock', nowhere], ['verify', nowhere], ['check', nowhere], ['node-config', 'validate', nowhere]]) {
      const run = await runCli(argv, { env: { HOME: __dirname } });
      expect([argv[0], run.code]).toEqual([argv[0], 2]);
      expect(run.stderr).toContain('no such file or directory');
      const help = await runCli([...argv.slice(0, argv[0] === 'node-config' ? 2 : 1), '--help']);
      expect(help.stdout).toMatch(/2 for bad usage \(a PATH that does not\s+exist included\)|2 for bad usage \(a PATH that does not exist\s+included\)/);
    }
    expect(fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')).toContain('`2` (usage: a bad flag, or a path that does not exist)');
  });
});
