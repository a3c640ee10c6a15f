import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubepinError } from '../util/errors';
import { findOnPath } from '../util/find-on-path';
import { flattenObjects } from '../core/objects/pod-templates';

/*
 * What `kubepin lock` and `kubepin/pulumi/testing` run themselves, under mocks, in place of the
 * kubernetes provider: read YAML files (with globs), `helm template` a local chart, `kustomize
 * build` a local directory. Each returns the objects, or throws RenderError with the tool's message.
 */

/** A chart or kustomization failed to render (the tool's own message is in it). */
export class RenderError extends KubepinError {}

/** The tools the expansion may run: a path, `false` for "do not use", or undefined to find it on PATH. */
export interface RenderTools {
  readonly helm?: string | false;
  readonly kustomize?: string | false;
  readonly kubectl?: string | false;
}

/** How long one `helm template` or `kustomize build` may take. */
const RENDER_TIMEOUT_MS = 120_000;
/** Most output read from one render. */
const MAX_RENDER_BYTES = 64 * 1024 * 1024;

/** The tool to run: the one given, or the one on PATH; undefined when there is none (or it is turned off). */
export function toolPath(tools: RenderTools, name: keyof RenderTools): string | undefined {
  const given = tools[name];
  if (given === false) return undefined;
  return given ?? findOnPath(name);
}

/** Parses every YAML document of `text` (empty ones dropped), `List`s flattened to their items. */
export function parseObjects(text: string, where: string): Record<string, unknown>[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const documents: unknown[] = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new RenderError(`${where}: not valid YAML (${doc.errors[0].message.split('\n')[0]})`);
    documents.push(doc.toJSON());
  }
  return flattenObjects(documents);
}

/** True for a path pattern (`*`, `?`, `[`). */
function isPattern(text: string): boolean {
  return /[*?[]/.test(text);
}

/** A glob segment as a regular expression (`*`, `?`, `[...]`). */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The files a pattern (`manifests/*.yaml`, `**` for any depth) matches under `base`, sorted. */
export function globFiles(pattern: string, base: string): string[] {
  const absolute = path.resolve(base, pattern);
  if (!isPattern(pattern)) return [absolute];
  const root = path.parse(absolute).root;
  const segments = absolute.slice(root.length).split(path.sep);
  const found = new Set<string>();
  const walk = (dir: string, rest: string[]): void => {
    if (rest.length === 0) {
      if (fs.existsSync(dir) && fs.statSync(dir).isFile()) found.add(dir);
      return;
    }
    const [head, ...tail] = rest;
    if (head === '**') {
      walk(dir, tail);
      for (const entry of readDir(dir)) if (entry.isDirectory()) walk(path.join(dir, entry.name), rest);
      return;
    }
    if (!isPattern(head)) {
      walk(path.join(dir, head), tail);
      return;
    }
    const re = segmentRegExp(head);
    for (const entry of readDir(dir)) if (re.test(entry.name)) walk(path.join(dir, entry.name), tail);
  };
  walk(root, segments);
  return [...found].sort();
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** True for a file reference the provider would fetch (`https://…`). */
export function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** The objects of the YAML files (or patterns) `files`, relative to `base`. @throws RenderError for a file that cannot be read */
export function readYamlFiles(files: readonly string[], base: string, label: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const pattern of files) {
    const matched = globFiles(pattern, base);
    if (matched.length === 0 && isPattern(pattern)) throw new RenderError(`${label}: the pattern ${JSON.stringify(pattern)} matches no file (in ${base}). Fix: correct it, or run from the program's directory`);
    for (const file of matched) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new RenderError(`${label}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix: correct the path (relative paths are read from the program's directory)`);
      }
      out.push(...parseObjects(text, `${label}: ${file}`));
    }
  }
  return out;
}

/** Runs `command args` and returns its stdout. @throws RenderError with `label`, the command and its stderr */
export function runTool(command: string, args: string[], label: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: RENDER_TIMEOUT_MS, maxBuffer: MAX_RENDER_BYTES, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const shown = [path.basename(command), ...args].join(' ');
      const message = (stderr || error.message).trim().split('\n').slice(-20).join('\n');
      const why = (error as { killed?: boolean }).killed ? `did not finish within ${RENDER_TIMEOUT_MS / 1000} s` : `failed: ${message}`;
      reject(new RenderError(`${label}: \`${shown}\` ${why}`));
    });
  });
}

/** What `helm template` is given. */
export interface HelmTemplateRequest {
  readonly release: string;
  readonly chart: string;
  readonly namespace?: string;
  /** Value files (YAML), applied in order, then {@link valueTexts}, then `values`. */
  readonly valueFiles: string[];
  /** Values as YAML text (inline assets). */
  readonly valueTexts: string[];
  readonly values?: Record<string, unknown>;
  readonly includeCrds: boolean;
  readonly noHooks: boolean;
  readonly postRenderer?: { command: string; args: string[] };
}

/** `helm template` of a local chart: its objects. @throws RenderError with helm's message */
export async function helmTemplate(helm: string, request: HelmTemplateRequest, label: string, cwd: string): Promise<Record<string, unknown>[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-helm-'));
  try {
    const args = ['template', request.release, request.chart];
    if (request.namespace) args.push('--namespace', request.namespace);
    if (request.includeCrds) args.push('--include-crds');
    if (request.noHooks) args.push('--no-hooks');
    for (const file of request.valueFiles) args.push('--values', file);
    request.valueTexts.forEach((text, i) => {
      const file = path.join(work, `values-${i}.yaml`);
      fs.writeFileSync(file, text);
      args.push('--values', file);
    });
    if (request.values && Object.keys(request.values).length > 0) {
      // JSON is YAML: helm reads it as a values file.
      const file = path.join(work, 'values.json');
      fs.writeFileSync(file, JSON.stringify(request.values));
      args.push('--values', file);
    }
    if (request.postRenderer) {
      args.push('--post-renderer', request.postRenderer.command);
      for (const a of request.postRenderer.args) args.push('--post-renderer-args', a);
    }
    return parseObjects(await runTool(helm, args, label, cwd), `${label}: the output of helm template`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `kustomize build DIR`, else `kubectl kustomize DIR`: the objects; undefined when neither tool is there. */
export async function kustomizeBuild(tools: RenderTools, directory: string, label: string, cwd: string): Promise<Record<string, unknown>[] | undefined> {
  const kustomize = toolPath(tools, 'kustomize');
  const kubectl = kustomize ? undefined : toolPath(tools, 'kubectl');
  if (!kustomize && !kubectl) return undefined;
  const text = kustomize ? await runTool(kustomize, ['build', directory], label, cwd) : await runTool(kubectl!, ['kustomize', directory], label, cwd);
  return parseObjects(text, `${label}: the output of kustomize build`);
}
