import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, parseAllDocuments, stringify } from 'yaml';
import { KubepinUsageError, describeType, requireString } from '../errors';
import { globMatch, normalizeConfigKey, registryKeyMatches } from '../credentials/keyring';
import { NodeConfigError, computeMatchImages, imageLookupName, keySpecificity, normalizeRegistryKey } from './match-images';

/** `apiVersion` of the kubelet's `--image-credential-provider-config` file that kubepin writes. */
export const CREDENTIAL_PROVIDER_CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1';
/** `apiVersion` of the exec protocol spoken with a provider plugin that kubepin writes. */
export const CREDENTIAL_PROVIDER_API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
/** Config file apiVersions the kubelet decodes. */
export const CONFIG_API_VERSIONS = ['kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'] as const;
/** Plugin protocol apiVersions the kubelet speaks. */
export const PROVIDER_API_VERSIONS = ['credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v1alpha1', 'credentialprovider.kubelet.k8s.io/v1beta1'] as const;
/** Cache duration kubepin writes when none is given (what the cloud providers ship). */
export const DEFAULT_CACHE_DURATION = '12h';

/** One environment variable passed to a provider plugin (`ExecEnvVar`). */
export interface ExecEnvVar {
  /** Variable name. */
  readonly name: string;
  /** Value (the config file is readable by node admins: put no secret here). */
  readonly value: string;
}

/** Service-account-token mode of a provider (kubelet 1.33+, config `kubelet.config.k8s.io/v1` only). */
export interface ServiceAccountTokenAttributes {
  /** Audience of the token the kubelet requests for the pod's service account. */
  readonly serviceAccountTokenAudience: string;
  /** Whether the plugin is only called for pods that have a service account. */
  readonly requireServiceAccount: boolean;
  /** `ServiceAccount` or `Token`: what the plugin's credentials are cached by. */
  readonly cacheType: 'ServiceAccount' | 'Token';
  /** Service account annotations that must be present for the plugin to be called. */
  readonly requiredServiceAccountAnnotationKeys?: readonly string[];
  /** Service account annotations passed to the plugin when present. */
  readonly optionalServiceAccountAnnotationKeys?: readonly string[];
}

/** One entry of `providers[]` as the kubelet reads it. */
export interface CredentialProvider {
  /** Executable name in the kubelet's `--image-credential-provider-bin-dir`. */
  readonly name: string;
  /** Globs of the images the plugin is called for (host labels glob-matched, port exact, path a prefix). */
  readonly matchImages: readonly string[];
  /** How long credentials are cached when the plugin's answer sets no duration (Go duration, e.g. `12h`). */
  readonly defaultCacheDuration: string;
  /** Exec protocol version, e.g. `credentialprovider.kubelet.k8s.io/v1`. */
  readonly apiVersion: string;
  /** Command-line arguments of the plugin. */
  readonly args?: readonly string[];
  /** Environment of the plugin (added to the kubelet's own). */
  readonly env?: readonly ExecEnvVar[];
  /** Service-account-token mode. */
  readonly tokenAttributes?: ServiceAccountTokenAttributes;
}

/** The kubelet's `CredentialProviderConfig` file. */
export interface CredentialProviderConfig {
  /** Always `CredentialProviderConfig`. */
  readonly kind: 'CredentialProviderConfig';
  /** `kubelet.config.k8s.io/v1` (or v1beta1, v1alpha1). */
  readonly apiVersion: string;
  /** The plugins, in the order the kubelet registers them. */
  readonly providers: readonly CredentialProvider[];
}

/** What a user says about one provider; kubepin computes `matchImages` from the app's images. */
export interface CredentialProviderSpec {
  /** Executable name of the plugin, or a preset: `ecr`, `gcp`, `acr`. */
  readonly name: string;
  /** Registry keys whose images this provider serves, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `*.azurecr.io`; `matchImages` never reaches past them. */
  readonly registries: readonly string[];
  /** Write these `matchImages` instead of computing them (they are still checked against the app's images). @default - computed */
  readonly matchImages?: readonly string[];
  /** @default "12h" */
  readonly defaultCacheDuration?: string;
  /** @default "credentialprovider.kubelet.k8s.io/v1" */
  readonly apiVersion?: string;
  /** @default - the preset's arguments, or none */
  readonly args?: readonly string[];
  /** Plugin environment, as a map or a list. @default - the preset's, or none */
  readonly env?: Readonly<Record<string, string>> | readonly ExecEnvVar[];
  /** @default - none */
  readonly tokenAttributes?: ServiceAccountTokenAttributes;
}

