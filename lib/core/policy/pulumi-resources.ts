import * as fs from 'fs';
import * as path from 'path';
import { CollectedImage } from './collect-mode';
import { prePullDefaultOrigin } from './prepull-helpers';
import { ImageLocations } from '../objects/image-locations';
import { JsonObject, extractImages, isObject } from '../objects/pod-templates';

/*
 * Kubernetes objects as a Pulumi program registers them (a type token and inputs), without
 * Pulumi's SDK: what the Pulumi face reads under mocks and the CLI reads from `pulumi preview`
 * alike. Their images are recorded for `kubepin lock`; for `kubepin verify` and `kubepin check`
 * they are written as manifests, one per resource (Secrets left out, secret inputs replaced).
 */

/** `kubernetes:<group>/<version>:<Kind>` (core group: `kubernetes:core/v1:Pod`). */
const K8S_TYPE = /^kubernetes:[a-z0-9.]*\/?v[0-9a-z]+:([A-Za-z]+)$/;

/** `kubernetes:apps/v1:Deployment` → `apps/v1`, `Deployment` (`DeploymentPatch` → `Deployment`); undefined for other types. */
export function kubernetesTypeOf(type: string): { apiVersion: string; kind: string } | undefined {
  const match = K8S_TYPE.exec(type);
  if (!match) return undefined;
  const groupVersion = type.slice('kubernetes:'.length, type.lastIndexOf(':'));
  // Patch resources (`DeploymentPatch`) carry partial pod templates: pin them too.
  return { apiVersion: groupVersion.startsWith('core/') ? groupVersion.slice('core/'.length) : groupVersion, kind: match[1].replace(/Patch$/, '') };
}

/**
 * True for Pulumi type tokens of Kubernetes objects that hold pod templates or image fields
 * (`kubernetes:apps/v1:Deployment`; custom resources as `kubernetes:argoproj.io/v1alpha1:Rollout`).
 */
export function isWorkloadType(type: string, locations: ImageLocations = ImageLocations.DEFAULT): boolean {
  const parsed = kubernetesTypeOf(type);
  return parsed !== undefined && locations.covers(parsed.kind, parsed.apiVersion);
}

/** The manifest file of the resources no image location covers, in the objects directory. */
export const PULUMI_OBJECTS_FILE = 'uncovered-resources.yaml';

/**
 * Records the images of Kubernetes `resources` (type, name, inputs; components are skipped) with
 * `record`, and writes those of kinds no image location covers to `objectsDir` as manifests.
 * Shared by the run under mocks and `pulumi preview` (lib/cli/lock-engine.ts). Returns how many uses it recorded.
 */
export function recordResourceImages(resources: readonly ProgramResource[], locations: ImageLocations, record: (image: CollectedImage) => void, objectsDir?: string): number {
  let count = 0;
  const uncovered: JsonObject[] = [];
  for (const resource of resources) {
    // Components (a `kubernetes:yaml/v2:ConfigGroup`) are no Kubernetes objects: their children are.
    if (!resource.custom) continue;
    const object = asKubernetesObject(resource.type, resource.inputs, locations);
    if (!object) {
      const kubernetesType = kubernetesTypeOf(resource.type);
      if (kubernetesType && isObject(resource.inputs)) uncovered.push({ ...resource.inputs, ...kubernetesType } as JsonObject);
      continue;
    }
    for (const use of extractImages([object], locations)) {
      const origin = prePullDefaultOrigin(object, use.path, use.image);
      record({ image: use.image, object: `${use.object.kind}/${use.object.name}`, path: use.path, source: `${resource.type} "${resource.name}"`, ...(origin ? { origin } : {}) });
      count++;
    }
  }
  if (objectsDir !== undefined && uncovered.length > 0) {
    fs.mkdirSync(objectsDir, { recursive: true });
    // JSON documents are YAML documents: the manifest loader reads them with their lines.
    fs.writeFileSync(path.join(objectsDir, PULUMI_OBJECTS_FILE), uncovered.map((o) => JSON.stringify(o, null, 2)).join('\n---\n'));
  }
  return count;
}

/** The Kubernetes object a `kubernetes:<group>/<version>:<Kind>` resource's inputs describe, for kinds that hold images. */
function asKubernetesObject(type: string, inputs: Record<string, unknown>, locations: ImageLocations): JsonObject | undefined {
  if (!isWorkloadType(type, locations) || !isObject(inputs)) return undefined;
  return { ...inputs, ...kubernetesTypeOf(type) } as JsonObject;
}

/** A resource as the mocks or `pulumi preview` give it. */
export interface ProgramResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, any>;
  readonly secretPaths?: readonly string[];
}

/** Writes the Kubernetes resources to `outdir` (`<Kind>.<name>.yaml`); returns how many. */
export function writeResourceManifests(resources: readonly ProgramResource[], outdir: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  fs.mkdirSync(outdir, { recursive: true });
  let count = 0;
  for (const resource of resources) {
    const kubernetesType = kubernetesTypeOf(resource.type);
    if (!resource.custom || !kubernetesType || kubernetesType.kind === 'Secret') continue;
    const { kind } = kubernetesType;
    const inputs = structuredClone(resource.inputs);
    for (const p of resource.secretPaths ?? []) setPath(inputs, p, '[secret]');
    const object = { ...kubernetesType, ...withoutTypeFields(inputs) };
    const file = path.join(outdir, `${String(++count).padStart(4, '0')}-${kind}.${resource.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.yaml`);
    fs.writeFileSync(file, `# ${resource.type} "${resource.name}"\n${YAML.stringify(object)}`);
  }
  return count;
}

function withoutTypeFields(inputs: Record<string, any>): Record<string, any> {
  const { apiVersion: _a, kind: _k, ...rest } = inputs;
  return rest;
}

function setPath(object: Record<string, any>, jsonPath: string, value: unknown): void {
  if (jsonPath === '') return;
  const keys = jsonPath.replace(/\[(\d+)\]/g, '.$1').split('.');
  let holder: any = object;
  for (const key of keys.slice(0, -1)) {
    holder = holder?.[key];
    if (holder === undefined || holder === null) return;
  }
  holder[keys[keys.length - 1]] = value;
}

/** A component whose children were not seen: their images are missing from what the run saw. */
export interface UnseenComponent {
  /** Pulumi type token, e.g. `kubernetes:helm.sh/v4:Chart`. */
  readonly type: string;
  /** The component's name. */
  readonly name: string;
  /** Why its children were not seen. */
  readonly reason: string;
  /** How to get its images locked. */
  readonly fix: string;
}

/** The fix every unseen component shares: the engine sees the children. */
export const ENGINE_FIX = 'run `kubepin lock` where the pulumi CLI is on PATH (or give --engine PATH and --stack NAME): it learns the images from `pulumi preview`, whose transform sees the children';

/** A Helm release installed by the provider: Pulumi never sees its objects, under the engine either. */
export const HELM_RELEASE_TYPE = 'kubernetes:helm.sh/v3:Release';

/** Why a Helm Release's objects are never seen, and what to use instead. */
export const HELM_RELEASE_UNSEEN: Pick<UnseenComponent, 'reason' | 'fix'> = {
  reason: 'a Helm release is installed by the provider: neither Pulumi nor kubepin sees its objects, under the engine either, so its images are neither locked nor pinned',
  fix: 'use kubernetes.helm.v4.Chart instead (its children are Pulumi resources the policy pins)',
};
