import * as pulumi from '@pulumi/pulumi';
import { KubepinError } from '../util/errors';
import { reportPolicyRejectionsCleanly } from './engine-errors';
import { PropsPinner, PulumiImagePolicyOptions, isWorkloadType } from './pin';
import { programLock, stackState } from './stack-state';
import { KUBERNETES_COMPONENT_TYPES } from './expand';
import { childrenOf, describeResource, typeOf } from './resource-tree';

/** Which Pulumi transform API an {@link ImagePolicy} was registered with. */
export type TransformApi = 'transforms' | 'transformations';

/** Options of {@link ImagePolicy.register}. */
export interface ImagePolicyRegisterOptions extends PulumiImagePolicyOptions {
  /**
   * What to do when resources already exist at registration: a stack transform only sees resources
   * created after it (pulumi #16304), so those would stay unpinned. `warn` logs them instead.
   * @default 'error'
   */
  readonly lateRegistration?: 'error' | 'warn';
}

/** `ImagePolicy.register` was called where it cannot work (too late, or outside a Pulumi program). */
export class ImagePolicyRegistrationError extends KubepinError {}

/**
 * The stack-wide image policy of the Pulumi face: every Kubernetes workload created in the stack
 * (plain `@pulumi/kubernetes` resources, `yaml.ConfigFile`/`ConfigGroup` children, Helm chart
 * children, kubepin components) is pinned through the core's policy engine.
 */
export class ImagePolicy {
  /**
   * Registers the policy for the whole stack. Call it first in the program, before any resource.
   *
   * Uses the engine's `registerResourceTransform` when the CLI supports it (it also reaches the
   * children of `yaml.v2.ConfigFile` and `helm.v4.Chart`, which run in the provider), else the older
   * `registerStackTransformation` (which sees only resources created in this process: that is
   * also what happens under `pulumi.runtime.setMocks`). Applying the policy twice changes nothing.
   * @throws ImagePolicyRegistrationError when resources already exist (unless `lateRegistration: 'warn'`)
   *   or when called outside a Pulumi program.
   */
  public static register(options: ImagePolicyRegisterOptions = {}): ImagePolicy {
    const { lateRegistration = 'error', ...rest } = options;
    if (lateRegistration !== 'error' && lateRegistration !== 'warn') {
      throw new ImagePolicyRegistrationError(`ImagePolicy.register: lateRegistration must be 'error' or 'warn', got ${JSON.stringify(lateRegistration)}`);
    }
    const policy = new ImagePolicy(rest);
    const stack = pulumi.runtime.getStackResource();
    // Providers and other custom resources hold no images; components may still create
    // Kubernetes children, which would inherit the transforms their parent had: none.
    const existing = (stack ? childrenOf(stack) : []).filter((r) => isWorkloadType(typeOf(r)) || (pulumi.ComponentResource.isInstance(r) && !pulumi.CustomResource.isInstance(r)));
    if (existing.length > 0) {
      const names = existing.slice(0, 3).map(describeResource).join(', ');
      const message = `ImagePolicy.register() was called after ${existing.length} resource(s) were created (${names}${existing.length > 3 ? ', …' : ''}); `
        + 'a stack transform only sees resources created after it (pulumi #16304), so their images would stay unpinned. '
        + 'Fix: call ImagePolicy.register() at the top of the program, before creating any resource';
      if (lateRegistration === 'error') throw new ImagePolicyRegistrationError(message);
      pulumi.log.warn(`kubepin: ${message}`);
    }
    if (supportsResourceTransforms()) {
      reportPolicyRejectionsCleanly();
      pulumi.runtime.registerResourceTransform(policy.transform);
      policy.registeredWith = 'transforms';
    } else {
      if (!stack) {
        throw new ImagePolicyRegistrationError('ImagePolicy.register() must run inside a Pulumi program (`pulumi up`/`pulumi preview`, or `pulumi.runtime.runInPulumiStack` under setMocks in tests): there is no stack to register the transform on');
      }
      pulumi.runtime.registerStackTransformation(policy.transformation);
      policy.registeredWith = 'transformations';
    }
    // Components of this stack read the lock, secrets and strictness from here.
    stackState().policy = rest;
    return policy;
  }

