import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { writeFileAtomic } from '../util/fs/write-file-atomic';
import { extractImages } from '../core/objects/pod-templates';
import type { ImageLocations } from '../core/objects/image-locations';
import { CredentialProviderSpec, NodeConfigProblem } from './credential-provider-types';
import { generateCredentialProviderConfig } from './credential-provider-generate';
import { NodeConfigError } from './match-images';
import { NodeDockerConfigOptions, buildNodeDockerConfig, writeSecretFile } from './node-docker-config';

/** File name of the generated CredentialProviderConfig inside the node directory. */
export const CREDENTIAL_PROVIDER_CONFIG_FILE = 'credential-provider-config.yaml';
/** File name of the generated node Docker config inside the node directory. */
export const NODE_DOCKER_CONFIG_FILE = 'config.json';

/** What the node-side files are built from; shared by the CLI, the cdk8s and the Pulumi faces. */
export interface NodeCredentialFilesOptions {
  /** The app's images. */
  readonly images: readonly string[];
  /** Credential-provider plugins; the CredentialProviderConfig is generated when set. @default - no provider config */
  readonly credentialProviders?: readonly CredentialProviderSpec[];
  /** Registries or names no provider may match. @default [] */
  readonly exclude?: readonly string[];
  /** Node config.json credentials; the file is generated when set. @default - no config.json */
  readonly nodeDockerConfig?: Omit<NodeDockerConfigOptions, 'images'>;
}

/** One generated file. */
export interface NodeCredentialFile {
  /** File name inside the node directory. */
  readonly name: string;
  /** Content. For `secret` files it holds credentials: never print it. */
  readonly text: string;
  /** True for the node config.json (written 0600). */
  readonly secret: boolean;
}

/** The result of {@link buildNodeCredentialFiles}. */
export interface NodeCredentialFiles {
  /** The files to write. */
  readonly files: NodeCredentialFile[];
  /** Per provider: the `matchImages` written. */
  readonly matchImages: Readonly<Record<string, string[]>>;
  /** Lookup names of the app's images that neither a provider nor the node config.json serves (they need pull secrets, or are public). */
  readonly notCovered: string[];
  /** Warnings. */
  readonly problems: NodeConfigProblem[];
}

/**
 * Builds the node-side files for an app: the CredentialProviderConfig and/or the node config.json.
 * @throws NodeConfigError listing every problem when neither can be built.
 */
export function buildNodeCredentialFiles(options: NodeCredentialFilesOptions): NodeCredentialFiles {
  const files: NodeCredentialFile[] = [];
  const problems: NodeConfigProblem[] = [];
  const errors: string[] = [];
  const matchImages: Record<string, string[]> = {};
  let notCovered = new Set<string>();
  let first = true;
  const narrow = (list: string[]): void => {
    notCovered = first ? new Set(list) : new Set(list.filter((n) => notCovered.has(n)));
    first = false;
  };
  if (options.credentialProviders !== undefined) {
    try {
      const generated = generateCredentialProviderConfig({ images: options.images, providers: options.credentialProviders, exclude: options.exclude });
      files.push({ name: CREDENTIAL_PROVIDER_CONFIG_FILE, text: generated.yaml, secret: false });
      for (const p of generated.config.providers) matchImages[p.name] = [...p.matchImages];
      problems.push(...generated.problems);
      narrow(generated.notCovered);
    } catch (e) {
      if (!(e instanceof NodeConfigError)) throw e;
      errors.push(e.message);
    }
  }
  if (options.nodeDockerConfig !== undefined) {
    try {
      const built = buildNodeDockerConfig({ ...options.nodeDockerConfig, images: options.images });
      files.push({ name: NODE_DOCKER_CONFIG_FILE, text: built.text, secret: true });
      problems.push(...built.problems);
      narrow(built.notCovered);
    } catch (e) {
      if (!(e instanceof NodeConfigError)) throw e;
      errors.push(e.message);
    }
  }
  if (errors.length > 0) throw new NodeConfigError(errors.join('\n'));
  return { files, matchImages, notCovered: [...notCovered].sort(), problems };
}

/** Writes the files of {@link buildNodeCredentialFiles} into `dir`: config.json with mode 0600, the rest 0644. Returns the paths. */
export function writeNodeCredentialFiles(dir: string, built: NodeCredentialFiles): string[] {
  // Owner-only, as for `node-config docker-config`: the directory may hold a config.json with credentials.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return built.files.map((f) => {
    const file = path.join(dir, f.name);
    if (f.secret) writeSecretFile(file, f.text);
    else writeFileAtomic(file, f.text, 0o644);
    return file;
  });
}

/** Every image in Kubernetes objects (Lists expanded), as written. */
export function imagesOfObjects(objects: readonly unknown[], locations?: ImageLocations): string[] {
  return [...new Set(extractImages(objects, locations).map((u) => u.image))];
}

/** The node-credential spec file (YAML or JSON) read by `kubepin node-config --spec` and {@link readNodeCredentialSpec}. */
export type NodeCredentialSpec = Omit<NodeCredentialFilesOptions, 'images'>;

/**
 * Reads a spec file: a mapping with `credentialProviders`, `exclude` and/or `nodeDockerConfig`
 * (same shapes as the API). Relative `{ file }` secret sources are resolved against the spec's directory.
 * @throws NodeConfigError naming the file for anything unreadable or unknown.
 */
export function readNodeCredentialSpec(file: string): NodeCredentialSpec {
  let data: unknown;
  try {
    data = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NodeConfigError(`${file}: cannot read the spec (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new NodeConfigError(`${file}: the spec must be a mapping with credentialProviders, exclude and/or nodeDockerConfig`);
  const record = data as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !['credentialProviders', 'exclude', 'nodeDockerConfig'].includes(k));
  if (unknown.length > 0) throw new NodeConfigError(`${file}: unknown field(s) ${unknown.join(', ')}; the spec has credentialProviders, exclude and nodeDockerConfig`);
  if (record.credentialProviders !== undefined && !Array.isArray(record.credentialProviders)) throw new NodeConfigError(`${file}: credentialProviders must be a list of { name, registries, … }`);
  if (record.exclude !== undefined && (!Array.isArray(record.exclude) || record.exclude.some((e) => typeof e !== 'string'))) throw new NodeConfigError(`${file}: exclude must be a list of registry keys`);
  if (record.nodeDockerConfig !== undefined && (typeof record.nodeDockerConfig !== 'object' || record.nodeDockerConfig === null)) throw new NodeConfigError(`${file}: nodeDockerConfig must be a mapping with auths and/or fromDockerConfig`);
  if (record.nodeDockerConfig !== undefined) {
    // `env` here would put secret values in the spec file: credentials come from the real environment or files only.
    const extra = Object.keys(record.nodeDockerConfig as object).filter((k) => k !== 'auths' && k !== 'fromDockerConfig');
    if (extra.length > 0) throw new NodeConfigError(`${file}: nodeDockerConfig takes only auths and fromDockerConfig, not ${extra.join(', ')}; credentials are read from the environment or from files, never written in the spec`);
  }
  return {
    ...(record.credentialProviders !== undefined ? { credentialProviders: record.credentialProviders as NodeCredentialSpec['credentialProviders'] } : {}),
    ...(record.exclude !== undefined ? { exclude: record.exclude as string[] } : {}),
    ...(record.nodeDockerConfig !== undefined ? { nodeDockerConfig: { cwd: path.dirname(path.resolve(file)), ...(record.nodeDockerConfig as object) } } : {}),
  };
}
