import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';

/*
 * The compiled CLI as `npm pack` ships it (built and packed once per run by global-setup.js):
 * `node node_modules/kubepin/bin/kubepin.js …`, outside the repository, with an empty
 * environment. The in-process tests run the TypeScript sources; this is what users run.
 */
const REPO = path.resolve(__dirname, '..', '..');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
const MANIFESTS = path.join(REPO, 'test', 'check', 'manifests');

let bin: string;
let work: string;

beforeAll(() => {
  bin = path.join(packedKubepin().dir, 'bin', 'kubepin.js');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bin-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function kubepin(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', timeout: 60000, env: { PATH: process.env.PATH, HOME: work } });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? `${result.error ?? ''}` };
}

describe('the compiled bin from the tarball', () => {
  test('--version prints the package version; --help lists every command', () => {
    expect(kubepin(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = kubepin(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['lock', 'verify', 'check', 'node-config']) expect(help.stdout).toContain(`  ${name}`);
  });

  test('check --format sarif names the tool and its version, and fails on an error finding', () => {
    const run = kubepin(['check', path.join(MANIFESTS, 'invalid-image.yaml'), path.join(MANIFESTS, 'latest-tag.yaml'), '--format', 'sarif']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const driver = JSON.parse(run.stdout).runs[0].tool.driver;
    expect({ name: driver.name, version: driver.version }).toEqual({ name: 'kubepin', version: VERSION });
    expect([...new Set(JSON.parse(run.stdout).runs[0].results.map((r: { ruleId: string }) => r.ruleId))]).toEqual(['invalid-image', 'latest-tag']);
  });

  test('a clean manifest passes; a mistyped flag is a usage error with a suggestion', () => {
    expect(kubepin(['check', path.join(MANIFESTS, 'clean.yaml')]).code).toBe(0);
    const typo = kubepin(['check', path.join(MANIFESTS, 'clean.yaml'), '--fromat', 'json']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean --format?');
  });
});

describe('every exports entry loads from the tarball', () => {
  test('require() and import() of each entry give its exports (peers resolved from the project)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    const entries = Object.keys(manifest.exports).filter((key) => key !== './package.json').map((key) => (key === '.' ? 'kubepin' : `kubepin/${key.slice(2)}`));
    const script = `
      const entries = ${JSON.stringify(entries)};
      (async () => {
        const out = {};
        // import() of a CommonJS entry gives its module.exports as default: the same object.
        for (const e of entries) out[e] = [Object.keys(require(e)).length, (await import(e)).default === require(e)];
        process.stdout.write(JSON.stringify(out));
      })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: packedKubepin().project, encoding: 'utf8', timeout: 60000, env: { PATH: process.env.PATH, HOME: work } });
    expect(result.stderr).toBe('');
    const loaded = JSON.parse(result.stdout) as Record<string, [number, boolean]>;
    expect(Object.keys(loaded)).toEqual(entries);
    for (const [entry, [exported, sameByImport]] of Object.entries(loaded)) {
      expect({ entry, exported: exported > 0, sameByImport }).toEqual({ entry, exported: true, sameByImport: true });
    }
  });
});

describe('the shipped validation plugin', () => {
  test('copied away from the core it loads, it says what it looked for and the fix', () => {
    const alone = path.join(work, 'plugin-alone');
    fs.cpSync(path.join(packedKubepin().dir, 'validation-plugin'), alone, { recursive: true });
    // cdk8s-cli constructs the plugin, then calls validate(context): the core is loaded there.
    const script = `new (require(${JSON.stringify(alone)}).KubepinValidation)().validate({ manifests: [] }).then(() => process.exit(0))`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: work, encoding: 'utf8', timeout: 60000, env: { PATH: process.env.PATH, HOME: work } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('kubepin validation plugin: cannot load kubepin (looked for ../dist/lib and the "kubepin" package). Fix: run `npm run build` first, or install kubepin next to the plugin');
  });
});
