import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { ExpandContext, HELM_RELEASE_TYPE, UnseenComponent, answerRenderInvoke, componentChildren, expandComponent } from './expand';
import { RenderTools } from './render';
import { findResource } from './resource-tree';

export { UnseenComponent } from './expand';
export { RenderTools } from './render';

/*
 * `kubepin/pulumi/testing`: run a Pulumi program under the runtime's mocks (no Pulumi CLI, no
 * engine, no cloud) and get every resource it registers, as the engine would receive it. For
 * snapshot tests of your own program, and what `kubepin lock` uses to learn a program's images.
 */

/** One resource the program registered, as the engine would receive it. */
export interface MockedResource {
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

/** What {@link runProgramUnderMocks} returns. */
export interface MockedProgramRun {
  /** Every registered resource (the stack included), in registration order. */
  readonly resources: MockedResource[];
  /** Messages the program logged with `pulumi.log` (`warn: …`, `info: …`, `error: …`), in order. */
  readonly logs: string[];
  /**
   * Components whose children this run did not see (a chart from a repository, helm not on PATH,
   * a Helm Release), each with why and how to lock its images: their images are missing from `resources`.
   */
  readonly unseen: UnseenComponent[];
}

/** What a program function given to {@link runProgramUnderMocks} can use. */
export interface MockedProgramContext {
  /** Loads a program module (top-level code, as `pulumi up` runs it), its own files fresh from disk. */
  loadProgram(modulePath: string): void;
  /** Captures the `pulumi.log` output of another copy of the SDK (one a module registry of its own loaded). */
  captureLogs(sdk: typeof pulumi): void;
}

/** Options of {@link runProgramUnderMocks}. */
export interface MockedProgramOptions {
  /** Run as `pulumi preview` (`isDryRun()` true). @default false */
  readonly preview?: boolean;
  /** Project name. @default `name` of the program's Pulumi.yaml, else "project" */
  readonly project?: string;
  /** Stack name. @default the only `Pulumi.<stack>.yaml` beside the program's Pulumi.yaml, else "test" */
  readonly stack?: string;
  /**
   * Stack configuration (`key` or `project:key` → value; other values as JSON). Merged over the
   * plain values of the stack's `Pulumi.<stack>.yaml` when `program` is a path (`secure` values
   * cannot be decrypted without the engine: give them here). @default none
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Answers for invokes, by token. `kubernetes:yaml:decode` is answered already, and
   * `kubernetes:helm:template` (helm.v3.Chart) and `kubernetes:kustomize:directory` are when
   * `expand` is on; an answer given here wins.
   */
  readonly calls?: Record<string, (inputs: Record<string, any>) => Record<string, unknown>>;
  /**
   * Expand the components the provider would (yaml.v2 ConfigFile and ConfigGroup, helm.v4 and
   * v3 charts in a local directory through `helm template`, local kustomize directories through
   * `kustomize build` or `kubectl kustomize`): their children are registered as the program's
   * resources, under the component, so the program's transforms (an `ImagePolicy`) see them.
   * Relative paths are read from the program's directory (a `program` path), else the current one.
   * @default true
   */
  readonly expand?: boolean;
  /** The tools the expansion may run (a path, or `false` for none). @default helm, kustomize and kubectl found on PATH */
  readonly tools?: RenderTools;
}

// The wire form of a secret value (pulumi/sdk rpc.ts `specialSigKey` / `specialSecretSig`).
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** Replaces secret wrappers by their values, recording the JSON path of each in `secrets`. */
function unwrapSecrets(value: unknown, at: string, secrets: string[]): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${at}[${i}]`, secrets));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (record[SIG_KEY] === SECRET_SIG) {
    secrets.push(at);
    return unwrapSecrets(record.value, at, []);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = unwrapSecrets(v, at ? `${at}.${k}` : k, secrets);
  return out;
}

/** Parses YAML like the kubernetes provider's `kubernetes:yaml:decode` invoke (the provider does not run under mocks). */
export function decodeYaml(text: string): unknown[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  return YAML.parseAllDocuments(text).map((d) => d.toJSON()).filter((d) => d !== null && d !== undefined);
}

/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks` inside a fresh stack and returns every
 * registered resource's type, name and inputs (secrets marked). `program` is a function (which
 * may call `context.loadProgram`) or the path of a program: a directory with Pulumi.yaml, or its
 * entry file (TypeScript entries are compiled with the TypeScript support of @pulumi/pulumi).
 * Rejects with the program's error, or the first failed registration's.
 *
 * @example
 * const { resources } = await runProgramUnderMocks('infra');
 * expect(resources.find((r) => r.type === 'kubernetes:apps/v1:Deployment')?.inputs).toMatchSnapshot();
 */
