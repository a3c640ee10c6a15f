import * as pulumi from '@pulumi/pulumi';
import { KubepinError } from '../util/errors';
import { Finding, formatFinding } from '../core/findings/finding';
import { ImageReference } from '../core/names/image-reference';
import { DigestSource, ImageLock, LockEntry, lockReferenceOf } from '../core/lock/image-lock';
import { ImagePolicyOptions, PolicyEngine, ServiceAccountPullSecrets } from '../core/policy/engine';
import { stackState } from './stack-state';
import { reportFindings } from './findings';
import { ImagePolicyError } from '../core/findings/dispatch';
import { PulumiImagePolicyOptions } from './policy-options';
import { activeCollector } from '../core/policy/collect-mode';
import { JsonObject, PodTemplate, findPodTemplates, isObject, writtenPullPolicy } from '../core/objects/pod-templates';
import { ImageLocations } from '../core/objects/image-locations';
import { noteUnlocatedKind } from '../core/findings/unlocated-images';

export { DigestResolver, PulumiImagePolicyOptions } from './policy-options';
export { ImagePolicyError } from '../core/findings/dispatch';

/**
 * The image policy rejected a resource. The core's one policy error class under the name the
 * Pulumi face has always used.
 */
export const ImagePolicyViolationError = ImagePolicyError;
/** @see ImagePolicyViolationError */
export type ImagePolicyViolationError = ImagePolicyError;

// Shared with the CLI (which reads `pulumi preview`'s resources): in the core.
export { isWorkloadType, kubernetesTypeOf } from '../core/policy/pulumi-resources';
import { isWorkloadType, kubernetesTypeOf } from '../core/policy/pulumi-resources';

/** True when `value` holds an Output or a Promise anywhere inside. */
export function containsUnresolved(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (pulumi.Output.isInstance(value) || typeof (value as { then?: unknown }).then === 'function') return true;
  if (pulumi.Resource.isInstance(value)) return false;
  const items = Array.isArray(value) ? value : Object.values(value as object);
  return items.some((item) => containsUnresolved(item, depth + 1));
}

/** A lock plus digests resolved at deployment time; the resolved ones are kept in memory only. */
class OverlaySource implements DigestSource {
  private readonly resolved = ImageLock.empty('<resolved at deployment time>');
  constructor(private readonly lock: DigestSource | undefined) {}
  /** The wrapped lock's file: the core reads the signature policy next to it. */
  public get file(): string | undefined {
    return this.lock?.file;
  }
  public get(image: string): LockEntry | undefined {
    return this.lock?.get(image) ?? this.resolved.get(image);
  }
  public add(image: string, result: { digest: string; mediaType: string }): void {
    this.resolved.set(image, result);
  }
}

/**
 * Pins Kubernetes resource props through the core policy. Shared by the stack-wide policy,
 * the per-resource option and the components, so every Pulumi path runs the same engine.
 */
export class PropsPinner {
  private readonly source: OverlaySource;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly options: ImagePolicyOptions;
  /** The kinds and fields that hold images, for this policy. */
  public readonly locations: ImageLocations;

  constructor(private readonly pulumiOptions: PulumiImagePolicyOptions) {
    this.source = new OverlaySource(pulumiOptions.lock);
    const { resolver: _resolver, onWarning: _onWarning, ...core } = pulumiOptions;
    this.options = { ...core, lock: this.source };
    // Validates the options now, so a bad option fails at registration, not at the first resource.
    this.locations = new PolicyEngine(this.options).locations;
  }

  /**
   * Returns pinned props for a resource of `type` named `name`, or `undefined` when the resource
   * holds no pod template. Plain props are pinned synchronously (errors throw here, from the
   * resource's constructor); props holding Outputs, or images that need deploy-time resolution,
   * are pinned when their values are known (errors then fail that resource's registration).
   */
  public pin(type: string, name: string, props: pulumi.Inputs): pulumi.Inputs | undefined {
    if (type === 'kubernetes:core/v1:ServiceAccount' && isObject(props)) recordServiceAccount(props);
    if (!isObject(props)) return undefined;
    if (!isWorkloadType(type, this.locations)) {
      this.noteUnlocated(type, name, props);
      return undefined;
    }
    return this.pinProps(`${type} "${name}"`, props);
  }

  /**
   * A Kubernetes resource of a kind no image location covers (a Tekton `Task`) keeps its images as
   * written: says so once per kind for the stack, with the `imageLocations` entry to add, by the
   * core's rule (as at cdk8s synth). Props still holding Outputs are not searched.
   */
  private noteUnlocated(type: string, name: string, props: pulumi.Inputs): void {
    const kubernetesType = kubernetesTypeOf(type);
    if (!kubernetesType || containsUnresolved(props)) return;
    const findings: Finding[] = [];
    noteUnlocatedKind({ ...props, ...kubernetesType } as JsonObject, this.locations, stackState().unlocatedKinds, findings);
    this.report(`${type} "${name}"`, findings);
  }

  /**
   * The stack's pre-pullers covering an image that `props` (already pinned, plain) pulls with
   * `Never`: the resource must wait for them. Props still holding Outputs give none.
   */
  public prePullDependencies(props: pulumi.Inputs): pulumi.Resource[] {
    if (containsUnresolved(props) || !isObject(props)) return [];
    const never = this.sitesOf(props as JsonObject).filter((s) => writtenPullPolicy(s) === 'Never').map((s) => s.image);
    if (never.length === 0) return [];
    return stackState().prePullers.filter((p) => never.some((image) => p.images.includes(image))).map((p) => p.resource);
  }

