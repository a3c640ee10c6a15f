import { ApiObject, Chart, Lazy, Names } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { DigestSource } from '../core/lock/image-lock';
import { Finding, formatFinding } from '../core/findings/finding';
import { PullSecretDeclaration } from '../core/policy/engine';
import { KubepinError, KubepinUsageError, describeType } from '../util/errors';
import { ProjectConfigError } from '../core/config/project-config';
import { isObject } from '../core/objects/pod-templates';
import { resolveLock } from './lock-file';
import {
  NodeScope, PrePullHelperImages, PrePullImage, PrePullImageOptions, PrePullOptions, PrePullResult,
  buildPrePull, configuredPrePullHelpers, mergePrePullHelpers, validatePrePullOptions, prePullDaemonSetCount, prePullMetadata, validateNodeScope,
} from '../prepull';

/** Context key naming a lock file the pre-pull DaemonSets pin from when no `lock` prop is given. */
export const LOCK_FILE_CONTEXT = 'kubepin:lockFile';

/**
 * Props of {@link PrePullDaemonSet}: the core's {@link PrePullOptions}, with defaults taken
 * from the construct tree where the app has them.
 */
export interface PrePullDaemonSetProps extends PrePullOptions {
  /** Namespace of the ServiceAccount and DaemonSet(s); pull secrets must live there. @default the chart's namespace */
  readonly namespace?: string;
  /** `metadata.name` of the ServiceAccount and DaemonSet (split ones get `-1`, `-2`, …). @default a unique name derived from the construct path */
  readonly name?: string;
  /** Where digests come from. @default the lock an `ImagePolicy` in scope hands over, else the app's lock file (the `kubepin:lockFile` context value, else `kubepin.lock.json` next to `cdk8s.yaml`) */
  readonly lock?: DigestSource;
}

const PREPULL_SYMBOL = Symbol.for('kubepin.cdk8s.PrePullDaemonSet');

/**
 * A DaemonSet that pulls images onto the nodes before workloads need them, with its own
 * ServiceAccount (no RBAC, no token). All logic is the core's {@link buildPrePull}; the
 * objects are built at synthesis, so images added late are included.
 *
 * Pre-pulled images are usable by every pod on those nodes (private ones too on clusters
 * before Kubernetes 1.35).
 */
export class PrePullDaemonSet extends Construct {
  /**
   * The pre-puller of `scope`'s chart for `namespace` (default: the chart's namespace),
   * created on first use. Typed workloads with `prePull: true` share it.
   */
  public static of(scope: IConstruct, namespace?: string): PrePullDaemonSet {
    const chart = chartOf(scope);
    const ns = namespace ?? chart.namespace;
    const id = ns === undefined ? 'kubepin-prepull' : `kubepin-prepull-${ns}`;
    const existing = chart.node.tryFindChild(id);
    if (existing !== undefined) {
      if (PrePullDaemonSet.isPrePullDaemonSet(existing)) return existing;
      throw new KubepinUsageError(`${chart.node.path}/${id}: this construct id is reserved for the chart's pre-pull DaemonSet but is taken by another construct. Fix: rename that construct`);
    }
    return new PrePullDaemonSet(chart, id, ns === undefined ? {} : { namespace: ns });
  }

  /** True for a {@link PrePullDaemonSet} (also across copies of the library). */
  public static isPrePullDaemonSet(x: unknown): x is PrePullDaemonSet {
    return typeof x === 'object' && x !== null && PREPULL_SYMBOL in x;
  }

  /** The ServiceAccount object. */
  public readonly serviceAccount: ApiObject;
  /** The DaemonSet objects (more than one only when `split` and enough images). */
  public readonly daemonSets: ApiObject[] = [];
  private readonly props: PrePullDaemonSetProps;
  private readonly entries: PrePullImage[] = [];
  private readonly secretDeclarations: PullSecretDeclaration[];
  private lock: DigestSource | undefined;
  private policyHelpers: PrePullHelperImages | undefined;
  private cached: PrePullResult | undefined;

