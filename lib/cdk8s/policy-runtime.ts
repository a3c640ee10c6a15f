import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { KubepinError } from '../util/errors';
import { ConstructFinding, formatConstructFinding } from './findings';
import { ImagePolicyError, dispatchFindings } from '../core/findings/dispatch';
import { ImagePolicyOptions, PolicyEngine, PullSecretDeclaration, ServiceAccountPullSecrets } from '../core/policy/engine';
import { JsonObject, findPodTemplate, findPodTemplates, isObject } from '../core/objects/pod-templates';
import { ImageLocations } from '../core/objects/image-locations';
import { ownField } from '../core/objects/location-paths';
import { findTypedState } from './typed-state';
import { reportSynthErrorsAsFindings } from './synth-error-report';
import { PrePullDaemonSet } from './pre-pull-daemon-set';
import { codesThePluginReports } from './validation-plugin-reports';
import { CDK8S_PLUS_IMPLICIT_PULL_POLICY, isCdk8sPlusPod } from './cdk8s-plus';

/**
 * How the cdk8s face runs the core policy without Aspects (cdk8s has none):
 *
 * - Each governed `ApiObject` gets its `toJson` wrapped once (a symbol marks it, so a policy
 *   never wraps or runs twice on one object). Objects are (re)discovered at every validation,
 *   which cdk8s runs at the start of every synthesis, so objects added after the policy are
 *   covered.
 * - The first `toJson` of a chart in a synthesis evaluates every governed object of that chart
 *   at once (original JSON → core {@link PolicyEngine}), so all errors of the chart are listed
 *   together; the other objects then return their cached result.
 */

const HOOK = Symbol.for('kubepin.cdk8s.hook');
const RUNTIME = Symbol.for('kubepin.cdk8s.runtime');
const IMPLICIT = Symbol.for('kubepin.cdk8s.implicitRuntime');
/** Marks `RegistryPullSecret` constructs (duck-typed so two copies of the library interoperate). */
export const PULL_SECRET_SYMBOL = Symbol.for('kubepin.cdk8s.RegistryPullSecret');
/** Marks typed workloads, which are pinned even without an `ImagePolicy`. */
export const TYPED_WORKLOAD_SYMBOL = Symbol.for('kubepin.cdk8s.TypedWorkload');

interface Hook {
  readonly original: () => JsonObject;
}

/** A pull secret construct as the runtime sees it. */
export interface PullSecretConstruct extends IConstruct {
  /** The declaration for the policy, or `undefined` when the construct is broken (it reports that itself). */
  readonly declarationOrUndefined: PullSecretDeclaration | undefined;
  /** ServiceAccounts (name, namespace) whose `imagePullSecrets` list this secret. */
  readonly serviceAccountTargets: ReadonlyArray<{ readonly name: string; readonly namespace?: string }>;
}

/** The settings of one evaluation. */
export interface RuntimeSettings {
  /** Core options, without pull secrets and pre-pulled images (found in the tree). */
  readonly options: ImagePolicyOptions;
  /** Pull secret constructs to use. @default every RegistryPullSecret in the app */
  readonly pullSecrets?: readonly PullSecretConstruct[];
  /** Report errors as warnings instead of failing synthesis. */
  readonly reportOnly: boolean;
  /** Where warnings are printed. */
  readonly log: (line: string) => void;
}

/** Runs the policy for the objects one `ImagePolicy` (or the implicit typed-workload policy) governs. */
export class PolicyRuntime {
  /** Findings of the latest evaluation of each chart, by chart path. */
  private readonly findingsByChart = new Map<string, ConstructFinding[]>();
  private readonly results = new Map<ApiObject, JsonObject>();
  /** The `ImagePolicy` construct this runtime belongs to (none for the implicit one). */
  public owner?: IConstruct;

  constructor(
    /** The subtree governed. */
    public readonly scope: IConstruct,
    private readonly settings: () => RuntimeSettings,
    /** Only typed workloads (the implicit runtime), or every object. */
    private readonly typedOnly: boolean,
  ) {}

  /** Findings of the latest synthesis, all charts. */
  public get findings(): ConstructFinding[] {
    return [...this.findingsByChart.values()].flat();
  }

  /** Called at every validation: drops cached results and wraps objects added since. */
  public beginPass(): void {
    this.results.clear();
    if (!this.typedOnly) {
      for (const c of this.scope.node.findAll()) {
        if (ApiObject.isApiObject(c) && governorOf(c) === this) hookApiObject(c);
      }
    }
  }