export async function runProgramUnderMocks(program: string | ((context: MockedProgramContext) => unknown), options: MockedProgramOptions = {}): Promise<MockedProgramRun> {
  const entry = typeof program === 'string' ? programEntry(path.resolve(program)) : undefined;
  const project = options.project ?? entry?.project ?? 'project';
  const stack = options.stack ?? (entry ? onlyStack(entry.dir) : undefined) ?? 'test';
  const config = { ...(entry ? stackConfig(entry.dir, stack) : {}), ...(options.config ?? {}) };
  const resources: Array<Omit<MockedResource, 'dependencies'>> = [];
  const logs: string[] = [];
  const unseen: UnseenComponent[] = [];
  const expansionErrors: unknown[] = [];
  const expand = options.expand ?? true;
  const expandContext: ExpandContext = { baseDir: entry?.dir ?? process.cwd(), tools: options.tools ?? {} };
  await pulumi.runtime.setMocks({
    newResource: async (args) => {
      const secretPaths: string[] = [];
      const inputs = unwrapSecrets(args.inputs, '', secretPaths);
      resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs, secretPaths });
      if (expand && (args.custom === false || args.type === HELM_RELEASE_TYPE)) {
        try {
          const expansion = await expandComponent(args.type, args.name, args.inputs, expandContext);
          if (expansion && 'unseen' in expansion) unseen.push({ type: args.type, name: args.name, ...expansion.unseen });
          else if (expansion) registerChildren(args.type, args.name, expansion);
        } catch (e) {
          // The run rejects with it once the program is done; failing the registration instead would
          // leave a rejection the SDK does not hand back (under jest, no handler sees it).
          expansionErrors.push(e);
        }
      }
      return { id: args.custom === false ? undefined : `${args.name}-id`, state: args.inputs };
    },
    call: async (args) => {
      if (args.token === 'kubernetes:yaml:decode') return { result: decodeYaml(args.inputs.text) };
      const call = options.calls?.[args.token];
      try {
        if (call) return call(args.inputs);
        let rendered;
        try {
          rendered = expand ? await answerRenderInvoke(args.token, args.inputs, expandContext) : undefined;
        } catch (e) {
          // As for a component (above): the run rejects with it, the chart meanwhile has no objects.
          expansionErrors.push(e);
          return { result: [] };
        }
        if (rendered) {
          if (rendered.unseen) unseen.push(rendered.unseen);
          return { result: rendered.result };
        }
        throw new Error(`the program invokes ${args.token}, which has no answer under mocks; pass one in options.calls`);
      } catch (e) {
        // The SDK turns a failed invoke into an Error of the gRPC `details` only (runtime/invoke.ts):
        // without them the program would fail with an empty message.
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { details: e instanceof Error ? e.message : String(e) });
      }
    },
  }, project, stack, options.preview ?? false);
  const previousConfig = pulumi.runtime.allConfig();
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [
    key.includes(':') ? key : `${project}:${key}`,
    typeof value === 'string' ? value : JSON.stringify(value),
  ])));
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
  const context: MockedProgramContext = { loadProgram: (modulePath) => loadFresh(modulePath, captureLogs), captureLogs };
  let programError: unknown;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      // Caught here so the stack still completes (as the language host reports a program error),
      // instead of leaving the stack's own promises rejected and unhandled.
      try {
        if (entry) {
          if (entry.typescript) registerTypeScript(entry.dir);
          loadFresh(entry.file, captureLogs);
        } else {
          await (program as (context: MockedProgramContext) => unknown)(context);
        }
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
    pulumi.runtime.setAllConfig(previousConfig);
    // Leave no stack behind: code running after this is outside any Pulumi program again.
    (require('@pulumi/pulumi/runtime/state') as { setStackResource(s: unknown): void }).setStackResource(undefined);
    process.off('unhandledRejection', onRejection);
  }
  if (programError !== undefined) throw programError;
  if (expansionErrors.length > 0) throw expansionErrors[0];
  if (failures.length > 0) throw failures[0];
  return { resources: resources.map((r) => ({ ...r, ...(requests.get(`${r.type}::${r.name}`) ?? { dependencies: [] }) })), logs, unseen };
}

/**
 * Registers a remote component's children as the provider would, parented to the component
 * (found in the stack's resource tree), so the transforms it inherited apply to them.
 */
function registerChildren(type: string, name: string, expansion: Parameters<typeof componentChildren>[1]): void {
  const parent = findResource(pulumi.runtime.getStackResource(), type, name);
  const Custom = pulumi.CustomResource as unknown as new (t: string, n: string, props: unknown, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;
  for (const child of componentChildren(`${type} "${name}"`, expansion)) new Custom(child.type, child.name, child.props, parent ? { parent } : {});
}


/** The stack of the only `Pulumi.<stack>.yaml` in `dir`, if there is exactly one. */
function onlyStack(dir: string): string | undefined {
  const stacks = fs.readdirSync(dir).map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined);
  return stacks.length === 1 ? stacks[0] : undefined;
}

