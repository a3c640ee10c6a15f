import { KubepinUsageError, describeType } from '../../util/errors';
import { unknownKeysProblem } from '../../util/known-keys';
import { ProjectConfig, ProjectConfigError, loadProjectConfig, projectConfigBeside } from '../config/project-config';
import { FixedPaths, PathStep, fieldNameProblem, metadataSegments, parsePath, toJsonPath } from './location-paths';

/**
 * Where objects of one kind keep their images, as data (kustomize's FieldSpecs, kbld's search
 * rules): either a pod spec (every container list and image volume in it) or one image field.
 *
 * ```json
 * { "apiVersion": "serving.knative.dev/v1", "kind": "Service", "podSpec": "spec.template.spec" }
 * { "apiVersion": "monitoring.coreos.com/*", "kind": "Prometheus", "image": "spec.image",
 *   "pullPolicyField": "imagePullPolicy", "pullSecretsField": "imagePullSecrets" }
 * ```
 * @see https://github.com/kubernetes-sigs/kustomize/blob/master/api/internal/konfig/builtinpluginconsts/images.go
 */
export interface ImageLocationRule {
  /** `group/version` (`argoproj.io/v1alpha1`), `group/*` for every version, `v1` for the core group, `*` for any. @default "*" */
  readonly apiVersion?: string;
  /** The object's kind, e.g. `Rollout`. */
  readonly kind: string;
  /** Dotted path of a pod spec (`spec.template.spec`); `name[]` steps into every item of a list. Set this or `image`. @default none */
  readonly podSpec?: string;
  /** Dotted path of the metadata that gets the original-images annotation. @default the pod spec's sibling `metadata` when its path ends in `spec`, else the object's `metadata` */
  readonly metadata?: string;
  /** Dotted path of one image field (`spec.image`); `name[]` steps into every item of a list. Set this or `podSpec`. @default none */
  readonly image?: string;
  /** Field next to `image` that holds its pull policy (`imagePullPolicy`). @default none: no pull policy is written */
  readonly pullPolicyField?: string;
  /** Field next to `image` that lists pull secrets as `[{ name }]` (`imagePullSecrets`). @default none: no pull secret is attached */
  readonly pullSecretsField?: string;
}

/**
 * The pod templates of Kubernetes' own workload kinds. Matched on kind in any apiVersion, as
 * kubepin always has: old groups (`extensions/v1beta1`) and same-named kinds of other groups
 * with the same shape (OpenKruise's advanced StatefulSet and DaemonSet) are pinned alike.
 */
export const KUBERNETES_IMAGE_LOCATIONS: readonly ImageLocationRule[] = [
  { kind: 'Pod', podSpec: 'spec' },
  { kind: 'PodTemplate', podSpec: 'template.spec' },
  ...['ReplicationController', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].map((kind) => ({ kind, podSpec: 'spec.template.spec' })),
  { kind: 'CronJob', podSpec: 'spec.jobTemplate.spec.template.spec' },
];

/**
 * Argo Rollouts: a `Rollout` carries a Deployment's pod template; analysis `job` metrics and
 * `Experiment` templates run pods too. A Rollout with `workloadRef` has no template of its own.
 * @see https://github.com/argoproj/argo-rollouts/blob/master/pkg/apis/rollouts/v1alpha1/types.go
 * @see https://github.com/argoproj/argo-rollouts/blob/master/pkg/apis/rollouts/v1alpha1/analysis_types.go
 */
export const ARGO_ROLLOUTS_IMAGE_LOCATIONS: readonly ImageLocationRule[] = [
  { apiVersion: 'argoproj.io/*', kind: 'Rollout', podSpec: 'spec.template.spec' },
  { apiVersion: 'argoproj.io/*', kind: 'Experiment', podSpec: 'spec.templates[].template.spec' },
  ...['AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun'].map((kind) => (
    { apiVersion: 'argoproj.io/*', kind, podSpec: 'spec.metrics[].provider.job.spec.template.spec' })),
];

/**
 * OpenKruise's workloads (its advanced StatefulSet and DaemonSet are covered by Kubernetes'
 * kinds): CloneSet, BroadcastJob, AdvancedCronJob, UnitedDeployment, SidecarSet (its `spec`
 * holds containers as a pod spec does, and a container may name a hot-upgrade image),
 * EphemeralJob and ImagePullJob (one image; its pull secrets are names and its pull policy
 * allows no `Never`, so kubepin writes neither). Image lists (`ImageListPullJob`) are not covered.
 * @see https://github.com/openkruise/kruise/tree/master/apis/apps
 */
