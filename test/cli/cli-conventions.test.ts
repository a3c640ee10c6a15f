import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';
import { offlineEnv, runPackedKubepin } from '../support/packed-cli';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * The CLI as people use CLIs: the compiled bin of the packed tarball as a process, against a
 * registry on 127.0.0.1.
 */
const REPO = path.resolve(__dirname, '..', '..');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;

describe('kubepin follows the conventions of CLIs', () => {
  let registry: TestRegistryDetails;
  let work: string;
  let pkg: string;
  let web: PushedImage;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-conventions-'));
    pkg = packedKubepin().dir;
    registry = await startRegistry();
    web = await pushImage(registry, 'acme/web', '1.0');
  }, 180000);

  afterAll(async () => {
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const kubepin = (args: string[], options: { cwd?: string; input?: string } = {}) => runPackedKubepin(pkg, args, { cwd: options.cwd ?? work, env: offlineEnv(work), input: options.input });

  const deployment = (image: string) => [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: web }', 'spec:', '  selector: { matchLabels: { app: web } }',
    '  template:', '    metadata: { labels: { app: web } }', '    spec:', '      containers:',
    `        - { name: web, image: "${image}", imagePullPolicy: IfNotPresent }`, '',
  ].join('\n');

  test('--version, -v and `version` print the version; help lists them and `help <command>` is the command\'s --help', () => {
    for (const word of ['--version', '-v', 'version']) expect(kubepin([word])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = kubepin(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}version +print kubepin's version \(also -v, --version\)$/m);
    expect(help.stdout).toMatch(/^ {2}help \[COMMAND\] +show this help/m);
    for (const command of ['lock', 'verify', 'check', 'node-config']) {
      const viaHelp = kubepin(['help', command]);
      expect({ command, code: viaHelp.code }).toEqual({ command, code: 0 });
      expect(viaHelp.stdout).toBe(kubepin([command, '--help']).stdout);
      expect(viaHelp.stdout).toContain(`Usage: kubepin ${command}`);
    }
    expect(kubepin(['help', 'lokc']).stderr).toContain('unknown command "lokc"; did you mean "lock"?');
  });

  test('`node-config provider-config --help` prints that subcommand\'s help, not the whole command\'s', () => {
    const sub = kubepin(['node-config', 'provider-config', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^Usage: kubepin node-config provider-config /);
    expect(sub.stdout).toContain('--provider NAME=REGISTRY');
    expect(sub.stdout).not.toContain('--out-dir');
    expect(sub.stdout).not.toContain('--auth');
    expect(kubepin(['help', 'node-config', 'validate']).stdout).toMatch(/^Usage: kubepin node-config validate FILE…/);
  });

  test('one output flag for every command: --format json, and --json as its alias', () => {
    const dir = path.join(work, 'formats');
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    const pinned = `${registry.host}/acme/web:1.0@${web.digest}`;
    fs.writeFileSync(path.join(dir, 'dist', 'app.yaml'), deployment(pinned));
    expect(kubepin(['lock', 'dist', '--no-docker-login'], { cwd: dir }).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('ci:secret').toString('base64') } } }));
    const runs: Array<[string, string[]]> = [
      ['lock', ['lock', 'dist', '--no-docker-login']],
      ['verify', ['verify', 'dist']],
      ['check', ['check', 'dist']],
      ['node-config', ['node-config', 'validate', 'config.json']],
    ];
    for (const [name, argv] of runs) {
      const json = kubepin([...argv, '--json'], { cwd: dir });
      const format = kubepin([...argv, '--format', 'json'], { cwd: dir });
      expect({ name, json: json.code, format: format.code, stderr: json.stderr }).toEqual({ name, json: 0, format: 0, stderr: '' });
      expect(JSON.parse(json.stdout)).toEqual(JSON.parse(format.stdout));
    }
    const contradiction = kubepin(['check', 'dist', '--json', '--format', 'sarif'], { cwd: dir });
    expect(contradiction.code).toBe(2);
    expect(contradiction.stderr).toContain('--json is --format json; it contradicts --format sarif');
    expect(kubepin(['lock', 'dist', '--format', 'sarif'], { cwd: dir }).stderr).toContain('--format must be text or json, got "sarif"');
    // verify is a CI gate too: SARIF where it applies, its findings on the manifest lines.
    fs.writeFileSync(path.join(dir, 'dist', 'unpinned.yaml'), deployment(`${registry.host}/acme/web:1.0`));
    const sarif = kubepin(['verify', 'dist', '--format', 'sarif'], { cwd: dir });
    expect(sarif.code).toBe(1);
    const sarifRun = JSON.parse(sarif.stdout).runs[0];
    expect(sarifRun.results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine])).toEqual([['unpinned', 'error', 'dist/unpinned.yaml', 10]]);
    expect(sarifRun.results[0].locations[0].logicalLocations[0]).toMatchObject({ name: 'web', kind: 'resource', properties: { kind: 'Deployment', name: 'web' } });
    expect(sarifRun.tool.driver.rules.map((r: any) => r.id)).toContain('digest-mismatch');
    expect(sarifRun.tool.driver.rules.every((r: any) => /^https:\/\/\S+#[\w-]+$/.test(r.helpUri) && r.help.text.length > 30)).toBe(true);
    fs.rmSync(path.join(dir, 'dist', 'unpinned.yaml'));
  });

  test('"-" reads standard input for lock and verify, as for check', () => {
    const dir = path.join(work, 'stdin');
    fs.mkdirSync(dir);
    const lock = kubepin(['lock', '-', '--no-docker-login'], { cwd: dir, input: deployment(`${registry.host}/acme/web:1.0`) });
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('kubepin.lock.json: 1 resolved (1 new, 0 changed)');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images[`${registry.host}/acme/web:1.0`].digest).toBe(web.digest);

    const ok = kubepin(['verify', '-'], { cwd: dir, input: deployment(`${registry.host}/acme/web:1.0@${web.digest}`) });
    expect(ok).toMatchObject({ code: 0, stdout: '1 image reference checked against kubepin.lock.json: ok\n' });
    const unpinned = kubepin(['verify', '-'], { cwd: dir, input: deployment(`${registry.host}/acme/web:1.0`) });
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toContain('error: <stdin>:10: Deployment/web:');
    expect(kubepin(['check', '-'], { cwd: dir, input: deployment(`${registry.host}/acme/web:1.0@${web.digest}`) }).code).toBe(0);
    expect(kubepin(['verify', '-', '-'], { cwd: dir }).stderr).toContain('"-" (standard input) can be given once');
  });

  test('--quiet prints nothing on success; --verbose says what was read', () => {
    const dir = path.join(work, 'quiet');
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'app.yaml'), deployment(`${registry.host}/acme/web:1.0@${web.digest}`));
    expect(kubepin(['lock', 'dist', '--quiet', '--no-docker-login'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(kubepin(['verify', '-q'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(kubepin(['check', '--quiet'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '' });
    const verbose = kubepin(['verify', '--verbose'], { cwd: dir });
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toBe('read 1 file under dist/: 1 Kubernetes object\n');
    expect(kubepin(['check', '--verbose'], { cwd: dir }).stderr).toBe('read 1 file under dist/: 1 Kubernetes object\n');
    expect(kubepin(['verify', '--quiet', '--verbose'], { cwd: dir }).stderr).toContain('--quiet and --verbose contradict each other');
    // check --quiet shows only what fails the run: a warning alone prints nothing.
    fs.writeFileSync(path.join(dir, 'warn.yaml'), deployment('nginx:latest'));
    expect(kubepin(['check', 'warn.yaml'], { cwd: dir }).stdout).toContain('latest-tag');
    expect(kubepin(['check', 'warn.yaml', '--quiet'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '' });
    const failing = kubepin(['check', 'warn.yaml', '--quiet', '--fail-on', 'warning'], { cwd: dir });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('latest-tag');
    // node-config --verbose says what was read.
    expect(kubepin(['node-config', 'provider-config', '--provider', 'ecr=127.0.0.1:5000', '--verbose', 'dist'], { cwd: dir }).stderr).toContain('read 1 file: 1 Kubernetes object, 1 image\n');
  });

  test('a flag without its value, or a switch given one, gets our message with the fix, not parseArgs text', () => {
    const missing = kubepin(['check', '--format']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('kubepin check: --format needs a value: --format VALUE or --format=VALUE\nRun `kubepin check --help` for usage.\n');
    const valued = kubepin(['verify', '--json=yes']);
    expect(valued.code).toBe(2);
    expect(valued.stderr).toContain('kubepin verify: --json takes no value: give --json alone');
    const ambiguous = kubepin(['lock', '--lock-file', '--update']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--lock-file is followed by "--update", which looks like an option, not its value');
    for (const run of [missing, valued, ambiguous]) expect(run.stderr).not.toMatch(/Option '|argument missing|ambiguous\./);
    expect(kubepin(['check', '--format', 'xml']).stderr).toContain('--format must be text, json or sarif, got "xml"');
  });
});
