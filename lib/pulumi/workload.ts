import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { KubepinUsageError, describeType } from '../util/errors';
import { Image } from '../core/policy/image';
import { DigestSource } from '../core/lock/image-lock';
import { PullPolicy, isPullPolicy } from '../core/names/pull-policy';
import { PrePullImage } from '../prepull';
import { isObject } from '../core/objects/pod-templates';
import { PropsPinner } from './pin';
import { PrePullDaemonSet, PullSecretRef, declarationsOf } from './prepull-daemonset';
import { lockFrom, stackState } from './stack-state';

/** A container: the `@pulumi/kubernetes` container fields, with a typed image and pull policy. */
export interface ContainerArgs extends Omit<k8s.types.input.core.v1.Container, 'image' | 'imagePullPolicy'> {
  /** The image: `Image.of('ghcr.io/acme/api:1.4.2')`, `Image.fromDigest(…)`, or a reference string. */
  readonly image: Image | string;
  /** Pull policy of this container. @default the workload's `pullPolicy`, else IfNotPresent for pinned images */
  readonly pullPolicy?: PullPolicy;
}

/** Props every kubepin workload component takes (the same vocabulary as the cdk8s face). */
export interface WorkloadArgs {
  /** Metadata of the Kubernetes object. @default none (Pulumi auto-names the object from the resource name) */
  readonly metadata?: k8s.types.input.meta.v1.ObjectMeta;
  /** Labels and annotations of the pods. @default labels `app.kubernetes.io/name: <resource name>` */
  readonly podMetadata?: k8s.types.input.meta.v1.ObjectMeta;
  /** The containers (at least one). */
  readonly containers: readonly ContainerArgs[];
  /** Init containers, run in order before the containers. @default none */
  readonly initContainers?: readonly ContainerArgs[];
  /** Other pod spec fields (volumes, nodeSelector, securityContext, …). @default none */
  readonly podSpec?: Omit<k8s.types.input.core.v1.PodSpec, 'containers' | 'initContainers'>;
  /** Pull policy of containers that set none. @default IfNotPresent for pinned images (the API server's default otherwise) */
  readonly pullPolicy?: PullPolicy;
  /** Pull secrets to list on the pods whatever their images (the policy adds every stack secret that serves them anyway). @default none */
  readonly pullSecrets?: readonly PullSecretRef[];
  /**
   * Pre-pull the images: `true` makes a {@link PrePullDaemonSet} child for this workload's images and
   * node scope; a `PrePullDaemonSet` marks its images pre-pulled. Workloads using `Never` depend on it.
   * @default false
   */
  readonly prePull?: boolean | PrePullDaemonSet;
  /** Where digests come from: a lock or a lock file path. @default the stack policy's lock, else `kubepin.lock.json` in the program directory */
  readonly lock?: DigestSource | string;
  /** Images missing from the lock fail the program instead of warning. @default the stack policy's, else false */
  readonly strict?: boolean;
}

/** What {@link buildWorkload} gives a component. */
export interface BuiltWorkload {
  /** The pinned pod spec and pod metadata. */
  readonly template: pulumi.Inputs;
  /** Resources the workload must wait for (the pre-puller when `Never` is used). */
  readonly dependsOn: pulumi.Resource[];
  /** The pre-puller made for `prePull: true`. */
  readonly prePull?: PrePullDaemonSet;
  /** The pinner, to pin the final object. */
  readonly pinner: PropsPinner;
}

/**
 * Turns kubepin workload props into a pod template and pins the whole object through the core
 * policy (the same engine the stack policy and the cdk8s face run). Shared by Deployment,
 * StatefulSet and Pod so the three behave alike.
 */
