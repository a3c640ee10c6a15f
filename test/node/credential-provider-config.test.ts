import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { loadManifests } from '../../lib/core/manifests/manifests';
import { registryKeyMatches } from '../../lib/core/credentials/keyring';
import {
  NodeConfigError,
  checkMatchImage,
  generateCredentialProviderConfig,
  imageLookupName,
  imagesOfObjects,
  loadCredentialProviderConfig,
  parseCredentialProviderConfigText,
  parseGoDuration,
  providersForImage,
  validateCredentialProviderConfig,
} from '../../lib/node';

const APP = path.join(__dirname, 'fixtures', 'app.yaml');
const appImages = (): string[] => imagesOfObjects(loadManifests([APP]).documents.map((d) => d.object));
const errorsOf = (config: unknown): string[] => validateCredentialProviderConfig(config).filter((p) => p.severity === 'error').map((p) => `${p.path}: ${p.message}`);

const provider = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'test',
  matchImages: ['registry.io/foobar'],
  defaultCacheDuration: '10m',
  apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
  ...over,
});
const config = (providers: unknown[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'kubelet.config.k8s.io/v1',
  kind: 'CredentialProviderConfig',
  providers,
  ...over,
});

describe('generateCredentialProviderConfig', () => {
  const generate = () =>
    generateCredentialProviderConfig({
      images: appImages(),
      providers: [
        { name: 'ecr', registries: ['*.dkr.ecr.*.amazonaws.com'] },
        { name: 'acr', registries: ['*.azurecr.io'], defaultCacheDuration: '10m' },
        { name: 'registry-token-helper', registries: ['registry.internal.example.com:5000'], args: ['--audience', 'nodes'], env: { HOME: '/root' } },
      ],
      exclude: ['acmepublic.azurecr.io'],
    });

  it('writes a config the kubelet accepts, with matchImages computed from the app', () => {
    const out = generate();
    expect(validateCredentialProviderConfig(out.config)).toEqual([]);
    // The YAML text is what a node reads: parse it back and validate that, too.
    const parsed = parseCredentialProviderConfigText(out.yaml, 'generated.yaml');
    expect(parsed.problems).toEqual([]);
    expect(parse(out.yaml)).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1',
      kind: 'CredentialProviderConfig',
      providers: [
        { name: 'ecr-credential-provider', matchImages: ['123456789012.dkr.ecr.*.amazonaws.com'], defaultCacheDuration: '12h', apiVersion: 'credentialprovider.kubelet.k8s.io/v1' },
        {
          name: 'acr-credential-provider',
          matchImages: ['acmeprod.azurecr.io', 'acmestaging.azurecr.io'],
          defaultCacheDuration: '10m',
          apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
          args: ['/etc/kubernetes/azure.json'],
        },
        {
          name: 'registry-token-helper',
          matchImages: ['registry.internal.example.com:5000'],
          defaultCacheDuration: '12h',
          apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
          args: ['--audience', 'nodes'],
          env: [{ name: 'HOME', value: '/root' }],
        },
      ],
    });
    expect(out.notCovered).toEqual(['docker.io/library/busybox', 'ghcr.io/acme/assets', 'registry.k8s.io/pause']);
  });

  it('sends every image of the app to exactly the provider it was assigned to', () => {
    const out = generate();
    const expected: Record<string, string[]> = {
      'ecr-credential-provider': ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/migrate', '123456789012.dkr.ecr.us-east-1.amazonaws.com/edge/proxy'],
      'acr-credential-provider': ['acmeprod.azurecr.io/obs/exporter', 'acmestaging.azurecr.io/jobs/report'],
      'registry-token-helper': ['registry.internal.example.com:5000/tools/uploader'],
    };
    for (const image of appImages()) {
      const called = providersForImage(out.config, image).map((p) => p.provider);
      const owner = Object.entries(expected).filter(([, names]) => names.includes(imageLookupName(image))).map(([p]) => p);
      expect(called).toEqual(owner);
    }
    for (const stranger of ['acmepublic.azurecr.io/x', 'registry.internal.example.com/tools/uploader', 'registry.internal.example.com:5001/tools/uploader', '123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.io/x']) {
      expect(out.config.providers.flatMap((p) => p.matchImages).filter((m) => registryKeyMatches(m, stranger))).toEqual([]);
    }
  });

  it('never lets one provider reach a host assigned to another', () => {
    const out = generateCredentialProviderConfig({
      images: ['a.example.com/x:1', 'b.example.com/y:1'],
      providers: [
        { name: 'wide', registries: ['*.example.com'] },
        { name: 'narrow', registries: ['b.example.com'] },
      ],
    });
    expect(out.config.providers.map((p) => [p.name, p.matchImages])).toEqual([
      ['wide', ['a.example.com']],
      ['narrow', ['b.example.com']],
    ]);
  });

  it('gives a name to the provider with the more specific registry key', () => {
    const out = generateCredentialProviderConfig({
      images: ['ghcr.io/acme/x:1', 'ghcr.io/other/y:1'],
      providers: [
        { name: 'org-plugin', registries: ['ghcr.io/acme'] },
        { name: 'general', registries: ['ghcr.io'] },
      ],
    });
    expect(out.config.providers.map((p) => [p.name, p.matchImages])).toEqual([
      ['org-plugin', ['ghcr.io/acme']],
      ['general', ['ghcr.io/other']],
    ]);
    expect(out.problems).toEqual([]);
  });

  it('lists every problem at once, naming the provider and the fix', () => {
    let message = '';
    try {
      generateCredentialProviderConfig({
        images: appImages(),
        providers: [
          { name: 'ecr', registries: ['999999999999.dkr.ecr.eu-west-1.amazonaws.com'] },
          { name: 'bin/acr', registries: ['*.azurecr.io'] },
          { name: 'x', registries: [] },
        ],
      });
    } catch (e) {
      expect(e).toBeInstanceOf(NodeConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/providers\[0\]: provider "ecr-credential-provider": no image of the app is in its registries/);
    expect(message).toMatch(/providers\[2\]: provider "x" has no registries/);
    expect(message).not.toMatch(/bin\/acr/); // reported after the other errors are fixed, by the validator
  });

  it('checks explicit matchImages against the app', () => {
    expect(() => generateCredentialProviderConfig({ images: appImages(), providers: [{ name: 'acr', registries: ['acmeprod.azurecr.io'], matchImages: ['*.azurecr.io'] }] })).toThrow(
      /also matches acmestaging.azurecr.io\/jobs\/report, outside its registries/,
    );
    expect(() => generateCredentialProviderConfig({ images: appImages(), providers: [{ name: 'acr', registries: ['*.azurecr.io'], matchImages: ['acmeprod.azurecr.io'] }] })).toThrow(
      /does not match acmestaging.azurecr.io\/jobs\/report/,
    );
  });

  it('warns about a secret-looking plugin environment variable without printing its value', () => {
    const out = generateCredentialProviderConfig({ images: ['acme.azurecr.io/x:1'], providers: [{ name: 'acr', registries: ['*.azurecr.io'], env: { AZURE_CLIENT_SECRET: 'hunter2-value', AZURE_ENVIRONMENT: 'AzurePublicCloud' } }] });
    expect(out.problems.map((p) => p.message)).toEqual([expect.stringContaining('AZURE_CLIENT_SECRET looks like a secret')]);
    expect(JSON.stringify(out.problems)).not.toContain('hunter2-value');
  });

  it('warns when a preset plugin cannot serve an assigned registry, and about index.docker.io', () => {
    const out = generateCredentialProviderConfig({ images: ['ghcr.io/acme/x:1', 'nginx:1'], providers: [{ name: 'ecr', registries: ['ghcr.io', 'index.docker.io'] }] });
    expect(out.problems.map((p) => p.message).join('\n')).toMatch(/ecr-credential-provider normally serves only .* it will not have credentials for ghcr.io\/acme\/x/);
    expect(out.problems.map((p) => p.message).join('\n')).toMatch(/"index.docker.io" never matches Docker Hub images/);
  });
});

