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
      if (name !== undefined) renamed[name] = token;
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