  /** The pinned JSON of `obj` (evaluating its whole chart if not done in this pass). */
  public render(obj: ApiObject): JsonObject {
    let result = this.results.get(obj);
    if (!result) {
      this.evaluateChart(Chart.of(obj), obj);
      result = this.results.get(obj)!;
    }
    // Consumed: a later direct toJson() sees later changes.
    this.results.delete(obj);
    return result;
  }

  private evaluateChart(chart: Chart, requested: ApiObject): void {
    const objects: ApiObject[] = [];
    for (const c of chart.node.findAll()) {
      if (ApiObject.isApiObject(c) && hookOf(c) && Chart.of(c) === chart && governorOf(c) === this) objects.push(c);
    }
    if (!objects.includes(requested)) objects.push(requested);
    const settings = this.settings();
    const secrets = (settings.pullSecrets ?? findPullSecrets(this.scope.node.root));
    const declarations = secrets.map((s) => s.declarationOrUndefined).filter((d): d is PullSecretDeclaration => d !== undefined);
    const prePulled = [...(settings.options.prePulled ?? []), ...findPrePulledImages(this.scope)];
    const engine = new PolicyEngine({ ...settings.options, prePulled, pullSecrets: declarations, serviceAccounts: serviceAccountsOf(secrets) });
    const findings: ConstructFinding[] = [];
    // cdk8s sorts keys unless CDK8S_DISABLE_SORT is set; keep what we add in that order too.
    const sortKeys = !process.env.CDK8S_DISABLE_SORT;
    for (const obj of objects) {
      const json = hookOf(obj)!.original();
      normalizeCdk8sPlus(obj, json);
      const before = engine.findings.length;
      const out = engine.apply(json, obj.node.path);
      for (const f of engine.findings.slice(before)) findings.push({ ...f, constructPath: obj.node.path });
      if (sortKeys) sortPodTemplateKeys(out, engine.locations);
      this.results.set(obj, out);
    }
    this.findingsByChart.set(chart.node.path, findings);
    dispatchFindings(findings, {
      format: (f) => `kubepin: ${formatConstructFinding(f)}`,
      warn: settings.log,
      info: settings.log,
      reportOnly: settings.reportOnly,
      leftToOthers: (f) => codesThePluginReports()?.has(f.code) === true,
      fail: (errors, all) => {
        // Uncaught in the app cdk8s synth runs, this prints as its findings, without a stack.
        reportSynthErrorsAsFindings();
        return new ImagePolicyError(
          `kubepin image policy: ${errors.length} error(s) in chart ${chart.node.path || '<root>'}:\n${errors.map((e) => `  ${formatConstructFinding(e)}`).join('\n')}`,
          all,
        );
      },
    });
  }
}

/** Marks `scope` as governed by `runtime` (one per scope). */
export function setRuntime(scope: IConstruct, runtime: PolicyRuntime): void {
  const holder = scope as unknown as Record<symbol, PolicyRuntime | undefined>;
  if (holder[RUNTIME]) {
    throw new KubepinError(`${scope.node.path || '<app>'} already has an ImagePolicy; one scope takes one policy (put a second one on a Chart to override the App's)`);
  }
  holder[RUNTIME] = runtime;
}

/** The runtime of the nearest `ImagePolicy` above `c`, if any. */
export function nearestRuntime(c: IConstruct): PolicyRuntime | undefined {
  for (let s: IConstruct | undefined = c; s; s = s.node.scope) {
    const runtime = (s as unknown as Record<symbol, PolicyRuntime | undefined>)[RUNTIME];
    if (runtime) return runtime;
  }
  return undefined;
}

/** The runtime that pins typed workloads of an app without an `ImagePolicy`. */
export function implicitRuntime(root: IConstruct, create: () => PolicyRuntime): PolicyRuntime {
  const holder = root as unknown as Record<symbol, PolicyRuntime | undefined>;
  if (!holder[IMPLICIT]) holder[IMPLICIT] = create();
  return holder[IMPLICIT]!;
}

function isTypedObject(obj: ApiObject): boolean {
  const owner = obj.node.scope as unknown as Record<symbol, unknown> | undefined;
  return owner !== undefined && owner[TYPED_WORKLOAD_SYMBOL] === true;
}

/** Which runtime renders `obj`: the nearest policy's, else the implicit one for typed workloads. */
function governorOf(obj: ApiObject): PolicyRuntime | undefined {
  const nearest = nearestRuntime(obj);
  if (nearest) return nearest;
  if (!isTypedObject(obj)) return undefined;
  return (obj.node.root as unknown as Record<symbol, PolicyRuntime | undefined>)[IMPLICIT];
}

