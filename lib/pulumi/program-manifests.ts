import * as fs from 'fs';
import { writeResourceManifests } from '../core/policy/pulumi-resources';

/* A Pulumi program's Kubernetes resources as manifests (core/policy/pulumi-resources.ts), run under mocks. */

/**
 * Runs the program in `dir` under mocks (not in collect mode: the program's ImagePolicy pins with
 * its lock, strict or not) and writes its resources to `outdir` and the components it could not
 * see to `unseenFile`. What `kubepin verify` runs in a child process.
 */
export async function writeProgramManifests(dir: string, outdir: string, unseenFile: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runProgramUnderMocks } = require('./testing') as typeof import('./testing');
  const { resources, unseen } = await runProgramUnderMocks(dir);
  fs.writeFileSync(unseenFile, JSON.stringify(unseen));
  return writeResourceManifests(resources, outdir);
}
