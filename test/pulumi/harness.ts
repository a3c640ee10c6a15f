import * as pulumi from '@pulumi/pulumi';

/** One resource the program registered, as the engine would receive it. */
export interface CapturedResource {
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  /** The resource's logical name. */
  readonly name: string;
  /** True for custom (provider) resources, false for components. */
  readonly custom: boolean;
  /** The inputs, with every Output resolved and secrets unwrapped (what the provider would get). */
  readonly inputs: Record<string, any>;
  /** JSON paths of the inputs Pulumi holds as secrets (encrypted in state, hidden in diffs). */
  readonly secretPaths: string[];
  /** URNs of the resources this one depends on, as sent to the engine (`dependsOn` and input dependencies). */
  readonly dependencies: string[];
  /** `customTimeouts` as sent to the engine, when set. */
  readonly customTimeouts?: { create?: string; update?: string; delete?: string };
}

// The wire form of a secret value (pulumi/sdk rpc.ts `specialSigKey` / `specialSecretSig`).
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

function unwrapSecrets(value: unknown, path: string, secrets: string[]): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secrets));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (record[SIG_KEY] === SECRET_SIG) {
    secrets.push(path);
    return unwrapSecrets(record.value, path, []);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, secrets);
  return out;
}

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
export function yamlDecode(text: string): unknown[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  return YAML.parseAllDocuments(text).map((d) => d.toJSON()).filter((d) => d !== null && d !== undefined);
}

/**
 * Runs `program` as a Pulumi program under `pulumi.runtime.setMocks` inside a fresh stack and
 * captures every registered resource's inputs. Mocks are set before the program runs; programs that
 * import modules at load time should `require` them inside `program` (or use `jest.isolateModules`).
 * Rejects with the program's error (or the first failed registration's).
 */
export async function runProgram(
  program: (context: ProgramContext) => unknown,
  options: { preview?: boolean; calls?: Record<string, (inputs: Record<string, any>) => Record<string, unknown>> } = {},
): Promise<ProgramRun> {
  const resources: CapturedResource[] = [];
  const logs: string[] = [];
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      const secretPaths: string[] = [];
      const inputs = unwrapSecrets(args.inputs, '', secretPaths);
      resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs, secretPaths, dependencies: [] });
      return { id: args.custom === false ? undefined : `${args.name}-id`, state: args.inputs };
    },
    call: (args) => {
      if (args.token === 'kubernetes:yaml:decode') return { result: yamlDecode(args.inputs.text) };
      const call = options.calls?.[args.token];
      if (call) return call(args.inputs);
      throw new Error(`unexpected invoke ${args.token} in a kubepin test`);
    },
  }, 'kubepin-test', 'test', options.preview ?? false);
  // The mock passes only type, name and inputs to newResource: read the rest of the request here.
  const requests = new Map<string, { dependencies: string[]; customTimeouts?: { create?: string; update?: string; delete?: string } }>();
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, cb: unknown): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: unknown) => {
    const t = req.getCustomtimeouts?.();
    requests.set(`${req.getType()}::${req.getName()}`, {
      dependencies: req.getDependenciesList(),
      ...(t ? { customTimeouts: Object.fromEntries(Object.entries({ create: t.getCreate(), update: t.getUpdate(), delete: t.getDelete() }).filter(([, v]) => v)) } : {}),
    });
    return register(req, cb);
  };
  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on('unhandledRejection', onRejection);
  const restores: Array<() => void> = [];
  const captureLogs = (sdk: typeof pulumi) => {
    const original = { warn: sdk.log.warn, info: sdk.log.info, error: sdk.log.error };
    for (const level of ['warn', 'info', 'error'] as const) {
      (sdk.log as any)[level] = (msg: string) => { logs.push(`${level}: ${msg}`); return Promise.resolve(); };
    }
    restores.push(() => Object.assign(sdk.log, original));
  };
  captureLogs(pulumi);
  const context: ProgramContext = {
    loadProgram(modulePath: string) {
      jest.isolateModules(() => {
        // A fresh copy of the SDK shares the runtime state (it is global) but has its own log module.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        captureLogs(require('@pulumi/pulumi'));
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(modulePath);
      });
    },
  };
  let programError: unknown;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      // Caught here so the stack still completes (as the language host reports a program error),
      // instead of leaving the stack's own promises rejected and unhandled.
      try {
        await program(context);
      } catch (e) {
        programError = e;
      }
      return {};
    });
    // Internal to the SDK (not in its typings), but it is what the language host awaits too.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  } finally {
    // A failed registration rethrows after releasing the RPC queue: give Node the ticks it needs
    // to report that rejection before the handler goes.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    for (const restore of restores) restore();
    // Leave no stack behind: code running after this is outside any Pulumi program again.
    (require('@pulumi/pulumi/runtime/state') as { setStackResource(s: unknown): void }).setStackResource(undefined);
    process.off('unhandledRejection', onRejection);
  }
  if (programError !== undefined) throw programError;
  if (failures.length > 0) throw failures[0];
  return { resources: resources.map((r) => ({ ...r, ...(requests.get(`${r.type}::${r.name}`) ?? { dependencies: [] }) })), logs };
}