describe('validateCredentialProviderConfig: the kubelet rules (upstream plugin/config_test.go cases)', () => {
  it('accepts the upstream valid configs', () => {
    expect(errorsOf(config([provider()]))).toEqual([]);
    expect(errorsOf(config([provider({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1alpha1', args: ['--v=5'], env: [{ name: 'FOO', value: 'BAR' }] })], { apiVersion: 'kubelet.config.k8s.io/v1alpha1' }))).toEqual([]);
    expect(errorsOf(config([provider({ name: 'test1', matchImages: ['registry.io/one'] }), provider({ name: 'test2', matchImages: ['registry.io/two'] })], { apiVersion: 'kubelet.config.k8s.io/v1beta1' }))).toEqual([]);
  });

  it.each([
    ['no providers', config([]), 'providers: at least one provider is required'],
    ['no matchImages', config([provider({ matchImages: [] })]), 'providers[0].matchImages: at least one entry is required'],
    ['no defaultCacheDuration', config([provider({ defaultCacheDuration: undefined })]), 'providers[0].defaultCacheDuration: is required'],
    ['negative defaultCacheDuration', config([provider({ defaultCacheDuration: '-1m' })]), 'must be greater than or equal to 0'],
    ['unquoted number duration', config([provider({ defaultCacheDuration: 0 })]), 'must be a Go duration string'],
    ['name with /', config([provider({ name: 'foo/../bar' })]), "provider name cannot contain '/'"],
    ['name .', config([provider({ name: '.' })]), "provider name cannot be '.'"],
    ['name ..', config([provider({ name: '..' })]), "provider name cannot be '..'"],
    ['name with space', config([provider({ name: 'foo bar' })]), 'provider name cannot contain spaces'],
    ['duplicate names', config([provider({ name: 'foobar' }), provider({ name: 'foobar', matchImages: ['bar.registry.io'] })]), 'duplicate provider "foobar"'],
    ['no apiVersion', config([provider({ apiVersion: '' })]), 'providers[0].apiVersion: is required'],
    ['bad apiVersion', config([provider({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1foo' })]), 'is not supported'],
    ['wrong kind', config([provider()], { kind: 'WrongKind' }), 'kind: must be "CredentialProviderConfig"'],
    ['wrong config apiVersion', config([provider()], { apiVersion: 'foobar/v1alpha1' }), 'apiVersion: must be one of'],
    ['unknown field (strict decoding)', config([provider({ unknownField: 'should not be here' })]), 'providers[0].unknownField: unknown field'],
    ['tokenAttributes in v1beta1', config([provider({ tokenAttributes: { serviceAccountTokenAudience: 'a' } })], { apiVersion: 'kubelet.config.k8s.io/v1beta1' }), 'tokenAttributes needs kubelet.config.k8s.io/v1'],
    ['tokenAttributes without cacheType', config([provider({ tokenAttributes: { serviceAccountTokenAudience: 'a', requireServiceAccount: true } })]), 'cacheType: is required'],
    ['tokenAttributes on a v1beta1 provider', config([provider({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1', tokenAttributes: { serviceAccountTokenAudience: 'a', requireServiceAccount: true, cacheType: 'Token' } })]), 'only supported for credentialprovider.kubelet.k8s.io/v1'],
    ['glob in port', config([provider({ matchImages: ['*.example.com:*'] })]), 'Globs are not allowed in ports'],
    ['glob in path', config([provider({ matchImages: ['registry.io/*'] })]), 'globs work only in host labels'],
    ['scheme', config([provider({ matchImages: ['https://registry.io'] })]), 'starts with a scheme'],
    ['tag in pattern', config([provider({ matchImages: ['registry.io/app:1.0'] })]), 'contains a tag or digest'],
    ['bad glob', config([provider({ matchImages: ['foo[.example.com'] })]), 'is not a valid glob'],
    ['space in host', config([provider({ matchImages: ['foo bar.io'] })]), 'in its host; the kubelet refuses the config'],
  ])('%s', (_name, cfg, expected) => {
    expect(errorsOf(cfg).join('\n')).toContain(expected);
  });

  it('accepts a valid service-account token provider', () => {
    expect(errorsOf(config([provider({ tokenAttributes: { serviceAccountTokenAudience: 'aud', requireServiceAccount: true, cacheType: 'ServiceAccount', requiredServiceAccountAnnotationKeys: ['example.com/role'] } })]))).toEqual([]);
  });

  it('matchImages lints agree with the kubelet matcher', () => {
    expect(checkMatchImage('*.kubernetes.io:1111/blah')).toEqual([]);
    expect(checkMatchImage('index.docker.io').map((p) => p.severity)).toEqual(['warning']);
    expect(registryKeyMatches('index.docker.io', imageLookupName('nginx:1'))).toBe(false);
    expect(checkMatchImage('registry?.io')[0].message).toMatch(/query/);
  });

  it('parses Go durations like time.ParseDuration', () => {
    expect(parseGoDuration('12h')).toBe(12 * 3600e9);
    expect(parseGoDuration('1h30m')).toBe(5400e9);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('1.5s')).toBe(1.5e9);
    expect(parseGoDuration('-1m')).toBe(-60e9);
    for (const bad of ['', '12', 'h', '1d', '1 h']) expect(parseGoDuration(bad)).toBeUndefined();
  });
});

describe('reading user-written configs', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-cpc-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports problems with file and line', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      file,
      ['apiVersion: kubelet.config.k8s.io/v1', 'kind: CredentialProviderConfig', 'providers:', '  - name: ecr-credential-provider', '    matchImages:', '      - "*.dkr.ecr.*.amazonaws.com:*"', '    apiVersion: credentialprovider.kubelet.k8s.io/v1', ''].join('\n'),
    );
    const loaded = loadCredentialProviderConfig(file);
    expect(loaded.config).toBeUndefined();
    const lines = loaded.problems.map((p) => `${p.line} ${p.path}`);
    expect(lines).toEqual(['6 providers[0].matchImages[0]', '4 providers[0].defaultCacheDuration']);
  });

  it('merges a directory in byte order and refuses a provider named twice across files', () => {
    const d = path.join(dir, 'conf.d');
    fs.mkdirSync(d);
    const one = 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - {name: b, matchImages: [b.io], defaultCacheDuration: 1m, apiVersion: credentialprovider.kubelet.k8s.io/v1}\n';
    const two = one.replace('name: b, matchImages: [b.io]', 'name: a, matchImages: [a.io]');
    fs.writeFileSync(path.join(d, '20-b.yaml'), one);
    fs.writeFileSync(path.join(d, '10-a.yml'), two);
    fs.writeFileSync(path.join(d, 'README.txt'), 'ignored');
    const loaded = loadCredentialProviderConfig(d);
    expect(loaded.problems).toEqual([]);
    expect(loaded.config!.providers.map((p) => p.name)).toEqual(['a', 'b']);
    fs.writeFileSync(path.join(d, '30-b.json'), JSON.stringify(parse(one)));
    expect(loadCredentialProviderConfig(d).problems.map((p) => p.message)).toEqual([expect.stringContaining('duplicate provider "b"')]);
  });

  it('names a missing path', () => {
    expect(() => loadCredentialProviderConfig(path.join(dir, 'nope.yaml'))).toThrow(/nope.yaml: cannot read the credential provider config \(ENOENT\)/);
  });
});
