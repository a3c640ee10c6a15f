import { ImageReference } from '../names/image-reference';
import { ImageLocationRule, ImageLocations, splitApiVersion, validateImageLocation } from '../objects/image-locations';
import { findPodTemplates, objectRef } from '../objects/pod-templates';
import type { Finding } from './finding';
import { docPath } from '../../util/docs';

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
/**
 * API groups whose image fields no kubelet pulls: kind's node images (`kind.x-k8s.io`), Flux's
 * image scanning (`image.toolkit.fluxcd.io`), Crossplane packages (`pkg.crossplane.io`), KRM
 * function lists (`config.kubernetes.io`), operator-sdk scorecard configs.
 */
const NOT_PULLED_GROUPS = new Set(['kind.x-k8s.io', 'image.toolkit.fluxcd.io', 'pkg.crossplane.io', 'config.kubernetes.io', 'scorecard.operatorframework.io']);
/** Field names that hold an image: `image`, `imageName` (CloudNativePG), `…Image` (`tridentImage`, `hotUpgradeEmptyImage`). */
const IMAGE_KEY = /^(image|imageName|[a-z][A-Za-z0-9]*Image)$/;
/** Bounds of the walk: a hostile manifest cannot make it slow. */
const MAX_DEPTH = 24;
const MAX_NODES = 20000;
const MAX_FOUND = 50;

/**
 * The image fields in `object` when no image location finds its images (an Argo Workflow's
 * `spec.templates[0].container.image`, a Tekton Task's `spec.steps[0].image`, a Volcano `Job`'s
 * `spec.tasks[0].template.spec`, which Kubernetes' `Job` location does not reach): kubepin pins
 * none of them, so `check`, `lock` and `verify` say so, with the location that would cover each.
 * Metadata and status are not searched.
 */
export function unlocatedImages(object: Record<string, unknown>, locations: ImageLocations): UnlocatedImage[] {
  const kind = object.kind;
  if (typeof kind !== 'string' || DATA_KINDS.has(kind)) return [];
  const group = typeof object.apiVersion === 'string' ? splitApiVersion(object.apiVersion).group : '';
  if (NOT_PULLED_GROUPS.has(group)) return [];
  if (locations.covers(kind, object.apiVersion) && findPodTemplates(object, locations).length > 0) return [];
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
      if (IMAGE_KEY.test(key) && typeof item === 'string' && looksLikeImage(key, item, value as Record<string, unknown>)) {
        found.push({ path: [...path, key].join('.'), image: item, suggestion: suggest(object, [...path, key]) });
      } else {
        visit(item, [...path, key], depth + 1);
      }
    }
  };
  visit(object, [], 0);
  return found;
}

/** Keys of a container-like object: next to them any `image` is one (even `busybox`, or a placeholder). */
const CONTAINER_KEYS = ['command', 'args', 'script', 'env', 'envFrom', 'volumeMounts', 'workingDir', 'imagePullPolicy', 'ports', 'resources'];

/**
 * A reference with a registry, repository path, tag or digest. In a container-like object, any
 * non-empty `image` (a bare name, or `{{inputs.parameters.image}}` the kubelet would refuse) counts.
 */
function looksLikeImage(key: string, text: string, holder: Record<string, unknown>): boolean {
  const containerLike = key === 'image' && CONTAINER_KEYS.some((k) => Object.hasOwn(holder, k));
  if (containerLike) return text.trim() !== '';
  return ImageReference.tryParse(text) !== undefined && /[/:.@]/.test(text);
}

/** A pod spec when the field is a container's image (`….containers[0].image`), else the field itself. */
function suggest(object: Record<string, unknown>, path: string[]): ImageLocationRule {
  const generic = path.map((segment) => segment.replace(/\[\d+\]/g, '[]'));
  const group = typeof object.apiVersion === 'string' ? splitApiVersion(object.apiVersion).group : '';
  const apiVersion = group !== '' ? `${group}/*` : undefined;
  const base = { ...(apiVersion ? { apiVersion } : {}), kind: object.kind as string };
  const list = generic[generic.length - 2];
  const field = path[path.length - 1];
  if (field === 'image' && generic.length >= 3 && /^(initContainers|containers|ephemeralContainers)\[\]$/.test(list)) {
    return { ...base, podSpec: generic.slice(0, -2).join('.') };
  }
  const holder = field === 'image' ? { pullPolicyField: 'imagePullPolicy' } : {};
  return { ...base, image: generic.join('.'), ...holder };
}

/** What to tell the user about image fields of one kind kubepin does not cover, with the fix. */
export function unlocatedImagesMessage(kind: string, images: readonly UnlocatedImage[]): string {
  const first = images[0];
  const more = images.length > 1 ? ` and ${images.length - 1} more` : '';
  const rules = [...new Set(images.filter((u) => expressible(u.suggestion)).map((u) => JSON.stringify(u.suggestion)))];
  const fix = rules.length > 0
    ? `if the field is an image a cluster pulls, add ${rules.join(', ')} to "imageLocations" in kubepin.config.json (${docPath('image-locations.md')})`
    : 'no image location can name this field (its path has keys a dotted path cannot hold); pin the image in the source';
  return `${first.path} (${JSON.stringify(first.image)})${more}: kubepin knows no image location for kind ${kind}, so these images are not locked, pinned or checked. Fix: ${fix}`;
}

/** True when `rule` is an image location kubepin accepts (a suggestion is never one it would refuse). */
function expressible(rule: ImageLocationRule): boolean {
  try {
    validateImageLocation(rule, 'suggestion');
    return true;
  } catch {
    return false;
  }
}

/**
 * Image fields of a kind no location covers stay as written: adds to `findings` the
 * `image-location-unknown` info for `object` (its first unlocated image, the message naming the
 * location to add), once per kind (`saidKinds` holds the kinds said).
 */
export function noteUnlocatedKind(object: Record<string, unknown>, locations: ImageLocations, saidKinds: Set<string>, findings: Finding[]): void {
  if (typeof object.kind !== 'string' || saidKinds.has(object.kind)) return;
  const unlocated = unlocatedImages(object, locations);
  if (unlocated.length === 0) return;
  saidKinds.add(object.kind);
  const ref = objectRef(object);
  findings.push({ code: 'image-location-unknown', severity: 'info', object: ref, path: unlocated[0].path, image: unlocated[0].image, message: unlocatedImagesMessage(ref.kind, unlocated) });
}
