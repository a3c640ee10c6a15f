import * as fs from 'fs';
import * as path from 'path';
import { loadAll } from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import { KubepinError } from '../../util/errors';
import { readRegularFile } from '../../util/fs/read-regular-file';
import { JsonObject, flattenObjects, isObject } from '../objects/pod-templates';
import { resolvePlainScalar, KUBECTL_JS_YAML_SCHEMA } from './yaml11';
import { TextLines, splitJsonPath } from './text-lines';

export { splitJsonPath } from './text-lines';

/** Largest manifest file read; bigger ones are refused with a clear error instead of exhausting memory. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** One Kubernetes object read from a YAML file, with where it came from. */
export interface ManifestDocument {
  /** The file (as given or found), or `<stdin>`. */
  readonly file: string;
  /** Index of the YAML document within the file (0-based). */
  readonly index: number;
  /** Index of the object within a `List` document (0 for a plain object). */
  readonly item: number;
  /** 1-based line where the object starts (the document, or its entry in a `List`). */
  readonly line: number;
  /** The object. */
  readonly object: JsonObject;
  /** 1-based line of a JSON path (`spec.template.spec.containers[0].image`) in this document. */
  lineOf(jsonPath: string): number;
}

/** A file or document that could not be read as Kubernetes YAML. */
export interface ManifestProblem {
  /** The file. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** What is wrong. */
  readonly message: string;
}

/** The result of {@link loadManifests}. */
export interface LoadedManifests {
  /** Every Kubernetes object found (Lists expanded), in file and document order. */
  readonly documents: ManifestDocument[];
  /** Files and documents that were skipped, and why. */
  readonly problems: ManifestProblem[];
  /** The YAML files read. */
  readonly files: string[];
}

/** A path given on the command line does not exist or cannot be read. */
export class ManifestReadError extends KubepinError {}

/**
 * Reads every `.yaml`/`.yml`/`.json` file under `paths` (files or directories, recursively,
 * sorted), parses every YAML document, and keeps the objects that have `kind` and
 * `apiVersion`. Unparseable documents and non-Kubernetes documents become problems with file
 * and line; they never throw. A missing path throws {@link ManifestReadError}.
 */
export function loadManifests(paths: readonly string[]): LoadedManifests {
  const files: string[] = [];
  const problems: ManifestProblem[] = [];
  // Loops (not spread into push): a file may hold 150,000 documents, past the call-stack limit.
  for (const p of paths) for (const file of listManifestFiles(p, problems)) files.push(file);
  const documents: ManifestDocument[] = [];
  for (const file of files) {
    const read = readManifestFile(file);
    if (typeof read !== 'string') {
      problems.push({ file, message: read.problem });
      continue;
    }
    const result = parseManifestText(read, file);
    for (const d of result.documents) documents.push(d);
    for (const p of result.problems) problems.push(p);
  }
  return { documents, problems, files };
}

/** Reads one manifest file as {@link readRegularFile} does, at most `maxBytes` of it. */
export function readManifestFile(file: string, maxBytes = MAX_MANIFEST_BYTES): string | { problem: string } {
  const read = readRegularFile(file, maxBytes);
  return typeof read === 'string' || !read.tooLarge ? read : { problem: `${read.problem}; larger manifests are not read. Split it into several files` };
}

/** Parses YAML text (one or more documents) as {@link loadManifests} does for one file. */
export function parseManifestText(text: string, file: string): { documents: ManifestDocument[]; problems: ManifestProblem[] } {
  // A lone CR (old Mac files) is a line break to go-yaml, as YAML says; the `yaml` parser and
  // line counting know LF only. One break for one break: line numbers stay the file's.
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  const stream = splitJsonStream(text);
  if (stream) return parseJsonStream(text, stream, file);
  return parseFast(text, file) ?? parseWithPositions(text, file);
}

