/** The scheduling fields of a pod spec as node selector terms: what the pre-puller (lib/prepull) and the platform rule (lib/platforms.ts) read. */
import { JsonObject, isObject } from './pod-templates';

/** Label every Linux node carries; the pre-puller runs Linux containers only. */
export const OS_LABEL = 'kubernetes.io/os';
/** Label naming a node's CPU architecture. */
export const ARCH_LABEL = 'kubernetes.io/arch';

/** Where pods may be scheduled: the scheduling fields of a pod spec. */
export interface NodeScope {
  /** `nodeSelector` labels (all must match). @default no selector */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** `affinity`; only `nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution` limits the nodes. @default none */
  readonly affinity?: object;
  /** `tolerations`: the tainted nodes the pods may use. @default none */
  readonly tolerations?: readonly object[];
}

/** One node selector requirement (`matchExpressions` / `matchFields` item). */
export interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

/** A node selector term: its requirements ANDed; `field:` prefixes keys of `matchFields`. */
export type Term = Requirement[];

/** Reads the scheduling fields of a pod spec. */
export function nodeScopeOf(podSpec: JsonObject): NodeScope {
  return {
    ...(isObject(podSpec.nodeSelector) ? { nodeSelector: podSpec.nodeSelector as Record<string, string> } : {}),
    ...(isObject(podSpec.affinity) ? { affinity: podSpec.affinity } : {}),
    ...(Array.isArray(podSpec.tolerations) ? { tolerations: podSpec.tolerations as object[] } : {}),
  };
}

/**
 * The scope as OR-ed terms of ANDed requirements (`nodeSelector` entries as `In` requirements,
 * `matchFields` keys prefixed `field:`), or `undefined` when it allows every node.
 */
export function termsOf(scope: NodeScope): Term[] | undefined {
  const selector: Term = Object.keys(scope.nodeSelector ?? {}).sort()
    .map((key) => ({ key, operator: 'In', values: [scope.nodeSelector![key]] }));
  const required = requiredTerms(scope.affinity);
  if (required === undefined) return selector.length > 0 ? [selector] : undefined;
  // nodeSelector AND (term1 OR term2 …) = (selector AND term1) OR (selector AND term2) …
  return required.map((t) => [...selector, ...t]);
}

/** The required node affinity's terms, or `undefined` when it has none. */
export function requiredTerms(affinity: unknown): Term[] | undefined {
  if (!isObject(affinity) || !isObject(affinity.nodeAffinity)) return undefined;
  const required = affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (!isObject(required) || !Array.isArray(required.nodeSelectorTerms)) return undefined;
  return required.nodeSelectorTerms.filter(isObject).map((term) => [
    ...requirements(term.matchExpressions, ''),
    ...requirements(term.matchFields, 'field:'),
  ]);
}

function requirements(list: unknown, prefix: string): Requirement[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((r) => ({
    key: `${prefix}${String(r.key)}`,
    operator: String(r.operator),
    ...(Array.isArray(r.values) ? { values: r.values.map(String) } : {}),
  }));
}
