import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Image } from '../image';
import { PullPolicy, isPullPolicy } from '../pull-policy';
import { PolicyRuntime, TYPED_WORKLOAD_SYMBOL, hookApiObject, implicitRuntime } from './policy-runtime';
import { resolveLock } from './lock-file';
import { addPrePullImage } from './pre-pull';
import { ContainerProps, TypedPodProps } from './container-props';
import { typedStateOf } from './typed-state';

type ContainerInput = ContainerProps | kplus.ContainerProps;

/**
 * Records a container of a typed workload and returns the cdk8s-plus props to add.
 * Called from `addContainer` overrides, including during the cdk8s-plus constructor.
 */
export function addTypedContainer(pod: kplus.AbstractPod, list: 'containers' | 'initContainers', input: ContainerInput): kplus.ContainerProps {
  const state = typedStateOf(pod);
  const rawImage = (input as { image?: unknown })?.image;
  const image = Image.isImage(rawImage) ? rawImage : Image.of(typeof rawImage === 'string' ? rawImage : String(rawImage));
  const typed = input as ContainerProps;
  const plain = input as kplus.ContainerProps;
  const explicit = typed.pullPolicy ?? (plain.imagePullPolicy as PullPolicy | undefined);
  const name = input.name ?? (list === 'containers' ? 'main' : `init-${state.containers.filter((c) => c.list === list).length}`);
  state.containers.push({ list, name, image, ...(explicit !== undefined ? { pullPolicy: explicit } : {}) });
  if (state.prePull) registerPrePull(pod, image);
  const { pullPolicy: _ignored, ...rest } = typed as ContainerProps & { imagePullPolicy?: unknown };
  void _ignored;
  return {
    ...(rest as unknown as kplus.ContainerProps),
    name,
    image: image.text,
    // cdk8s-plus needs a value; the synth hook replaces it with the chosen policy.
    imagePullPolicy: (explicit as unknown as kplus.ImagePullPolicy) ?? kplus.ImagePullPolicy.ALWAYS,
  };
}

/** Finishes a typed workload after the cdk8s-plus constructor ran. */
export function initTypedWorkload(pod: kplus.AbstractPod, apiObject: ApiObject, props: TypedPodProps): void {
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
      const errors = [...problems, ...prePullProblems(pod)];
      for (const c of state.containers) {
        if (c.image.error) errors.push(`${c.list === 'initContainers' ? 'init container' : 'container'} "${c.name}": ${c.image.error.message}`);
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
function prePullProblems(pod: kplus.AbstractPod): string[] {
  return PREPULL_PROBLEMS.get(pod) ?? [];
}

function registerPrePull(pod: kplus.AbstractPod, image: Image): void {
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
