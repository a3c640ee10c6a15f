import { activeCollector } from '../core/policy/collect-mode';
import { ImageLocations } from '../core/objects/image-locations';
import { recordResourceImages } from '../core/policy/pulumi-resources';
import { CONFIG_FILE_NAME } from '../core/config/project-config';
import * as fs from 'fs';
import * as path from 'path';
import { runProgramUnderMocks } from './testing';

export { PULUMI_OBJECTS_FILE, recordResourceImages } from '../core/policy/pulumi-resources';

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