export const OPENKRUISE_IMAGE_LOCATIONS: readonly ImageLocationRule[] = [
  ...['CloneSet', 'BroadcastJob'].map((kind) => ({ apiVersion: 'apps.kruise.io/*', kind, podSpec: 'spec.template.spec' })),
  { apiVersion: 'apps.kruise.io/*', kind: 'AdvancedCronJob', podSpec: 'spec.template.jobTemplate.spec.template.spec' },
  { apiVersion: 'apps.kruise.io/*', kind: 'AdvancedCronJob', podSpec: 'spec.template.broadcastJobTemplate.spec.template.spec' },
  ...['statefulSetTemplate', 'advancedStatefulSetTemplate', 'cloneSetTemplate', 'deploymentTemplate'].map((template) => (
    { apiVersion: 'apps.kruise.io/*', kind: 'UnitedDeployment', podSpec: `spec.template.${template}.spec.template.spec` })),
  { apiVersion: 'apps.kruise.io/*', kind: 'SidecarSet', podSpec: 'spec' },
  { apiVersion: 'apps.kruise.io/*', kind: 'SidecarSet', image: 'spec.containers[].upgradeStrategy.hotUpgradeEmptyImage' },
  { apiVersion: 'apps.kruise.io/*', kind: 'EphemeralJob', podSpec: 'spec.template' },
  { apiVersion: 'apps.kruise.io/*', kind: 'ImagePullJob', image: 'spec.image' },
];


/**
 * The Prometheus Operator's servers: `Prometheus`, `PrometheusAgent`, `Alertmanager` and
 * `ThanosRuler` name their main image in `spec.image` (with `spec.imagePullPolicy` and
 * `spec.imagePullSecrets` beside it) and take `spec.containers` / `spec.initContainers`, lists
 * merged by name into the pod the operator generates: an entry without `image` patches the
 * operator's own container and is left alone. Images of `spec.containers` get no pull secret of
 * their own (the pod's are `spec.imagePullSecrets`).
 * @see https://github.com/prometheus-operator/prometheus-operator/blob/main/Documentation/api-reference/api.md
 */
export const PROMETHEUS_OPERATOR_IMAGE_LOCATIONS: readonly ImageLocationRule[] = ['Prometheus', 'PrometheusAgent', 'Alertmanager', 'ThanosRuler'].flatMap((kind) => [
  { apiVersion: 'monitoring.coreos.com/*', kind, image: 'spec.image', pullPolicyField: 'imagePullPolicy', pullSecretsField: 'imagePullSecrets' },
  ...['containers', 'initContainers'].map((list) => ({ apiVersion: 'monitoring.coreos.com/*', kind, image: `spec.${list}[].image`, pullPolicyField: 'imagePullPolicy' })),
]);

/** A location checked and parsed once. */
export interface CompiledImageLocation {
  /** The location as given. */
  readonly location: ImageLocationRule;
  /** Group to match (`''` core), or undefined for any. */
  readonly group: string | undefined;
  /** Version to match, or undefined for any. */
  readonly version: string | undefined;
  /** The steps to the pod spec or to the object holding the image field. */
  readonly steps: readonly PathStep[];
  /** For `image` locations: the image field's name. */
  readonly imageField?: string;
  /** Steps to the metadata, relative to the object, or `'sibling'` (the pod spec's `metadata`). */
  readonly metadata: readonly PathStep[] | 'sibling';
  /** For paths without lists (every built-in pod template): the paths, computed once, so finding a template allocates nothing. */
  readonly fixed?: FixedPaths;
}


/**
 * The image locations of one run: Kubernetes' workload kinds, the Argo Rollouts, OpenKruise and
 * Prometheus Operator presets, and the ones a project adds. Locations are looked up by kind, then matched on apiVersion;
 * an object without `apiVersion` matches on kind alone.
 */
export class ImageLocations {
  /** Kubernetes' kinds and the built-in presets: what every run uses. */
  public static readonly DEFAULT = new ImageLocations([...KUBERNETES_IMAGE_LOCATIONS, ...ARGO_ROLLOUTS_IMAGE_LOCATIONS, ...OPENKRUISE_IMAGE_LOCATIONS, ...PROMETHEUS_OPERATOR_IMAGE_LOCATIONS], 'built-in image locations');

