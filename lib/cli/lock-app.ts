import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubepinError } from '../util/errors';
import { COLLECT_IMAGES_ENV, CollectedImage, ImageRecordError, readImageRecords } from '../core/policy/collect-mode';
import { CommandInterruptedError, STOP_SIGNALS } from './io';
import { ImageReference } from '../core/names/image-reference';
import { lockReferenceOf } from '../core/lock/image-lock';
import { LoadedManifests, loadManifests } from '../core/manifests/manifests';
import { ManifestImages, addImageLocation, collectImages, emptyImages } from '../registry/lock-images';
import { ImageLocations } from '../core/objects/image-locations';
import type { UnseenComponent } from '../core/policy/pulumi-resources';

/** Running the app to learn its images failed (its own output is in the message). */
export class AppRunError extends KubepinError {}

/** Which app `kubepin lock` runs when given no paths. */
export interface AppSource {
  /** `cdk8s` (an `app` command from cdk8s.yaml or `--app`) or `pulumi` (a nodejs program run under mocks). */
  readonly kind: 'cdk8s' | 'pulumi';
  /** The project directory. */
  readonly dir: string;
  /** What is run, for messages: the command, or the Pulumi program directory. */
  readonly description: string;
  /** The shell command (cdk8s). */
  readonly command?: string;
}

/** The images an app uses, learned by running it. */
export interface AppImages {
  /** The images, located by construct path or Pulumi resource (or synthesized file). */
  readonly images: ManifestImages;
  /** Problems reading what the app synthesized. */
  readonly manifests: LoadedManifests;
  /** Lines of the app's image records that are not records, each with what is wrong and the fix: the images they held are unknown. */
  readonly recordProblems: string[];
  /** Components of a Pulumi program whose children were not seen: their images are missing. */
  readonly unseen: UnseenComponent[];
}

/**
 * The app in `dir`: `--app` when given, else the `app` command of cdk8s.yaml, else the nodejs
 * program of Pulumi.yaml; `undefined` when there is none.
 */
export function findApp(dir: string, appOption: string | undefined): AppSource | undefined {
  if (appOption !== undefined) return { kind: 'cdk8s', dir, command: appOption, description: `\`${appOption}\`` };
  const cdk8sConfig = path.join(dir, 'cdk8s.yaml');
  if (fs.existsSync(cdk8sConfig)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const YAML = require('yaml') as typeof import('yaml');
    let config: { app?: unknown };
    try {
      config = (YAML.parse(fs.readFileSync(cdk8sConfig, 'utf8')) ?? {}) as { app?: unknown };
    } catch (e) {
      throw new AppRunError(`${cdk8sConfig}: not valid YAML (${(e as Error).message.split('\n')[0]}). Fix: correct it, or give the command with --app`);
    }
    if (typeof config.app !== 'string' || config.app.trim() === '') {
      throw new AppRunError(`${cdk8sConfig} has no "app" command (the one \`cdk8s synth\` runs). Fix: add it (e.g. \`app: npx ts-node main.ts\`), or give the command with --app`);
    }
    return { kind: 'cdk8s', dir, command: config.app, description: `\`${config.app}\` (cdk8s.yaml)` };
  }
  if (fs.existsSync(path.join(dir, 'Pulumi.yaml'))) return { kind: 'pulumi', dir, description: 'the Pulumi program (Pulumi.yaml) under mocks' };
  return undefined;
}

/**
 * Runs the app in collect mode and returns every image it uses. A cdk8s app runs as
 * `cdk8s synth` runs it (through the shell, `CDK8S_OUTDIR` set) but into a temporary directory,
 * never the project's output; a Pulumi program runs under the runtime's mocks. Both run with
 * `KUBEPIN_COLLECT_IMAGES` set, so every `ImagePolicy` (strict or not) records the images it
 * sees and fails nothing for images missing from the lock; any other failure fails this.
 */