/** A known provider plugin: its executable and the registries it can authenticate to. */
export interface ProviderPreset {
  /** Executable name. */
  readonly name: string;
  /** Default arguments. */
  readonly args?: readonly string[];
  /** Registry globs the plugin can answer for; an assigned image outside them gets a warning. */
  readonly serves: readonly string[];
}

/** Presets for the cloud providers' plugins (names as the cloud-provider projects ship them). */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = {
  ecr: {
    name: 'ecr-credential-provider',
    serves: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov', 'public.ecr.aws'],
  },
  gcp: {
    name: 'auth-provider-gcp',
    args: ['get-credentials', '--v=3'],
    serves: ['container.cloud.google.com', 'gcr.io', '*.gcr.io', '*.pkg.dev'],
  },
  acr: {
    name: 'acr-credential-provider',
    args: ['/etc/kubernetes/azure.json'],
    serves: ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.de', '*.azurecr.us'],
  },
};

/** One problem found in a node-side config; never contains a credential. */
export interface NodeConfigProblem {
  /** `error`: the kubelet refuses the file or a pattern can never match; `warning`: it works, but not as written. */
  readonly severity: 'error' | 'warning';
  /** Field path, e.g. `providers[0].matchImages[1]`. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /** The file, when read from one. */
  readonly file?: string;
  /** 1-based line, when known. */
  readonly line?: number;
}

/** Formats a problem as `file:line: error path: message`. */
export function formatNodeConfigProblem(p: NodeConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  return `${where}${p.severity} ${p.path}: ${p.message}`;
}

/** Options of {@link generateCredentialProviderConfig}. */
export interface GenerateCredentialProviderConfigOptions {
  /** Every image of the app. */
  readonly images: readonly string[];
  /** The providers, in the order the kubelet should register them. */
  readonly providers: readonly CredentialProviderSpec[];
  /** Registries or names no provider may match (e.g. a public mirror). @default [] */
  readonly exclude?: readonly string[];
}

/** The result of {@link generateCredentialProviderConfig}. */
export interface GeneratedCredentialProviderConfig {
  /** The config, valid by the kubelet's rules. */
  readonly config: CredentialProviderConfig;
  /** The config as YAML, ready to write. */
  readonly yaml: string;
  /** Per provider name: the lookup names of the app's images it serves. */
  readonly covered: Readonly<Record<string, string[]>>;
  /** Lookup names of the app's images no provider serves (they need pull secrets or node config.json). */
  readonly notCovered: string[];
  /** Warnings (errors throw). */
  readonly problems: NodeConfigProblem[];
}

/**
 * Builds a `CredentialProviderConfig` whose `matchImages` are computed from the app's
 * images ({@link computeMatchImages}) and checks it with {@link validateCredentialProviderConfig}.
 * @throws NodeConfigError listing every problem at once when the config would be invalid.
 */
export function generateCredentialProviderConfig(options: GenerateCredentialProviderConfigOptions): GeneratedCredentialProviderConfig {
  if (!options || !Array.isArray(options.images) || !Array.isArray(options.providers)) {
    throw new KubepinUsageError('generateCredentialProviderConfig({ images, providers }) takes an array of images and an array of provider specs');
  }
  const errors: string[] = [];
  const problems: NodeConfigProblem[] = [];
  const providers: CredentialProvider[] = [];
  const covered: Record<string, string[]> = {};
  const names = [...new Set(options.images.map(imageLookupName))];
  options.providers.forEach((spec, i) => {
    const where = `providers[${i}]`;
    try {
      const provider = buildProvider(spec, i, options, problems);
      providers.push(provider.provider);
      covered[provider.provider.name] = provider.covered;
    } catch (e) {
      if (!(e instanceof NodeConfigError)) throw e;
      errors.push(`${where}: ${e.message}`);
    }
  });
  // An image served by two plugins makes the kubelet call both; usually a mistake.
  for (const name of names) {
    const serving = Object.entries(covered).filter(([, list]) => list.includes(name)).map(([p]) => p);
    if (serving.length > 1) {
      problems.push({ severity: 'warning', path: 'providers', message: `${name} is served by ${serving.join(' and ')}: the kubelet calls every matching plugin. Fix: assign its registry to one provider` });
    }
  }
  const config: CredentialProviderConfig = { kind: 'CredentialProviderConfig', apiVersion: CREDENTIAL_PROVIDER_CONFIG_API_VERSION, providers };
  if (errors.length === 0) {
    for (const p of validateCredentialProviderConfig(config)) {
      if (p.severity === 'error') errors.push(`${p.path}: ${p.message}`);
      else problems.push(p);
    }
  }
  if (errors.length > 0) {
    throw new NodeConfigError(`cannot generate the CredentialProviderConfig:\n  ${errors.join('\n  ')}`);
  }
  const all = new Set(Object.values(covered).flat());
  return { config, yaml: serializeCredentialProviderConfig(config), covered, notCovered: names.filter((n) => !all.has(n)).sort(), problems };
}

