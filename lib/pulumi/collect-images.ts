import { activeCollector } from '../image-collector';
import { JsonObject, extractImages, isObject } from '../workloads';
import { isWorkloadType } from './pin';
import { runProgramUnderMocks } from './testing';

/**
 * Runs the Pulumi program in `dir` under mocks and records the images of every resource (kubepin
 * components and plain `@pulumi/kubernetes` objects alike) with the process's image collector.
 * `kubepin lock` runs this in a child process with `KUBEPIN_COLLECT_IMAGES` set, so policies in
 * the program (strict or not) fail nothing for images missing from the lock.
 */
export async function collectProgramImages(dir: string): Promise<number> {
  const collector = activeCollector();
  if (!collector) throw new Error('collectProgramImages runs only in collect mode (KUBEPIN_COLLECT_IMAGES set)');
  const { resources } = await runProgramUnderMocks(dir);
  let count = 0;
  for (const resource of resources) {
    const object = asKubernetesObject(resource.type, resource.inputs);
    if (!object) continue;
    for (const use of extractImages([object])) {
      collector.record({ image: use.image, object: `${use.object.kind}/${use.object.name}`, path: use.path, source: `${resource.type} "${resource.name}"` });
      count++;
    }
  }
  return count;
}

/** The Kubernetes object a `kubernetes:<group>/<version>:<Kind>` resource's inputs describe, for workload kinds. */
function asKubernetesObject(type: string, inputs: Record<string, unknown>): JsonObject | undefined {
  if (!isWorkloadType(type) || !isObject(inputs)) return undefined;
  const [, groupVersion, kind] = type.split(':');
  const apiVersion = groupVersion.startsWith('core/') ? groupVersion.slice('core/'.length) : groupVersion;
  return { ...inputs, apiVersion, kind: kind.replace(/Patch$/, '') } as JsonObject;
}
