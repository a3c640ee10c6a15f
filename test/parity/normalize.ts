import { PREPULL_LABEL } from '../../lib/prepull';
import { JsonObject, isObject } from '../../lib/core/objects/pod-templates';

/** One face's objects with generated names replaced by `<generated:Kind:role>` tokens, sorted. */
export interface NormalizedObjects {
  /** The objects, sorted by kind, namespace and (normalized) name. */
  readonly objects: JsonObject[];
  /** generated name → token, for the report. */
  readonly renamed: Record<string, string>;
}

/**
 * How each face names what the user did not name:
 * - cdk8s: `<chart>-<construct id>-c8<hash>` (names and cdk8s-plus's selector label values);
 * - Pulumi: auto-naming (no `metadata.name` in the inputs; the provider adds a random suffix at
 *   deploy), so the role is the resource name;
 * - both: the pre-puller, named by the face (`<chart>-kubepin-prepull-<ns>-<hash>` / `<workload>-prepull`).
 * Every occurrence of a generated name (metadata.name, serviceAccountName, instance labels) becomes
 * the same token on both sides. Nothing else is touched.
 */
export function normalizeGeneratedNames(objects: readonly JsonObject[], options: { chart?: string; resourceNames?: readonly string[] } = {}): NormalizedObjects {
  const renamed: Record<string, string> = {};
  const named = objects.map((object, i) => {
    const copy = structuredClone(object);
    if (!isObject(copy.metadata)) copy.metadata = {};
    const metadata = copy.metadata as JsonObject;
    const labels = isObject(metadata.labels) ? metadata.labels : {};
    const name = typeof metadata.name === 'string' ? metadata.name : undefined;
    let role: string | undefined;
    if (labels[PREPULL_LABEL] === 'true') role = 'prepull';
    else if (name === undefined) role = options.resourceNames?.[i];
    else if (options.chart) role = new RegExp(`^${options.chart}-(.+)-c8[0-9a-f]{6}$`).exec(name)?.[1];
    if (role !== undefined) {
      const token = `<generated:${copy.kind}:${role}>`;
      // Objects of several kinds may share one generated name (the pre-puller's ServiceAccount and
      // DaemonSet): references to it get the same token whatever order the face lists them in.
      if (name !== undefined && (renamed[name] === undefined || token < renamed[name])) renamed[name] = token;
      metadata.name = token;
    }
    return copy;
  });
  const replaced = named.map((o) => replaceStrings(o, renamed) as JsonObject);
  replaced.sort((a, b) => key(a).localeCompare(key(b)));
  return { objects: replaced, renamed };
}

function key(object: JsonObject): string {
  const metadata = (object.metadata ?? {}) as JsonObject;
  return `${object.kind}/${metadata.namespace ?? ''}/${metadata.name}`;
}

function replaceStrings(value: unknown, map: Record<string, string>): unknown {
  if (typeof value === 'string') return Object.prototype.hasOwnProperty.call(map, value) ? map[value] : value;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, map));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = replaceStrings(v, map);
    return out;
  }
  return value;
}

/** Every leaf path where `a` and `b` differ (`spec.template.spec.containers[0].image: "x" != "y"`). */
export function fieldDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...fieldDifferences(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out.push(...fieldDifferences(a[k], b[k], path ? `${path}.${k}` : k));
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
}

/**
 * Fields Kubernetes does not store at their zero value (non-pointer `omitempty` fields of
 * k8s.io/api): an object round-tripped through the API types (the apiserver, or Pulumi's provider
 * when it renders YAML) loses them, while cdk8s-plus writes them out.
 */
const DROPPED_AT_ZERO: Record<string, unknown> = { minReadySeconds: 0, hostNetwork: false, hostPID: false, hostIPC: false, externalIPs: [] };

/**
 * `object` as Kubernetes' API types store it: resource quantities in canonical form (`2048Mi` →
 * `2Gi`, `1000m` → `1`, as resource.Quantity marshals them) and the {@link DROPPED_AT_ZERO} fields
 * at their zero value removed. Both faces mean the same object either way; this lets rendered YAML
 * be compared with synthesized YAML without hiding any other difference.
 */
export function asKubernetesStores(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => asKubernetesStores(v));
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (Object.prototype.hasOwnProperty.call(DROPPED_AT_ZERO, k) && JSON.stringify(v) === JSON.stringify(DROPPED_AT_ZERO[k])) continue;
    out[k] = (key === 'limits' || key === 'requests') && typeof v === 'string' ? canonicalQuantity(v) : asKubernetesStores(v, k);
  }
  return out;
}

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A quantity in resource.Quantity's canonical form; a string that is not a plain quantity is returned as is. */
export function canonicalQuantity(text: string): string {
  const match = /^(\d+)(?:\.(\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(text);
  if (!match) return text;
  const [, whole, fraction = '', suffix = ''] = match;
  // The amount in thousandths of a unit (byte, core), exact.
  const scale = BINARY[suffix] !== undefined ? 1024n ** BigInt(BINARY[suffix]) * 1000n : 10n ** BigInt(DECIMAL[suffix] + 3);
  const digits = BigInt(whole + fraction) * scale;
  const divisor = 10n ** BigInt(fraction.length);
  if (digits % divisor !== 0n) return text; // finer than a thousandth: Kubernetes rounds; not used here
  const milli = digits / divisor;
  if (BINARY[suffix] !== undefined && milli % 1000n === 0n) {
    let units = milli / 1000n;
    let exponent = 0;
    while (exponent < 6 && units !== 0n && units % 1024n === 0n) { units /= 1024n; exponent += 1; }
    return `${units}${exponent === 0 ? '' : Object.keys(BINARY)[exponent - 1]}`;
  }
  let amount = milli;
  let exponent = -3;
  while (exponent < 18 && amount !== 0n && amount % 1000n === 0n) { amount /= 1000n; exponent += 3; }
  return `${amount}${Object.keys(DECIMAL).find((k) => DECIMAL[k] === exponent)}`;
}
