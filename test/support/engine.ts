/**
 * Pulumi's real engine for the engine tests: the binaries scripts/install-pulumi-engine.sh built
 * (test/support/global-setup.js runs it and puts its bin directory on PATH), a local file backend in
 * a temporary directory, a passphrase from the environment, and a stack whose Kubernetes provider
 * writes YAML (`kubernetes:renderYamlToDirectory`) instead of talking to a cluster.
 *
 * A missing or failed engine build is a test failure with the build's message, never a skip.
 */
import { SpawnSyncReturns, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

export const REPO = path.resolve(__dirname, '..', '..');

/** The engine's bin directory; throws the build's failure when the engine is not there. */
export function engineBin(): string {
  const bin = process.env.KUBEPIN_ENGINE_BIN;
  const error = process.env.KUBEPIN_ENGINE_ERROR;
  if (error || !bin) {
    throw new Error(`Pulumi's engine is not built, so the engine tests cannot run:\n${error ?? 'test/support/global-setup.js did not run scripts/install-pulumi-engine.sh'}\n` +
      'Build it with: bash scripts/install-pulumi-engine.sh');
  }
  for (const name of ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes', 'helm']) {
    if (!fs.existsSync(path.join(bin, name))) throw new Error(`${path.join(bin, name)} is missing: run bash scripts/install-pulumi-engine.sh`);
  }
  return bin;
}

/** The environment every engine command gets: offline, ambient plugins from the engine's bin directory. */
export function engineEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const bin = engineBin();
  return {
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_SKIP_CONFIRMATIONS: 'true',
    PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? 'kubepin-engine-tests',
    // The provider renders; it must never look for a cluster.
    KUBECONFIG: path.join(home, 'no-kubeconfig'),
    NO_COLOR: '1',
    ...extra,
  };
}

export interface EngineRun {
  /** The project's temporary directory (backend, stack config and rendered YAML are under it). */
  readonly dir: string;
  /** Where the provider wrote the objects. */
  readonly rendered: string;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr of every command, in order, for failure messages. */
  readonly transcript: string;
  /** Runs another pulumi command in the same project, backend and stack. */
  readonly pulumi: (args: string[]) => SpawnSyncReturns<string>;
}

export interface UpOptions {
  /** The program's entry file (absolute), run as the project's `main`. */
  readonly main: string;
  /** Stack configuration (`pulumi config set KEY VALUE`), besides the provider's render directory. */
  readonly config?: Record<string, string>;
  /** Extra environment for the program. */
  readonly env?: Record<string, string>;
  /** Bound for `pulumi up` (ms). */
  readonly timeout?: number;
}

/**
 * `pulumi up --yes` of the program at `main` in a fresh project, backend and stack. The default
 * Kubernetes provider is configured to render (so a program written for a cluster, like
 * examples/pulumi, runs unchanged); programs that make their own provider pass its directory.
 */
export function pulumiUp(options: UpOptions): EngineRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-'));
  const home = path.join(dir, 'home');
  const backend = path.join(dir, 'backend');
  const rendered = path.join(dir, 'rendered');
  const project = path.join(dir, 'project');
  fs.mkdirSync(home);
  fs.mkdirSync(backend);
  fs.mkdirSync(project);
  // The program resolves @pulumi/* (and kubepin's sources, by relative path) from the repository.
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(project, 'node_modules'));
  fs.writeFileSync(path.join(project, 'Pulumi.yaml'), YAML.stringify({
    name: 'kubepin-engine-test',
    runtime: { name: 'nodejs', options: { typescript: true } },
    main: options.main,
  }));
  const env = engineEnv(home, { KUBEPIN_TEST_RENDER_DIR: rendered, ...options.env });
  let transcript = '';
  const run = (args: string[], timeout = 120000) => {
    const r = spawnSync(path.join(engineBin(), 'pulumi'), [...args, '--non-interactive'], { cwd: project, env, encoding: 'utf8', timeout });
    transcript += `$ pulumi ${args.join(' ')}\n${r.stdout}${r.stderr}${r.error ? `${r.error}\n` : ''}`;
    return r;
  };
  const must = (args: string[]) => {
    const r = run(args);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(' ')} failed (${r.status}):\n${transcript}`);
  };
  must(['login', `file://${backend}`]);
  must(['stack', 'init', 'test']);
  must(['config', 'set', 'kubernetes:renderYamlToDirectory', rendered]);
  for (const [key, value] of Object.entries(options.config ?? {})) must(['config', 'set', key, value]);
  const up = run(['up', '--yes', '--skip-preview', '--color', 'never'], options.timeout ?? 240000);
  return { dir, rendered, status: up.status, stdout: up.stdout, stderr: up.stderr, transcript, pulumi: (args) => run(args) };
}

/**
 * The rendered objects with the engine's auto-naming undone: an object the provider named (annotation
 * `pulumi.com/autonamed`) loses that name and annotation, and `names[i]` is its Pulumi resource name
 * (from `pulumi stack export`), as test/parity/normalize.ts takes it.
 */
export function renderedWithResourceNames(run: EngineRun): { objects: Record<string, any>[]; names: (string | undefined)[] } {
  const exported = run.pulumi(['stack', 'export']);
  if (exported.status !== 0) throw new Error(`pulumi stack export failed:\n${exported.stdout}${exported.stderr}`);
  const byKey = new Map<string, string>();
  for (const r of JSON.parse(exported.stdout).deployment.resources ?? []) {
    if (!r.custom || !String(r.type).startsWith('kubernetes:') || !r.outputs?.metadata) continue;
    byKey.set(objectKey(r.outputs), String(r.urn).split('::').pop()!);
  }
  const objects = renderedObjects(run.rendered);
  const names = objects.map((o) => {
    const annotations = o.metadata?.annotations;
    if (annotations?.['pulumi.com/autonamed'] !== 'true') return undefined;
    const name = byKey.get(objectKey(o));
    delete annotations['pulumi.com/autonamed'];
    if (Object.keys(annotations).length === 0) delete o.metadata.annotations;
    delete o.metadata.name;
    return name;
  });
  return { objects, names };
}

/** Every object the provider rendered under `dir` (0-crd/ and 1-manifest/), parsed. */
export function renderedObjects(dir: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(e.name)) {
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(full, 'utf8'))) {
          const o = doc.toJSON();
          if (o) out.push(o);
        }
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** `kind/namespace/name` of an object, for lookups and messages. */
export function objectKey(o: Record<string, any>): string {
  return `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