export async function collectAppImages(app: AppSource, env: NodeJS.ProcessEnv, locations: ImageLocations = ImageLocations.DEFAULT, configFile?: string): Promise<AppImages> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-lock-'));
  try {
    const collectFile = path.join(work, 'images.jsonl');
    const outdir = path.join(work, 'out');
    const unseenFile = path.join(work, 'unseen.json');
    const childEnv: NodeJS.ProcessEnv = { ...env, [COLLECT_IMAGES_ENV]: collectFile };
    let command: string;
    let args: string[];
    if (app.kind === 'cdk8s') {
      Object.assign(childEnv, { CDK8S_OUTDIR: outdir, CDK8S_RECORD_CONSTRUCT_METADATA: 'false' });
      command = app.command!;
      args = [];
    } else {
      command = process.execPath;
      args = [...typeScriptHook(), '-e', PULUMI_RUNNER, path.join(__dirname, '..', 'pulumi', 'collect-images'), app.dir, outdir, unseenFile, ...(configFile !== undefined ? [configFile] : [])];
    }
    const timeoutMs = appTimeoutMs(env);
    const result = await run(command, args, { cwd: app.dir, env: childEnv, shell: app.kind === 'cdk8s' }, timeoutMs);
    if (result.interrupted) {
      throw new CommandInterruptedError(result.interrupted, `stopped by ${result.interrupted} while running ${app.description}: the app and everything it started were stopped, nothing was locked`);
    }
    if (result.timedOut) {
      throw new AppRunError(`running ${app.description} to learn its images did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped:\n${indent(result.output)}\nFix: make the app finish (does it wait for input or a network?), raise the limit with ${APP_TIMEOUT_ENV}=<milliseconds>, or give \`kubepin lock\` the manifests to read instead`);
    }
    if (result.code !== 0) {
      // The app stopped on its image policy's findings (each with its fix): those alone, not a generic fix.
      if (isPolicyFindingsOutput(result.output)) {
        throw new AppRunError(`running ${app.description} to learn its images stopped on its image policy's errors:\n${result.output.replace(/\(KUBEPIN_DEBUG=1 shows the stack trace\)$/, '(--debug shows the stack trace)')}`);
      }
      throw new AppRunError(`running ${app.description} to learn its images failed (exit ${result.code}):\n${indent(result.output)}\nFix: make the ${app.kind === 'pulumi' ? 'program' : 'app'} run (${app.kind === 'pulumi' ? '`pulumi preview`' : '`cdk8s synth`'} or the program's own tests show the same error), or give \`kubepin lock\` the manifests to read instead`);
    }
    return imagesOfRun(app, collectFile, outdir, locations, unseenFile);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * What one run of the app recorded: its image records (`collectFile`), the images of what it
 * wrote to `outdir` (a cdk8s app's synthesized YAML, a Pulumi program's uncovered resources), and
 * the components it could not see (`unseenFile`, Pulumi only).
 */
export function imagesOfRun(app: AppSource, collectFile: string, outdir: string, locations: ImageLocations, unseenFile: string): AppImages {
  const images = emptyImages();
  const seen = new Set<string>();
  const records = readAppRecords(app, collectFile);
  const collected = records.images;
  // A use recorded with its construct path or resource makes the same use recorded without one redundant.
  const placed = new Set(collected.filter((u) => u.source !== undefined).map((u) => `${u.image}\0${u.object}\0${u.path}`));
  for (const used of collected) {
    if (used.source === undefined && placed.has(`${used.image}\0${used.object}\0${used.path}`)) continue;
    const location = { image: used.image, file: used.source ?? used.object, line: 0, object: used.object, path: used.path, ...(used.origin !== undefined ? { origin: used.origin } : {}) };
    addImageLocation(images, location);
    seen.add(keyOf(used.image));
  }
  // Objects no policy governs (a chart without one, plain ApiObjects) are in the synthesized YAML;
  // a Pulumi program's resources of kinds no location covers are written there too (collect-images.ts).
  const manifests = fs.existsSync(outdir) ? loadManifests([outdir]) : { documents: [], problems: [], files: [] };
  const synthesized = collectImages(manifests.documents, undefined, locations);
  for (const location of synthesized.locations) {
    if (seen.has(keyOf(location.image))) continue;
    addImageLocation(images, { ...location, file: `synthesized ${path.relative(outdir, location.file)}`, line: 0 });
  }
  // Images of kinds no location covers stay unpinned: said once per kind, as at synth.
  const kinds = new Set<string>();
  for (const u of synthesized.unlocated) {
    if (kinds.has(u.kind)) continue;
    kinds.add(u.kind);
    // A Pulumi program's resources were written there by kubepin, not by the program: name the program.
    const location = app.kind === 'pulumi' ? { file: app.description, line: 0 } : { file: `synthesized ${path.relative(outdir, u.location.file)}`, line: u.location.line };
    images.unlocated.push({ ...u, location: { ...u.location, ...location } });
  }
  return {
    images,
    unseen: readUnseen(unseenFile),
    manifests: { ...manifests, problems: manifests.problems.map((p) => ({ ...p, file: `synthesized ${path.relative(outdir, p.file)}` })) },
    recordProblems: records.problems,
  };
}

/** The components a Pulumi run could not see, as its runner wrote them (none when it wrote nothing). */
function readUnseen(file: string): UnseenComponent[] {
  if (!fs.existsSync(file)) return [];
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  return Array.isArray(parsed) ? (parsed as UnseenComponent[]) : [];
}

/** How many unreadable record lines are named one by one. */
const MAX_RECORD_PROBLEMS_SHOWN = 10;

/** The app's image records: a file that cannot be one fails the run; a bad line is a problem naming it. */
function readAppRecords(app: AppSource, file: string): { images: CollectedImage[]; problems: string[] } {
  const fix = `Fix: run \`kubepin lock\` again; if it persists, make sure nothing in the app but kubepin writes to the file ${COLLECT_IMAGES_ENV} names`;
  let read: ReturnType<typeof readImageRecords>;
  try {
    read = readImageRecords(file);
  } catch (e) {
    if (e instanceof ImageRecordError) throw new AppRunError(`running ${app.description} to learn its images: ${e.message.replace(`${file}: `, '')}. ${fix}`);
    throw e;
  }
  // A file of junk is a handful of lines said, not a million.
  const shown = read.problems.slice(0, MAX_RECORD_PROBLEMS_SHOWN).map((p) => `${app.description} recorded its images with line ${p.line} unreadable (${p.message}); the images on it are unknown. ${fix}`);
  const more = read.problems.length - shown.length;
  return { images: read.images, problems: more > 0 ? [...shown, `${more} more lines of the image records of ${app.description} are unreadable`] : shown };
}

/** The child that runs a Pulumi program under mocks: argv = [module of collectProgramImages, program dir, kubepin.config.json?]. */
const PULUMI_RUNNER = `
const [modulePath, dir, outdir, unseenFile, configFile] = process.argv.slice(1);
require(modulePath).collectProgramImages(dir, configFile, outdir, unseenFile).then(
  () => process.exit(0),
  (e) => { process.stderr.write(String(e && e.message ? e.message : e) + '\\n'); process.exit(1); },
);`;

/** When kubepin itself runs from TypeScript sources (its own tests), the child needs the same compiler hook. */
function typeScriptHook(): string[] {
  if (!__filename.endsWith('.ts')) return [];
  const register = path.join(__dirname, '..', '..', 'scripts', 'ts-register.js');
  return fs.existsSync(register) ? ['-r', register] : [];
}

function keyOf(image: string): string {
  const ref = ImageReference.tryParse(image);
  return (ref && lockReferenceOf(ref)) ?? image;
}

/** How long the app may run: a hanging app must not hang `kubepin lock` (and CI) for ever. */
export const APP_TIMEOUT_ENV = 'KUBEPIN_APP_TIMEOUT_MS';
const DEFAULT_APP_TIMEOUT_MS = 10 * 60 * 1000;
/** The app's output kept for the error message: its end, where the error is. */
const MAX_OUTPUT_BYTES = 256 * 1024;

export function appTimeoutMs(env: NodeJS.ProcessEnv): number {
  const text = env[APP_TIMEOUT_ENV];
  if (text === undefined || text === '') return DEFAULT_APP_TIMEOUT_MS;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new AppRunError(`${APP_TIMEOUT_ENV}=${JSON.stringify(text.slice(0, 40))} is not a positive whole number of milliseconds. Fix: e.g. ${APP_TIMEOUT_ENV}=900000 for 15 minutes, or unset it (default ${DEFAULT_APP_TIMEOUT_MS / 60000} minutes)`);
  }
  return value;
}

