import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../lock';
import { extractImages } from '../workloads';
import { CredentialProviderSpec, NodeConfigProblem, generateCredentialProviderConfig } from './credential-provider-config';
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
  fs.mkdirSync(dir, { recursive: true });
  return built.files.map((f) => {
    const file = path.join(dir, f.name);
    if (f.secret) writeSecretFile(file, f.text);
    else writeFileAtomic(file, f.text, 0o644);
    return file;
  });
}

/** Every image in Kubernetes objects (Lists expanded), as written. */
export function imagesOfObjects(objects: readonly unknown[]): string[] {
  return [...new Set(extractImages(objects).map((u) => u.image))];
}