/**
 * Several JSON values back to back (`{...}{...}` or one per line), as kubectl's
 * YAML-or-JSON decoder reads them: each value is one document. `undefined` unless the text is
 * two or more complete JSON objects or arrays separated by whitespace only.
 */
function splitJsonStream(text: string): Array<[number, number]> | undefined {
  const first = text.search(/\S/);
  if (first === -1 || (text[first] !== '{' && text[first] !== '[')) return undefined;
  const spans: Array<[number, number]> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = first; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 0) {
      if (c === '{' || c === '[') {
        start = i;
        depth = 1;
      } else if (!/\s/.test(c)) {
        return undefined;
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) spans.push([start, i + 1]);
    }
  }
  if (depth !== 0 || spans.length < 2) return undefined;
  for (const [a, b] of spans) {
    try {
      JSON.parse(text.slice(a, b));
    } catch {
      return undefined;
    }
  }
  return spans;
}

function parseJsonStream(text: string, spans: Array<[number, number]>, file: string): { documents: ManifestDocument[]; problems: ManifestProblem[] } {
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  let line = 1;
  let scanned = 0;
  spans.forEach(([start, end], index) => {
    for (; scanned < start; scanned++) if (text.charCodeAt(scanned) === 10) line++;
    const offset = line - 1;
    // JSON is YAML: each value goes through the same parser, its lines shifted to the file's.
    const result = parseManifestText(text.slice(start, end), file);
    for (const p of result.problems) problems.push({ ...p, ...(p.line !== undefined ? { line: p.line + offset } : {}), message: p.message.replace(/^document 1 /, `document ${index + 1} `) });
    for (const d of result.documents) {
      documents.push({
        file,
        index,
        item: d.item,
        object: d.object,
        get line() {
          return d.line + offset;
        },
        lineOf: (jsonPath: string) => d.lineOf(jsonPath) + offset,
      });
    }
  });
  return { documents, problems };
}

/**
 * The common case, fast: js-yaml (with kubectl's YAML 1.1 scalars and merge keys) builds the
 * objects several times faster than a position-tracking parse, which matters for commands that
 * read many manifests (`kubepin lock` is measured against a bare curl). Line numbers are only
 * needed for messages, so the position-tracking parse runs when the first line is asked for.
 * js-yaml also reads what go-yaml (kubectl) reads and the `yaml` parser refuses, such as a
 * multi-line quoted string in a flow sequence (`args: ["\n  make &&\n  make test\n"]`).
 * `undefined` when the text does not parse here (duplicate keys, tags kubectl resolves, broken
 * YAML: the full parser reads or explains those) or when its aliases expand too far.
 */
