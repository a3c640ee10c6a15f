import { Construct, IConstruct } from 'constructs';
import { Image } from '../core/policy/image';
import { ImageLock } from '../core/lock/image-lock';
import { PullPolicy, isPullPolicy } from '../core/names/pull-policy';
import { ImageReference } from '../core/names/image-reference';
import { PolicyRuntime, PullSecretConstruct, findPullSecrets, nearestRuntime, setRuntime } from './policy-runtime';
import { PrePullDaemonSet } from './pre-pull-daemon-set';
import { ImagePolicyOptions, PullSecretDeclaration } from '../core/policy/engine';
import { ImageLocations } from '../core/objects/image-locations';
import { ConstructFinding } from './findings';
import { resolveLock } from './lock-file';
import { addPrePullImage } from './pre-pull';
import { ProjectConfigError } from '../core/config/project-config';
import type { PrePullHelperImages } from '../prepull';
import { reportSynthErrorsAsFindings } from './synth-error-report';

/**
 * Props of {@link ImagePolicy}: the core's {@link ImagePolicyOptions}, with the lock, pull
 * secrets and pre-pulled images as the cdk8s app has them (service accounts and the signature
 * policy are found in the construct tree and next to the lock).
 */
export interface ImagePolicyProps extends Omit<ImagePolicyOptions, 'lock' | 'pullSecrets' | 'prePulled' | 'serviceAccounts' | 'signatures'> {
  /** The lock, or a path to it. @default `kubepin.lock.json` next to `cdk8s.yaml` (or the `kubepin:lockFile` context value) */
  readonly lock?: ImageLock | string;
  /** Pull secrets to attach to the pods whose images they serve. @default every RegistryPullSecret in the app */
  readonly pullSecrets?: readonly PullSecretConstruct[];
  /** Images to pre-pull with a PrePullDaemonSet in this scope; `Never` is allowed only for pre-pulled images. @default none */
  readonly prePulled?: ReadonlyArray<Image | string>;
  /** Print errors as warnings and never fail synthesis (for adopting kubepin on an existing app). @default false */
  readonly reportOnly?: boolean;
  /** Where warnings are printed. @default a line on standard error per finding */
  readonly log?: (line: string) => void;
  /**
   * The helper and pause images of the pre-pull DaemonSets in this scope (`prePull: true`,
   * `prePulled`), e.g. mirrors in your registry when docker.io or registry.k8s.io are not
   * reachable or not in `allowedRegistries`. A `PrePullDaemonSet`'s own props win.
   * @default kubepin.config.json's `prePullHelpers`, else busybox:1.36.1 and registry.k8s.io/pause:3.10
   */
  readonly prePullHelpers?: PrePullHelperImages;
}

/**
 * Pins every image under its scope (an `App` or a `Chart`) at synthesis: cdk8s-plus
 * workloads, L1 `Kube*` objects, `Include`d YAML, `Helm` output and other libraries'
 * constructs, objects added after the policy included. Sets an explicit pull policy on every
 * container, attaches the pull secrets that serve each pod's images (several per pod when
 * needed), and fails synthesis listing every error with its construct path.
 *
 * A policy on a `Chart` overrides one on the `App` for that chart's objects; no object is
 * processed twice.
 *
 * @example
 * new ImagePolicy(app, 'ImagePolicy', { strict: true, privateRegistries: ['ghcr.io/acme'] });
 */
export class ImagePolicy extends Construct {
  /** The policy governing `c` (the nearest one above it), if any. */
  public static of(c: IConstruct): ImagePolicy | undefined {
    return nearestRuntime(c)?.owner as ImagePolicy | undefined;
  }

  /** True for {@link ImagePolicy} constructs. */
  public static isImagePolicy(x: unknown): x is ImagePolicy {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[Symbol.for('kubepin.cdk8s.ImagePolicy')] === true;
  }

  /** The lock digests come from. */
  public readonly lock: ImageLock;
  private readonly runtime: PolicyRuntime;
  private readonly props: ImagePolicyProps;

