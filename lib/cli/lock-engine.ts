import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFile } from 'child_process';
import { COLLECT_IMAGES_ENV } from '../core/policy/collect-mode';
import { ImageLocations } from '../core/objects/image-locations';
import { CommandInterruptedError } from './io';
import { AppImages, AppRunError, AppSource, APP_TIMEOUT_ENV, appTimeoutMs, imagesOfRun, indent, run } from './lock-app';
import { HELM_RELEASE_TYPE, HELM_RELEASE_UNSEEN, ProgramResource, UnseenComponent, recordResourceImages } from '../core/policy/pulumi-resources';
import { findOnPath } from '../util/find-on-path';

/*
 * `kubepin lock` in a Pulumi project through Pulumi's own engine: `pulumi preview --json` of the
 * selected stack, with the program in collect mode. The engine runs the provider, so the children
 * of remote components (helm.v4.Chart, yaml.v2, kustomize.v2) are in the preview, and the
 * program's ImagePolicy transform sees them. A preview writes no state.
 */

/** The first pulumi CLI whose transforms reach remote components' children (stable since 3.118.0). */
export const MIN_PULUMI_VERSION = '3.118.0';

/** The pulumi CLI `kubepin lock` uses, and how it was chosen. */
export interface PulumiEngine {
  readonly pulumi: string;
  /** `--stack NAME`, else the stack selected in the project. */
  readonly stack?: string;
  /** True when asked for (`--engine`, `--stack`): then anything that stops the preview fails the lock. */
  readonly explicit: boolean;
}

/** Environment for every pulumi command kubepin runs: no update check (no traffic but the program's own). */
function pulumiEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PULUMI_SKIP_UPDATE_CHECK: 'true', ...env };
}

/**
 * The engine to use: `--engine PATH`, else `pulumi` on PATH; none with `--mocks` or when there is
 * no pulumi CLI. A `pulumi` found on PATH (and no `--stack`) is used only when the project has a
 * selected stack; otherwise the lock runs under mocks and `detail` (--verbose) says why.
 */
export async function chooseEngine(values: { engine?: string; stack?: string; mocks?: boolean }, app: AppSource, env: NodeJS.ProcessEnv, note: (text: string) => void, detail: (text: string) => void = () => undefined): Promise<PulumiEngine | undefined> {
  if (values.mocks) return undefined;
  const explicit = values.engine !== undefined || values.stack !== undefined;
  const pulumi = values.engine !== undefined ? path.resolve(app.dir, values.engine) : findOnPath('pulumi', env);
  if (!pulumi) {
    if (values.stack !== undefined) throw new AppRunError(`--stack ${values.stack} needs the pulumi CLI, and there is none on PATH. Fix: put it on PATH or give it with --engine PATH`);
    return undefined;
  }
  const version = await pulumiVersion(pulumi, app.dir, env);
  if (compareVersions(version, MIN_PULUMI_VERSION) < 0) {
    const message = `the pulumi CLI at ${pulumi} is ${version}, too old for transforms: kubepin needs pulumi ${MIN_PULUMI_VERSION} or later to see the children of remote components (helm.v4.Chart, yaml.v2) in \`pulumi preview\``;
    if (explicit) throw new AppRunError(`${message}. Fix: upgrade the pulumi CLI, or lock under mocks with --mocks`);
    note(`${message}; ran the program under mocks instead. Fix: upgrade the pulumi CLI`);
    return undefined;
  }
  if (!explicit) {
    const selected = await pulumiOutput(pulumi, ['stack', '--show-name', '--non-interactive'], app.dir, env).catch((e: Error) => e);
    if (selected instanceof Error) {
      // The summary says "under mocks" anyway; why is for --verbose.
      detail(`pulumi is on PATH but \`pulumi stack\` has no stack here (${firstLine(selected.message)}); ran the program under mocks. Give --stack NAME to lock from \`pulumi preview\` of a stack, or --mocks to say so`);
      return undefined;
    }
  }
  return { pulumi, ...(values.stack !== undefined ? { stack: values.stack } : {}), explicit };
}

/** `pulumi version` as `3.248.0`. @throws AppRunError when it does not run */
async function pulumiVersion(pulumi: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  let text: string;
  try {
    text = await pulumiOutput(pulumi, ['version'], cwd, env);
  } catch (e) {
    throw new AppRunError(`cannot run ${pulumi} version: ${firstLine((e as Error).message)}. Fix: give a working pulumi CLI with --engine PATH, or lock under mocks with --mocks`);
  }
  const match = /v?(\d+\.\d+\.\d+)/.exec(text);
  if (!match) throw new AppRunError(`${pulumi} version printed ${JSON.stringify(text.trim().slice(0, 80))}, not a version. Fix: give the pulumi CLI with --engine PATH`);
  return match[1];
}

