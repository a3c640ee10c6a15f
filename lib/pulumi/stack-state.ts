import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';
import { DigestSource, ImageLock, LOCK_FILE_NAME } from '../core/lock/image-lock';
import { PullSecretDeclaration } from '../core/policy/engine';
import { PulumiImagePolicyOptions } from './policy-options';

/** What one stack's kubepin pieces share: the registered policy's options and the pre-pulled images. */
interface StackState {
  policy?: PulumiImagePolicyOptions;
  prePulled: string[];
  defaultLock?: DigestSource;
  /** Every RegistryPullSecret of the stack: the default pull secrets of the policy and the components. */
  pullSecrets: PullSecretDeclaration[];
  /** Registry names of the images pinned so far, to catch a pull secret declared after its users. */
  pinned: Array<{ label: string; name: string }>;
  /** The pre-pullers of the stack and their (pinned) images: workloads using `Never` depend on them. */
  prePullers: Array<{ resource: pulumi.Resource; images: string[] }>;
  /** Warnings already logged, so a resource pinned twice (component + stack policy) warns once. */
  warned: Set<string>;
  /** `namespace/name` of each ServiceAccount seen → the pull secrets it lists. */
  serviceAccountSecrets: Map<string, string[]>;
  /** Kinds whose images no image location covers that were already named (once per kind, as at cdk8s synth). */
  unlocatedKinds: Set<string>;
}

// Keyed by the stack resource: each `pulumi up` (and each test's runInPulumiStack) starts clean.
const states = new WeakMap<object, StackState>();
const outsideStack: StackState = { prePulled: [], pullSecrets: [], pinned: [], prePullers: [], warned: new Set(), serviceAccountSecrets: new Map(), unlocatedKinds: new Set() };

/** The state of the running stack (a shared one outside any stack, e.g. in unit tests). */
export function stackState(): StackState {
  const stack = pulumi.runtime.getStackResource();
  if (!stack) return outsideStack;
  let state = states.get(stack);
  if (!state) {
    state = { prePulled: [], pullSecrets: [], pinned: [], prePullers: [], warned: new Set(), serviceAccountSecrets: new Map(), unlocatedKinds: new Set() };
    states.set(stack, state);
  }
  return state;
}

/**
 * The lock a component uses when its props name none: the stack policy's, else
 * `kubepin.lock.json` in the program's directory (Pulumi runs programs there). A missing file is an empty lock.
 */
export function defaultLock(): DigestSource {
  const state = stackState();
  return state.policy?.lock ?? programLock();
}

/** `kubepin.lock.json` in the program's directory, read once per stack (a missing file is an empty lock). */
export function programLock(): DigestSource {
  const state = stackState();
  state.defaultLock ??= ImageLock.load(path.resolve(LOCK_FILE_NAME));
  return state.defaultLock;
}

/** Resolves a `lock` prop: a lock object, a path to a lock file, or the default. */
export function lockFrom(lock: DigestSource | string | undefined): DigestSource {
  if (typeof lock === 'string') return ImageLock.load(lock);
  return lock ?? defaultLock();
}