function parseFast(text: string, file: string): { documents: ManifestDocument[]; problems: ManifestProblem[] } | undefined {
  let values: unknown[];
  try {
    values = loadAll(text, undefined, { schema: KUBECTL_JS_YAML_SCHEMA, json: false });
  } catch {
    return undefined; // The full parser says what is wrong, and where.
  }
  // js-yaml shares an aliased node instead of copying it; an alias bomb would blow up whoever walks it.
  if (aliasesExpandTooFar(values)) return undefined;
  let textLines: TextLines | undefined;
  const inText = () => (textLines ??= new TextLines(text));
  let whole: ReturnType<typeof parseWithPositions> | undefined;
  const perDocument = new Map<number, { parsed: ReturnType<typeof parseWithPositions>; offset: number }>();
  // Positions only from a parse that split the file into the same documents; a document the
  // `yaml` parser refuses (stricter than go-yaml) is located by searching its text instead.
  // When the `---` lines split the text as js-yaml did, only the document asked about is
  // parsed: a finding in a 2 MB install.yaml does not parse all of it again.
  const positionsOf = (index: number): { documents: ManifestDocument[]; start: number | undefined; offset: number } | undefined => {
    const lines = inText();
    if (lines.count === values.length) {
      let one = perDocument.get(index);
      if (!one) {
        const slice = lines.slice(index);
        one = { parsed: parseWithPositions(slice.text, file), offset: slice.firstLine - 1 };
        perDocument.set(index, one);
      }
      const { parsed, offset } = one;
      return parsed.starts.length === 1 ? { documents: parsed.documents, start: parsed.starts[0] + offset, offset } : undefined;
    }
    whole ??= parseWithPositions(text, file);
    return whole.starts.length === values.length ? { documents: whole.documents.filter((d) => d.index === index), start: whole.starts[index], offset: 0 } : undefined;
  };
  const located = (index: number, item: number): { document: ManifestDocument; offset: number } | undefined => {
    const positions = positionsOf(index);
    const document = positions?.documents.find((d) => d.item === item);
    return positions && document ? { document, offset: positions.offset } : undefined;
  };
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    if (!isObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      const line = positionsOf(index)?.start ?? inText().documentStart(index);
      problems.push({ file, line, message: `document ${index + 1} is not a Kubernetes object (it needs "apiVersion" and "kind"); skipped` });
      return;
    }
    const objects = flattenObjects([value]);
    const prefix = (item: number) => (objects.length !== 1 || objects[0] !== value ? `items[${item}].` : '');
    objects.forEach((object, item) => {
      documents.push({
        file,
        index,
        item,
        object,
        get line() {
          const at = located(index, item);
          if (at) return at.document.line + at.offset;
          return prefix(item) ? inText().lineOf(index, `items[${item}]`) : inText().documentStart(index);
        },
        lineOf: (jsonPath: string) => {
          const at = located(index, item);
          return at ? at.document.lineOf(jsonPath) + at.offset : inText().lineOf(index, prefix(item) + jsonPath);
        },
      });
    });
  });
  return { documents, problems };
}

/**
 * Whether the values, with every alias copied out, would be far larger than as read: an alias
 * bomb (or an alias into its own node), left to the full parser, which refuses it.
 */
