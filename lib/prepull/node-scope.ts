import { KubepinUsageError, describeType } from '../util/errors';
import { sortRecord } from '../util/records';
import { JsonObject, isObject } from '../core/objects/pod-templates';
import { ARCH_LABEL, NodeScope, OS_LABEL, Requirement, Term, requiredTerms, termsOf } from '../core/objects/node-terms';

export { ARCH_LABEL, NodeScope, OS_LABEL, nodeScopeOf } from '../core/objects/node-terms';

/** The pod-spec scheduling fields of the pre-puller, ready to put in its pod spec. */
export interface PrePullScheduling {
  /** `nodeSelector`, always with `kubernetes.io/os: linux` unless the scope names an os. */
  readonly nodeSelector: Record<string, string>;
  /** `affinity` when the union needs OR-ed node selector terms. */
  readonly affinity?: JsonObject;
  /** `tolerations`, de-duplicated. */
  readonly tolerations: JsonObject[];
}

/**
 * The node scope that reaches every node any of `scopes` may use: node selectors and
 * required node affinity become OR-ed node selector terms (a scope without either means
 * every node), tolerations are united. Then `kubernetes.io/os: linux` and the optional
 * architecture restriction are added.
 */
export function unionNodeScope(scopes: readonly NodeScope[], options: { arch?: readonly string[]; extraTolerations?: readonly object[] } = {}): PrePullScheduling {
  let unrestricted = scopes.length === 0;
  const terms: Term[] = [];
  const selectors = new Set<string>();
  let anyAffinity = false;
  for (const scope of scopes) {
    const scopeTerms = termsOf(scope);
    if (scopeTerms === undefined) {
      unrestricted = true;
      continue;
    }
    terms.push(...scopeTerms);
    selectors.add(canonical(scope.nodeSelector ?? {}));
    if (requiredTerms(scope.affinity) !== undefined) anyAffinity = true;
  }
  const nodeSelector: Record<string, string> = {};
  let affinity: JsonObject | undefined;
  if (!unrestricted) {
    if (!anyAffinity && selectors.size === 1) {
      // Every scope uses the same plain selector: keep it plain, as users wrote it.
      Object.assign(nodeSelector, scopes[0].nodeSelector);
    } else {
      affinity = affinityOf(dedupe(terms));
    }
  }
  const arch = options.arch ?? [];
  if (arch.length === 1) nodeSelector[ARCH_LABEL] = arch[0];
  else if (arch.length > 1) {
    const archReq: Requirement = { key: ARCH_LABEL, operator: 'In', values: [...arch].sort() };
    const current = affinity ? requiredTerms(affinity)! : [[]];
    affinity = affinityOf(current.map((t) => [...t, archReq]));
  }
  const namesOs = Object.keys(nodeSelector).includes(OS_LABEL)
    || (affinity !== undefined && requiredTerms(affinity)!.some((t) => t.some((r) => r.key === OS_LABEL)));
  if (!namesOs) nodeSelector[OS_LABEL] = 'linux';
  const tolerations = dedupeObjects([...scopes.flatMap((s) => [...(s.tolerations ?? [])]), ...(options.extraTolerations ?? [])]);
  return { nodeSelector: sortRecord(nodeSelector), ...(affinity ? { affinity } : {}), tolerations };
}

/**
 * Why a pre-puller with scheduling `prePull` may miss nodes that pods with scheduling
 * `workload` can run on, or `undefined` when it reaches all of them. Conservative: a
 * requirement the pre-puller adds counts as met only when the workload's own selector or
 * affinity implies it (`kubernetes.io/os: linux` is taken as met, as Linux pods run on Linux nodes).
 */
export function nodeScopeGap(prePull: NodeScope, workload: NodeScope): string | undefined {
  for (const toleration of workload.tolerations ?? []) {
    if (!isObject(toleration)) continue;
    if (!(prePull.tolerations ?? []).some((t) => isObject(t) && tolerates(t, toleration))) {
      return `the workload tolerates ${describeToleration(toleration)} but the pre-puller does not, so it skips those tainted nodes. Fix: add that toleration to the pre-puller`;
    }
  }
  const ppTerms = termsOf(prePull);
  if (ppTerms === undefined) return undefined;
  const wTerms = termsOf(workload);
  const required = ppTerms.map((t) => t.filter((r) => r.key !== OS_LABEL));
  if (required.some((t) => t.length === 0)) return undefined;
  if (wTerms === undefined) {
    return `the workload may run on any node but the pre-puller is limited to nodes matching ${describeTerms(required)}. Fix: give the workload the same node selector, or widen the pre-puller's node scope`;
  }
  for (const term of wTerms) {
    if (!required.some((p) => p.every((req) => term.some((have) => implies(have, req))))) {
      return `the workload may run on nodes matching ${describeTerms([term])}, which the pre-puller's node scope (${describeTerms(required)}) does not cover. Fix: widen the pre-puller's node scope or narrow the workload's`;
    }
  }
  return undefined;
}

