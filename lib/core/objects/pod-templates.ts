import { CompiledImageLocation, ImageLocations } from './image-locations';
import { metadataSegments, ownField, toJsonPath } from './location-paths';

/** The Kubernetes object a finding is about. */
export interface ObjectRef {
  /** `apiVersion` of the object. */
  readonly apiVersion?: string;
  /** `kind` of the object, e.g. `Deployment`. */
  readonly kind: string;
  /** `metadata.namespace`, when set. */
  readonly namespace?: string;
  /** `metadata.name` (or `generateName`), or `<unnamed>`. */
  readonly name: string;
}

/** A JSON object as parsed from YAML. */
export type JsonObject = Record<string, unknown>;

/** The container lists of a pod spec, in the order the kubelet starts them. */
export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
/** Which container list a container is in. */
export type ContainerList = (typeof CONTAINER_LISTS)[number];

/** One place in an object that names an image. */
export interface ImageSite {
  /** A container (of one of the three lists), an image volume, or an image field of a custom resource (`spec.image`). */
  readonly type: ContainerList | 'imageVolume' | 'imageField';
  /** Container or volume name; for an image field, its path. */
  readonly name: string;
  /** The image as written. */
  readonly image: string;
  /** JSON path of the image field within the object. */
  readonly path: string;
  /** JSON path of the pull-policy field within the object (for an image field without one: the image's path). */
  readonly policyPath: string;
  /** The object holding the image and policy fields (a container, or a volume's `image`). */
  readonly holder: JsonObject;
  /** Name of the field holding the image: `image` for containers, `reference` for image volumes, as configured for image fields. */
  readonly imageField: string;
  /** Name of the pull-policy field (`imagePullPolicy`, `pullPolicy` for image volumes), or undefined when the object has none. */
  readonly policyField: string | undefined;
}

/**
 * A pod template found in an object, or the object holding one configured image field (then
 * `spec` is that object: its pull secrets and ServiceAccount are the pod's).
 */
export interface PodTemplate {
  /** The pod spec (mutable when the object is). */
  readonly spec: JsonObject;
  /** JSON path of the pod spec within the object, e.g. `spec.template.spec`. */
  readonly specPath: string;
  /** Path segments of the metadata that belongs to the pod (for annotations); list items by index. */
  readonly metadataPath: readonly string[];
  /** Every image of the pod. */
  readonly sites: ImageSite[];
  /** Field of `spec` listing the pull secrets (`imagePullSecrets`), or undefined when the object has none kubepin can write. */
  readonly pullSecretsField: string | undefined;
}

/** True when `value` is a non-array object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object's kind/namespace/name for findings. */
export function objectRef(object: JsonObject): ObjectRef {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '<unnamed>';
  return {
    apiVersion: typeof object.apiVersion === 'string' ? object.apiVersion : undefined,
    kind: typeof object.kind === 'string' ? object.kind : '<no kind>',
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    name,
  };
}

/** True for the kinds that hold a pod template or an image field (any apiVersion, else only the given one). */
export function isWorkloadKind(kind: unknown, locations: ImageLocations = ImageLocations.DEFAULT, apiVersion?: unknown): boolean {
  return locations.covers(kind, apiVersion);
}

/** The first pod template of an object, or `undefined` when it has none. @see findPodTemplates */
export function findPodTemplate(object: JsonObject, locations: ImageLocations = ImageLocations.DEFAULT): PodTemplate | undefined {
  return findPodTemplates(object, locations)[0];
}

/**
 * Every pod template and configured image field of an object (an Argo AnalysisTemplate has one
 * per job metric), in location order; none for kinds no location covers or a missing spec.
 */
