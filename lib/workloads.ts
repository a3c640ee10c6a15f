import { ObjectRef } from './findings';

/** A JSON object as parsed from YAML. */
export type JsonObject = Record<string, unknown>;

/** Where a kind keeps its pod template: path to the pod spec, and to the metadata to annotate. */
const POD_SPEC_PATHS: Record<string, { spec: readonly string[]; metadata: readonly string[] }> = {
  Pod: { spec: ['spec'], metadata: ['metadata'] },
  PodTemplate: { spec: ['template', 'spec'], metadata: ['template', 'metadata'] },
  Deployment: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  StatefulSet: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  DaemonSet: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  ReplicaSet: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  ReplicationController: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  Job: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  CronJob: {
    spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
    metadata: ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
  },
};

/** The container lists of a pod spec, in the order the kubelet starts them. */
export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
/** Which container list a container is in. */
export type ContainerList = (typeof CONTAINER_LISTS)[number];

/** One place in a pod spec that names an image. */
export interface ImageSite {
  /** A container (of one of the three lists) or an image volume. */
  readonly type: ContainerList | 'imageVolume';
  /** Container or volume name. */
  readonly name: string;
  /** The image as written. */
  readonly image: string;
  /** JSON path of the image field within the object. */
  readonly path: string;
  /** JSON path of the pull-policy field within the object. */
  readonly policyPath: string;
  /** The object holding the image and policy fields (a container, or a volume's `image`). */
  readonly holder: JsonObject;
  /** Name of the field holding the image: `image` for containers, `reference` for image volumes. */
  readonly imageField: 'image' | 'reference';
  /** Name of the pull-policy field: `imagePullPolicy` or `pullPolicy`. */
  readonly policyField: 'imagePullPolicy' | 'pullPolicy';
}

/** A pod template found in an object. */
export interface PodTemplate {
  /** The pod spec (mutable when the object is). */
  readonly spec: JsonObject;
  /** JSON path of the pod spec within the object, e.g. `spec.template.spec`. */
  readonly specPath: string;
  /** Path segments of the metadata that belongs to the pod (for annotations). */
  readonly metadataPath: readonly string[];
  /** Every image of the pod. */
  readonly sites: ImageSite[];
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

/** True for the kinds that hold a pod template. */
export function isWorkloadKind(kind: unknown): boolean {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, kind);
}

/** The pod template of a workload object, or `undefined` for other kinds or a missing spec. */
export function findPodTemplate(object: JsonObject): PodTemplate | undefined {
  const kind = object.kind;
  if (typeof kind !== 'string' || !isWorkloadKind(kind)) return undefined;
  const paths = POD_SPEC_PATHS[kind];
  let spec: unknown = object;
  for (const key of paths.spec) {
    spec = isObject(spec) ? spec[key] : undefined;
  }
  if (!isObject(spec)) return undefined;
  const specPath = paths.spec.join('.');
  return { spec, specPath, metadataPath: paths.metadata, sites: imageSites(spec, specPath) };
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

/** Every image named by every pod template in `objects` (Lists expanded), in document order. */
export function extractImages(objects: readonly unknown[]): ImageUse[] {
  const uses: ImageUse[] = [];
  for (const object of flattenObjects(objects)) {
    const template = findPodTemplate(object);
    if (!template) continue;
    const ref = objectRef(object);
    for (const site of template.sites) uses.push({ image: site.image, object: ref, path: site.path });
  }
  return uses;
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
    default:
      return `volume:${site.name}`;
  }
}
