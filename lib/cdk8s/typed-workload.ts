import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Image } from '../core/policy/image';
import { PullPolicy, isPullPolicy } from '../core/names/pull-policy';
import { PolicyRuntime, TYPED_WORKLOAD_SYMBOL, hookApiObject, implicitRuntime } from './policy-runtime';
import { resolveLock } from './lock-file';
import { addPrePullImage } from './pre-pull';
import { TypedPodProps } from './container-props';
import { typedStateOf } from './typed-state';
import { CDK8S_PLUS_IMPLICIT_PULL_POLICY } from './cdk8s-plus';

/** A container as any major's typed workload receives it: kubepin's props (typed image) or cdk8s-plus's (string). */
interface ContainerInput {
  readonly image?: unknown;
  readonly name?: string;
  readonly pullPolicy?: PullPolicy;
  readonly imagePullPolicy?: unknown;
}

/**
 * A cdk8s-plus `AbstractPod` of any major, as the shared code sees it: kubepin's typed
 * workloads for every major (lib/cdk8s-plus-NN, generated from lib/cdk8s) call these helpers.
 */
export interface TypedPodHost extends Construct {
  /** The pod's metadata (for the pre-puller's namespace). */
  readonly metadata: { readonly namespace?: string };
}

/**
 * Records a container of a typed workload and returns the cdk8s-plus props to add.
 * Called from `addContainer` overrides, including during the cdk8s-plus constructor.
 */
export function addTypedContainer<P>(pod: TypedPodHost, list: 'containers' | 'initContainers', input: ContainerInput): P {
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
  } as P;
}

/** Finishes a typed workload after the cdk8s-plus constructor ran. */
export function initTypedWorkload(pod: TypedPodHost, apiObject: ApiObject, props: Pick<TypedPodProps, 'pullPolicy' | 'pullSecrets' | 'prePull'>): void {
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
function prePullProblems(pod: TypedPodHost): string[] {
  return PREPULL_PROBLEMS.get(pod) ?? [];
}

function registerPrePull(pod: TypedPodHost, image: Image): void {
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
