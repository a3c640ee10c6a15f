import { CollectedImage, activeCollector } from '../core/policy/collect-mode';
import { JsonObject, extractImages, isObject } from '../core/objects/pod-templates';
import { isWorkloadType, kubernetesTypeOf } from './pin';
import { ImageLocations } from '../core/objects/image-locations';
import { CONFIG_FILE_NAME } from '../core/config/project-config';
import * as fs from 'fs';
import * as path from 'path';
import { runProgramUnderMocks } from './testing';
import { prePullDefaultOrigin } from '../core/policy/prepull-helpers';

/** The manifest file of the resources no image location covers, in the objects directory. */
export const PULUMI_OBJECTS_FILE = 'uncovered-resources.yaml';

/**
 * Runs the Pulumi program in `dir` under mocks and records the images of every resource (kubepin
 * components and plain `@pulumi/kubernetes` objects alike, custom resources where the project's
 * `kubepin.config.json` says where their images are) with the process's image collector.
 * `kubepin lock` runs this in a child process with `KUBEPIN_COLLECT_IMAGES` set, so policies in
 * the program (strict or not) fail nothing for images missing from the lock. Resources of kinds no
 * image location covers (a Tekton `Task`) are written to `objectsDir` as manifests, where `kubepin
 * lock` finds their images as it finds them in a cdk8s app's synthesized output, and names them.
 * The components whose children could not be seen are written to `unseenFile` (JSON).
 */
export async function collectProgramImages(dir: string, configFile: string = path.join(dir, CONFIG_FILE_NAME), objectsDir?: string, unseenFile?: string): Promise<number> {
  const collector = activeCollector();
  if (!collector) throw new Error('collectProgramImages runs only in collect mode (KUBEPIN_COLLECT_IMAGES set)');
  const { resources, unseen } = await runProgramUnderMocks(dir);
  // The components whose children the mocks could not expand: `kubepin lock` names them and counts them as not seen.
  if (unseenFile !== undefined) fs.writeFileSync(unseenFile, JSON.stringify(unseen));
  // The project's own image locations (custom resources), as `kubepin lock` reads them.
  return recordResourceImages(resources, ImageLocations.forConfigFile(configFile), (image) => collector.record(image), objectsDir);
}

/**
 * Records the images of Kubernetes `resources` (type, name, inputs; components are skipped) with
 * `record`, and writes those of kinds no image location covers to `objectsDir` as manifests.
 * Shared by the run under mocks and `pulumi preview` (lib/cli/lock-engine.ts). Returns how many uses it recorded.
 */
export function recordResourceImages(resources: ReadonlyArray<{ type: string; name: string; custom: boolean; inputs: Record<string, any> }>, locations: ImageLocations, record: (image: CollectedImage) => void, objectsDir?: string): number {
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
