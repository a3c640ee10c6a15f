import { IConstruct } from 'constructs';
import { Image } from '../core/policy/image';
import { PullPolicy } from '../core/names/pull-policy';
import { PullSecretDeclaration } from '../core/policy/engine';

/** What a kubepin typed workload knows about one of its containers. */
export interface TypedContainer {
  /** `containers` or `initContainers`. */
  readonly list: 'containers' | 'initContainers';
  /** Container name as synthesized. */
  readonly name: string;
  /** The image as given. */
  readonly image: Image;
  /** The pull policy the user chose, if any (container's own, else the workload's). */
  readonly pullPolicy?: PullPolicy;
}

/** Anything that names a pull secret a pod should list (a `RegistryPullSecret`). */
export interface PullSecretRef {
  /** The Secret name and registries. */
  readonly declaration: PullSecretDeclaration;
}

/** Per-workload record the synth hook reads; kept outside the construct so it works during `super()`. */
export class TypedPodState {
  /** Containers in the order they were added. */
  public readonly containers: TypedContainer[] = [];
  /** Secrets the user listed on the workload itself. */
  public readonly pullSecrets: PullSecretRef[] = [];
  /** Workload-wide pull policy. */
  public pullPolicy?: PullPolicy;

  /** Pre-pull settings, once the workload's constructor has run. */
  public prePull?: { readonly nodeSelector?: Record<string, string>; readonly tolerations?: object[]; readonly affinity?: object; readonly namespace?: string };

  /** The explicit policy of a container: its own, else the workload's, else `undefined`. */
  public policyFor(list: string, name: string): PullPolicy | undefined {
    const container = this.containers.find((c) => c.list === list && c.name === name);
    return container?.pullPolicy ?? this.pullPolicy;
  }
}

const STATES = new WeakMap<IConstruct, TypedPodState>();

/** The state of a typed workload, created on first use. */
export function typedStateOf(pod: IConstruct): TypedPodState {
  let state = STATES.get(pod);
  if (!state) {
    state = new TypedPodState();
    STATES.set(pod, state);
  }
  return state;
}

/** The state when `pod` is a kubepin typed workload, else `undefined`. */
export function findTypedState(pod: IConstruct | undefined): TypedPodState | undefined {
  return pod ? STATES.get(pod) : undefined;
}