const GLOB_CHARS = /[*?[\\]/;

function bestKey(keys: readonly string[], name: string): string | undefined {
  return keys.filter((k) => registryKeyMatches(k, name)).sort((a, b) => compareSpecificity(b, a))[0];
}

function compareSpecificity(a: string, b: string): number {
  const [x, y] = [keySpecificity(a), keySpecificity(b)];
  return x[0] !== y[0] ? x[0] - y[0] : x[1] - y[1];
}

function buildProvider(
  spec: CredentialProviderSpec,
  index: number,
  options: GenerateCredentialProviderConfigOptions,
  problems: NodeConfigProblem[],
): { provider: CredentialProvider; covered: string[] } {
  if (typeof spec !== 'object' || spec === null) throw new NodeConfigError(`a provider spec must be an object with name and registries, got ${describeType(spec)}`);
  requireString(spec.name, 'provider name');
  const preset = PROVIDER_PRESETS[spec.name];
  const name = preset ? preset.name : spec.name;
  if (!Array.isArray(spec.registries) || spec.registries.length === 0) {
    throw new NodeConfigError(`provider "${name}" has no registries. Fix: list the registry keys whose images it serves, e.g. registries: ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]`);
  }
  const keys = spec.registries.map((r) => normalizeRegistryKey(r, `provider "${name}": registry`));
  for (const key of keys) {
    if (/^(index|registry-1)\.docker\.io(\/|$)/.test(key)) {
      problems.push({ severity: 'warning', path: `providers[${index}].registries`, message: `"${key}" never matches Docker Hub images: the kubelet looks them up as docker.io/…. Fix: assign "docker.io"` });
    }
  }
  const exclude = [...(options.exclude ?? [])];
  const names = [...new Set(options.images.map(imageLookupName))];
  const claimedByOthers: string[] = [];
  options.providers.forEach((other, j) => {
    if (j === index || !other || !Array.isArray(other.registries)) return;
    const otherKeys = other.registries.filter((r) => typeof r === 'string').map((r) => normalizeConfigKey(r)).filter((r): r is string => r !== undefined);
    // Another provider's exact registries are never this provider's, unless one of ours is inside theirs (ours is more specific).
    exclude.push(...otherKeys.filter((r) => !GLOB_CHARS.test(r) && !keys.some((k) => registryKeyMatches(r, k))));
    // A name matched by both belongs to the more specific key; a tie stays with both (and is warned about).
    for (const n of names) {
      const mine = bestKey(keys, n);
      const theirs = bestKey(otherKeys, n);
      if (mine && theirs && compareSpecificity(theirs, mine) > 0) claimedByOthers.push(n);
    }
  });
  const computed = computeMatchImages({ images: options.images, registries: keys, exclude: exclude.filter((e) => !names.some((n) => n === e)), claimedByOthers, label: `provider "${name}"` });
  let matchImages = computed.matchImages;
  if (spec.matchImages !== undefined) {
    matchImages = [...spec.matchImages];
    const missing = computed.covered.filter((n) => !matchImages.some((m) => registryKeyMatches(m, n)));
    if (missing.length > 0) throw new NodeConfigError(`provider "${name}": matchImages does not match ${missing.join(', ')}, which are in its registries. Fix: add a pattern, or omit matchImages to have kubepin compute them`);
    const stray = computed.notCovered.filter((n) => matchImages.some((m) => registryKeyMatches(m, n)));
    if (stray.length > 0) throw new NodeConfigError(`provider "${name}": matchImages also matches ${stray.join(', ')}, outside its registries. Fix: narrow the patterns`);
  }
  if (matchImages.length === 0) {
    throw new NodeConfigError(`provider "${name}": no image of the app is in its registries (${keys.join(', ')}), and the kubelet requires at least one matchImages entry. Fix: remove the provider, correct its registries, or give matchImages explicitly`);
  }
  if (preset) {
    const outside = computed.covered.filter((n) => !preset.serves.some((s) => registryKeyMatches(s, n)));
    if (outside.length > 0) {
      problems.push({ severity: 'warning', path: `providers[${index}].registries`, message: `${name} normally serves only ${preset.serves.join(', ')}; it will not have credentials for ${outside.join(', ')}` });
    }
  }
  const args = spec.args ?? preset?.args;
  const env = spec.env === undefined ? undefined : Array.isArray(spec.env) ? (spec.env as ExecEnvVar[]).map((e) => ({ name: e.name, value: e.value })) : Object.entries(spec.env as Record<string, string>).map(([k, v]) => ({ name: k, value: v }));
  for (const e of env ?? []) {
    // The config file is read by anyone who can read the node's kubelet config: no place for a secret.
    if (/secret|token|password|passwd|credential|private.?key/i.test(e.name) && e.value) {
      problems.push({ severity: 'warning', path: `providers[${index}].env`, message: `${e.name} looks like a secret, and this file is not one (it is written 0644 and read by node administrators). Fix: let the plugin read it from a file or the node's identity` });
    }
  }
  const provider: CredentialProvider = {
    name,
    matchImages,
    defaultCacheDuration: spec.defaultCacheDuration ?? DEFAULT_CACHE_DURATION,
    apiVersion: spec.apiVersion ?? CREDENTIAL_PROVIDER_API_VERSION,
    ...(args && args.length > 0 ? { args: [...args] } : {}),
    ...(env && env.length > 0 ? { env } : {}),
    ...(spec.tokenAttributes ? { tokenAttributes: spec.tokenAttributes } : {}),
  };
  return { provider, covered: computed.covered };
}

/** The config as YAML, with fields in the order the Kubernetes docs show them. */
export function serializeCredentialProviderConfig(config: CredentialProviderConfig): string {
  const ordered = {
    apiVersion: config.apiVersion,
    kind: config.kind,
    providers: config.providers.map((p) => ({
      name: p.name,
      matchImages: [...p.matchImages],
      defaultCacheDuration: p.defaultCacheDuration,
      apiVersion: p.apiVersion,
      ...(p.args ? { args: [...p.args] } : {}),
      ...(p.env ? { env: p.env.map((e) => ({ name: e.name, value: e.value })) } : {}),
      ...(p.tokenAttributes ? { tokenAttributes: p.tokenAttributes } : {}),
    })),
  };
  return `# Generated by kubepin: the kubelet's --image-credential-provider-config.\n${stringify(ordered, { lineWidth: 0 })}`;
}

const PROVIDER_FIELDS = new Set(['name', 'matchImages', 'defaultCacheDuration', 'apiVersion', 'args', 'env', 'tokenAttributes']);
const TOKEN_FIELDS = new Set(['serviceAccountTokenAudience', 'requireServiceAccount', 'cacheType', 'requiredServiceAccountAnnotationKeys', 'optionalServiceAccountAnnotationKeys']);
const GO_DURATION = /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const DURATION_UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const QUALIFIED_NAME = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[a-z0-9](?:[-a-z0-9_.]{0,61}[a-z0-9])?$/;

/** Parses a Go `time.Duration` string to nanoseconds; `undefined` when Go would refuse it. */
export function parseGoDuration(text: string): number | undefined {
  if (typeof text !== 'string' || !GO_DURATION.test(text)) return undefined;
  const sign = text.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const m of text.replace(/^[-+]/, '').matchAll(/(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNIT_NS[m[2]];
  return sign * total;
}

/**
 * Checks one `matchImages` entry: `error` when the kubelet refuses it (Go's url.Parse fails:
 * bad port, bad escape, a character not allowed in a host) or when it can never match an
 * image; `warning` when it works, but not as it reads.
 */
export function checkMatchImage(pattern: string): Array<{ severity: 'error' | 'warning'; message: string }> {
  const out: Array<{ severity: 'error' | 'warning'; message: string }> = [];
  if (typeof pattern !== 'string') return [{ severity: 'error', message: `must be a string, got ${describeType(pattern)}` }];
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(pattern)) return [{ severity: 'error', message: 'contains a control character; the kubelet refuses the config' }];
  if (/%(?![0-9a-fA-F]{2})/.test(pattern)) return [{ severity: 'error', message: 'has an invalid %-escape; the kubelet refuses the config' }];
  if (pattern === '') return [{ severity: 'error', message: 'is empty and matches no image. Fix: write a registry host such as "*.azurecr.io"' }];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pattern)) {
    return [{ severity: 'error', message: 'starts with a scheme; matchImages are schemeless, so this matches no image. Fix: remove "https://"' }];
  }
  const cut = pattern.search(/[?#]/);
  const body = cut === -1 ? pattern : pattern.slice(0, cut);
  if (cut !== -1) out.push({ severity: 'warning', message: `"${pattern[cut]}" starts a URL ${pattern[cut] === '?' ? 'query' : 'fragment'}: the kubelet ignores everything from it on (a "?" glob does not work in matchImages)` });
  const slash = body.indexOf('/');
  let hostport = slash === -1 ? body : body.slice(0, slash);
  const urlPath = slash === -1 ? '' : body.slice(slash);
  const at = hostport.lastIndexOf('@');
  if (at !== -1) {
    out.push({ severity: 'warning', message: 'has "user@" before the host; the kubelet drops it' });
    hostport = hostport.slice(at + 1);
  }
  let host = hostport;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close === -1) return [...out, { severity: 'error', message: 'has an unclosed "[" in the host; the kubelet refuses the config (a "[...]" glob class cannot start a host)' }];
    const rest = hostport.slice(close + 1);
    if (rest !== '' && !/^:\d*$/.test(rest)) return [...out, { severity: 'error', message: `has an invalid port "${rest}"; the kubelet refuses the config. Ports are matched exactly: write the number` }];
  } else {
    const colon = hostport.lastIndexOf(':');
    if (colon !== -1) {
      const port = hostport.slice(colon + 1);
      if (!/^\d*$/.test(port)) {
        return [...out, { severity: 'error', message: `has an invalid port "${port}"; the kubelet refuses the config. Globs are not allowed in ports (they are compared exactly): write the port number, or one pattern per port` }];
      }
      host = hostport.slice(0, colon);
    }
    // Characters Go's url.Parse refuses in a host name.
    const bad = host.match(/[^A-Za-z0-9\-._~!$&'()*+,;=[\]<>"%]/);
    if (bad) return [...out, { severity: 'error', message: `has the character ${JSON.stringify(bad[0])} in its host; the kubelet refuses the config` }];
    if (host === '') out.push({ severity: 'error', message: 'has no host and matches no image. Fix: start with the registry host' });
    for (const label of host.split('.')) {
      if (globMatch(label, 'x') === undefined) out.push({ severity: 'error', message: `host label "${label}" is not a valid glob (unclosed "[" or trailing "\\"); the kubelet treats it as matching nothing` });
    }
    if (/^(index|registry-1)\.docker\.io$/.test(host)) {
      out.push({ severity: 'warning', message: `"${host}" never matches Docker Hub images, which the kubelet looks up as docker.io/…. Fix: use "docker.io"` });
    }
  }
  if (/[*?[\]]/.test(urlPath)) {
    out.push({ severity: 'error', message: `the path "${urlPath}" contains a glob character; globs work only in host labels, the path is compared as a literal prefix, so this matches no image. Fix: drop the path or write it literally (e.g. "registry.io/team")` });
  } else if (/[:@]/.test(urlPath)) {
    out.push({ severity: 'error', message: `the path "${urlPath}" contains a tag or digest; the kubelet matches names without them, so this matches no image. Fix: remove ":tag" / "@digest"` });
  }
  return out;
}

/**
 * Validates a `CredentialProviderConfig` with the kubelet's rules: strict decoding (unknown
 * fields and wrong types refuse the file), `validateCredentialProviderConfig` (name is an
 * executable name, unique; apiVersion known; matchImages non-empty and parseable;
 * defaultCacheDuration present and not negative; tokenAttributes), plus lints for patterns
 * that parse but never match ({@link checkMatchImage}).
 */
export function validateCredentialProviderConfig(config: unknown, lineOf?: (jsonPath: string) => number | undefined, file?: string): NodeConfigProblem[] {
  const out: NodeConfigProblem[] = [];
  const add = (severity: 'error' | 'warning', p: string, message: string): void => {
    const line = lineOf?.(p);
    out.push({ severity, path: p, message, ...(file ? { file } : {}), ...(line ? { line } : {}) });
  };
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    add('error', '', `a CredentialProviderConfig must be an object, got ${describeType(config)}`);
    return out;
  }
  const c = config as Record<string, unknown>;
  if (c.kind !== 'CredentialProviderConfig') add('error', 'kind', `must be "CredentialProviderConfig", got ${JSON.stringify(c.kind)}; the kubelet refuses the file`);
  const configVersion = typeof c.apiVersion === 'string' ? c.apiVersion : '';
  if (!(CONFIG_API_VERSIONS as readonly string[]).includes(configVersion)) {
    add('error', 'apiVersion', `must be one of ${CONFIG_API_VERSIONS.join(', ')}, got ${JSON.stringify(c.apiVersion)}; the kubelet refuses the file`);
  }
  for (const key of Object.keys(c)) {
    if (!['kind', 'apiVersion', 'providers'].includes(key)) add('error', key, `unknown field "${key}"; the kubelet decodes this file strictly and refuses it`);
  }
  if (c.providers !== undefined && c.providers !== null && !Array.isArray(c.providers)) {
    add('error', 'providers', `must be a list, got ${describeType(c.providers)}`);
    return out;
  }
  const providers = (c.providers as unknown[] | undefined) ?? [];
  if (providers.length === 0) add('error', 'providers', 'at least one provider is required');
  const seen = new Set<string>();
  providers.forEach((raw, i) => {
    const at = `providers[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      add('error', at, `must be an object, got ${describeType(raw)}`);
      return;
    }
    const p = raw as Record<string, unknown>;
    for (const key of Object.keys(p)) {
      if (!PROVIDER_FIELDS.has(key) || (key === 'tokenAttributes' && configVersion !== 'kubelet.config.k8s.io/v1')) {
        add('error', `${at}.${key}`, `unknown field "${key}"${key === 'tokenAttributes' ? ' in this config version (tokenAttributes needs kubelet.config.k8s.io/v1)' : ''}; the kubelet decodes this file strictly and refuses it`);
      }
    }
    const name = p.name;
    if (typeof name !== 'string') {
      add('error', `${at}.name`, name === undefined ? 'is required: the executable name of the plugin' : `must be a string, got ${describeType(name)}`);
    } else {
      if (name.includes('/')) add('error', `${at}.name`, `"${name}": provider name cannot contain '/'; it is the executable's file name in --image-credential-provider-bin-dir, not a path`);
      if (name.includes(' ')) add('error', `${at}.name`, `"${name}": provider name cannot contain spaces`);
      if (name === '.' || name === '..') add('error', `${at}.name`, `provider name cannot be '${name}'`);
      if (name === '') add('error', `${at}.name`, 'is empty: the kubelet finds no executable. Fix: the plugin file name, e.g. "ecr-credential-provider"');
      if (seen.has(name)) add('error', `${at}.name`, `duplicate provider "${name}"`);
      seen.add(name);
    }
    const apiVersion = p.apiVersion;
    if (apiVersion === undefined || apiVersion === '') add('error', `${at}.apiVersion`, `is required, e.g. "${CREDENTIAL_PROVIDER_API_VERSION}"`);
    else if (typeof apiVersion !== 'string' || !(PROVIDER_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      add('error', `${at}.apiVersion`, `${JSON.stringify(apiVersion)} is not supported; use one of ${[...PROVIDER_API_VERSIONS].sort().join(', ')}`);
    }
    if (p.matchImages !== undefined && !Array.isArray(p.matchImages)) add('error', `${at}.matchImages`, `must be a list of strings, got ${describeType(p.matchImages)}`);
    const matchImages = Array.isArray(p.matchImages) ? (p.matchImages as unknown[]) : [];
    if (matchImages.length === 0) add('error', `${at}.matchImages`, 'at least one entry is required');
    matchImages.forEach((m, j) => {
      for (const problem of checkMatchImage(m as string)) add(problem.severity, `${at}.matchImages[${j}]`, `${JSON.stringify(m)} ${problem.message}`);
    });
    const duration = p.defaultCacheDuration;
    if (duration === undefined || duration === null) add('error', `${at}.defaultCacheDuration`, 'is required, e.g. "12h" (or "0s" to not cache)');
    else if (typeof duration !== 'string') add('error', `${at}.defaultCacheDuration`, `must be a Go duration string such as "12h", got ${describeType(duration)} (quote it in YAML)`);
    else {
      const ns = parseGoDuration(duration);
      if (ns === undefined) add('error', `${at}.defaultCacheDuration`, `"${duration}" is not a Go duration. Fix: e.g. "12h", "30m", "0s"`);
      else if (ns < 0) add('error', `${at}.defaultCacheDuration`, `"${duration}" must be greater than or equal to 0`);
    }
    if (p.args !== undefined && (!Array.isArray(p.args) || p.args.some((a) => typeof a !== 'string'))) add('error', `${at}.args`, 'must be a list of strings');
    if (p.env !== undefined) {
      if (!Array.isArray(p.env)) add('error', `${at}.env`, `must be a list of {name, value}, got ${describeType(p.env)}`);
      else {
        p.env.forEach((e, j) => {
          const ep = `${at}.env[${j}]`;
          if (typeof e !== 'object' || e === null || Array.isArray(e)) return add('error', ep, 'must be an object with name and value');
          const env = e as Record<string, unknown>;
          for (const key of Object.keys(env)) if (key !== 'name' && key !== 'value') add('error', `${ep}.${key}`, `unknown field "${key}"; the kubelet refuses the file`);
          if (typeof env.name !== 'string' || env.name === '') add('error', `${ep}.name`, 'must be a non-empty string');
          if (env.value !== undefined && typeof env.value !== 'string') add('error', `${ep}.value`, `must be a string, got ${describeType(env.value)} (quote it in YAML)`);
        });
      }
    }
    if (p.tokenAttributes !== undefined && configVersion === 'kubelet.config.k8s.io/v1') validateTokenAttributes(p.tokenAttributes, `${at}.tokenAttributes`, apiVersion, add);
  });
  return out;
}

function validateTokenAttributes(raw: unknown, at: string, apiVersion: unknown, add: (s: 'error' | 'warning', p: string, m: string) => void): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return add('error', at, `must be an object, got ${describeType(raw)}`);
  const t = raw as Record<string, unknown>;
  for (const key of Object.keys(t)) if (!TOKEN_FIELDS.has(key)) add('error', `${at}.${key}`, `unknown field "${key}"; the kubelet refuses the file`);
  if (typeof t.serviceAccountTokenAudience !== 'string' || t.serviceAccountTokenAudience === '') add('error', `${at}.serviceAccountTokenAudience`, 'is required');
  if (typeof t.requireServiceAccount !== 'boolean') add('error', `${at}.requireServiceAccount`, 'is required (true or false)');
  if (apiVersion !== CREDENTIAL_PROVIDER_API_VERSION) add('error', at, `tokenAttributes is only supported for ${CREDENTIAL_PROVIDER_API_VERSION} providers`);
  if (t.cacheType === undefined || t.cacheType === '') add('error', `${at}.cacheType`, 'is required when tokenAttributes is set: ServiceAccount or Token');
  else if (t.cacheType !== 'ServiceAccount' && t.cacheType !== 'Token') add('error', `${at}.cacheType`, `${JSON.stringify(t.cacheType)} is not supported: ServiceAccount or Token`);
  const required = Array.isArray(t.requiredServiceAccountAnnotationKeys) ? (t.requiredServiceAccountAnnotationKeys as unknown[]) : [];
  const optional = Array.isArray(t.optionalServiceAccountAnnotationKeys) ? (t.optionalServiceAccountAnnotationKeys as unknown[]) : [];
  if (t.requireServiceAccount === false && required.length > 0) add('error', `${at}.requiredServiceAccountAnnotationKeys`, 'requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set');
  for (const [field, keys] of [['requiredServiceAccountAnnotationKeys', required], ['optionalServiceAccountAnnotationKeys', optional]] as const) {
    const seenKeys = new Set<unknown>();
    for (const k of keys) {
      if (typeof k !== 'string' || !QUALIFIED_NAME.test(k.toLowerCase()) || k.split('/').pop()!.length > 63) add('error', `${at}.${field}`, `${JSON.stringify(k)} is not a valid annotation key`);
      if (seenKeys.has(k)) add('error', `${at}.${field}`, `duplicate ${JSON.stringify(k)}`);
      seenKeys.add(k);
    }
  }
  const both = required.filter((k) => optional.includes(k));
  if (both.length > 0) add('error', at, `annotation keys cannot be both required and optional: ${both.join(', ')}`);
}