  constructor(scope: Construct, id: string, props: ImagePolicyProps = {}) {
    super(scope, id);
    Object.defineProperty(this, Symbol.for('kubepin.cdk8s.ImagePolicy'), { value: true });
    this.props = props;
    this.lock = resolveLock(this, props.lock);
    for (const field of ['pullPolicy', 'defaultPullPolicy'] as const) {
      if (props[field] !== undefined && !isPullPolicy(props[field])) {
        this.node.addValidation({ validate: () => [`${field} ${JSON.stringify(props[field])} is not one of Always, IfNotPresent, Never`] });
      }
    }
    if (props.imageLocations !== undefined) {
      // Checked now, listed with the other problems of the app at validation.
      try {
        ImageLocations.withExtra(props.imageLocations, 'imageLocations');
      } catch (e) {
        const message = (e as Error).message;
        this.node.addValidation({ validate: () => [message] });
      }
    }
    // Its validation errors, uncaught in the app cdk8s synth runs, print without a stack.
    reportSynthErrorsAsFindings();
    this.runtime = new PolicyRuntime(scope, () => this.settings(), false);
    this.runtime.owner = this;
    setRuntime(scope, this.runtime);
    const problems: string[] = [];
    for (const image of props.prePulled ?? []) {
      const text = Image.isImage(image) ? image.text : image;
      if (ImageReference.tryParse(text) === undefined) {
        problems.push(`prePulled image ${JSON.stringify(text)} is not a valid image reference. Fix: use a reference such as "registry.k8s.io/pause:3.10"`);
        continue;
      }
      addPrePullImage(scope, text, {}, (message) => problems.push(message));
    }
    const wired = new WeakSet<object>();
    this.node.addValidation({
      validate: () => {
        // Pre-pullers in scope pin from this policy's lock and know its pull secrets.
        const secrets = (props.pullSecrets ?? findPullSecrets(scope.node.root))
          .map((s) => s.declarationOrUndefined).filter((d): d is PullSecretDeclaration => d !== undefined);
        for (const c of scope.node.findAll()) {
          if (!PrePullDaemonSet.isPrePullDaemonSet(c) || wired.has(c)) continue;
          wired.add(c);
          c.useLock(this.lock);
          if (props.prePullHelpers !== undefined) c.usePrePullHelpers(props.prePullHelpers);
          if (secrets.length > 0) c.addPullSecrets(...secrets);
        }
        this.runtime.beginPass();
        return [...projectConfigProblems(this.lock, props), ...problems];
      },
    });
  }

  /** Findings of the latest synthesis, each with the construct path of its object. */
  public get findings(): ConstructFinding[] {
    return this.runtime.findings;
  }

  private settings() {
    const { lock: _lock, pullSecrets, prePulled, reportOnly, log, prePullHelpers: _helpers, ...core } = this.props;
    return {
      options: {
        ...core,
        lock: this.lock,
        prePulled: (prePulled ?? []).map((i) => (Image.isImage(i) ? i.text : i)).filter((t) => ImageReference.tryParse(t) !== undefined),
      },
      pullSecrets,
      reportOnly: reportOnly === true,
      log: log ?? ((line: string) => process.stderr.write(`${line}\n`)),
    };
  }
}

/**
 * The error of the project's kubepin.config.json (beside the lock file), listed once by the
 * policy that reads it: the pre-pullers and workloads reading it too stay silent about it.
 */
function projectConfigProblems(lock: ImageLock, props: ImagePolicyProps): string[] {
  if (typeof lock.file !== 'string') return [];
  try {
    if (props.imageLocations === undefined) ImageLocations.forLockFile(lock.file);
    (require('../signatures/policy') as typeof import('../signatures/policy')).SignaturePolicy.forLockFile(lock.file);
    return [];
  } catch (e) {
    if (e instanceof ProjectConfigError) return [e.message];
    throw e;
  }
}