function hookOf(obj: ApiObject): Hook | undefined {
  return (obj as unknown as Record<symbol, Hook | undefined>)[HOOK];
}

/** Wraps `obj.toJson` once; the wrapper asks the governing runtime at each call. */
export function hookApiObject(obj: ApiObject): void {
  if (hookOf(obj)) return;
  const original = obj.toJson.bind(obj) as () => JsonObject;
  Object.defineProperty(obj, HOOK, { value: { original } satisfies Hook });
  obj.toJson = (): JsonObject => {
    const runtime = governorOf(obj);
    return runtime ? runtime.render(obj) : original();
  };
}

/** Every `RegistryPullSecret` in the tree under `root`. */
export function findPullSecrets(root: IConstruct): PullSecretConstruct[] {
  return root.node.findAll().filter((c) => (c as unknown as Record<symbol, unknown>)[PULL_SECRET_SYMBOL] === true) as unknown as PullSecretConstruct[];
}

/** Images of every pre-pull DaemonSet under `scope`. */
export function findPrePulledImages(scope: IConstruct): string[] {
  const images: string[] = [];
  for (const c of scope.node.findAll()) {
    if (PrePullDaemonSet.isPrePullDaemonSet(c)) images.push(...c.images);
  }
  return images;
}

/**
 * cdk8s-plus (every major) writes `imagePullPolicy: Always` on every container unless told
 * otherwise, so on cdk8s-plus objects `Always` means "unset" (the policy then chooses); typed workloads record
 * the policies the user chose and their own pull secrets, which are written here.
 */
function normalizeCdk8sPlus(obj: ApiObject, json: JsonObject): void {
  const owner = obj.node.scope;
  if (!isCdk8sPlusPod(owner)) return;
  const template = findPodTemplate(json);
  if (!template) return;
  const typed = findTypedState(owner);
  for (const site of template.sites) {
    if (site.type !== 'containers' && site.type !== 'initContainers') continue;
    const explicit = typed?.policyFor(site.type, site.name);
    if (explicit) site.holder.imagePullPolicy = explicit;
    else if (site.holder.imagePullPolicy === CDK8S_PLUS_IMPLICIT_PULL_POLICY) delete site.holder.imagePullPolicy;
  }
  if (typed && typed.pullSecrets.length > 0) {
    const list = Array.isArray(template.spec.imagePullSecrets) ? [...template.spec.imagePullSecrets] : [];
    for (const ref of typed.pullSecrets) {
      if (!list.some((s) => isObject(s) && s.name === ref.declaration.name)) list.push({ name: ref.declaration.name });
    }
    template.spec.imagePullSecrets = list;
  }
}

/** The ServiceAccounts the app's pull secrets were added to, for the core policy. */
function serviceAccountsOf(secrets: readonly PullSecretConstruct[]): ServiceAccountPullSecrets[] {
  const accounts = new Map<string, { name: string; namespace?: string; pullSecrets: string[] }>();
  for (const secret of secrets) {
    const declaration = secret.declarationOrUndefined;
    if (!declaration) continue;
    for (const target of secret.serviceAccountTargets) {
      const key = `${target.namespace ?? 'default'}/${target.name}`;
      const account = accounts.get(key) ?? { name: target.name, namespace: target.namespace, pullSecrets: [] };
      account.pullSecrets.push(declaration.name);
      accounts.set(key, account);
    }
  }
  return [...accounts.values()];
}

/**
 * Restores cdk8s's sorted key order where the policy adds keys (pull policies, pull secrets,
 * the original-images annotation): a shallow sort, in place, of exactly those objects, which is
 * much cheaper than re-sorting the whole document.
 */
function sortPodTemplateKeys(out: JsonObject, locations: ImageLocations): void {
  for (const template of findPodTemplates(out, locations)) {
    sortInPlace(template.spec);
    // Containers and image fields; an image volume's `image` keeps its order, as it always has.
    for (const site of template.sites) if (site.type !== 'imageVolume') sortInPlace(site.holder);
    // The pod's metadata: next to the spec in a template, the object's own for a bare Pod.
    let metadata: unknown = out;
    for (const key of template.metadataPath) metadata = isObject(metadata) || Array.isArray(metadata) ? ownField(metadata as Record<string, unknown>, key) : undefined;
    if (isObject(metadata)) {
      sortInPlace(metadata);
      if (isObject(metadata.annotations)) sortInPlace(metadata.annotations);
    }
  }
}

function sortInPlace(value: JsonObject): void {
  const entries = Object.keys(value).sort().map((key) => [key, value[key]] as const);
  for (const [key] of entries) delete value[key];
  for (const [key, item] of entries) value[key] = item;
}