export function findPodTemplates(object: JsonObject, locations: ImageLocations = ImageLocations.DEFAULT): PodTemplate[] {
  const matching = locations.matching(object.kind, object.apiVersion);
  if (matching.length === 0) return [];
  const templates: PodTemplate[] = [];
  const seen = matching.length > 1 ? new Set<string>() : undefined;
  for (const location of matching) {
    for (const found of walk(object, location)) {
      if (!isObject(found.value)) continue;
      if (seen) {
        const key = `${found.segments.join('.')}|${location.imageField ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const template = location.imageField !== undefined ? imageFieldTemplate(found.value, found.segments, location) : podTemplate(found.value, found.segments, location);
      if (template) templates.push(template);
    }
  }
  return templates;
}

/** A value reached by a location path, with its raw segments (`spec`, `metrics`, `0`, …). */
interface Found {
  readonly value: unknown;
  readonly segments: readonly string[];
}

function walk(object: JsonObject, location: CompiledImageLocation): Found[] {
  const fixed = location.fixed;
  if (fixed) {
    let value: unknown = object;
    for (const field of fixed.segments) {
      if (!isObject(value)) return [];
      value = ownField(value, field);
    }
    return [{ value, segments: fixed.segments }];
  }
  let current: Found[] = [{ value: object, segments: [] }];
  for (const step of location.steps) {
    const next: Found[] = [];
    for (const found of current) {
      if (!isObject(found.value)) continue;
      let level: Found[] = [{ value: ownField(found.value, step.field), segments: [...found.segments, step.field] }];
      // `name[]` visits every item of a list, `name[][]` every item of every inner list.
      for (let n = 0; n < step.lists; n++) {
        level = level.flatMap((f) => (Array.isArray(f.value) ? f.value.map((item, i) => ({ value: item, segments: [...f.segments, String(i)] })) : []));
      }
      next.push(...level);
    }
    current = next;
  }
  return current;
}

function podTemplate(spec: JsonObject, segments: readonly string[], location: CompiledImageLocation): PodTemplate {
  const fixed = location.fixed;
  const specPath = fixed ? fixed.jsonPath : toJsonPath(segments);
  return { spec, specPath, metadataPath: fixed ? fixed.metadata : metadataSegments(location.metadata, segments), sites: imageSites(spec, specPath), pullSecretsField: 'imagePullSecrets' };
}

function imageFieldTemplate(holder: JsonObject, segments: readonly string[], location: CompiledImageLocation): PodTemplate | undefined {
  const field = location.imageField!;
  // An unset field is the operator's default image: nothing kubepin can pin.
  if (!Object.hasOwn(holder, field)) return undefined;
  const base = toJsonPath(segments);
  const at = (name: string) => (base === '' ? name : `${base}.${name}`);
  const { pullPolicyField, pullSecretsField } = location.location;
  const site: ImageSite = {
    type: 'imageField',
    name: at(field),
    image: typeof holder[field] === 'string' ? holder[field] as string : '',
    path: at(field),
    policyPath: at(pullPolicyField ?? field),
    holder,
    imageField: field,
    policyField: pullPolicyField,
  };
  return { spec: holder, specPath: base, metadataPath: metadataSegments(location.metadata, segments), sites: [site], pullSecretsField };
}

function imageSites(spec: JsonObject, specPath: string): ImageSite[] {
  const sites: ImageSite[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container, i) => {
      if (!isObject(container)) return;
      const base = `${specPath}.${list}[${i}]`;
      sites.push({
        type: list,
        name: typeof container.name === 'string' ? container.name : `#${i}`,
        image: typeof container.image === 'string' ? container.image : '',
        path: `${base}.image`,
        policyPath: `${base}.imagePullPolicy`,
        holder: container,
        imageField: 'image',
        policyField: 'imagePullPolicy',
      });
    });
  }
  const volumes = spec.volumes;
  if (Array.isArray(volumes)) {
    volumes.forEach((volume, i) => {
      if (!isObject(volume) || !isObject(volume.image)) return;
      const base = `${specPath}.volumes[${i}].image`;
      sites.push({
        type: 'imageVolume',
        name: typeof volume.name === 'string' ? volume.name : `#${i}`,
        image: typeof volume.image.reference === 'string' ? volume.image.reference : '',
        path: `${base}.reference`,
        policyPath: `${base}.pullPolicy`,
        holder: volume.image,
        imageField: 'reference',
        policyField: 'pullPolicy',
      });
    });
  }
  return sites;
}

/** Expands `kind: List` (and `*List`) documents into their items; other objects pass through. */
export function flattenObjects(objects: readonly unknown[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const object of objects) {
    if (!isObject(object)) continue;
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
      out.push(...flattenObjects(object.items));
    } else {
      out.push(object);
    }
  }
  return out;
}

/** An image found in a manifest, with where it stands. */
export interface ImageUse {
  /** The image as written. */
  readonly image: string;
  /** The object it belongs to. */
  readonly object: ObjectRef;
  /** JSON path of the field. */
  readonly path: string;
}

/** Every image named by every pod template (and configured image field) in `objects` (Lists expanded), in document order. */
export function extractImages(objects: readonly unknown[], locations: ImageLocations = ImageLocations.DEFAULT): ImageUse[] {
  const uses: ImageUse[] = [];
  for (const object of flattenObjects(objects)) {
    const templates = findPodTemplates(object, locations);
    if (templates.length === 0) continue;
    const ref = objectRef(object);
    for (const template of templates) {
      for (const site of template.sites) uses.push({ image: site.image, object: ref, path: site.path });
    }
  }
  return uses;
}

/** The pull policy written at a site (undefined when unset, or when the site has no policy field). */
export function writtenPullPolicy(site: ImageSite): unknown {
  return site.policyField === undefined ? undefined : site.holder[site.policyField];
}

/** A short label for a site in the original-images annotation: `web`, `init:migrate`, `volume:data`. */
export function siteLabel(site: ImageSite): string {
  switch (site.type) {
    case 'containers':
      return site.name;
    case 'initContainers':
      return `init:${site.name}`;
    case 'ephemeralContainers':
      return `ephemeral:${site.name}`;
    case 'imageField':
      return site.path;
    default:
      return `volume:${site.name}`;
  }
}
