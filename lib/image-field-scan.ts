import { ImageReference } from './base/image-reference';
import { ImageLocationRule, ImageLocations } from './image-locations';

/** An image field in an object of a kind no image location covers: kubepin leaves it as written. */
export interface UnlocatedImage {
  /** JSON path of the field, e.g. `spec.steps[0].image`. */
  readonly path: string;
  /** The image as written. */
  readonly image: string;
  /** An image location that would cover it (for `kubepin.config.json`'s `imageLocations`). */
  readonly suggestion: ImageLocationRule;
}

/** Kinds whose `image` fields are data, not something a kubelet pulls. */
const DATA_KINDS = new Set(['ConfigMap', 'Secret', 'CustomResourceDefinition', 'Event']);
/** Bounds of the walk: a hostile manifest cannot make it slow. */
const MAX_DEPTH = 24;
const MAX_NODES = 20000;
const MAX_FOUND = 50;

/**
 * The fields named `image` holding an image reference in `object` when no image location covers
 * its kind (an Argo Workflow's `spec.templates[0].container.image`, a Tekton Task's
 * `spec.steps[0].image`): kubepin pins none of them, so `check` and `verify` say so, with the
 * location that would cover each. Metadata (annotations, labels) is not searched.
 */
export function unlocatedImages(object: Record<string, unknown>, locations: ImageLocations): UnlocatedImage[] {
  const kind = object.kind;
  if (typeof kind !== 'string' || DATA_KINDS.has(kind) || locations.covers(kind, object.apiVersion)) return [];
  const found: UnlocatedImage[] = [];
  let nodes = 0;
  const visit = (value: unknown, path: string[], depth: number): void => {
    if (found.length >= MAX_FOUND || ++nodes > MAX_NODES || depth > MAX_DEPTH || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path.slice(0, -1), `${path[path.length - 1]}[${i}]`], depth + 1));
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      if (depth === 0 && (key === 'metadata' || key === 'status')) continue;
      if (key === 'image' && typeof item === 'string' && looksLikeImage(item, value as Record<string, unknown>)) {
        found.push({ path: [...path, key].join('.'), image: item, suggestion: suggest(object, [...path, key]) });
      } else {
        visit(item, [...path, key], depth + 1);
      }
    }
  };
  visit(object, [], 0);
  return found;
}

/** Keys of a container-like object: next to them a bare name (`busybox`) is an image too. */
const CONTAINER_KEYS = ['command', 'args', 'script', 'env', 'volumeMounts', 'workingDir', 'imagePullPolicy'];

/** A reference with a registry, repository path, tag or digest; a bare name only in a container-like object. */
function looksLikeImage(text: string, holder: Record<string, unknown>): boolean {
  if (ImageReference.tryParse(text) === undefined) return false;
  return /[/:.@]/.test(text) || CONTAINER_KEYS.some((key) => key in holder);
}

/** A pod spec when the field is a container's image (`….containers[0].image`), else the field itself. */
function suggest(object: Record<string, unknown>, path: string[]): ImageLocationRule {
  const generic = path.map((segment) => segment.replace(/\[\d+\]$/, '[]'));
  const apiVersion = typeof object.apiVersion === 'string' && object.apiVersion.includes('/') ? `${object.apiVersion.split('/')[0]}/*` : undefined;
  const base = { ...(apiVersion ? { apiVersion } : {}), kind: object.kind as string };
  const list = generic[generic.length - 2];
  if (generic.length >= 3 && /^(initContainers|containers|ephemeralContainers)\[\]$/.test(list)) {
    return { ...base, podSpec: generic.slice(0, -2).join('.') };
  }
  return { ...base, image: generic.join('.'), pullPolicyField: 'imagePullPolicy' };
}

/** What to tell the user about image fields of one kind kubepin does not cover, with the fix. */
export function unlocatedImagesMessage(kind: string, images: readonly UnlocatedImage[]): string {
  const first = images[0];
  const more = images.length > 1 ? ` and ${images.length - 1} more` : '';
  const rules = [...new Map(images.map((u) => [JSON.stringify(u.suggestion), u.suggestion])).keys()];
  return `${first.path} (${first.image})${more}: kubepin knows no image location for kind ${kind}, so these images are not locked, pinned or checked. Fix: if the field is an image a cluster pulls, add ${rules.join(', ')} to "imageLocations" in kubepin.config.json (docs/image-locations.md)`;
}
