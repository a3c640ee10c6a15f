import * as fs from 'fs';
import * as path from 'path';

/*
 * A Pulumi program's Kubernetes resources as manifests, for `kubepin verify` and `kubepin check`
 * in a Pulumi project: each custom resource of a `kubernetes:<group>/<version>:<Kind>` type, its
 * inputs as the engine receives them (after the program's ImagePolicy), one file per resource.
 * Secrets are never written: Secret objects are left out and secret inputs replaced.
 */

/** A resource as the mocks or `pulumi preview` give it. */
export interface ProgramResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, any>;
  readonly secretPaths?: readonly string[];
}

const K8S_TYPE = /^kubernetes:([a-z0-9.-]+)\/(v[0-9a-z]+):([A-Za-z0-9]+)$/;

/** Writes the Kubernetes resources to `outdir` (`<Kind>.<name>.yaml`); returns how many. */
export function writeResourceManifests(resources: readonly ProgramResource[], outdir: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  fs.mkdirSync(outdir, { recursive: true });
  let count = 0;
  for (const resource of resources) {
    const match = K8S_TYPE.exec(resource.type);
    if (!resource.custom || !match) continue;
    const [, group, version, rawKind] = match;
    const kind = rawKind.replace(/Patch$/, '');
    if (kind === 'Secret') continue;
    const inputs = structuredClone(resource.inputs);
    for (const p of resource.secretPaths ?? []) setPath(inputs, p, '[secret]');
    const object = { apiVersion: group === 'core' ? version : `${group}/${version}`, kind, ...withoutTypeFields(inputs) };
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
