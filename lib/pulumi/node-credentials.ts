import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { loadManifests } from '../core/manifests/manifests';
import {
  CredentialProviderSpec,
  NodeCredentialFiles,
  NodeDockerConfigOptions,
  buildNodeCredentialFiles,
  formatNodeConfigProblem,
  imagesOfObjects,
  writeNodeCredentialFiles,
  CREDENTIAL_PROVIDER_CONFIG_FILE,
  NODE_DOCKER_CONFIG_FILE,
} from '../node';

/** Pulumi type token of {@link NodeCredentials}. */
export const NODE_CREDENTIALS_TYPE = 'kubepin:index:NodeCredentials';

/** Args of {@link NodeCredentials}. */
export interface NodeCredentialsArgs {
  /** The images the node pool must pull (e.g. every image of the stack's workloads). @default [] */
  readonly images?: pulumi.Input<pulumi.Input<string>[]>;
  /** Manifest files or directories whose images are added to `images`. @default [] */
  readonly manifestPaths?: readonly string[];
  /** Credential-provider plugins and the registries each serves; `matchImages` are computed from the images. @default - no CredentialProviderConfig */
  readonly credentialProviders?: readonly CredentialProviderSpec[];
  /** Registries or names no provider may match. @default [] */
  readonly exclude?: readonly string[];
  /** Credentials for a node config.json, read from environment variables or files when the program runs. @default - no config.json */
  readonly nodeDockerConfig?: Omit<NodeDockerConfigOptions, 'images'>;
  /** Also write the files into this directory (config.json mode 0600). @default - only outputs */
  readonly outputDirectory?: string;
}

/**
 * The node-side credential files of a node pool as stack outputs: the kubelet's
 * CredentialProviderConfig (plain) and a node config.json (a Pulumi secret, encrypted in
 * state and hidden in diffs), for a node group's user data or bootstrap script. Not
 * Kubernetes resources, so nothing is deployed; all logic is the core's {@link buildNodeCredentialFiles}.
 */
export class NodeCredentials extends pulumi.ComponentResource {
  /** The CredentialProviderConfig YAML, or undefined when no providers were given. */
  public readonly credentialProviderConfig: pulumi.Output<string | undefined>;
  /** The node config.json content as a secret, or undefined when no credentials were given. */
  public readonly nodeDockerConfigJson: pulumi.Output<string | undefined>;
  /** Per provider name, the `matchImages` written. */
  public readonly matchImages: pulumi.Output<Record<string, string[]>>;
  /** Lookup names of the images no node-side credential serves (they need pull secrets, or are public). */
  public readonly notCovered: pulumi.Output<string[]>;
  /** Paths written when `outputDirectory` is set (else empty). */
  public readonly files: pulumi.Output<string[]>;

  /** @throws NodeConfigError naming this resource when the files cannot be built (never holding a secret). */
  constructor(name: string, args: NodeCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NODE_CREDENTIALS_TYPE, name, {}, opts);
    const where = `${NODE_CREDENTIALS_TYPE} "${name}"`;
    const fromManifests = args.manifestPaths && args.manifestPaths.length > 0 ? imagesOfObjects(loadManifests([...args.manifestPaths]).documents.map((d) => d.object)) : [];
    const build = (images: string[]): { built: NodeCredentialFiles; files: string[] } => {
      let built: NodeCredentialFiles;
      try {
        built = buildNodeCredentialFiles({
          images: [...new Set([...images, ...fromManifests])],
          ...(args.credentialProviders ? { credentialProviders: args.credentialProviders } : {}),
          ...(args.exclude ? { exclude: args.exclude } : {}),
          ...(args.nodeDockerConfig ? { nodeDockerConfig: args.nodeDockerConfig } : {}),
        });
      } catch (e) {
        if (e instanceof Error) e.message = `${where}: ${e.message}`;
        throw e;
      }
      for (const p of built.problems) void pulumi.log.warn(formatNodeConfigProblem(p), this);
      const files = args.outputDirectory ? writeNodeCredentialFiles(path.resolve(args.outputDirectory), built) : [];
      return { built, files };
    };
    // Plain images: build now, so a mistake fails at this line, naming the resource.
    const images = args.images ?? [];
    const plain = Array.isArray(images) && images.every((i) => typeof i === 'string');
    const result = plain ? pulumi.output(build(images as string[])) : pulumi.output(images).apply((list) => build(list as string[]));
    const text = (name: string) => result.apply((r) => r.built.files.find((f) => f.name === name)?.text);
    this.credentialProviderConfig = text(CREDENTIAL_PROVIDER_CONFIG_FILE);
    this.nodeDockerConfigJson = pulumi.secret(text(NODE_DOCKER_CONFIG_FILE));
    this.matchImages = result.apply((r) => ({ ...r.built.matchImages }));
    this.notCovered = result.apply((r) => r.built.notCovered);
    this.files = result.apply((r) => r.files);
    this.registerOutputs({
      credentialProviderConfig: this.credentialProviderConfig,
      nodeDockerConfigJson: this.nodeDockerConfigJson,
      matchImages: this.matchImages,
      notCovered: this.notCovered,
      files: this.files,
    });
  }
}