/** The plain (not `secure`) values of `Pulumi.<stack>.yaml` in `dir`. */
function stackConfig(dir: string, stack: string): Record<string, unknown> {
  const file = ['yaml', 'yml'].map((ext) => path.join(dir, `Pulumi.${stack}.${ext}`)).find((f) => fs.existsSync(f));
  if (!file) return {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const values = ((YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
  return Object.fromEntries(Object.entries(values).filter(([, v]) => !(v !== null && typeof v === 'object' && 'secure' in v)));
}

/**
 * Runs the program module `modulePath` afresh (a module runs once per module registry): under jest
 * in an isolated module registry (the program's copy of the SDK then shares the global runtime
 * state, and its log is captured too), elsewhere after dropping the program's own files (not
 * node_modules) from the module cache.
 */
function loadFresh(modulePath: string, captureLogs: (sdk: typeof pulumi) => void): void {
  const file = require.resolve(path.resolve(modulePath));
  const isolate = jestModuleRegistry();
  if (isolate) {
    isolate(() => {
      captureLogs(require('@pulumi/pulumi'));
      require(file);
    });
    return;
  }
  const dir = path.dirname(file);
  for (const cached of Object.keys(require.cache)) {
    if (cached.startsWith(dir + path.sep) && !cached.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[cached];
  }
  require(file);
}

/** `jest.isolateModules` when this module runs under jest (jest passes `jest` to every module it loads). */
function jestModuleRegistry(): ((fn: () => void) => void) | undefined {
  let object: { isolateModules?: (fn: () => void) => void } | undefined;
  try {
    // @ts-ignore -- `jest` exists only in modules jest loads; the build has no jest types.
    object = typeof jest === 'undefined' ? undefined : jest; // eslint-disable-line no-undef
  } catch {
    object = undefined;
  }
  return typeof object?.isolateModules === 'function' ? object.isolateModules.bind(object) : undefined;
}

/** The program a Pulumi.yaml (or an entry file) names. */
export interface ProgramEntry {
  /** The program directory (where Pulumi.yaml is). */
  readonly dir: string;
  /** The entry file. */
  readonly file: string;
  /** `name` of Pulumi.yaml. */
  readonly project?: string;
  /** True when the entry is TypeScript. */
  readonly typescript: boolean;
}

/**
 * Finds the entry of a program as the nodejs language host does: `main` of Pulumi.yaml, else
 * `main` of package.json, else index.ts / index.js. Only the `nodejs` runtime can run here.
 * @throws Error naming Pulumi.yaml and the fix when the runtime is not nodejs or no entry exists.
 */
export function programEntry(target: string): ProgramEntry {
  const stat = fs.statSync(target);
  if (stat.isFile() && path.basename(target) !== 'Pulumi.yaml') {
    return { dir: path.dirname(target), file: target, typescript: /\.[mc]?ts$/.test(target) };
  }
  const dir = stat.isFile() ? path.dirname(target) : target;
  const projectFile = path.join(dir, 'Pulumi.yaml');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const project = (YAML.parse(fs.readFileSync(projectFile, 'utf8')) ?? {}) as { name?: unknown; runtime?: unknown; main?: unknown };
  const runtime = typeof project.runtime === 'string' ? project.runtime : (project.runtime as { name?: unknown } | undefined)?.name;
  if (runtime !== 'nodejs') {
    throw new Error(`${projectFile}: runtime ${JSON.stringify(runtime)} cannot run under kubepin's Pulumi mocks; only the nodejs runtime (TypeScript or JavaScript) can. Fix: give \`kubepin lock\` the manifests or a command (--app) instead`);
  }
  let base = dir;
  let main = typeof project.main === 'string' ? path.resolve(dir, project.main) : undefined;
  if (main && fs.existsSync(main) && fs.statSync(main).isDirectory()) {
    base = main;
    main = undefined;
  }
  if (!main) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(base, 'package.json'), 'utf8')) as { main?: unknown };
      if (typeof pkg.main === 'string') main = path.resolve(base, pkg.main);
    } catch {
      // No package.json: the language host's default.
    }
  }
  main ??= ['index.ts', 'index.js'].map((f) => path.join(base, f)).find((f) => fs.existsSync(f));
  if (!main) throw new Error(`${projectFile}: no program entry (no "main", and no index.ts or index.js in ${base}). Fix: set "main" in Pulumi.yaml`);
  const typescript = /\.[mc]?ts$/.test(main) || (typeof project.runtime === 'object' && (project.runtime as { options?: { typescript?: unknown } }).options?.typescript === true && !main.endsWith('.js'));
  return { dir, file: main, ...(typeof project.name === 'string' ? { project: project.name } : {}), typescript };
}

/** Compiles `.ts` files on require as `pulumi up` does: the TypeScript support that ships with @pulumi/pulumi, no type check. */
function registerTypeScript(dir: string): void {
  if (require.extensions['.ts']) return; // Already registered (ts-node, swc, …).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { tsnodeRequire, typescriptRequire } = (require('@pulumi/pulumi/tsutils') as { typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string } }).typeScriptRequireStrings();
  const tsconfig = path.join(dir, 'tsconfig.json');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require(tsnodeRequire) as { register(options: object): void }).register({
    compiler: typescriptRequire,
    transpileOnly: true,
    skipProject: !fs.existsSync(tsconfig),
    ...(fs.existsSync(tsconfig) ? { project: tsconfig } : {}),
    compilerOptions: { target: 'es2020', module: 'commonjs', moduleResolution: 'node', sourceMap: true },
  });
}