export function buildWorkload(component: pulumi.ComponentResource, type: string, name: string, args: WorkloadArgs): BuiltWorkload {
  const label = `${type} "${name}"`;
  if (!isObject(args)) throw new KubepinUsageError(`${label}: args must be an object with containers, got ${describeType(args)}`);
  if (!Array.isArray(args.containers) || args.containers.length === 0) {
    throw new KubepinUsageError(`${label}: give at least one container, e.g. containers: [{ name: "web", image: Image.of("nginx:1.27.5") }]`);
  }
  if (args.pullPolicy !== undefined && !isPullPolicy(args.pullPolicy)) {
    throw new KubepinUsageError(`${label}: pullPolicy ${JSON.stringify(args.pullPolicy)} is not one of Always, IfNotPresent, Never`);
  }
  const policy = stackState().policy;
  const lock = lockFrom(args.lock);
  const listed = args.pullSecrets ? declarationsOf(args.pullSecrets) : [];
  // Candidates for matching: the policy's, else every RegistryPullSecret of the stack (read when pinning).
  const pullSecrets = policy?.pullSecrets;
  const strict = args.strict ?? policy?.strict;
  const containers = args.containers.map((c, i) => container(label, 'containers', c, i, args.pullPolicy));
  const initContainers = args.initContainers?.map((c, i) => container(label, 'initContainers', c, i, args.pullPolicy));
  const podSpec: Record<string, unknown> = { ...(args.podSpec ?? {}) };
  if (listed.length > 0) {
    const own = Array.isArray(podSpec.imagePullSecrets) ? podSpec.imagePullSecrets : [];
    const names = own.map((s) => (isObject(s) ? s.name : undefined));
    podSpec.imagePullSecrets = [...own, ...listed.filter((d) => !names.includes(d.name)).map((d) => ({ name: d.name }))];
  }
  const podMetadata = args.podMetadata ?? { labels: { 'app.kubernetes.io/name': name } };

  let prePull: PrePullDaemonSet | undefined;
  if (args.prePull === true) {
    const scope = plainScope(podSpec);
    const images: PrePullImage[] = [...(initContainers ?? []), ...containers].map((c) => ({ image: c.image as string, ...scope }));
    const namespace = (args.metadata as { namespace?: unknown } | undefined)?.namespace;
    prePull = new PrePullDaemonSet(`${name}-prepull`, {
      images: images.map((i) => ({ ...i, ...(listed.length > 0 ? { pullSecrets: listed.map((d) => d.name) } : {}) })),
      lock, strict, pullSecrets: pullSecrets ?? stackState().pullSecrets,
      name: `${name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 49)}-prepull`,
      ...(typeof namespace === 'string' ? { namespace } : {}),
    }, { parent: component });
  } else if (args.prePull !== undefined && args.prePull !== false && !(args.prePull instanceof PrePullDaemonSet)) {
    throw new KubepinUsageError(`${label}: prePull must be true, false or a PrePullDaemonSet, got ${describeType(args.prePull)}`);
  }
  const prePuller = args.prePull instanceof PrePullDaemonSet ? args.prePull : prePull;
  const usesNever = [...(initContainers ?? []), ...containers].some((c) => c.imagePullPolicy === PullPolicy.Never);
  const pinner = new PropsPinner({
    lock, strict, pullSecrets, keepTag: policy?.keepTag, annotate: policy?.annotate,
    ...(policy?.resolver ? { resolver: policy.resolver } : {}),
    ...(policy?.onWarning ? { onWarning: policy.onWarning } : {}),
  });
  return {
    template: { metadata: podMetadata, spec: { ...podSpec, ...(initContainers ? { initContainers } : {}), containers } },
    dependsOn: usesNever && prePuller ? [prePuller] : [],
    prePull,
    pinner,
  };
}

function container(label: string, list: string, c: ContainerArgs, i: number, workloadPolicy: PullPolicy | undefined): pulumi.Inputs {
  if (!isObject(c)) throw new KubepinUsageError(`${label}: ${list}[${i}] must be a container object, got ${describeType(c)}`);
  const { image, pullPolicy, ...rest } = c;
  let text: string;
  if (Image.isImage(image)) text = image.text;
  else if (typeof image === 'string') text = image;
  else throw new KubepinUsageError(`${label}: ${list}[${i}].image must be an Image (Image.of("ghcr.io/acme/api:1.4.2")) or a reference string, got ${describeType(image)}`);
  if (pullPolicy !== undefined && !isPullPolicy(pullPolicy)) {
    throw new KubepinUsageError(`${label}: ${list}[${i}].pullPolicy ${JSON.stringify(pullPolicy)} is not one of Always, IfNotPresent, Never`);
  }
  const policy = pullPolicy ?? workloadPolicy;
  // The policy engine reports an invalid image (with the kubelet's rule) for the whole object at once.
  return { ...rest, image: text, ...(policy ? { imagePullPolicy: policy } : {}) };
}

/** The pod's node scope, for the pre-puller, when it is given as plain values. */
function plainScope(podSpec: Record<string, unknown>): Pick<PrePullImage, 'nodeSelector' | 'tolerations' | 'affinity'> {
  const out: Record<string, unknown> = {};
  for (const key of ['nodeSelector', 'tolerations', 'affinity']) {
    const value = podSpec[key];
    if (value !== undefined && !pulumi.Output.isInstance(value)) out[key] = value;
  }
  return out;
}

/**
 * The pinned inputs (without apiVersion and kind) of an apps/v1 controller over the built pod
 * template: the caller's spec fields, `replicas` (default 1), a selector of the pods' labels.
 * Deployment and StatefulSet differ only in kind.
 */
export function pinnedControllerInputs(
  built: BuiltWorkload,
  label: string,
  kind: 'Deployment' | 'StatefulSet',
  args: WorkloadArgs & { readonly replicas?: pulumi.Input<number>; readonly spec?: object },
): pulumi.Inputs {
  const template = built.template as { metadata: k8s.types.input.meta.v1.ObjectMeta };
  const props = built.pinner.pinProps(label, {
    apiVersion: 'apps/v1',
    kind,
    ...(args.metadata ? { metadata: args.metadata } : {}),
    spec: {
      ...(args.spec ?? {}),
      replicas: args.replicas ?? 1,
      selector: { matchLabels: selectorLabels(template.metadata) },
      template: built.template,
    },
  });
  const { apiVersion: _a, kind: _k, ...rest } = props;
  return rest;
}

/** The pods' labels as a selector: plain when they are plain (so errors stay synchronous). */
export function selectorLabels(metadata: pulumi.Input<k8s.types.input.meta.v1.ObjectMeta>): pulumi.Input<Record<string, pulumi.Input<string>>> {
  if (!pulumi.Output.isInstance(metadata) && isObject(metadata) && (metadata.labels === undefined || !pulumi.Output.isInstance(metadata.labels))) {
    return (metadata.labels ?? {}) as Record<string, pulumi.Input<string>>;
  }
  return pulumi.output(metadata).apply((m) => m.labels ?? {});
}