  /**
   * Resource options that apply the policy to one resource (and its children) only:
   * `{ transforms }` when the engine supports them, else `{ transformations }`.
   * Merge them into the resource's options: `new k8s.apps.v1.Deployment('web', args, { ...ImagePolicy.resourceOptions(opts) })`.
   */
  public static resourceOptions(options: PulumiImagePolicyOptions = {}): pulumi.CustomResourceOptions {
    const policy = new ImagePolicy(options);
    if (!supportsResourceTransforms()) return { transformations: [policy.transformation] };
    reportPolicyRejectionsCleanly();
    return { transforms: [policy.transform] };
  }

  /** The transform API used by {@link register}, or `undefined` for a policy made otherwise. */
  public registeredWith?: TransformApi;
  private readonly pinner: PropsPinner;

  /** A policy not yet registered; most programs want {@link ImagePolicy.register}. */
  constructor(options: PulumiImagePolicyOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new KubepinError('ImagePolicy options must be an object, e.g. { lock: ImageLock.load("kubepin.lock.json") }');
    }
    // As the cdk8s face reads the lock beside cdk8s.yaml, a policy without one reads the program's.
    this.pinner = new PropsPinner({ ...options, lock: options.lock ?? programLock() });
  }

  /** The policy as an old-style `ResourceTransformation` (runs in this process, synchronously). */
  public readonly transformation: pulumi.ResourceTransformation = (args) => {
    // @pulumi/kubernetes's components (`kubernetes:yaml/v2:ConfigGroup`) are no Kubernetes objects:
    // their children are. (`CustomResource.isInstance` cannot tell yet: its mark is set after the transformations run.)
    if (KUBERNETES_COMPONENT_TYPES.has(args.type)) return undefined;
    const props = this.pinner.pin(args.type, args.name, args.props);
    return props === undefined ? undefined : { props, opts: withPrePullDependencies(args.opts, this.pinner.prePullDependencies(props)) };
  };

  /** The policy as a `ResourceTransform` for the `transforms` option and `registerResourceTransform`. */
  public readonly transform: pulumi.ResourceTransform = async (args) => {
    if (!args.custom) return undefined;
    const props = this.pinner.pin(args.type, args.name, args.props);
    return props === undefined ? undefined : { props, opts: withPrePullDependencies(args.opts, this.pinner.prePullDependencies(props)) };
  };
}

/** `opts` plus `dependsOn` the pre-pullers a workload using `Never` needs (so `pulumi up` orders them). */
function withPrePullDependencies<T extends pulumi.ResourceOptions>(opts: T, prePullers: pulumi.Resource[]): T {
  if (prePullers.length === 0) return opts;
  const existing = opts.dependsOn;
  // A dependsOn given as an Output cannot be extended synchronously: keep the user's.
  if (existing !== undefined && !Array.isArray(existing) && !pulumi.Resource.isInstance(existing)) return opts;
  const list = existing === undefined ? [] : Array.isArray(existing) ? [...existing] : [existing];
  return { ...opts, dependsOn: [...list, ...prePullers.filter((p) => !list.includes(p))] };
}

/**
 * True when the engine will run `transforms`. The runtime's feature flag is not enough: under
 * `setMocks` (@pulumi/pulumi 3.248) it is `false` until a stack starts, then the mock monitor answers
 * "supported" while it cannot register a stack transform (the SDK then crashes asynchronously with
 * "registerStackTransform is not a function") and silently ignores per-resource `transforms`.
 * So the monitor must also be able to take one.
 */
export function supportsResourceTransforms(): boolean {
  let flag = false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require('@pulumi/pulumi/runtime/state') as { getStore(): { supportsTransforms?: boolean } };
    flag = state.getStore().supportsTransforms === true;
  } catch {
    return false;
  }
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerStackTransform?: unknown } | undefined;
  return flag && typeof monitor?.registerStackTransform === 'function';
}