/** Checks the shape of a user-given node scope; `where` names the caller for the message. */
export function validateNodeScope(scope: NodeScope, where: string): void {
  if (!isObject(scope)) throw new KubepinUsageError(`${where}: a node scope must be an object with nodeSelector/affinity/tolerations, got ${describeType(scope)}`);
  if (scope.nodeSelector !== undefined) {
    if (!isObject(scope.nodeSelector) || Object.values(scope.nodeSelector).some((v) => typeof v !== 'string')) {
      throw new KubepinUsageError(`${where}: nodeSelector must map label names to string values, e.g. { "pool": "gpu" }`);
    }
  }
  if (scope.affinity !== undefined && !isObject(scope.affinity)) {
    throw new KubepinUsageError(`${where}: affinity must be an object (a pod spec's affinity), got ${describeType(scope.affinity)}`);
  }
  if (scope.tolerations !== undefined && (!Array.isArray(scope.tolerations) || scope.tolerations.some((t) => !isObject(t)))) {
    throw new KubepinUsageError(`${where}: tolerations must be a list of toleration objects, e.g. [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }]`);
  }
}

function affinityOf(terms: Term[]): JsonObject {
  const nodeSelectorTerms = terms.map((term) => {
    const expressions = term.filter((r) => !r.key.startsWith('field:'));
    const fields = term.filter((r) => r.key.startsWith('field:')).map((r) => ({ ...r, key: r.key.slice('field:'.length) }));
    return {
      ...(expressions.length > 0 ? { matchExpressions: expressions } : {}),
      ...(fields.length > 0 ? { matchFields: fields } : {}),
    };
  });
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } };
}

/** True when every node satisfying `have` satisfies `want` (same key, syntactically). */
function implies(have: Requirement, want: Requirement): boolean {
  if (have.key !== want.key) return false;
  const hv = have.values ?? [];
  const wv = want.values ?? [];
  switch (want.operator) {
    case 'In':
      return have.operator === 'In' && hv.every((v) => wv.includes(v));
    case 'Exists':
      return have.operator === 'In' || have.operator === 'Exists' || have.operator === 'Gt' || have.operator === 'Lt';
    case 'NotIn':
      return (have.operator === 'In' && hv.every((v) => !wv.includes(v)))
        || (have.operator === 'NotIn' && wv.every((v) => hv.includes(v)))
        || have.operator === 'DoesNotExist';
    case 'DoesNotExist':
      return have.operator === 'DoesNotExist';
    default:
      return have.operator === want.operator && canonical(hv) === canonical(wv);
  }
}

/** The kubelet/scheduler rule `Toleration.ToleratesTaint`, applied to a toleration-as-taint. */
function tolerates(t: JsonObject, want: JsonObject): boolean {
  const operator = t.operator ?? 'Equal';
  if (t.effect !== undefined && t.effect !== '' && t.effect !== want.effect) return false;
  if (t.key === undefined || t.key === '') return operator === 'Exists';
  if (t.key !== want.key) return false;
  if (operator === 'Exists') return true;
  return (want.operator ?? 'Equal') === 'Equal' && (t.value ?? '') === (want.value ?? '');
}

function describeToleration(t: JsonObject): string {
  const key = typeof t.key === 'string' && t.key !== '' ? t.key : '<every taint>';
  const value = t.operator === 'Exists' || t.value === undefined ? '' : `=${String(t.value)}`;
  const effect = typeof t.effect === 'string' && t.effect !== '' ? `:${t.effect}` : '';
  return `taint ${key}${value}${effect}`;
}

function describeTerms(terms: Term[]): string {
  return terms.map((t) => t.map((r) => `${r.key} ${r.operator}${r.values ? ` ${r.values.join(',')}` : ''}`).join(' and ')).join(' or ');
}

function dedupe(terms: Term[]): Term[] {
  const seen = new Set<string>();
  return terms.filter((t) => {
    const key = canonical(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function dedupeObjects(list: readonly object[]): JsonObject[] {
  const seen = new Set<string>();
  const out: JsonObject[] = [];
  for (const item of list) {
    const key = canonical(item);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(structuredClone(item) as JsonObject);
  }
  return out;
}

/** JSON with sorted keys: equal objects give equal strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (isObject(v) ? sortRecord(v) : v));
}

