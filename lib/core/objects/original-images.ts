import { ownField } from './location-paths';
import { JsonObject, isObject } from './pod-templates';

/** Annotation on each pod template listing the images as written before pinning. */
export const ORIGINAL_IMAGES_ANNOTATION = 'kubepin.dev/original-images';

/** Records `originals` (container label → image as written) in the {@link ORIGINAL_IMAGES_ANNOTATION} of the pod template metadata at `metadataPath`. */
export
function annotate(object: JsonObject, metadataPath: readonly string[], originals: Record<string, string>): void {
  // The path runs through objects and, for pod templates found in lists, list items by index.
  let holder: Record<string, unknown> = object;
  for (const key of metadataPath) {
    // Own properties only: an inherited one (`__proto__`) would be a shared prototype, not this object's metadata.
    let next = ownField(holder, key);
    if (typeof next !== 'object' || next === null) Object.defineProperty(holder, key, { value: (next = {}), writable: true, enumerable: true, configurable: true });
    holder = next as Record<string, unknown>;
  }
  if (!isObject(holder.annotations)) holder.annotations = {};
  const annotations = holder.annotations as JsonObject;
  let previous: Record<string, string> = {};
  if (typeof annotations[ORIGINAL_IMAGES_ANNOTATION] === 'string') {
    try {
      previous = JSON.parse(annotations[ORIGINAL_IMAGES_ANNOTATION] as string);
    } catch {
      previous = {};
    }
  }
  // Keep what an earlier run recorded: the first original is the one reviewers care about.
  const merged = { ...originals, ...previous };
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(merged).sort()) sorted[key] = merged[key];
  annotations[ORIGINAL_IMAGES_ANNOTATION] = JSON.stringify(sorted);
}
