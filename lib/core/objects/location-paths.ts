import { KubepinUsageError, describeType } from '../../util/errors';

/*
 * The path language of image locations (`spec.templates[].template.spec`): parsing, and the
 * JSON paths and metadata segments of what a location finds. Shared by the locations
 * (lib/image-locations.ts) and the walk that applies them (lib/workloads.ts); not public API.
 */

/** A field name in a location path. */
export const FIELD = /^[A-Za-z0-9_$-]+$/;

/**
 * Names that would walk into JavaScript's object machinery, not a field: `__proto__` reaches
 * `Object.prototype`, where an annotation written would silently vanish from every object.
 */
const RESERVED_FIELDS = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `field` cannot name a field in a location, or `undefined` when it can. */
export function fieldNameProblem(field: string): string | undefined {
  if (!FIELD.test(field)) return 'is not a field name (letters, digits, _, $ and -)';
  if (RESERVED_FIELDS.has(field)) return 'names JavaScript\'s object prototype machinery, not a field; no Kubernetes field is called __proto__, constructor or prototype';
  return undefined;
}

/** `object[key]` when `object` has it as its own property; never an inherited one (`__proto__`, `constructor`). */
export function ownField(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** One step of a location path: a field, and how many levels of lists under it are visited item by item. */
export interface PathStep {
  readonly field: string;
  /** 0 for a plain field; 1 for `metrics[]` (every item); 2 for `steps[][]` (a list of lists). */
  readonly lists: number;
}

/** The paths of a location without lists. */
export interface FixedPaths {
  /** Field names from the object to the pod spec (or the image field's holder). */
  readonly segments: readonly string[];
  /** The same as a JSON path: `spec.template.spec`. */
  readonly jsonPath: string;
  /** Segments of the metadata that gets the original-images annotation. */
  readonly metadata: readonly string[];
}

/** Parses a dotted location path. @throws KubepinUsageError naming `where` */
export function parsePath(value: unknown, where: string): PathStep[] {
  if (typeof value !== 'string' || value === '') throw new KubepinUsageError(`${where} must be a dotted path such as "spec.template.spec", got ${describeType(value)}`);
  return value.split('.').map((segment) => {
    const match = /^(.*?)((?:\[\])*)$/.exec(segment)!;
    const field = match[1];
    const lists = match[2].length / 2;
    if (!FIELD.test(field)) {
      throw new KubepinUsageError(`${where}: "${value}" is not a dotted path of field names ("spec.template.spec"; "metrics[]" visits every item of a list, "steps[][]" of a list of lists)`);
    }
    const problem = fieldNameProblem(field);
    if (problem) throw new KubepinUsageError(`${where}: "${value}": the segment "${field}" ${problem}. Fix: write the path of the real field`);
    return { field, lists };
  });
}

/** `spec`, `metrics`, `0`, `provider` → `spec.metrics[0].provider`. */
export function toJsonPath(segments: readonly string[]): string {
  let out = '';
  for (const segment of segments) out += /^[0-9]+$/.test(segment) ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  return out;
}

/**
 * The metadata segments of a pod spec found at `specSegments`: its sibling `metadata`, or the
 * location's own metadata path taken at the same list items.
 */
export function metadataSegments(metadata: readonly PathStep[] | 'sibling', specSegments: readonly string[]): string[] {
  if (metadata === 'sibling') return specSegments.length > 1 ? [...specSegments.slice(0, -1), 'metadata'] : ['metadata'];
  // A metadata path through lists takes the items the pod spec was found in (else the first).
  const out: string[] = [];
  let j = 0;
  let along = true;
  for (const step of metadata) {
    along = along && specSegments[j] === step.field;
    out.push(step.field);
    for (let n = 1; n <= step.lists; n++) out.push(along ? specSegments[j + n] ?? '0' : '0');
    j += 1 + step.lists;
  }
  return out;
}