function pulumiOutput(pulumi: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(pulumi, args, { cwd, env: pulumiEnv(env), timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error((stderr || error.message).trim()));
      else resolve(stdout);
    });
  });
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** How `pulumi preview --json` shows a value not known until the update (pulumi's `UnknownStringValue`). */
const UNKNOWN_VALUE = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** What `pulumi preview --json` prints (the parts read here). */
interface PreviewDigest {
  steps?: Array<{ op?: string; urn?: string; newState?: { type?: string; custom?: boolean; inputs?: Record<string, any> } }>;
  diagnostics?: Array<{ severity?: string; message?: string; urn?: string }>;
}

/** The app as `pulumi preview` runs it, for messages. */
export function engineDescription(engine: PulumiEngine): string {
  return `the Pulumi program (Pulumi.yaml) through \`pulumi preview\`${engine.stack ? ` of stack ${engine.stack}` : ''}`;
}

/**
 * Learns the program's images from `pulumi preview --json --show-sames` of the stack, the program
 * in collect mode (its ImagePolicy, strict or not, records instead of failing). The stack's state
 * is not written (a preview never saves it).
 * @throws AppRunError with the program's or the chart's own message when the preview fails
 */
export async function previewAppImages(app: AppSource, engine: PulumiEngine, env: NodeJS.ProcessEnv, locations: ImageLocations = ImageLocations.DEFAULT): Promise<AppImages> {
  const described = { ...app, description: engineDescription(engine) };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-preview-'));
  try {
    const collectFile = path.join(work, 'images.jsonl');
    const outdir = path.join(work, 'out');
    const unseenFile = path.join(work, 'unseen.json');
    const { resources, unseen } = await previewResources(app, engine, env, work, { [COLLECT_IMAGES_ENV]: collectFile });
    const records: string[] = [];
    recordResourceImages(resources, locations, (image) => {
      // A value the preview does not know yet (an image computed from another resource): pinned at `pulumi up`, once known.
      if (image.image !== UNKNOWN_VALUE) records.push(`${JSON.stringify(image)}\n`);
    }, outdir);
    fs.appendFileSync(collectFile, records.join(''));
    fs.writeFileSync(unseenFile, JSON.stringify(unseen));
    return imagesOfRun(described, collectFile, outdir, locations, unseenFile);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Every resource `pulumi preview --json --show-sames` of the stack will register, and the
 * components whose objects even the engine does not see (a Helm Release). `work` is a scratch
 * directory; `extraEnv` goes to the program (collect mode for the lock).
 * @throws AppRunError with the program's or the chart's own message when the preview fails
 */
export async function previewResources(app: AppSource, engine: PulumiEngine, env: NodeJS.ProcessEnv, work: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ resources: ProgramResource[]; unseen: UnseenComponent[] }> {
  const description = engineDescription(engine);
  const jsonFile = path.join(work, 'preview.json');
  const args = ['preview', '--json', '--show-sames', '--non-interactive', '--cwd', app.dir, ...(engine.stack ? ['--stack', engine.stack] : [])];
  const fd = fs.openSync(jsonFile, 'w');
  const timeoutMs = appTimeoutMs(env);
  let result;
  try {
    // The pulumi CLI's own directory first: its language host and plugins are beside it.
    const childEnv = { ...pulumiEnv(env), ...extraEnv, PATH: `${path.dirname(engine.pulumi)}${path.delimiter}${env.PATH ?? ''}` };
    result = await run(engine.pulumi, args, { cwd: app.dir, env: childEnv, shell: false, stdoutFd: fd }, timeoutMs);
  } finally {
    fs.closeSync(fd);
  }
  if (result.interrupted) throw new CommandInterruptedError(result.interrupted, `stopped by ${result.interrupted} while running ${description}: the preview and everything it started were stopped, nothing was written`);
  if (result.timedOut) throw new AppRunError(`running ${description} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped. Fix: make the program finish, or raise the limit with ${APP_TIMEOUT_ENV}=<milliseconds>`);
  const digest = readDigest(jsonFile);
  if (result.code !== 0 || !digest) throw new AppRunError(previewFailure(description, digest, result.output));
  const resources = (digest.steps ?? []).filter((s) => s.newState?.type && s.op !== 'delete').map((s) => ({
    type: s.newState!.type!,
    name: nameOfUrn(s.urn ?? ''),
    custom: s.newState!.custom !== false,
    inputs: s.newState!.inputs ?? {},
  }));
  // Under the engine only a Helm Release hides its objects (from Pulumi and kubepin alike).
  const unseen: UnseenComponent[] = [];
  for (const r of resources.filter((x) => x.type === HELM_RELEASE_TYPE)) unseen.push({ type: r.type, name: r.name, ...HELM_RELEASE_UNSEEN });
  return { resources, unseen };
}

function readDigest(file: string): PreviewDigest | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trim() === '' ? undefined : (JSON.parse(text) as PreviewDigest);
  } catch {
    return undefined;
  }
}

/** A failed preview, said with the program's (or the chart's) own messages, without stack traces. */
function previewFailure(description: string, digest: PreviewDigest | undefined, stderr: string): string {
  const errors = (digest?.diagnostics ?? []).filter((d) => d.severity === 'error' && d.message).map((d) => {
    const where = d.urn ? `${typeOfUrn(d.urn)} "${nameOfUrn(d.urn)}": ` : '';
    return `${where}${withoutStackTrace(d.message!)}`;
  });
  const shown = errors.length > 0 ? errors.join('\n') : withoutStackTrace(stderr) || 'no message';
  return `running ${description} to learn its images failed:\n${indent(shown)}\nFix: make \`pulumi preview\` succeed (the same error shows there), or lock under mocks with --mocks`;
}

/** Drops the stack frames (`    at f (file:1:2)`) and pulumi's own hints from a message. */
function withoutStackTrace(message: string): string {
  return message.split('\n').filter((l) => !/^\s+at .+/.test(l) && !/^\s*$/.test(l)).join('\n').trim();
}

/** `urn:pulumi:stack::project::parent$type::name` → `name`. */
function nameOfUrn(urn: string): string {
  const i = urn.lastIndexOf('::');
  return i === -1 ? urn : urn.slice(i + 2);
}

function typeOfUrn(urn: string): string {
  const parts = urn.split('::');
  return parts.length >= 4 ? parts[parts.length - 2].split('$').pop()! : '';
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}
