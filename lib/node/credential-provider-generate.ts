// Generating a CredentialProviderConfig: matchImages computed from the app's images, YAML out.
import { KubepinUsageError, describeType, requireString } from '../util/errors';
import { normalizeConfigKey, registryKeyMatches } from '../core/credentials/keyring';
import { NodeConfigError, computeMatchImages, imageLookupName, keySpecificity, normalizeRegistryKey } from './match-images';
import { CREDENTIAL_PROVIDER_API_VERSION, CREDENTIAL_PROVIDER_CONFIG_API_VERSION, CredentialProvider, CredentialProviderConfig, CredentialProviderSpec, DEFAULT_CACHE_DURATION, ExecEnvVar, NodeConfigProblem, PROVIDER_PRESETS } from './credential-provider-types';
import { validateCredentialProviderConfig } from './credential-provider-validate';

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
  const userExcluded = computed.excluded.filter((n) => (options.exclude ?? []).some((e) => { const k = normalizeConfigKey(e); return k !== undefined && registryKeyMatches(k, n); }));
  if (userExcluded.length > 0) {
    problems.push({ severity: 'warning', path: 'exclude', message: `${userExcluded.join(', ')} ${userExcluded.length === 1 ? 'is' : 'are'} in an excluded registry, so provider "${name}" does not serve ${userExcluded.length === 1 ? 'it' : 'them'}: the kubelet pulls ${userExcluded.length === 1 ? 'it' : 'them'} with pull secrets, node config.json, or anonymously. Fix: nothing if the registry is public; otherwise remove it from exclude` });
  }
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
  return `# Generated by kubepin: the kubelet's --image-credential-provider-config.\n${(require('yaml') as typeof import('yaml')).stringify(ordered, { lineWidth: 0 })}`;
}