/** A config read from a file or directory, with every problem found. */
export interface LoadedCredentialProviderConfig {
  /** The merged config (providers of every file, in file order); `undefined` when nothing could be read. */
  readonly config?: CredentialProviderConfig;
  /** The files read. */
  readonly files: string[];
  /** Every problem, with file and line. */
  readonly problems: NodeConfigProblem[];
}

/**
 * Reads a CredentialProviderConfig the way the kubelet reads `--image-credential-provider-config`:
 * a file, or a directory whose `*.json`, `*.yaml`, `*.yml` files are read in byte order and
 * merged (a provider name twice across files is an error). Validates every file.
 */
export function loadCredentialProviderConfig(configPath: string): LoadedCredentialProviderConfig {
  requireString(configPath, 'credential provider config path');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(configPath);
  } catch (e) {
    throw new NodeConfigError(`${configPath}: cannot read the credential provider config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const files = stat.isDirectory()
    ? fs.readdirSync(configPath, { withFileTypes: true }).filter((d) => !d.isDirectory() && /\.(json|ya?ml)$/.test(d.name)).map((d) => path.join(configPath, d.name)).sort()
    : [configPath];
  const problems: NodeConfigProblem[] = [];
  if (files.length === 0) problems.push({ severity: 'error', path: '', file: configPath, message: 'no *.json, *.yaml or *.yml file in this directory; the kubelet refuses to start' });
  const providers: CredentialProvider[] = [];
  const names = new Map<string, string>();
  let anyConfig = false;
  for (const file of files) {
    const parsed = parseCredentialProviderConfigText(fs.readFileSync(file, 'utf8'), file);
    problems.push(...parsed.problems);
    if (!parsed.config) continue;
    anyConfig = true;
    parsed.config.providers.forEach((p, i) => {
      const before = names.get(p.name);
      if (before !== undefined) problems.push({ severity: 'error', path: `providers[${i}].name`, file, message: `duplicate provider "${p.name}" (also in ${before}); the kubelet refuses to start` });
      else names.set(p.name, file);
      providers.push(p);
    });
  }
  return {
    ...(anyConfig ? { config: { kind: 'CredentialProviderConfig' as const, apiVersion: CREDENTIAL_PROVIDER_CONFIG_API_VERSION, providers } } : {}),
    files,
    problems,
  };
}

/** Parses and validates the text of one CredentialProviderConfig file (YAML or JSON). */
export function parseCredentialProviderConfigText(text: string, file = '<input>'): { config?: CredentialProviderConfig; problems: NodeConfigProblem[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const real = list.filter((d) => d.contents !== null);
  if (real.length !== 1) {
    return { problems: [{ severity: 'error', path: '', file, message: real.length === 0 ? 'the file is empty' : 'the file holds more than one YAML document; the kubelet reads one CredentialProviderConfig per file' }] };
  }
  const doc = real[0];
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    return { problems: [{ severity: 'error', path: '', file, line: err.linePos?.[0]?.line, message: `not valid YAML: ${err.message.split('\n')[0]}` }] };
  }
  const value = doc.toJS();
  const lineOf = (jsonPath: string): number | undefined => {
    const segments = jsonPath.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    for (let n = segments.length; n >= 0; n--) {
      const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const problems = validateCredentialProviderConfig(value, lineOf, file);
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return { config: value as CredentialProviderConfig, problems };
}

/**
 * The providers the kubelet calls for `image`, in registration order, each with the first
 * `matchImages` pattern that matched. Patterns are matched against the lookup name
 * (`docker.io/library/nginx`), as the kubelet does.
 */
export function providersForImage(config: CredentialProviderConfig, image: string): Array<{ provider: string; pattern: string }> {
  const name = imageLookupName(image);
  const out: Array<{ provider: string; pattern: string }> = [];
  for (const p of config.providers) {
    const pattern = p.matchImages.find((m) => registryKeyMatches(m, name));
    if (pattern !== undefined) out.push({ provider: p.name, pattern });
  }
  return out;
}
