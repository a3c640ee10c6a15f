/**
 * kubepin's typed workloads for every cdk8s-plus major, written once: `withTypedImages(Base)`
 * turns a major's `Deployment`, `StatefulSet` or `Pod` class into one whose containers take a
 * typed `Image`, with an explicit pull policy, pull secrets and pre-pull. Each major's entry
 * point (lib/cdk8s/plus/NN.ts, copied from 27.ts by scripts/generate-entry-points.ts) declares its props
 * over that major's cdk8s-plus props and applies the mixin; nothing here loads a cdk8s-plus major.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Image } from '../../core/policy/image';
import { PullPolicy, isPullPolicy } from '../../core/names/pull-policy';
import { PolicyRuntime, TYPED_WORKLOAD_SYMBOL, hookApiObject, implicitRuntime } from '../policy-runtime';
import { resolveLock } from '../lock-file';
import { PrePullPlacement, addPrePullImage } from '../pre-pull';
import type { RegistryPullSecret } from '../registry-pull-secret';
import { typedStateOf } from '../typed-state';
import { CDK8S_PLUS_IMPLICIT_PULL_POLICY } from '../cdk8s-plus';

/** What a typed container adds to its major's cdk8s-plus `ContainerProps` (whose `image` and `imagePullPolicy` it replaces). */
export interface TypedImageProps {
  /** The image, e.g. `Image.of('ghcr.io/acme/api:1.4.2')`; pinned from the lock at synthesis. */
  readonly image: Image;
  /** Pull policy of this container. @default the workload's `pullPolicy`, else IfNotPresent for pinned images */
  readonly pullPolicy?: PullPolicy;
}

/** Where a typed workload's images are pre-pulled: the nodes its pods run on. */
export interface PrePullProps extends Omit<PrePullPlacement, 'pullSecrets'> {}

/** Props every kubepin typed workload adds to its cdk8s-plus counterpart; `C` is the major's typed `ContainerProps`. */
export interface TypedPodPropsOf<C> {
  /** Containers, with typed images. @default none (add with addContainer) */
  readonly containers?: C[];
  /** Init containers, with typed images. @default none */
  readonly initContainers?: C[];
  /** Pull policy of every container that sets none. @default IfNotPresent for pinned images (cdk8s-plus would write Always) */
  readonly pullPolicy?: PullPolicy;
  /** Pull secrets to list on the pod whatever its images (the policy adds the ones that serve them anyway). @default none */
  readonly pullSecrets?: RegistryPullSecret[];
  /** Pre-pull the workload's images on the nodes with a PrePullDaemonSet; allows pullPolicy Never. @default false */
  readonly prePull?: boolean | PrePullProps;
}

/** A cdk8s-plus `AbstractPod` of any major, as the mixin needs it (its `apiObject` is protected, read by cast). */
export interface AnyPlusPod extends Construct {
  /** The pod's metadata (for the pre-puller's namespace). */
  readonly metadata: { readonly namespace?: string };
  addContainer(cont: never): unknown;
  addInitContainer(cont: never): unknown;
}

/** A cdk8s-plus `Deployment`, `StatefulSet` or `Pod` class of any major. */
export type AnyPlusPodClass = new (scope: Construct, id: string, props: never) => AnyPlusPod;

/**
 * The class `withTypedImages(B)` makes: `B`'s statics, and a constructor taking the typed props `P`
 * that makes `B`'s instances. The typed `addContainer`/`addInitContainer` signatures are declared
 * per major, in an interface merged with the class (a mixin cannot narrow a method of a generic
 * base without dropping its private members, which would make it no longer a `B`).
 */
export type TypedWorkloadClass<B extends AnyPlusPodClass, P extends TypedPodPropsOf<unknown>> = Pick<B, keyof B> &
  (new (scope: Construct, id: string, props?: P) => InstanceType<B>);

/**
 * A cdk8s-plus workload class (`Deployment`, `StatefulSet`, `Pod`) of any major, made typed: its
 * images are typed, pinned from the lock at synthesis and given an explicit pull policy
 * (IfNotPresent for pinned images instead of cdk8s-plus's Always), even without an
 * `ImagePolicy`. Instances are real constructs of `Base`, so everything cdk8s-plus offers
 * (probes, volumes, services) still works. `P` is the typed props the constructor takes.
 *
 * @example
 * export class Deployment extends withTypedImages<typeof kplus.Deployment, DeploymentProps>(kplus.Deployment) {}
 */
export function withTypedImages<B extends AnyPlusPodClass, P extends TypedPodPropsOf<unknown>>(Base: B): TypedWorkloadClass<B, P> {
  type Props = TypedPodPropsOf<ContainerInput>;
  type Host = AnyPlusPod & { addContainer(cont: unknown): unknown; addInitContainer(cont: unknown): unknown };
  const Pod = Base as unknown as new (scope: Construct, id: string, props?: unknown) => Host;
  const Typed = class extends Pod {
    constructor(scope: Construct, id: string, props: Props = {}) {
      super(scope, id, props);
      initTypedWorkload(this, (this as unknown as { readonly apiObject: ApiObject }).apiObject, props);
    }

    public addContainer(cont: ContainerInput): unknown {
      return super.addContainer(addTypedContainer(this, 'containers', cont));
    }

    public addInitContainer(cont: ContainerInput): unknown {
      return super.addInitContainer(addTypedContainer(this, 'initContainers', cont));
    }
  };
  return Typed as unknown as TypedWorkloadClass<B, P>;
}

