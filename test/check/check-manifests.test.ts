import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildPrePull } from '../../lib/prepull';
import { applyImagePolicy } from '../../lib/core/policy/engine';
import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { KubepinUsageError } from '../../lib/util/errors';
import { checkManifests, checkFiles, imagePullBackoffSchedule, toSarif, CheckFinding } from '../../lib/check';
import { runCli } from './support';

function deployment(name: string, containers: object[], extra: object = {}): object {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers, ...extra } } },
  };
}

const codes = (findings: readonly CheckFinding[]) => findings.map((f) => f.code);

describe('checkManifests', () => {
  test('a kubepin pre-pull DaemonSet satisfies imagePullPolicy Never', () => {
    const prePull = buildPrePull({ images: ['ghcr.io/acme/tool:2.1'] });
    const workload = deployment('tool', [{ name: 'tool', image: 'ghcr.io/acme/tool:2.1', imagePullPolicy: 'Never' }]);
    expect(codes(checkManifests([workload]).findings)).toContain('never-without-prepull');
    const result = checkManifests([...prePull.objects, workload]);
    expect(codes(result.findings)).not.toContain('never-without-prepull');
    // The pre-pulled tag does not serve a different tag.
    const other = deployment('tool', [{ name: 'tool', image: 'ghcr.io/acme/tool:2.2', imagePullPolicy: 'Never' }]);
    expect(codes(checkManifests([...prePull.objects, other]).findings)).toContain('never-without-prepull');
  });

  test('the pre-puller\'s node-scope findings come through with the kubelet state', () => {
    const prePull = buildPrePull({ images: [{ image: 'ghcr.io/acme/tool:2.1', nodeSelector: { pool: 'a' } }] });
    const workload = deployment('tool', [{ name: 'tool', image: 'ghcr.io/acme/tool:2.1', imagePullPolicy: 'Never' }], { nodeSelector: { pool: 'b' } });
    const scope = checkManifests([...prePull.objects, workload]).findings.find((f) => f.code === 'prepull-node-scope');
    expect(scope).toMatchObject({ severity: 'error', state: 'ErrImageNeverPull', object: { kind: 'Deployment', name: 'tool' } });
  });

  test('node config credentials and credential providers count as credentials for private registries', () => {
    const workload = deployment('api', [{ name: 'api', image: 'registry.example.com/team/api:1.0' }]);
    const options = { privateRegistries: ['registry.example.com'] };
    expect(codes(checkManifests([workload], options).findings)).toEqual(['no-pull-secret-for-private-registry']);
    const node = new CredentialKeyring().addEntry('/var/lib/kubelet/config.json', 'registry.example.com', { username: 'u', password: 'p' });
    expect(checkManifests([workload], { ...options, nodeCredentials: node }).findings).toEqual([]);
    const providers = { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig', providers: [{ name: 'ecr', matchImages: ['*.example.com'], defaultCacheDuration: '12h', apiVersion: 'credentialprovider.kubelet.k8s.io/v1' }] };
    const result = checkManifests([workload], { ...options, credentialProviders: providers as never });
    expect(result.findings).toEqual([]);
    expect(result.plans[0].providers).toEqual(['ecr']);
  });

  test('a ServiceAccount\'s secrets are used when the pod lists none', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'reg' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { username: 'u', password: 'p' } } }) } };
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'runner' }, imagePullSecrets: [{ name: 'reg' }] };
    const workload = deployment('api', [{ name: 'api', image: 'registry.example.com/team/api:1.0' }], { serviceAccountName: 'runner' });
    const result = checkManifests([secret, sa, workload], { privateRegistries: ['registry.example.com'] });
    expect(result.findings).toEqual([]);
    expect(result.plans[0].secrets).toEqual(['reg']);
    expect(result.plans[0].keyring.lookup('registry.example.com/team/api').map((m) => m.source)).toEqual(['reg']);
  });

  test('secrets in another namespace do not serve the pod', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'reg', namespace: 'a' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{}}' } };
    const workload = { ...deployment('api', [{ name: 'api', image: 'nginx:1.27' }], { imagePullSecrets: [{ name: 'reg' }] }), metadata: { name: 'api', namespace: 'b' } };
    expect(codes(checkManifests([secret, workload]).findings)).toEqual(['missing-pull-secret']);
  });

  test('secret payload shapes the kubelet ignores or rejects', () => {
    const pod = (secretType: string, data: object) => [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: secretType, ...data },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { imagePullSecrets: [{ name: 's' }], containers: [{ name: 'c', image: 'nginx:1.27' }] } },
    ];
    expect(codes(checkManifests(pod('Opaque', { stringData: { '.dockerconfigjson': '{"auths":{}}' } })).findings)).toEqual(['unusable-pull-secret']);
    expect(codes(checkManifests(pod('kubernetes.io/dockerconfigjson', { stringData: { '.dockerconfigjson': '{"registry.example.com":{}}' } })).findings)).toEqual(['unusable-pull-secret']);
    expect(codes(checkManifests(pod('kubernetes.io/dockerconfigjson', { stringData: { '.dockerconfigjson': '{not json' } })).findings)).toEqual(['malformed-pull-secret', 'malformed-pull-secret']);
    expect(codes(checkManifests(pod('kubernetes.io/dockerconfigjson', { data: { '.dockerconfigjson': '%%%' } })).findings)).toEqual(['malformed-pull-secret', 'malformed-pull-secret']);
    const ok = checkManifests(pod('kubernetes.io/dockercfg', { stringData: { '.dockercfg': JSON.stringify({ 'https://index.docker.io/v1/': { auth: Buffer.from('u:p').toString('base64') } }) } }));
    expect(ok.findings).toEqual([]);
    expect(ok.plans[0].keyring.lookup('nginx:1.27').map((m) => m.source)).toEqual(['s']);
  });

  test('a missing image is refused by the API server, not reported as InvalidImageName', () => {
    const [finding] = checkManifests([deployment('x', [{ name: 'c' }])]).findings;
    expect(finding).toMatchObject({ code: 'invalid-image', severity: 'error', path: 'spec.template.spec.containers[0].image' });
    expect(finding.state).toBeUndefined();
    expect(finding.message).toMatch(/container c has no image; the API server rejects the object/);
  });

  test('bad arguments are usage errors', () => {
    expect(() => checkManifests('x' as never)).toThrow(KubepinUsageError);
    expect(() => checkManifests([], { allowedRegistries: 'ghcr.io' as never })).toThrow(/allowedRegistries must be a list of strings/);
    expect(() => checkManifests([], { prePulled: ['Bad Image'] })).toThrow(/prePulled/);
    expect(() => checkManifests([], null as never)).toThrow(KubepinUsageError);
  });

  test('the back-off schedule is 10 s doubling to a 300 s cap', () => {
    expect(imagePullBackoffSchedule(8)).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
  });
});

