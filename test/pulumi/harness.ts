import { MockedResource, decodeYaml, runProgramUnderMocks } from '../../lib/pulumi/testing';

/** One resource the program registered, as the engine would receive it. */
export type CapturedResource = MockedResource;

/**
 * The captured resources as YAML for snapshots: sorted by type and name (registration order
 * depends on when each resource's inputs resolve), secret values replaced by `[secret]`, the stack left out.
 */
export function snapshotYaml(resources: readonly CapturedResource[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const sorted = [...resources].sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
  const docs = sorted.filter((r) => r.type !== 'pulumi:pulumi:Stack').map((r) => {
    const inputs = structuredClone(r.inputs);
    for (const p of r.secretPaths) setPath(inputs, p, '[secret]');
    return { type: r.type, name: r.name, inputs };
  });
  // Absolute paths (a ConfigFile's `file`) differ per checkout: show them relative to the repository.
  const repoRoot = require('path').resolve(__dirname, '..', '..') as string;
  return docs.map((d) => YAML.stringify(d, { sortMapEntries: true })).join('---\n').split(repoRoot).join('<repo>');
}

function setPath(object: Record<string, any>, path: string, value: unknown): void {
  const keys = path.split('.');
  let holder = object;
  for (const key of keys.slice(0, -1)) holder = holder[key];
  holder[keys[keys.length - 1]] = value;
}

/** What {@link runProgram} returns. */
export interface ProgramRun {
  /** Every registered resource, in registration order. */
  readonly resources: CapturedResource[];
  /** Messages the program logged with pulumi.log (warn/info/error), in order. */
  readonly logs: string[];
}

/** What a program run by {@link runProgram} can use. */
export interface ProgramContext {
  /**
   * Loads a Pulumi program module (top-level code, like `pulumi up` runs it) in a fresh module
   * registry, after the mocks are set, with its log output captured too.
   */
  loadProgram(modulePath: string): void;
}

/** Parses YAML like the kubernetes provider's `kubernetes:yaml:decode` invoke (the provider cannot run here). */
export const yamlDecode = decodeYaml;

/**
 * Runs `program` under the library's mocks runner (`kubepin/pulumi/testing`); under jest it loads
 * program modules in isolated module registries, so each test gets fresh module state.
 */
export async function runProgram(
  program: (context: ProgramContext) => unknown,
  options: { preview?: boolean; calls?: Record<string, (inputs: Record<string, any>) => Record<string, unknown>> } = {},
): Promise<ProgramRun> {
  return runProgramUnderMocks(program, { ...options, project: 'kubepin-test' });
}