/** After a forwarded signal, how long the app may take to stop before its group is killed. */
const STOP_GRACE_MS = 3000;
/** After the app exited, how long output still arriving (from something it left running) is read. */
const DRAIN_MS = 200;

export interface RunResult {
  readonly code: number;
  readonly output: string;
  readonly timedOut: boolean;
  /** The signal kubepin received (and forwarded) while the app ran. */
  readonly interrupted?: (typeof STOP_SIGNALS)[number];
}

/**
 * Runs the app in its own process group, so a timeout or a signal stops the shell and everything
 * the app started. Ctrl-C, SIGTERM and SIGHUP reach kubepin, not that group: they are forwarded
 * to it (and the group killed if it does not stop within {@link STOP_GRACE_MS}). The run ends when
 * the app itself exits: what it left running is stopped, not waited for, even if it holds stdout.
 */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; shell: boolean; stdoutFd?: number }, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { stdoutFd, ...spawnOptions } = options;
    // With `stdoutFd`, stdout goes to that file (all of it, e.g. `pulumi preview --json`); the output kept is stderr's.
    const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'] });
    let chunks: Buffer[] = [];
    let kept = 0;
    const keep = (c: Buffer) => {
      chunks.push(c);
      kept += c.length;
      if (kept > 2 * MAX_OUTPUT_BYTES) {
        const tail = Buffer.concat(chunks).subarray(-MAX_OUTPUT_BYTES);
        chunks = [tail];
        kept = tail.length;
      }
    };
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // The group is gone (or never formed: the spawn failed).
      }
    };
    let timedOut = false;
    let interrupted: RunResult['interrupted'];
    const timers: NodeJS.Timeout[] = [];
    timers.push(setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, timeoutMs));
    const onSignal = (signal: (typeof STOP_SIGNALS)[number]) => {
      if (interrupted !== undefined) {
        killGroup('SIGKILL'); // A second signal: stop waiting for the app.
        return;
      }
      interrupted = signal;
      killGroup(signal);
      timers.push(setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS));
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    const finish = () => {
      for (const timer of timers) clearTimeout(timer);
      for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
    };
    child.stdout?.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => {
      finish();
      reject(new AppRunError(`cannot run ${command}: ${e.message}`));
    });
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      finish();
      child.stdout?.destroy();
      child.stderr!.destroy();
      const output = Buffer.concat(chunks).subarray(-MAX_OUTPUT_BYTES).toString('utf8').trimEnd();
      resolve({ code: code ?? (signal ? 128 : 1), output, timedOut, ...(interrupted ? { interrupted } : {}) });
    };
    child.on('exit', (code, signal) => {
      // The app is done: whatever it left in its group (a background child holding stdout) goes too.
      killGroup('SIGKILL');
      const drain = setTimeout(() => settle(code, signal), DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drain);
        settle(code, signal);
      });
    });
  });
}

/**
 * True when the app's output ends in an image policy's findings and holds no stack trace (the
 * cdk8s face prints them so in the app cdk8s synth runs; the Pulumi runner prints the message).
 */
function isPolicyFindingsOutput(output: string): boolean {
  return /^kubepin image policy(?::| rejected)/m.test(output) && !/^\s+at .+:\d+:\d+\)?$/m.test(output);
}

export function indent(text: string): string {
  const lines = text.split('\n');
  // The end of a long output is where the error is.
  const shown = lines.length > 60 ? ['…', ...lines.slice(-60)] : lines;
  return shown.map((l) => `  | ${l}`).join('\n');
}