  private static readonly extended = new WeakMap<readonly ImageLocationRule[], ImageLocations>();
  private static readonly fromConfigs = new WeakMap<ProjectConfig, ImageLocations>();

  /**
   * {@link DEFAULT} plus `extra` (the same list gives the same instance; an `ImageLocations` is returned as it is).
   * @param where names the option in errors, e.g. `ImagePolicy option imageLocations`
   * @throws KubepinUsageError when an entry is malformed
   */
  public static withExtra(extra: readonly ImageLocationRule[] | ImageLocations | undefined, where = 'option imageLocations'): ImageLocations {
    if (extra instanceof ImageLocations) return extra;
    if (extra === undefined || (Array.isArray(extra) && extra.length === 0)) return ImageLocations.DEFAULT;
    if (!Array.isArray(extra)) throw new KubepinUsageError(`${where} must be a list of image locations, got ${describeType(extra)}`);
    let locations = ImageLocations.extended.get(extra);
    if (!locations) {
      extra.forEach((entry, i) => validateImageLocation(entry, `${where}[${i}]`));
      locations = new ImageLocations([...ImageLocations.DEFAULT.all, ...extra], where);
      ImageLocations.extended.set(extra, locations);
    }
    return locations;
  }

  /**
   * The locations of the project whose configuration is `configFile` (its `imageLocations`
   * section; a missing file or section gives {@link DEFAULT}).
   * @throws ProjectConfigError
   */
  public static forConfigFile(configFile: string): ImageLocations {
    const config = loadProjectConfig(configFile);
    if (!config || config.data.imageLocations === undefined) return ImageLocations.DEFAULT;
    let locations = ImageLocations.fromConfigs.get(config);
    if (!locations) {
      const section = config.data.imageLocations;
      const where = `${config.display}: imageLocations`;
      try {
        if (!Array.isArray(section)) throw new KubepinUsageError(`${where} must be a list of image locations, got ${describeType(section)}`);
        locations = ImageLocations.withExtra(section as ImageLocationRule[], where);
      } catch (e) {
        throw e instanceof KubepinUsageError ? new ProjectConfigError(e.message) : e;
      }
      ImageLocations.fromConfigs.set(config, locations);
    }
    return locations;
  }

  /** The locations of the project whose lock file is `lockFile` (`kubepin.config.json` beside it). */
  public static forLockFile(lockFile: string): ImageLocations {
    return ImageLocations.forConfigFile(projectConfigBeside(lockFile));
  }

  /**
   * The locations a policy run uses: `extra` when given, else the project's configuration next
   * to the lock file, else {@link DEFAULT}.
   */
  public static forPolicy(extra: readonly ImageLocationRule[] | ImageLocations | undefined, lockFile: string | undefined, where?: string): ImageLocations {
    if (extra !== undefined) return ImageLocations.withExtra(extra, where);
    return lockFile !== undefined ? ImageLocations.forLockFile(lockFile) : ImageLocations.DEFAULT;
  }

  private readonly byKind = new Map<string, CompiledImageLocation[]>();

  private constructor(
    /** Every location, built-in ones first. */
    public readonly all: readonly ImageLocationRule[],
    where: string,
  ) {
    all.forEach((location, i) => {
      const compiled = compile(location, `${where}[${i}]`);
      const list = this.byKind.get(location.kind) ?? [];
      list.push(compiled);
      this.byKind.set(location.kind, list);
    });
  }

  /** True when some location covers objects of `kind` (and `apiVersion`, when given). */
  public covers(kind: unknown, apiVersion?: unknown): boolean {
    return this.matching(kind, apiVersion).length > 0;
  }

  /** The locations of objects with this kind and apiVersion (`apiVersion` not a string: kind alone). */
  public matching(kind: unknown, apiVersion: unknown): readonly CompiledImageLocation[] {
    if (typeof kind !== 'string') return [];
    const candidates = this.byKind.get(kind);
    if (!candidates) return [];
    if (typeof apiVersion !== 'string') return candidates;
    const { group, version } = splitApiVersion(apiVersion);
    return candidates.filter((c) => (c.group === undefined || c.group === group) && (c.version === undefined || c.version === version));
  }
}