  /** Like {@link pin} for props known to be a workload; `label` names it in errors. */
  public pinProps(label: string, props: pulumi.Inputs): pulumi.Inputs {
    if (!containsUnresolved(props)) {
      const plain = props as JsonObject;
      // The engine hands transforms unknown values (a preview of an image computed from another
      // resource) as missing fields: nothing to check yet; the update sees the real value.
      if (pulumi.runtime.isDryRun() && this.sitesOf(plain).some((site) => site.holder[site.imageField] === undefined)) return props;
      if (!this.needsResolution(plain)) return this.pinPlain(label, plain);
    }
    const pinned = pulumi.output(props as pulumi.Inputs).apply(async (plain) => {
      await this.resolveMissing(label, plain as JsonObject);
      return this.pinPlain(label, plain as JsonObject);
    });
    const out: pulumi.Inputs = {};
    for (const key of Object.keys(props)) {
      out[key] = key === 'metadata' || key === 'spec' ? pinned.apply((p) => p[key]) : props[key];
    }
    return out;
  }

  /** Runs the core engine on one plain object; throws on error findings, reports warnings. */
  public pinPlain(label: string, object: JsonObject): JsonObject {
    // Images a PrePullDaemonSet of this stack covers may use `Never`.
    const state = stackState();
    const options: ImagePolicyOptions = {
      ...this.options,
      prePulled: [...(this.options.prePulled ?? []), ...state.prePulled],
      // As in the cdk8s face: by default every RegistryPullSecret of the stack is a candidate;
      // the core leaves out those the pod's ServiceAccount provides while the kubelet copies them in.
      pullSecrets: this.options.pullSecrets ?? state.pullSecrets,
      serviceAccounts: [...(this.options.serviceAccounts ?? []), ...serviceAccountsOf(state.serviceAccountSecrets)],
    };
    const engine = new PolicyEngine(options);
    const pinned = engine.apply(object, label);
    this.report(label, engine.findings);
    for (const site of this.sitesOf(pinned)) {
      const ref = ImageReference.tryParse(site.image);
      if (ref) state.pinned.push({ label, name: ref.name });
    }
    return sameRealm(pinned) as JsonObject;
  }

  private report(label: string, findings: readonly Finding[]): void {
    // The policy can run more than once per resource (component + stack policy): say it once.
    // Keyed by resource name (a component and its Kubernetes child share it), not type.
    reportFindings(label, findings, this.pulumiOptions.onWarning, { seen: stackState().warned, key: (f) => `${label.replace(/^\S+ /, '')} ${formatFinding(f)}` });
  }

  private needsResolution(object: JsonObject): boolean {
    // Collect mode (`kubepin lock` running the program): the lock is about to resolve them.
    if (!this.pulumiOptions.resolver || this.options.strict || activeCollector()) return false;
    return this.missingImages(object).length > 0;
  }

  /** Every image site of every pod template (and image field) of `object`. */
  public sitesOf(object: JsonObject): PodTemplate['sites'] {
    return findPodTemplates(object, this.locations).flatMap((t) => t.sites);
  }

  private missingImages(object: JsonObject): string[] {
    const out: string[] = [];
    for (const site of this.sitesOf(object)) {
      const ref = ImageReference.tryParse(site.image);
      if (ref && ref.digest === undefined && !this.source.get(site.image)) out.push(site.image);
    }
    return out;
  }

  private async resolveMissing(label: string, object: JsonObject): Promise<void> {
    const resolver = this.pulumiOptions.resolver;
    if (!resolver || this.options.strict || activeCollector()) return;
    await Promise.all(this.missingImages(object).map((image) => {
      const key = lockReferenceOf(ImageReference.parse(image))!;
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = resolver.resolve(key).then((result) => {
          this.source.add(image, result);
          pulumi.log.info(`kubepin: resolved ${image} to ${result.digest} at deployment time; run \`kubepin lock\` to record it in the lock file for deterministic previews`);
        });
        this.inflight.set(key, pending);
      }
      return pending.catch((e: unknown) => {
        throw new KubepinError(`${label}: cannot resolve ${image} to a digest at deployment time: ${(e as Error).message}. Fix: make the registry reachable, or run \`kubepin lock\` and commit the lock file`);
      });
    }));
  }
}

/**
 * A deep copy whose arrays and objects belong to this module's realm. The core copies with
 * `structuredClone`, which under jest's VM context returns arrays of the outer realm; Pulumi's
 * serializer tests `instanceof Array` and would then send arrays as `{ "0": … }` objects.
 */
export function sameRealm(value: unknown): unknown {
  if (Array.isArray(value)) {
    // Not `value.map`: that builds the result with the source array's (foreign) constructor.
    const out: unknown[] = [];
    for (const item of value) out.push(sameRealm(item));
    return out;
  }
  if (value !== null && typeof value === 'object' && !pulumi.Output.isInstance(value) && !pulumi.Resource.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sameRealm(v);
    return out;
  }
  return value;
}

/** Remembers the pull secrets a ServiceAccount lists (when they are plain values). */
function recordServiceAccount(props: pulumi.Inputs): void {
  const metadata = props.metadata;
  const secrets = props.imagePullSecrets;
  if (!isObject(metadata) || typeof metadata.name !== 'string' || !Array.isArray(secrets)) return;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  const names = secrets.map((s) => (isObject(s) && typeof s.name === 'string' ? s.name : undefined)).filter((n): n is string => n !== undefined);
  stackState().serviceAccountSecrets.set(`${namespace}/${metadata.name}`, names);
}

/** The ServiceAccounts of the stack (recorded as "namespace/name" → secret names), for the core policy. */
function serviceAccountsOf(recorded: ReadonlyMap<string, readonly string[]>): ServiceAccountPullSecrets[] {
  return [...recorded].map(([key, pullSecrets]) => {
    const [namespace, name] = key.split('/');
    return { name, namespace, pullSecrets };
  });
}
