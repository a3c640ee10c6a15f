// Reading a CredentialProviderConfig with the kubelet's rules: validation, Go durations, loading files and directories.
import * as fs from 'fs';
import * as path from 'path';
import { describeType, requireString } from '../util/errors';
import { readRegularFile } from '../util/fs/read-regular-file';
import { globMatch, registryKeyMatches } from '../core/credentials/keyring';
import { NodeConfigError, imageLookupName } from './match-images';
import { CONFIG_API_VERSIONS, CREDENTIAL_PROVIDER_API_VERSION, CREDENTIAL_PROVIDER_CONFIG_API_VERSION, CredentialProvider, CredentialProviderConfig, NodeConfigProblem, PROVIDER_API_VERSIONS } from './credential-provider-types';

/** Largest credential provider config file read (the kubelet's are a few kilobytes). */
const MAX_CREDENTIAL_PROVIDER_CONFIG_BYTES = 1024 * 1024;

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
    // Regular files only, capped: a FIFO would block the validation, a device never ends.
    const text = readRegularFile(file, MAX_CREDENTIAL_PROVIDER_CONFIG_BYTES);
    if (typeof text !== 'string') {
      problems.push({ severity: 'error', path: '', file, message: text.problem });
      continue;
    }
    const parsed = parseCredentialProviderConfigText(text, file);
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
  // Loaded here, not at start-up: `kubepin check` reads provider configs only when given one.
  const { LineCounter, parseAllDocuments } = require('yaml') as typeof import('yaml');
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
