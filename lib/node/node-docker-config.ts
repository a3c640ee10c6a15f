import * as fs from 'fs';
import * as path from 'path';
import { KubepinUsageError, describeType, requireString } from '../util/errors';
import { Credential, DockerConfigError, buildDockerConfigJson, readDockerConfig } from '../core/credentials/docker-config';
import { CredentialKeyring, normalizeConfigKey } from '../core/credentials/keyring';
import { writeFileAtomic } from '../util/fs/write-file-atomic';
import { NodeConfigError, imageLookupName, normalizeRegistryKey } from './match-images';
import { NodeConfigProblem } from './credential-provider-types';

/** Where a secret is read from: an environment variable or a file. Never a literal. */
export type SecretSource = { readonly env: string } | { readonly file: string };

/** Where a user name is read from; user names are not secret, so a literal `value` is allowed. */
export type UsernameSource = SecretSource | { readonly value: string };

/** One registry's credential for the node's config.json. */
export interface NodeRegistryAuth {
  /** Registry key as the kubelet matches it: `ghcr.io`, `registry.example.com:5000`, `docker.io`. */
  readonly registry: string;
  /** The user name. */
  readonly username: UsernameSource;
  /** The password or token: from `{ env }` or `{ file }` only. */
  readonly password: SecretSource;
}

/** Copy entries of an existing Docker config (e.g. a CI runner's `~/.docker/config.json`). */
export interface DockerConfigImport {
  /** Path of the Docker config file. */
  readonly file: string;
  /** Registry keys to copy. @default - the registries of the app's images */
  readonly registries?: readonly string[];
}

/** Options of {@link buildNodeDockerConfig}. */
export interface NodeDockerConfigOptions {
  /** Credentials per registry. @default [] */
  readonly auths?: readonly NodeRegistryAuth[];
  /** Entries to copy from an existing Docker config. @default - none */
  readonly fromDockerConfig?: DockerConfigImport;
  /** The app's images: used to warn about registries no image needs, and to choose what to copy. @default [] */
  readonly images?: readonly string[];
  /** Environment to read `{ env }` sources from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory relative `{ file }` sources are resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/** The result of {@link buildNodeDockerConfig}. The secret is only in `text`; never log it. */
export interface NodeDockerConfig {
  /** The file content (`{"auths": …}`), holding the credentials. */
  readonly text: string;
  /** The registry keys in the file, sorted. */
  readonly registries: string[];
  /** Lookup names of the app's images that no entry of the file matches. */
  readonly notCovered: string[];
  /** Warnings. */
  readonly problems: NodeConfigProblem[];
}

/** Largest secret file read (a token is far smaller); guards against pointing at a big file by mistake. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * Builds a node `config.json` (`auths` only: the kubelet ignores `credsStore` and
 * `credHelpers`) from credentials read from environment variables or files, never from
 * literals. Errors name the variable or file, never the value.
 * @throws NodeConfigError when a source is missing or empty, or a registry key is invalid.
 */
export function buildNodeDockerConfig(options: NodeDockerConfigOptions): NodeDockerConfig {
  if (typeof options !== 'object' || options === null) throw new KubepinUsageError(`buildNodeDockerConfig(options) takes an object, got ${describeType(options)}`);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const names = [...new Set((options.images ?? []).map(imageLookupName))].sort();
  const entries: Record<string, Credential> = {};
  const errors: string[] = [];
  const problems: NodeConfigProblem[] = [];
  (options.auths ?? []).forEach((auth, i) => {
    const at = `auths[${i}]`;
    try {
      if (typeof auth !== 'object' || auth === null) throw new NodeConfigError(`must be an object with registry, username and password, got ${describeType(auth)}`);
      const key = normalizeRegistryKey(auth.registry, 'registry');
      if (entries[key]) throw new NodeConfigError(`registry "${key}" is listed twice`);
      const username = readSource(auth.username, `${key} username`, env, cwd, true);
      const password = readSource(auth.password, `${key} password`, env, cwd, false);
      entries[key] = { username, password };
    } catch (e) {
      if (!(e instanceof NodeConfigError)) throw e;
      errors.push(`${at}: ${e.message}`);
    }
  });
  if (options.fromDockerConfig) {
    try {
      importDockerConfig(options.fromDockerConfig, names, entries, cwd);
    } catch (e) {
      if (!(e instanceof NodeConfigError)) throw e;
      errors.push(`fromDockerConfig: ${e.message}`);
    }
  }
  if (errors.length === 0 && Object.keys(entries).length === 0) {
    errors.push('no registry credentials given. Fix: add auths entries ({ registry, username, password: { env: "NAME" } }) or fromDockerConfig');
  }
  if (errors.length > 0) throw new NodeConfigError(`cannot build the node config.json:\n  ${errors.join('\n  ')}`);
  const config = buildDockerConfigJson(entries);
  const keyring = new CredentialKeyring().add('node config.json', config);
  if (names.length > 0) {
    for (const key of Object.keys(entries)) {
      if (!names.some((n) => keyring.lookupName(n).some((m) => m.key === key))) {
        problems.push({ severity: 'warning', path: `auths.${key}`, message: `no image of the app uses "${key}"; every node of the pool carries this credential for nothing. Fix: drop it` });
      }
    }
  }
  return {
    text: `${JSON.stringify(config, null, 2)}\n`,
    registries: Object.keys(entries).sort(),
    notCovered: names.filter((n) => keyring.lookupName(n).length === 0),
    problems,
  };
}

/**
 * Builds the node config.json ({@link buildNodeDockerConfig}) and writes it to `file`
 * atomically with mode 0600, creating the directory. Returns what was written, without the secret.
 */
export function writeNodeDockerConfig(file: string, options: NodeDockerConfigOptions): Omit<NodeDockerConfig, 'text'> & { readonly file: string } {
  requireString(file, 'node config.json path');
  const built = buildNodeDockerConfig(options);
  writeSecretFile(file, built.text);
  return { file, registries: built.registries, notCovered: built.notCovered, problems: built.problems };
}

/** Writes `text` to `file` atomically with mode 0600 (the directory is created 0700 when missing). */
export function writeSecretFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, text, 0o600);
}