describe('bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-check-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a huge manifest file is checked without crashing, and lines stay right', () => {
    const docs: string[] = [];
    for (let i = 0; i < 3000; i++) docs.push(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: p${i}\nspec:\n  containers:\n    - name: c\n      image: nginx:1.27.${i}\n`);
    docs.push('apiVersion: v1\nkind: Pod\nmetadata:\n  name: last\nspec:\n  containers:\n    - name: c\n      image: "bad image"\n');
    const file = path.join(dir, 'huge.yaml');
    fs.writeFileSync(file, docs.join('---\n'));
    const { findings } = checkFiles([file]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'invalid-image', file, line: 3000 * 9 + 8, object: { name: 'last' } });
  });

  test('binary garbage and a missing path give clear messages', async () => {
    const file = path.join(dir, 'garbage.yaml');
    fs.writeFileSync(file, Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x3a, 0x5b, 0x0a, 0x09, 0x2d]));
    const run = await runCli(['check', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/unreadable-manifest/);
    const missing = await runCli(['check', path.join(dir, 'nope')]);
    expect(missing.code).toBe(2); // a PATH that does not exist is a usage error, for every command
    expect(missing.stderr).toMatch(/no such file or directory/);
  });

  test('stdin is read with "-", and findings carry <stdin> and the line', async () => {
    const run = await runCli(['check', '-', '--format', 'json'], { stdin: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: Nginx:1\n' });
    const report = JSON.parse(run.stdout);
    expect(report.findings[0]).toMatchObject({ code: 'invalid-image', file: '<stdin>', line: 8, state: 'InvalidImageName' });
    expect(run.code).toBe(1);
  });

  test('bad flags exit 2 with a hint', async () => {
    for (const args of [['--format', 'xml'], ['--fail-on', 'never'], ['--secret-file', 'x'], ['--bogus'], ['--timeout', '-1'], ['--pre-pulled', 'Bad Image'], ['--ca-file']]) {
      const run = await runCli(['check', ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/kubepin check: .*\nRun `kubepin check --help` for usage/);
    }
  });

  test('--node-config credentials serve private registries; a broken node file is a finding with file and line', async () => {
    const manifest = 'test/check/manifests/private-registry-without-secret.yaml';
    const good = path.join(dir, 'config.json');
    fs.writeFileSync(good, JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('node:secret-node-pw').toString('base64') } } }));
    const served = await runCli(['check', manifest, '--private-registry', 'registry.example.com', '--node-config', good, '--format', 'json']);
    expect(JSON.parse(served.stdout).findings).toEqual([]);
    expect(served.stdout).not.toContain('secret-node-pw');
    const bad = path.join(dir, 'bad-config.json');
    fs.writeFileSync(bad, JSON.stringify({ auths: { 'registry.example.com': { auth: 'not base64!' } } }));
    const broken = await runCli(['check', manifest, '--private-registry', 'registry.example.com', '--node-config', bad, '--format', 'json']);
    const codesSeen = JSON.parse(broken.stdout).findings.map((f: { code: string }) => f.code);
    expect(codesSeen).toEqual(['node-config-problem', 'no-pull-secret-for-private-registry']);
    expect(broken.code).toBe(1);
    const missing = await runCli(['check', manifest, '--node-config', path.join(dir, 'absent.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/absent\.json: cannot read/);
  });

  test('--help documents every flag the parser knows', async () => {
    const run = await runCli(['check', '--help']);
    expect(run.code).toBe(0);
    const flags = Object.keys(require('../../lib/cli/check').CHECK_FLAG_SPECS).map((name) => `--${name}`);
    expect(flags.length).toBeGreaterThan(10);
    for (const flag of flags) expect(run.stdout).toContain(flag);
  });
});

describe('output formats', () => {
  test('SARIF 2.1.0 carries rule, level, file, line and the kubelet state', async () => {
    const run = await runCli(['check', 'test/check/manifests/invalid-image.yaml', 'test/check/manifests/latest-tag.yaml', '--format', 'sarif']);
    expect(run.code).toBe(1);
    const sarif = JSON.parse(run.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    const runObj = sarif.runs[0];
    expect(runObj.tool.driver.name).toBe('kubepin');
    const [first, second] = runObj.results;
    expect(first).toMatchObject({ ruleId: 'invalid-image', level: 'error', properties: { kubeletState: 'InvalidImageName', image: 'Nginx:1.27' } });
    expect(first.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'test/check/manifests/invalid-image.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 14 } });
    expect(first.message.text).toContain('Predicted kubelet state: InvalidImageName');
    expect(second).toMatchObject({ ruleId: 'latest-tag', level: 'warning' });
    for (const result of runObj.results) expect(runObj.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
    expect(runObj.originalUriBaseIds['%SRCROOT%'].uri).toMatch(/^file:\/\/\/.*\/$/);
  });

  test('SARIF for in-memory objects has logical locations only', () => {
    const { findings } = checkManifests([deployment('x', [{ name: 'c', image: 'Bad' }])]);
    const sarif = toSarif(findings) as { runs: Array<{ results: Array<{ locations: Array<Record<string, unknown>> }> }> };
    expect(sarif.runs[0].results[0].locations[0]).toEqual({ logicalLocations: [{
      name: 'x',
      fullyQualifiedName: 'Deployment/x#spec.template.spec.containers[0].image',
      kind: 'resource',
      properties: { kind: 'Deployment', name: 'x', path: 'spec.template.spec.containers[0].image', apiVersion: 'apps/v1' },
    }] });
  });

  test('text output groups by workload, shows the prediction and the fix, colours only on a TTY', async () => {
    const plain = await runCli(['check', 'test/check/manifests/never-without-prepull.yaml']);
    expect(plain.stdout).toContain('Job migrate  (test/check/manifests/never-without-prepull.yaml)');
    expect(plain.stdout).toContain('predicted: ErrImageNeverPull');
    expect(plain.stdout).toMatch(/fix: pre-pull the image/);
    expect(plain.stdout).not.toContain('\x1b[');
    const tty = await runCli(['check', 'test/check/manifests/never-without-prepull.yaml'], { tty: true });
    expect(tty.stdout).toContain('\x1b[31m');
    const clean = await runCli(['check', 'test/check/manifests/clean.yaml']);
    expect(clean.stdout).toContain('No problems found.');
    expect(clean.code).toBe(0);
  });
});

test('cdk8s\'s construct-metadata.json next to the manifests is not reported', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-check-'));
  try {
    fs.writeFileSync(path.join(dir, 'construct-metadata.json'), JSON.stringify({ version: '1.0.0', resources: {} }));
    fs.writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ version: '1.0.0' }));
    expect(checkFiles([dir]).findings.map((f) => [f.code, path.basename(f.file ?? '')])).toEqual([['not-kubernetes', 'other.json']]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the rules shared with the policy engine report the same findings, word for word', () => {
  const objects = [deployment('shared', [
    { name: 'a', image: 'Bad:Image' },
    { name: 'b', image: 'quay.io/acme/tool' },
    { name: 'c', image: 'nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' },
    { name: 'd', image: 'ghcr.io/acme/job:1.0', imagePullPolicy: 'Never' },
  ])];
  const options = { allowedRegistries: ['docker.io', 'ghcr.io'] };
  const shared = new Set(['invalid-image', 'registry-not-allowed', 'latest-tag', 'latest-with-digest', 'never-without-prepull']);
  const pick = (fs: readonly { code: string; path: string; message: string }[]) => fs.filter((f) => shared.has(f.code)).map((f) => `${f.code} ${f.path} ${f.message}`).sort();
  const fromPolicy = pick(applyImagePolicy(objects, options).findings);
  const fromCheck = pick(checkManifests(objects, options).findings);
  expect(fromCheck).toEqual(fromPolicy);
  expect(new Set(fromCheck.map((f) => f.split(' ')[0]))).toEqual(shared);
});

test('KEP-2535: another Secret holding the same credential may reuse a pre-pulled image; a different credential may not', () => {
  const cfg = (password: string) => JSON.stringify({ auths: { 'registry.example.com': { username: 'bot', password } } });
  const secretObject = (name: string, password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': cfg(password) } });
  const prePuller = {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'pp' },
    spec: { template: { spec: { imagePullSecrets: [{ name: 'pp-creds' }], initContainers: [{ name: 'i', image: 'registry.example.com/app:1' }], containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } } },
  };
  const workload = deployment('w', [{ name: 'w', image: 'registry.example.com/app:1', imagePullPolicy: 'IfNotPresent' }], { imagePullSecrets: [{ name: 'w-creds' }] });
  const same = checkManifests([secretObject('pp-creds', 'one'), secretObject('w-creds', 'one'), prePuller, workload]).findings;
  expect(codes(same)).toEqual([]);
  const different = checkManifests([secretObject('pp-creds', 'one'), secretObject('w-creds', 'two'), prePuller, workload]).findings;
  expect(different).toEqual([expect.objectContaining({ code: 'prepull-credentials-differ', severity: 'warning' })]);
  expect(JSON.stringify(different)).not.toMatch(/"(one|two)"/);
});

test('objects inside a kind: List document are checked, with the line of the item', async () => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - apiVersion: v1',
    '    kind: Pod',
    '    metadata:',
    '      name: first',
    '    spec:',
    '      containers:',
    '        - name: c',
    '          image: nginx:1.27',
    '  - apiVersion: batch/v1',
    '    kind: CronJob',
    '    metadata:',
    '      name: nightly',
    '    spec:',
    '      jobTemplate:',
    '        spec:',
    '          template:',
    '            spec:',
    '              containers:',
    '                - name: c',
    '                  image: ":broken"',
    '',
  ].join('\n');
  const run = await runCli(['check', '-', '--format', 'json'], { stdin: text });
  const [finding] = JSON.parse(run.stdout).findings;
  expect(finding).toMatchObject({ code: 'invalid-image', state: 'InvalidImageName', object: { kind: 'CronJob', name: 'nightly' }, line: 23 });
});
