import * as path from 'path';
import { ApiObject, App } from 'cdk8s';
import { Construct } from 'constructs';
import { KubepinUsageError, describeType } from '../util/errors';
import {
  CredentialProviderSpec,
  NodeConfigError,
  NodeCredentialFiles,
  NodeDockerConfigOptions,
  buildNodeCredentialFiles,
  formatNodeConfigProblem,
  imagesOfObjects,
  readNodeCredentialSpec,
  writeNodeCredentialFiles,
} from '../node';

/** Props of {@link NodeCredentialConfig}. */
export interface NodeCredentialConfigProps {
  /** Credential-provider plugins and the registries each serves; `matchImages` are computed from the app's images. @default - no CredentialProviderConfig is written */
  readonly credentialProviders?: readonly CredentialProviderSpec[];
  /** Registries or image names no provider may match (e.g. a public mirror under an assigned glob). @default [] */
  readonly exclude?: readonly string[];
  /** Credentials for a node config.json, read from environment variables or files at synthesis. @default - no config.json is written */
  readonly nodeDockerConfig?: Omit<NodeDockerConfigOptions, 'images'>;
  /** Images the nodes need besides those in the app's manifests. @default [] */
  readonly images?: readonly string[];
  /** Directory, relative to the app's output directory, that receives the files. @default "node" */
  readonly directory?: string;
  /** Write the files when the app is synthesized. @default true */
  readonly writeOnSynth?: boolean;
}

/**
 * Node-side credential files for the images of the whole app, written next to the
 * synthesized manifests (e.g. `dist/manifests/node/credential-provider-config.yaml` and
 * `config.json`, the latter mode 0600) when the app is synthesized. They are not Kubernetes
 * objects: a cluster administrator puts them on the nodes of a pool (kubelet flags
 * `--image-credential-provider-config`, `--image-credential-provider-bin-dir`; config.json in
 * `/var/lib/kubelet`). All logic is the core's {@link buildNodeCredentialFiles}.
 */
export class NodeCredentialConfig extends Construct {
  /** A construct configured from a spec file (the format of `kubepin node-config --spec`). */
  public static fromSpecFile(scope: Construct, id: string, file: string, props: Pick<NodeCredentialConfigProps, 'images' | 'directory' | 'writeOnSynth'> = {}): NodeCredentialConfig {
    let spec;
    try {
      spec = readNodeCredentialSpec(file);
    } catch (e) {
      if (e instanceof NodeConfigError) throw new NodeConfigError(`${scope.node.path}/${id}: ${e.message}`);
      throw e;
    }
    return new NodeCredentialConfig(scope, id, { ...spec, ...props });
  }

  private readonly props: NodeCredentialConfigProps;
  private readonly extraImages: string[];

  constructor(scope: Construct, id: string, props: NodeCredentialConfigProps = {}) {
    super(scope, id);
    if (typeof props !== 'object' || props === null) throw new KubepinUsageError(`${this.node.path}: props must be an object, got ${describeType(props)}`);
    if (props.credentialProviders === undefined && props.nodeDockerConfig === undefined) {
      throw new KubepinUsageError(`${this.node.path}: give credentialProviders and/or nodeDockerConfig; with neither there is nothing to write`);
    }
    if (props.directory !== undefined && (typeof props.directory !== 'string' || props.directory === '' || path.isAbsolute(props.directory) || props.directory.split(/[\\/]/).includes('..'))) {
      throw new KubepinUsageError(`${this.node.path}: directory must be a relative path inside the app's output directory, got ${JSON.stringify(props.directory)}`);
    }
    this.props = props;
    this.extraImages = [...(props.images ?? [])];
    this.node.addValidation({ validate: () => this.synthesize() });
  }

  /** Adds an image the nodes need that is not in the app's manifests. */
  public addImage(image: string): void {
    if (typeof image !== 'string' || image === '') throw new KubepinUsageError(`${this.node.path}: addImage(image) needs a non-empty image string, got ${describeType(image)}`);
    this.extraImages.push(image);
  }

  /** Every image of every chart of the app (resolved as synthesized), plus the added ones. */
  public get images(): string[] {
    // ApiObject.toJson resolves like synthesis does; Chart.toJson would re-run validation (and so this).
    const objects = App.of(this).node.findAll().filter(ApiObject.isApiObject).map((o) => o.toJson());
    return [...new Set([...imagesOfObjects(objects), ...this.extraImages])];
  }

  /** Where the files go: `<app outdir>/<directory>`. */
  public get outputDirectory(): string {
    const app = App.of(this);
    const outdir = app instanceof App ? app.outdir : 'dist';
    return path.join(outdir, this.props.directory ?? 'node');
  }

  /** Builds the files' content (config.json text holds credentials: never print it). @throws NodeConfigError */
  public build(): NodeCredentialFiles {
    return buildNodeCredentialFiles({
      images: this.images,
      ...(this.props.credentialProviders ? { credentialProviders: this.props.credentialProviders } : {}),
      ...(this.props.exclude ? { exclude: this.props.exclude } : {}),
      ...(this.props.nodeDockerConfig ? { nodeDockerConfig: this.props.nodeDockerConfig } : {}),
    });
  }

  /** Writes the files into `dir` (default {@link outputDirectory}); returns their paths. @throws NodeConfigError */
  public writeFiles(dir: string = this.outputDirectory): string[] {
    return writeNodeCredentialFiles(dir, this.build());
  }

  private synthesize(): string[] {
    try {
      const built = this.build();
      // Warnings do not fail synthesis; they go to stderr like cdk8s' own notices (never secrets).
      for (const p of built.problems) process.stderr.write(`[${this.node.path}] ${formatNodeConfigProblem(p)}\n`);
      if (this.props.writeOnSynth !== false) writeNodeCredentialFiles(this.outputDirectory, built);
      return [];
    } catch (e) {
      if (e instanceof NodeConfigError) return e.message.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim());
      throw e;
    }
  }
}