  constructor(scope: Construct, id: string, props: PrePullDaemonSetProps = {}) {
    super(scope, id);
    Object.defineProperty(this, PREPULL_SYMBOL, { value: true });
    if (typeof props !== 'object' || props === null) throw new KubepinUsageError(`${this.node.path}: props must be an object, got ${describeType(props)}`);
    if (props.images !== undefined && !Array.isArray(props.images)) {
      throw new KubepinUsageError(`${this.node.path}: props.images must be a list of images, got ${describeType(props.images)}`);
    }
    this.props = { ...props, namespace: props.namespace ?? chartOf(this).namespace };
    this.secretDeclarations = [...(props.pullSecrets ?? [])];
    this.lock = props.lock;
    // Fail fast on bad props, naming this construct (images are checked as they are added). Only
    // checked, not built: in collect mode (`kubepin lock`) a build records its helper images, and
    // the ones kubepin.config.json or the ImagePolicy set are known only at synthesis.
    this.wrap(() => validatePrePullOptions(this.options(false)));
    const metadata = prePullMetadata(this.metadataOptions(), 'ServiceAccount');
    this.serviceAccount = new ApiObject(this, 'ServiceAccount', {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...metadata },
      automountServiceAccountToken: false,
    });
    for (const image of props.images ?? []) {
      if (typeof image === 'string') this.addImage(image);
      else if (isObject(image)) {
        const { image: name, ...options } = image as unknown as PrePullImage;
        this.addImage(name, options);
      } else {
        throw new KubepinUsageError(`${this.node.path}: each of props.images must be an image string or { image, … }, got ${describeType(image)}`);
      }
    }
    this.ensureDaemonSets();
    this.node.addValidation({ validate: () => this.validateFindings() });
  }

  /** The images added so far, as given (duplicates removed), in the order added. */
  public get images(): string[] {
    return [...new Set(this.entries.map((e) => e.image))];
  }

  /** Findings of the current build: unpinned images, private images, too many images per pod. */
  public get findings(): Finding[] {
    return this.build().findings;
  }

  /**
   * Adds `image` with the node scope and pull secrets of the workload using it; the
   * pre-puller reaches the union of its workloads' nodes.
   */
  public addImage(image: string, options: PrePullImageOptions = {}): void {
    if (typeof image !== 'string' || image === '') {
      throw new KubepinUsageError(`${this.node.path}: addImage(image) needs a non-empty image string, got ${describeType(image)}`);
    }
    if (!isObject(options)) throw new KubepinUsageError(`${this.node.path}: addImage(${JSON.stringify(image)}, options): options must be an object, got ${describeType(options)}`);
    const { pullSecrets, ...scope } = options;
    this.wrap(() => validateNodeScope(scope, `addImage(${JSON.stringify(image)})`));
    if (pullSecrets !== undefined && (!Array.isArray(pullSecrets) || pullSecrets.some((s) => typeof s !== 'string' || s === ''))) {
      throw new KubepinUsageError(`${this.node.path}: addImage(${JSON.stringify(image)}): pullSecrets must be a list of Secret names`);
    }
    this.entries.push({ image, ...structuredClone(options) });
    this.cached = undefined;
    this.ensureDaemonSets();
  }

  /** Pins from `lock` (e.g. the one an `ImagePolicy` loaded) instead of the one given in props. */
  public useLock(lock: DigestSource): void {
    if (!isObject(lock) || typeof (lock as DigestSource).get !== 'function') {
      throw new KubepinUsageError(`${this.node.path}: useLock(lock) needs a DigestSource such as an ImageLock`);
    }
    this.lock = lock;
    this.cached = undefined;
  }

  /** Helper and pause images set by the ImagePolicy in scope (its `prePullHelpers`); this construct's own props win. */
  public usePrePullHelpers(helpers: PrePullHelperImages): void {
    this.policyHelpers = helpers;
    this.cached = undefined;
  }

  /** Declares more pull secrets the cluster has; the kubelet-exact matching picks those serving each image. */
  public addPullSecrets(...secrets: PullSecretDeclaration[]): void {
    this.secretDeclarations.push(...secrets);
    this.cached = undefined;
  }

  /** The core builder's output for the current images (cached until something changes). */
  public build(): PrePullResult {
    if (!this.cached) this.cached = this.wrap(() => buildPrePull(this.options()));
    return this.cached;
  }

  private options(withLock = true): PrePullOptions {
    const { images: _images, lock: _lock, pullSecrets: _secrets, ...rest } = this.props;
    // The app's lock file is read only when no lock was given: an ImagePolicy usually hands one over before synthesis.
    if (withLock) this.lock ??= resolveLock(this, undefined);
    const helpers = withLock ? mergePrePullHelpers(rest, this.policyHelpers, configuredPrePullHelpers(this.lock?.file)) : {};
    return { ...rest, ...helpers, name: this.objectName(), images: this.entries, lock: withLock ? this.lock : undefined, pullSecrets: this.secretDeclarations };
  }

  private metadataOptions(): PrePullOptions {
    return { name: this.objectName(), namespace: this.props.namespace, split: this.props.split, labels: this.props.labels };
  }

  private objectName(): string {
    return this.props.name ?? Names.toDnsLabel(this, { maxLen: 58 });
  }

  /** One DaemonSet per group of images: as many as `split` asks for and the images allow. */
  private ensureDaemonSets(): void {
    const wanted = prePullDaemonSetCount({ images: this.entries, split: this.props.split });
    while (this.daemonSets.length < wanted) {
      const index = this.daemonSets.length;
      const metadata = prePullMetadata(this.metadataOptions(), 'DaemonSet', index);
      this.daemonSets.push(new ApiObject(this, `DaemonSet${index === 0 ? '' : index + 1}`, {
        apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { ...metadata },
        spec: Lazy.any({ produce: () => this.specOf(index) }),
      }));
    }
  }

  private specOf(index: number): unknown {
    return this.build().daemonSets[index].spec;
  }

  private validateFindings(): string[] {
    try {
      return this.build().findings
        .filter((f) => f.severity === 'error')
        .map((f) => `${this.node.path}: ${formatFinding(f)}`);
    } catch (e) {
      // An ImagePolicy in the app lists a broken kubepin.config.json once; without one, this does.
      if (e instanceof ProjectConfigError && this.node.root.node.findAll().some((c) => Symbol.for('kubepin.cdk8s.ImagePolicy') in c)) return [];
      if (e instanceof KubepinError) return [e.message];
      throw e;
    }
  }

  /** Runs `fn`, prefixing kubepin errors with this construct's path so users find the culprit. */
  private wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      // A broken kubepin.config.json is the file's fault, not this construct's: its message names the file.
      if (e instanceof KubepinError && !(e instanceof ProjectConfigError) && !e.message.startsWith(this.node.path)) e.message = `${this.node.path}: ${e.message}`;
      throw e;
    }
  }
}

function chartOf(scope: IConstruct): Chart {
  try {
    return Chart.of(scope);
  } catch {
    throw new KubepinUsageError(`${scope.node.path}: a pre-pull DaemonSet must be created inside a cdk8s Chart (its objects and namespace come from the chart). Fix: pass a Chart or a construct within one`);
  }
}