/** A container as any major's typed workload receives it: kubepin's props (typed image) or cdk8s-plus's (string). */
interface ContainerInput {
  readonly image?: unknown;
  readonly name?: string;
  readonly pullPolicy?: PullPolicy;
  readonly imagePullPolicy?: unknown;
}

/**
 * Records a container of a typed workload and returns the cdk8s-plus props to add.
 * Called from `addContainer` overrides, including during the cdk8s-plus constructor.
 */
function addTypedContainer(pod: AnyPlusPod, list: 'containers' | 'initContainers', input: ContainerInput): object {
  const state = typedStateOf(pod);
  const rawImage = (input as { image?: unknown })?.image;
  const image = Image.isImage(rawImage) ? rawImage : Image.of(typeof rawImage === 'string' ? rawImage : String(rawImage));
  const explicit = input.pullPolicy ?? (input.imagePullPolicy as PullPolicy | undefined);
  const name = input.name ?? (list === 'containers' ? 'main' : `init-${state.containers.filter((c) => c.list === list).length}`);
  state.containers.push({ list, name, image, ...(explicit !== undefined ? { pullPolicy: explicit } : {}) });
  if (state.prePull) registerPrePull(pod, image);
  const { pullPolicy: _ignored, ...rest } = input;
  void _ignored;
  return {
    ...rest,
    name,
    image: image.text,
    // cdk8s-plus needs a value; the synth hook replaces it with the chosen policy.
    imagePullPolicy: explicit ?? CDK8S_PLUS_IMPLICIT_PULL_POLICY,
  };
}

/** Finishes a typed workload after the cdk8s-plus constructor ran. */
function initTypedWorkload(pod: AnyPlusPod, apiObject: ApiObject, props: Pick<TypedPodPropsOf<unknown>, 'pullPolicy' | 'pullSecrets' | 'prePull'>): void {
  Object.defineProperty(pod, TYPED_WORKLOAD_SYMBOL, { value: true });
  const state = typedStateOf(pod);
  const problems: string[] = [];
  if (props.pullPolicy !== undefined) {
    if (isPullPolicy(props.pullPolicy)) state.pullPolicy = props.pullPolicy;
    else problems.push(`pullPolicy ${JSON.stringify(props.pullPolicy)} is not one of Always, IfNotPresent, Never`);
  }
  for (const secret of props.pullSecrets ?? []) {
    state.pullSecrets.push({ get declaration() { return secret.declaration; } });
  }
  if (props.prePull) {
    state.prePull = { ...(typeof props.prePull === 'object' ? props.prePull : {}) };
    for (const c of state.containers) registerPrePull(pod, c.image);
  }
  hookApiObject(apiObject);
  const root = pod.node.root;
  const runtime = implicitRuntime(root, () => new PolicyRuntime(root, () => ({
    options: { lock: implicitLock(root) },
    reportOnly: false,
    log: (line: string) => process.stderr.write(`${line}\n`),
  }), true));
  pod.node.addValidation({
    validate: () => {
      runtime.beginPass();
      // An invalid image is not reported here: the policy reports it (invalid-image) in the one
      // error that lists every problem of the chart, instead of hiding them until it is fixed.
      const errors = [...problems, ...prePullProblems(pod)];
      for (const c of state.containers) {
        if (c.pullPolicy !== undefined && !isPullPolicy(c.pullPolicy)) errors.push(`container "${c.name}": pullPolicy ${JSON.stringify(c.pullPolicy)} is not one of Always, IfNotPresent, Never`);
      }
      return errors;
    },
  });
}

const LOCKS = new WeakMap<object, ReturnType<typeof resolveLock>>();
function implicitLock(root: Construct | { node: Construct['node'] }): ReturnType<typeof resolveLock> {
  let lock = LOCKS.get(root);
  if (!lock) {
    lock = resolveLock(root as Construct, undefined);
    LOCKS.set(root, lock);
  }
  return lock;
}

const PREPULL_PROBLEMS = new WeakMap<object, string[]>();
function prePullProblems(pod: AnyPlusPod): string[] {
  return PREPULL_PROBLEMS.get(pod) ?? [];
}

function registerPrePull(pod: AnyPlusPod, image: Image): void {
  const state = typedStateOf(pod);
  if (!image.isValid || !state.prePull) return;
  const { namespace, ...placement } = state.prePull;
  const secrets = state.pullSecrets.map((s) => {
    try {
      return s.declaration.name;
    } catch {
      return undefined;
    }
  }).filter((n): n is string => n !== undefined);
  addPrePullImage(pod, image.text, { ...placement, ...(secrets.length > 0 ? { pullSecrets: secrets } : {}), namespace: namespace ?? pod.metadata.namespace }, (message) => {
    const list = PREPULL_PROBLEMS.get(pod) ?? [];
    list.push(message);
    PREPULL_PROBLEMS.set(pod, list);
  });
}
