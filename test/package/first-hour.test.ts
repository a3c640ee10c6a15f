import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';
import { PushedImage, pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

/*
 * A user's first hour (issue 25), as the user meets it: kubepin installed from the tarball `npm
 * pack` made, the compiled CLI run as a process, `cdk8s synth` run by cdk8s-cli on an app that
 * imports kubepin from node_modules. No registry is needed here: every case is decided before
 * or without one (the digests come from a lock the test writes).
 */
const REPO = path.resolve(__dirname, '..', '..');
const CDK8S = path.join(REPO, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const REGISTER = path.join(REPO, 'scripts', 'ts-register.js');

interface Run { code: number | null; stdout: string; stderr: string }

let work: string;
let pkg: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-first-hour-'));
  pkg = packedKubepin().dir;
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A project directory with kubepin installed (its peers come from the repository's node_modules). */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  // A copy, as npm installs it (a link would make the package's own paths those of its target).
  fs.cpSync(pkg, path.join(dir, 'node_modules', 'kubepin'), { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

function run(dir: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const closed = 'http://127.0.0.1:9';
  const result = spawnSync(command, args, {
    cwd: dir, encoding: 'utf8', timeout: 120000,
    env: {
      PATH: process.env.PATH, HOME: dir, NODE_PATH: path.join(REPO, 'node_modules'),
      HTTP_PROXY: closed, HTTPS_PROXY: closed, http_proxy: closed, https_proxy: closed,
      npm_config_offline: 'true', CDK8S_CHECK_UPGRADE: 'false', ...env,
    },
  });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? `${result.error ?? ''}` };
}

function kubepin(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  return run(dir, process.execPath, [path.join(dir, 'node_modules', 'kubepin', 'bin', 'kubepin.js'), ...args], env);
}

function synth(dir: string): Run {
  return run(dir, process.execPath, [CDK8S, 'synth', '--no-check-upgrade']);
}

/** What `cdk8s init` writes, with the repository's TypeScript hook instead of ts-node. */
const CDK8S_YAML = `language: typescript\napp: node -r ${REGISTER} main.ts\n`;

const DEPLOYMENT = [
  'apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: api }',
  'spec:', '  selector: { matchLabels: { app: api } }', '  template:', '    metadata: { labels: { app: api } }',
  '    spec:', '      containers:', '        - name: api', '          image: ghcr.io/acme/api:1.4.2', '',
].join('\n');

describe('item 9: kubepin.config.json mistakes are configuration errors with a place and a fix', () => {
  const MALFORMED = '{\n  "imageLocations": [\n    { "kind": "Task", "image": "spec.steps[].image", }\n  ]\n}\n';

  test('a malformed file names line and column, for verify, check and lock alike, and exits 2', () => {
    const dir = project('config-malformed', { 'kubepin.config.json': MALFORMED, 'dist/app.yaml': DEPLOYMENT });
    // The trailing comma's `}` is where JSON stops: line 3, the column of that `}`.
    const column = MALFORMED.split('\n')[2].lastIndexOf('}') + 1;
    for (const args of [['verify', 'dist'], ['check', 'dist'], ['lock', 'dist', '--no-docker-login']]) {
      const result = kubepin(dir, args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(`kubepin.config.json:3:${column}: not valid JSON (Expected double-quoted property name at line 3, column ${column})`);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack
    }
  });

  test('a misspelled key is refused with the nearest known one, at the top level and in each section', () => {
    const cases: Array<[unknown, string]> = [
      [{ imageLocation: [] }, 'kubepin.config.json: unknown field "imageLocation" (did you mean "imageLocations"?)'],
      [{ signatures: { requires: [] } }, 'kubepin.config.json: signatures: unknown field "requires" (did you mean "require"?)'],
      [{ imageLocations: [{ kind: 'Task', imag: 'spec.image' }] }, 'kubepin.config.json: imageLocations[0]: unknown field "imag" (did you mean "image"?)'],
    ];
    cases.forEach(([config, message], i) => {
      const dir = project(`config-typo-${i}`, { 'kubepin.config.json': JSON.stringify(config), 'dist/app.yaml': DEPLOYMENT });
      const result = kubepin(dir, ['verify', 'dist']);
      expect({ message, code: result.code, stderr: result.stderr }).toEqual({ message, code: 2, stderr: expect.stringContaining(message) });
    });
  });

  test('at cdk8s synth the file is blamed, not the pre-pull construct that read it first', () => {
    const dir = project('config-synth', {
      'cdk8s.yaml': CDK8S_YAML,
      'kubepin.config.json': MALFORMED,
      'main.ts': [
        "import { App, Chart } from 'cdk8s';",
        "import { Deployment, Image, ImagePolicy } from 'kubepin/cdk8s-plus-33';",
        'const app = new App();',
        "new ImagePolicy(app, 'ImagePolicy');",
        "const chart = new Chart(app, 'shop', { namespace: 'shop' });",
        "new Deployment(chart, 'api', { containers: [{ image: Image.of('ghcr.io/acme/api:1.4.2') }], prePull: true });",
        'app.synth();',
      ].join('\n'),
    });
    const result = synth(dir);
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}${result.stderr}`;
    // Listed once, by the policy that reads the file; nothing else repeats it.
    expect(output.match(/kubepin\.config\.json:3:\d+: not valid JSON/g)).toHaveLength(1);
    expect(output).toMatch(/\[ImagePolicy\] kubepin\.config\.json:3:\d+: not valid JSON/);
    expect(output).not.toContain('kubepin-prepull');
  });
});

describe('item 3: the package carries its docs and metadata; every doc path kubepin prints opens', () => {
  /** The doc names the shipped code refers to: `docPath('x.md')` and literal `docs/x.md`. */
  function docsNamedBySources(): string[] {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(ts|js)$/.test(entry.name)) {
          const text = fs.readFileSync(full, 'utf8');
          for (const m of text.matchAll(/docPath\('([\w.-]+\.md)'\)|\bdocs\/([\w-]+\.md)/g)) names.add(m[1] ?? m[2]);
        }
      }
    };
    for (const dir of ['lib', 'validation-plugin', 'bin']) walk(path.join(REPO, dir));
    return [...names].sort();
  }

  test('docs/ is in the tarball, with every doc the sources name; package.json has repository, homepage and bugs', () => {
    const files = new Set(packedKubepin().files);
    const named = docsNamedBySources();
    expect(named).toEqual(expect.arrayContaining(['check.md', 'configuration.md', 'image-locations.md', 'signatures.md']));
    expect(named.filter((name) => !files.has(`docs/${name}`))).toEqual([]);
    for (const doc of fs.readdirSync(path.join(REPO, 'docs'))) expect(files.has(`docs/${doc}`)).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    expect({ repository: manifest.repository, homepage: manifest.homepage, bugs: manifest.bugs }).toEqual({
      repository: { type: 'git', url: 'git+https://github.com/kubepin/kubepin.git' },
      homepage: 'https://github.com/kubepin/kubepin#readme',
      bugs: { url: 'https://github.com/kubepin/kubepin/issues' },
    });
  });

  test('the doc paths the CLI prints, in help and in errors, exist from the project directory', () => {
    const dir = project('doc-paths', { 'kubepin.config.json': '{ "signature": {} }', 'dist/app.yaml': DEPLOYMENT });
    const outputs = [['lock', '--help'], ['verify', '--help'], ['check', '--help'], ['verify', 'dist']].map((args) => {
      const result = kubepin(dir, args);
      return `${result.stdout}${result.stderr}`;
    });
    const printed = outputs.flatMap((text) => [...text.matchAll(/[\w./-]*docs\/[\w-]+\.md/g)].map((m) => m[0]));
    expect(printed.length).toBeGreaterThanOrEqual(5);
    expect(printed).toContain('node_modules/kubepin/docs/configuration.md');
    expect(printed.filter((p) => !fs.existsSync(path.resolve(dir, p)))).toEqual([]);
  });
});

describe('item 16: the README\'s API table and the package agree', () => {
  test('every name the README\'s core table lists is exported by the entry point its heading names', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = /## The core \(`import … from '([\w/-]+)'`\)\n([\s\S]*?)\n### /.exec(readme);
    expect(section).not.toBeNull();
    const [, entry, body] = section!;
    const names = [...body.matchAll(/^\| `([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
    expect(names).toEqual(expect.arrayContaining(['ImageReference', 'applyImagePolicy', 'loadManifests']));
    const dir = project('api-table', {});
    const probe = run(dir, process.execPath, ['-e', `const m = require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(${JSON.stringify(names)}.filter((n) => !(n in m))))`]);
    expect(probe.stderr).toBe('');
    expect(JSON.parse(probe.stdout)).toEqual([]);
  });

  test('loadManifests, as the README describes it: objects with file and line, problems never thrown', () => {
    const dir = project('load-manifests', { 'dist/app.yaml': `${DEPLOYMENT}---\nkind: [\n` });
    const probe = run(dir, process.execPath, ['-e', [
      "const { loadManifests } = require('kubepin');",
      "const r = loadManifests(['dist']);",
      'process.stdout.write(JSON.stringify({ kinds: r.documents.map((d) => [d.object.kind, d.file, d.line]), problems: r.problems.length, files: r.files }));',
    ].join('\n')]);
    expect(probe.stderr).toBe('');
    const out = JSON.parse(probe.stdout);
    expect(out.kinds).toEqual([['Deployment', 'dist/app.yaml', 1]]);
    expect(out.problems).toBe(1);
  });
});

describe('item 4: the pre-puller\'s helper and pause images, named and settable', () => {
  let registry: TestRegistryDetails;
  const pushed: Record<string, PushedImage> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.api = await pushImage(registry, 'acme/api', '1.4.2');
    pushed.helper = await pushImage(registry, 'mirror/busybox', '1.36.1');
    pushed.pause = await pushImage(registry, 'mirror/pause', '3.10');
  }, 180000);
  afterAll(async () => {
    await registry?.stop();
  });

  test('under allowedRegistries the defaults fail synth naming the default and the fix; kubepin.config.json\'s prePullHelpers makes lock and synth pass', () => {
    const host = registry.host;
    const dir = project('prepull-helpers', {
      'cdk8s.yaml': CDK8S_YAML,
      'main.ts': [
        "import { App, Chart } from 'cdk8s';",
        "import { Deployment, Image, ImagePolicy } from 'kubepin/cdk8s-plus-33';",
        'const app = new App();',
        `new ImagePolicy(app, 'ImagePolicy', { strict: true, allowedRegistries: ['${host}'] });`,
        "const chart = new Chart(app, 'shop', { namespace: 'shop' });",
        `new Deployment(chart, 'api', { containers: [{ image: Image.of('${host}/acme/api:1.4.2') }], prePull: true });`,
        'app.synth();',
      ].join('\n'),
      'manifests/app.yaml': DEPLOYMENT.replace('ghcr.io/acme/api:1.4.2', `${host}/acme/api:1.4.2`),
    });
    // The app's own image locked (from its manifest), the pre-puller's defaults not.
    expect(kubepin(dir, ['lock', 'manifests', '--no-docker-login']).code).toBe(0);
    const failed = synth(dir);
    expect(failed.code).not.toBe(0);
    const output = `${failed.stdout}${failed.stderr}`;
    expect(output).toMatch(/registry-not-allowed[^\n]*Note: busybox:1\.36\.1 is kubepin's default pre-pull helper image \(busybox:1\.36\.1\)[^\n]*"prePullHelpers": \{ "helperImage": "…" \} in kubepin\.config\.json/);
    expect(output).toMatch(/registry-not-allowed[^\n]*registry\.k8s\.io\/pause:3\.10 is kubepin's default pre-pull pause image[^\n]*node_modules\/kubepin\/docs\/pre-pull\.md/);

    // kubepin lock of the app says it too (the app fails there under allowedRegistries, naming the default).
    const appLock = kubepin(dir, ['lock', '--no-docker-login']);
    expect(appLock.code).toBe(1);
    expect(appLock.stderr).toMatch(/registry-not-allowed[^\n]*Note: busybox:1\.36\.1 is kubepin's default pre-pull helper image/);

    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), JSON.stringify({ prePullHelpers: { helperImage: `${host}/mirror/busybox:1.36.1`, pauseImage: `${host}/mirror/pause:3.10` } }));
    const lock = kubepin(dir, ['lock', '--no-docker-login']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    const ok = synth(dir);
    expect(`${ok.stdout}${ok.stderr}`).not.toContain('error');
    expect(ok.code).toBe(0);
    const yaml = fs.readFileSync(path.join(dir, 'dist', 'shop.k8s.yaml'), 'utf8');
    expect(yaml).toContain(`image: ${host}/mirror/busybox:1.36.1@${pushed.helper.digest}`);
    expect(yaml).toContain(`image: ${host}/mirror/pause:3.10@${pushed.pause.digest}`);
    expect(yaml).not.toMatch(/docker\.io|registry\.k8s\.io/);
  }, 180000);
});

describe('item 8: images of kinds kubepin does not know are named at synth and app-mode lock; the Prometheus Operator is built in', () => {
  let registry: TestRegistryDetails;
  const pushed: Record<string, PushedImage> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.prometheus = await pushImage(registry, 'prometheus/prometheus', 'v3.5.0');
    pushed.sidecar = await pushImage(registry, 'acme/sidecar', '1.0');
  }, 180000);
  afterAll(async () => {
    await registry?.stop();
  });

  test('two Tekton Tasks: one note per kind, at lock and at synth, with the entry to add; a Prometheus and its merge list are pinned', () => {
    const host = registry.host;
    const task = (name: string) => `new ApiObject(chart, '${name}', { apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: '${name}' }, spec: { steps: [{ name: 'build', image: '${host}/kaniko/executor:v1.23.2', args: ['--help'] }] } });`;
    const dir = project('unknown-kinds', {
      'cdk8s.yaml': CDK8S_YAML,
      'main.ts': [
        "import { ApiObject, App, Chart } from 'cdk8s';",
        "import { ImagePolicy } from 'kubepin/cdk8s';",
        'const app = new App();',
        "new ImagePolicy(app, 'ImagePolicy');",
        "const chart = new Chart(app, 'monitoring', { namespace: 'monitoring' });",
        task('build'), task('test'),
        `new ApiObject(chart, 'prometheus', { apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'main' }, spec: { image: '${host}/prometheus/prometheus:v3.5.0', containers: [{ name: 'prometheus', resources: {} }, { name: 'sidecar', image: '${host}/acme/sidecar:1.0' }] } });`,
        'app.synth();',
      ].join('\n'),
    });
    const entry = '{"apiVersion":"tekton.dev/*","kind":"Task","image":"spec.steps[].image","pullPolicyField":"imagePullPolicy"}';
    const lock = kubepin(dir, ['lock', '--no-docker-login']);
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('2 resolved (2 new, 0 changed)');
    expect(lock.stderr.match(/kubepin knows no image location for kind Task/g)).toHaveLength(1);
    expect(lock.stderr).toContain(`add ${entry} to "imageLocations" in kubepin.config.json`);
    expect(lock.stderr).not.toContain('Prometheus');

    const synthesized = synth(dir);
    expect(synthesized.code).toBe(0);
    const output = `${synthesized.stdout}${synthesized.stderr}`;
    expect(output.match(/image-location-unknown Task/g)).toHaveLength(1);
    expect(output).toContain(`add ${entry} to "imageLocations"`);
    const yaml = fs.readFileSync(path.join(dir, 'dist', 'monitoring.k8s.yaml'), 'utf8');
    expect(yaml).toContain(`image: ${host}/prometheus/prometheus:v3.5.0@${pushed.prometheus.digest}`);
    expect(yaml).toContain(`image: ${host}/acme/sidecar:1.0@${pushed.sidecar.digest}`);
    // The merge-list entry without an image (a patch of the operator's own container) is left as written.
    expect(yaml).toMatch(/- name: prometheus\n\s+resources: \{\}\n/);
  }, 180000);
});

describe('item 10: a pull secret the app declared with fromExistingSecret is known to kubepin check', () => {
  test('synth records it on the workload; check names only the secret nobody declared', () => {
    const dir = project('existing-secret', {
      'cdk8s.yaml': CDK8S_YAML,
      'main.ts': [
        "import { App, Chart } from 'cdk8s';",
        "import { Deployment, Image, ImagePolicy, RegistryPullSecret } from 'kubepin/cdk8s-plus-33';",
        'const app = new App();',
        "new ImagePolicy(app, 'ImagePolicy', { privateRegistries: ['ghcr.io/acme'] });",
        "const chart = new Chart(app, 'shop', { namespace: 'shop' });",
        "RegistryPullSecret.fromExistingSecret(chart, 'Ghcr', 'ghcr-pull', { registries: ['ghcr.io/acme'] });",
        "new Deployment(chart, 'api', { containers: [{ image: Image.of('ghcr.io/acme/api:1.4.2') }] });",
        'app.synth();',
      ].join('\n'),
    });
    expect(synth(dir).code).toBe(0);
    const yaml = fs.readFileSync(path.join(dir, 'dist', 'shop.k8s.yaml'), 'utf8');
    expect(yaml).toContain('kubepin.dev/existing-pull-secrets: ghcr-pull');
    // A workload from elsewhere that lists a secret no one declared.
    fs.writeFileSync(path.join(dir, 'dist', 'other.yaml'), DEPLOYMENT.replace('metadata: { name: api }', 'metadata: { name: other, namespace: shop }')
      .replace('    spec:\n      containers:', '    spec:\n      imagePullSecrets: [{ name: other-pull }]\n      containers:'));
    const check = kubepin(dir, ['check', 'dist', '--format', 'json']);
    const missing = JSON.parse(check.stdout).findings.filter((f: { code: string }) => f.code === 'missing-pull-secret');
    expect(missing.map((f: { object: { name: string }; message: string }) => `${f.object.name}: ${/pull Secret (\S+)/.exec(f.message)![1]}`)).toEqual(['other: other-pull']);
  });
});

describe('item 11: one synth says each warning once', () => {
  test('the fromCredentials warning and latest-tag (policy and validation plugin) appear once each', () => {
    const dir = project('warn-once', {
      'cdk8s.yaml': `${CDK8S_YAML}validations:\n  - package: ./node_modules/kubepin/validation-plugin\n    version: 0.1.0\n    class: KubepinValidation\n`,
      'main.ts': [
        "import { App, Chart } from 'cdk8s';",
        "import { Deployment, Image, ImagePolicy, RegistryPullSecret } from 'kubepin/cdk8s-plus-33';",
        'const app = new App();',
        "new ImagePolicy(app, 'ImagePolicy');",
        "const chart = new Chart(app, 'shop', { namespace: 'shop' });",
        "RegistryPullSecret.fromCredentials(chart, 'Ghcr', { registry: 'ghcr.io/acme', username: 'bot', passwordEnv: 'GHCR_TOKEN' });",
        "new Deployment(chart, 'web', { containers: [{ image: Image.of('nginx:latest') }] });",
        'app.synth();',
      ].join('\n'),
    });
    const result = run(dir, process.execPath, [CDK8S, 'synth', '--no-check-upgrade'], { GHCR_TOKEN: 'not-a-real-token-123' });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.code).toBe(0);
    expect(output).not.toContain('not-a-real-token-123');
    expect(output.match(/holds the registry credential for ghcr\.io\/acme/g)).toHaveLength(1);
    expect({ output, count: output.match(/latest-tag/g)?.length }).toEqual({ output, count: 1 });
  });
});

describe('item 14: mirrors from kubepin.config.json, podman/skopeo auth.json, a 401 fix with the login tool installed', () => {
  let registry: TestRegistryDetails;
  let pushed: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    pushed = await pushImage(registry, 'acme/api', '1.4.2');
  }, 180000);
  afterAll(async () => {
    await registry?.stop();
  });

  /** A directory holding only `tools` (links to the real binaries, or a stand-in), as PATH. */
  function pathWith(dir: string, tools: Record<string, string>): string {
    const bin = path.join(dir, `bin-${Object.keys(tools).join('-')}`);
    fs.mkdirSync(bin, { recursive: true });
    for (const [name, target] of Object.entries(tools)) fs.symlinkSync(target, path.join(bin, name));
    return bin;
  }

  test('the mirror is configured once; without a login the 401 names podman login (only podman installed) or docker login; podman\'s auth.json logs in', () => {
    const dir = project('mirrors-auth', {
      'kubepin.config.json': JSON.stringify({ mirrors: { 'registry.acme.test': registry.host } }),
      'dist/app.yaml': DEPLOYMENT.replace('ghcr.io/acme/api:1.4.2', 'registry.acme.test/acme/api:1.4.2'),
    });
    const runtime = path.join(dir, 'run');
    fs.mkdirSync(path.join(runtime, 'containers'), { recursive: true });
    const podmanOnly = pathWith(dir, { podman: '/usr/bin/podman' });
    const denied = kubepin(dir, ['lock'], { PATH: podmanOnly, XDG_RUNTIME_DIR: runtime });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`401 Unauthorized from ${registry.host}`);
    expect(denied.stderr).toContain(`log in (podman login ${registry.host})`);
    const withDocker = kubepin(dir, ['lock'], { PATH: pathWith(dir, { docker: '/bin/true', podman: '/usr/bin/podman' }), XDG_RUNTIME_DIR: runtime });
    expect(withDocker.stderr).toContain(`log in (docker login ${registry.host})`);

    // What `podman login` writes: $XDG_RUNTIME_DIR/containers/auth.json.
    const auth = (password: string) => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${password}`).toString('base64') } } });
    fs.writeFileSync(path.join(runtime, 'containers', 'auth.json'), auth(registry.password!));
    const locked = kubepin(dir, ['lock'], { PATH: podmanOnly, XDG_RUNTIME_DIR: runtime });
    expect(locked.stderr).toBe('');
    expect(locked.code).toBe(0);
    const images = JSON.parse(fs.readFileSync(path.join(dir, 'kubepin.lock.json'), 'utf8')).images;
    expect(Object.keys(images)).toEqual(['registry.acme.test/acme/api:1.4.2']);
    expect(images['registry.acme.test/acme/api:1.4.2'].digest).toBe(pushed.digest);
    expect(locked.stdout).not.toContain(registry.password!);

    // REGISTRY_AUTH_FILE replaces the primary file; ~/.config/containers/auth.json is read after it.
    fs.rmSync(path.join(dir, 'kubepin.lock.json'));
    fs.writeFileSync(path.join(dir, 'override.json'), auth(registry.password!));
    expect(kubepin(dir, ['lock'], { PATH: podmanOnly, REGISTRY_AUTH_FILE: path.join(dir, 'override.json') }).code).toBe(0);
    fs.rmSync(path.join(dir, 'kubepin.lock.json'));
    fs.mkdirSync(path.join(dir, '.config', 'containers'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.config', 'containers', 'auth.json'), auth(registry.password!));
    expect(kubepin(dir, ['lock'], { PATH: podmanOnly }).code).toBe(0);
    // --no-docker-login reads none of them.
    fs.rmSync(path.join(dir, 'kubepin.lock.json'));
    expect(kubepin(dir, ['lock', '--no-docker-login'], { PATH: podmanOnly }).code).toBe(1);
  }, 180000);
});