/**
 * Checks one user-supplied location; the message names the entry and the fix.
 * @throws KubepinUsageError
 */
export function validateImageLocation(entry: unknown, where: string): void {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new KubepinUsageError(`${where} must be an object such as { "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "podSpec": "spec.template.spec" }, got ${describeType(entry)}`);
  }
  const record = entry as Record<string, unknown>;
  const known = ['apiVersion', 'kind', 'podSpec', 'metadata', 'image', 'pullPolicyField', 'pullSecretsField'];
  const unknown = unknownKeysProblem(record, known);
  if (unknown) throw new KubepinUsageError(`${where}: ${unknown}`);
  if (typeof record.kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(record.kind)) {
    throw new KubepinUsageError(`${where}.kind must be the object's kind, e.g. "Rollout", got ${JSON.stringify(record.kind) ?? 'nothing'}`);
  }
  if (record.apiVersion !== undefined && (typeof record.apiVersion !== 'string' || !/^(\*|[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/(\*|[a-z0-9]+)|v[0-9][a-z0-9]*)$/.test(record.apiVersion))) {
    throw new KubepinUsageError(`${where}.apiVersion must be "group/version", "group/*", a core version such as "v1", or "*", got ${JSON.stringify(record.apiVersion)}`);
  }
  if ((record.podSpec === undefined) === (record.image === undefined)) {
    throw new KubepinUsageError(`${where} (${record.kind}) needs exactly one of "podSpec" (the path of a pod spec, e.g. "spec.template.spec") and "image" (the path of one image field, e.g. "spec.image")`);
  }
  for (const field of ['podSpec', 'image', 'metadata'] as const) {
    if (record[field] !== undefined) parsePath(record[field], `${where}.${field}`);
  }
  if (record.image === undefined) {
    for (const field of ['pullPolicyField', 'pullSecretsField'] as const) {
      if (record[field] !== undefined) throw new KubepinUsageError(`${where}.${field} goes with "image"; a pod spec's containers carry their own imagePullPolicy and the pod its imagePullSecrets`);
    }
  }
  for (const field of ['pullPolicyField', 'pullSecretsField'] as const) {
    const value = record[field];
    const problem = value === undefined ? undefined : typeof value !== 'string' ? `is ${describeType(value)}` : fieldNameProblem(value);
    if (problem) {
      throw new KubepinUsageError(`${where}.${field}: ${JSON.stringify(value)} ${problem}. Fix: name the field next to the image field, e.g. "${field === 'pullPolicyField' ? 'imagePullPolicy' : 'imagePullSecrets'}"`);
    }
  }
}

/** `apps/v1` → `apps`, `v1`; `v1` (the core group) → `''`, `v1`. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function compile(location: ImageLocationRule, where: string): CompiledImageLocation {
  const compiled = compileSteps(location, where);
  if (compiled.steps.some((s) => s.lists > 0)) return compiled;
  const segments = compiled.steps.map((s) => s.field);
  return { ...compiled, fixed: { segments, jsonPath: toJsonPath(segments), metadata: metadataSegments(compiled.metadata, segments) } };
}

function compileSteps(location: ImageLocationRule, where: string): CompiledImageLocation {
  const apiVersion = location.apiVersion ?? '*';
  let group: string | undefined;
  let version: string | undefined;
  if (apiVersion !== '*') {
    const split = splitApiVersion(apiVersion);
    group = split.group;
    version = split.version === '*' ? undefined : split.version;
  }
  if (location.image !== undefined) {
    const steps = parsePath(location.image, `${where}.image`);
    const last = steps[steps.length - 1];
    if (last.lists > 0) throw new KubepinUsageError(`${where}.image must end in a field name, not a list ("${location.image}")`);
    return { location, group, version, steps: steps.slice(0, -1), imageField: last.field, metadata: parsePath(location.metadata ?? 'metadata', `${where}.metadata`) };
  }
  const steps = parsePath(location.podSpec, `${where}.podSpec`);
  const last = steps[steps.length - 1];
  const metadata = location.metadata !== undefined ? parsePath(location.metadata, `${where}.metadata`)
    : last.field === 'spec' && last.lists === 0 ? 'sibling' : [{ field: 'metadata', lists: 0 }];
  return { location, group, version, steps, metadata };
}
