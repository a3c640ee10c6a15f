import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { KubepinUsageError } from '../../lib/util/errors';
import { MAX_TIMEOUT_SECONDS, closest, parseFlags, secondsFlag, wholeNumberFlag } from '../../lib/cli/options';
import { runCli } from '../support/cli';

describe('one CLI option layer', () => {
  test('every command suggests the flag it knows for a mistyped one', async () => {
    const cases: Array<[string[], string]> = [
      [['check', '--fail-no', 'warning'], '--fail-on'],
      [['check', '--onlin'], '--online'],
      [['lock', '--platfrom', 'linux/amd64'], '--platform'],
      [['verify', '--remtoe'], '--remote'],
      [['node-config', 'provider-config', '--provder', 'ecr=x'], '--provider'],
      [['node-config', 'generate', '--out-dri', 'x'], '--out-dir'],
    ];
    for (const [argv, suggestion] of cases) {
      const run = await runCli(argv, { env: { HOME: os.tmpdir() } });
      expect([argv, run.code]).toEqual([argv, 2]);
      expect(run.stderr).toContain(`; did you mean ${suggestion}?`);
      expect(run.stderr).toContain(`Run \`kubepin ${argv[0]} --help\` for usage.`);
    }
  });

  test('no suggestion for a flag nothing resembles; commands and subcommands are suggested too', async () => {
    const far = await runCli(['check', '--zzzzzzzzzz']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('unknown option --zzzzzzzzzz\n');
    expect((await runCli(['lokc'])).stderr).toContain('unknown command "lokc"; did you mean "lock"?');
    expect((await runCli(['node-config', 'valdiate'])).stderr).toContain('did you mean "validate"?');
  });

  test('closest() picks the nearest candidate, prefixes included, and nothing when far', () => {
    expect(closest('--timout', ['--timeout', '--retries'])).toBe('--timeout');
    expect(closest('--time', ['--timeout', '--retries'])).toBe('--timeout');
    expect(closest('--xyz', ['--timeout', '--retries'])).toBeUndefined();
  });

  test('one set of bounds: --timeout takes the same range in lock, verify and check', async () => {
    expect(secondsFlag('0.5', 'timeout')).toBe(0.5);
    expect(secondsFlag(String(MAX_TIMEOUT_SECONDS), 'timeout')).toBe(MAX_TIMEOUT_SECONDS);
    for (const bad of ['0', '-1', 'soon', '1e3', String(MAX_TIMEOUT_SECONDS + 1)]) expect(() => secondsFlag(bad, 'timeout')).toThrow(KubepinUsageError);
    expect(() => wholeNumberFlag('1001', 'retries', 0)).toThrow(/from 0 to 1000/);
    const over = String(MAX_TIMEOUT_SECONDS + 1);
    for (const command of ['lock', 'verify', 'check']) {
      const run = await runCli([command, `--timeout=${over}`], { env: { HOME: os.tmpdir() } });
      expect([command, run.code]).toEqual([command, 2]);
      expect(run.stderr).toContain(`--timeout must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, got "${over}"`);
    }
  });

  test('--fail-on names every severity it takes', async () => {
    const run = await runCli(['check', '--fail-on', 'never']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--fail-on must be error, warning or info, got "never"');
    expect((await runCli(['check', '--help'])).stdout).toContain('--fail-on error|warning|info');
  });

  test('a missing value and a value given to a boolean are usage errors, in our words', () => {
    expect(() => parseFlags(['--format'], { format: { type: 'string' } })).toThrow('--format needs a value: --format VALUE or --format=VALUE');
    expect(() => parseFlags(['--json=1'], { json: { type: 'boolean' } })).toThrow('--json takes no value: give --json alone (without "=…")');
    expect(() => parseFlags(['-o', '-q'], { output: { type: 'string', short: 'o' }, quiet: { type: 'boolean', short: 'q' } })).toThrow('-o is followed by "-q", which looks like an option, not its value. Fix: give -o its value, or write --output=-q if that is the value');
    expect(parseFlags(['a', '-h', '--x=1'], { x: { type: 'string' } })).toEqual({ values: { help: true, x: '1' }, positionals: ['a'] });
  });
});

describe('one package-version lookup', () => {
  test('from the sources and from a built layout (dist/lib/util, three levels below package.json)', () => {
    const version = require('../../package.json').version;
    expect(require('../../lib/util/version').packageVersion()).toBe(version);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-version-'));
    try {
      fs.mkdirSync(path.join(root, 'dist', 'lib', 'util'), { recursive: true });
      fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'kubepin', version: '9.8.7' }));
      const source = fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'util', 'version.ts'), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
      fs.writeFileSync(path.join(root, 'dist', 'lib', 'util', 'version.js'), js);
      // A package.json of another package one level up (dist/) is not taken for kubepin's.
      fs.writeFileSync(path.join(root, 'dist', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
      expect(require(path.join(root, 'dist', 'lib', 'util', 'version.js')).packageVersion()).toBe('9.8.7');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('check --format sarif names the tool version', async () => {
    const run = await runCli(['check', 'test/check/manifests/latest-tag.yaml', '--format', 'sarif']);
    expect(JSON.parse(run.stdout).runs[0].tool.driver.version).toBe(require('../../package.json').version);
  });
});