function aliasesExpandTooFar(values: unknown[]): boolean {
  const seen = new Set<object>();
  let shared = false;
  const stack: unknown[] = [...values];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (seen.has(v)) {
      shared = true;
      continue;
    }
    seen.add(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  if (!shared) return false; // No collection is aliased: the common case, one walk.
  let budget = 10 * seen.size + 10_000;
  stack.push(...values);
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (--budget < 0) return true;
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

/** Whether a value read with aliases holds itself (`a: &a {b: *a}`), which kubectl refuses. */
function containsItself(value: unknown): boolean {
  const done = new Set<object>();
  const onPath = new Set<object>();
  // Depth-first without recursion: [node, children left]; a node is on the path until its children are done.
  const stack: Array<[object, unknown[]]> = [];
  const enter = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object' || done.has(v)) return false;
    if (onPath.has(v)) return true;
    onPath.add(v);
    stack.push([v, Object.values(v)]);
    return false;
  };
  if (enter(value)) return true;
  while (stack.length > 0) {
    const [node, children] = stack[stack.length - 1];
    if (children.length === 0) {
      stack.pop();
      onPath.delete(node);
      done.add(node);
    } else if (enter(children.pop())) {
      return true;
    }
  }
  return false;
}

function parseWithPositions(text: string, file: string): { documents: ManifestDocument[]; problems: ManifestProblem[]; starts: number[] } {
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  const starts: number[] = [];
  // Loaded on first use: the fast path never needs it, and it costs start-up time.
  const { LineCounter: LineCounterClass, parseAllDocuments, visit } = yaml();
  const lineCounter = new LineCounterClass();
  let docs: Document.Parsed[];
  try {
    // merge: `<<` keys as kubectl honours them; logLevel: no warnings printed to stderr.
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, merge: true, logLevel: 'error' }) as Document.Parsed[];
  } catch (e) {
    problems.push({ file, message: `not valid YAML: ${(e as Error).message}` });
    return { documents, problems, starts };
  }
  if (!Array.isArray(docs)) docs = [docs];
  docs.forEach((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = lineCounter.linePos(start).line;
    starts[index] = line;
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const errLine = err.linePos?.[0]?.line ?? line;
      problems.push({ file, line: errLine, message: `not valid YAML: ${err.message.split('\n')[0]}` });
      return;
    }
    // Plain scalars as kubectl (YAML 1.1) resolves them; explicitly tagged and quoted ones are kept.
    visit(doc, {
      Scalar(_key, node) {
        if (node.type === 'PLAIN' && node.tag === undefined && typeof node.source === 'string' && node.source !== '<<') node.value = resolvePlainScalar(node.source);
      },
    });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push({ file, line, message: `cannot read document ${index + 1}: ${(e as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // Empty document (e.g. a trailing ---).
    if (containsItself(value)) {
      problems.push({ file, line, message: `cannot read document ${index + 1}: an alias refers to a node that contains it (kubectl: "anchor value contains itself"). Fix: copy the values instead of aliasing` });
      return;
    }
    if (!isObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      problems.push({ file, line, message: `document ${index + 1} is not a Kubernetes object (it needs "apiVersion" and "kind"); skipped` });
      return;
    }
    const objects = flattenObjects([value]);
    const isList = objects.length !== 1 || objects[0] !== value;
    objects.forEach((object, itemIndex) => {
      const prefix = isList ? `items[${itemIndex}].` : '';
      documents.push({
        file,
        index,
        item: itemIndex,
        line: isList ? lineOfPath(doc, lineCounter, `items[${itemIndex}]`) ?? line : line,
        object,
        lineOf: (jsonPath: string) => lineOfPath(doc, lineCounter, prefix + jsonPath) ?? line,
      });
    });
  });
  return { documents, problems, starts };
}

/** JSON files found next to manifests that are not manifests: lock files, cdk8s's construct metadata. */
const NOT_MANIFESTS = /(\.lock\.json|^construct-metadata\.json|^package(-lock)?\.json)$/;

function listManifestFiles(p: string, problems: ManifestProblem[]): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      problems.push({ file: p, message: 'symlink loop; skipped' });
      return [];
    }
    throw new ManifestReadError(`${p}: no such file or directory. Fix: synthesize first (e.g. \`cdk8s synth\`) or pass the directory that holds your manifests`);
  }
  // A path named on the command line is read whatever it is; readManifestFile refuses non-files.
  if (!stat.isDirectory()) return [p];
  const out: string[] = [];
  const visited = new Set<string>();
  const walk = (dir: string): void => {
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      problems.push({ file: dir, message: 'cannot resolve the directory; skipped' });
      return;
    }
    // A symlink to an enclosing directory would recurse forever: each directory is read once.
    if (visited.has(real)) return;
    visited.add(real);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      problems.push({ file: dir, message: `cannot read the directory: ${(e as NodeJS.ErrnoException).code ?? 'error'}` });
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(full);
      } else if (/\.(ya?ml|json)$/i.test(entry.name) && !NOT_MANIFESTS.test(entry.name)) {
        // Symlinks, FIFOs and devices with a manifest name are listed; reading refuses all but regular files.
        out.push(full);
      }
    }
  };
  walk(p);
  return out;
}

function yaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

function lineOfPath(doc: Document.Parsed, lineCounter: LineCounter, jsonPath: string): number | undefined {
  const { isMap, isSeq } = yaml();
  let node: unknown = doc.contents;
  let best: number | undefined;
  for (const key of splitJsonPath(jsonPath)) {
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const k = item.key as { value?: unknown } | null;
        return k !== null && typeof k === 'object' && k.value === key;
      });
      if (!pair) break;
      const keyRange = (pair.key as { range?: [number, number, number] }).range;
      if (keyRange) best = lineCounter.linePos(keyRange[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) best = lineCounter.linePos(range[0]).line;
    } else {
      break;
    }
  }
  return best;
}