function readSource(source: unknown, what: string, env: NodeJS.ProcessEnv, cwd: string, literalAllowed: boolean): string {
  if (typeof source === 'string') {
    throw new NodeConfigError(`the ${what} is a literal string; kubepin reads credentials only from the environment or a file, so they stay out of source code. Fix: { env: "VARIABLE" } or { file: "path" }`);
  }
  if (typeof source !== 'object' || source === null) throw new NodeConfigError(`the ${what} must be { env: "VARIABLE" } or { file: "path" }, got ${describeType(source)}`);
  const s = source as Record<string, unknown>;
  if (typeof s.env === 'string') {
    const value = env[s.env];
    if (value === undefined || value === '') throw new NodeConfigError(`the ${what} comes from the environment variable ${s.env}, which is ${value === undefined ? 'not set' : 'empty'}. Fix: export ${s.env} before running kubepin`);
    return value;
  }
  if (typeof s.file === 'string') {
    const file = path.resolve(cwd, s.file);
    let content: Buffer;
    try {
      if (fs.statSync(file).size > MAX_SECRET_FILE_BYTES) throw new NodeConfigError(`the ${what} file ${s.file} is larger than ${MAX_SECRET_FILE_BYTES} bytes; is it the right file?`);
      content = fs.readFileSync(file);
    } catch (e) {
      if (e instanceof NodeConfigError) throw e;
      throw new NodeConfigError(`cannot read the ${what} file ${s.file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
    // One trailing newline is what `echo token > file` leaves; it is not part of the secret.
    const value = content.toString('utf8').replace(/\r?\n$/, '');
    if (value === '') throw new NodeConfigError(`the ${what} file ${s.file} is empty`);
    return value;
  }
  if (literalAllowed && typeof s.value === 'string' && s.value !== '') return s.value;
  throw new NodeConfigError(`the ${what} must be { env: "VARIABLE" } or { file: "path" }${literalAllowed ? ' or { value: "name" }' : ''}`);
}

function importDockerConfig(spec: DockerConfigImport, names: string[], entries: Record<string, Credential>, cwd: string): void {
  requireString(spec.file, 'fromDockerConfig.file');
  const file = path.resolve(cwd, spec.file);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NodeConfigError(`cannot read ${spec.file} as JSON (${(e as NodeJS.ErrnoException).code ?? 'invalid JSON'})`);
  }
  let available: Map<string, Credential>;
  try {
    available = readDockerConfig(data, spec.file);
  } catch (e) {
    if (e instanceof DockerConfigError) throw new NodeConfigError(e.message);
    throw e;
  }
  const byKey = new Map<string, Credential>();
  for (const [raw, credential] of available) {
    const key = normalizeConfigKey(raw);
    if (key !== undefined) byKey.set(key, credential);
  }
  const record = data as Record<string, unknown>;
  const helpers = typeof record.credHelpers === 'object' && record.credHelpers !== null ? Object.keys(record.credHelpers) : [];
  const wanted = spec.registries
    ? spec.registries.map((r) => normalizeRegistryKey(r))
    : [...byKey.keys()].filter((k) => names.some((n) => new CredentialKeyring().addEntry('x', k, { username: '', password: '' }).lookupName(n).length > 0));
  for (const key of wanted) {
    const credential = byKey.get(key);
    if (!credential) {
      const helper = helpers.some((h) => normalizeConfigKey(h) === key) || typeof record.credsStore === 'string';
      throw new NodeConfigError(`${spec.file} has no "auths" entry for "${key}"${helper ? ' (its credentials are kept by a credential helper, which the kubelet cannot use)' : ''}. Fix: pass this registry's credentials from the environment or a file instead`);
    }
    if (credential.password === '') throw new NodeConfigError(`${spec.file}: the "auths" entry for "${key}" has no password or token`);
    if (entries[key]) throw new NodeConfigError(`registry "${key}" is given twice (auths and fromDockerConfig)`);
    entries[key] = credential;
  }
}
