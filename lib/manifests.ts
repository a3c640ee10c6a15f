import * as fs from 'fs';
import * as path from 'path';
import { loadAll } from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import { KubepinError } from './base/errors';
import { readRegularFile } from './base/regular-file';
import { JsonObject, flattenObjects, isObject } from './workloads';
import { resolvePlainScalar, KUBECTL_JS_YAML_SCHEMA } from './yaml-scalars';

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

/** Anchors, aliases and explicit tags: left to the full parser, which bounds alias expansion. */
const NEEDS_FULL_PARSER = /(^|[\s[{,:-])[&*!][^\s,[\]{}]/m;

/**
 * The common case, fast: js-yaml (with kubectl's YAML 1.1 scalars and merge keys) builds the
 * objects several times faster than a position-tracking parse, which matters for commands that
 * read many manifests (`kubepin lock` is measured against a bare curl). Line numbers are only
 * needed for messages, so the position-tracking parse runs when the first line is asked for.
 * `undefined` when the text needs the full parser (aliases, tags) or does not parse.
 */
function parseFast(text: string, file: string): { documents: ManifestDocument[]; problems: ManifestProblem[] } | undefined {
  if (NEEDS_FULL_PARSER.test(text)) return undefined;
  let values: unknown[];
  try {
    values = loadAll(text, undefined, { schema: KUBECTL_JS_YAML_SCHEMA, json: false });
  } catch {
    return undefined; // The full parser says what is wrong, and where.
  }
  let positions: ReturnType<typeof parseWithPositions> | undefined;
  const withPositions = () => (positions ??= parseWithPositions(text, file));
  const located = (index: number, item: number): ManifestDocument | undefined =>
    withPositions().documents.find((d) => d.index === index && d.item === item);
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    if (!isObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      problems.push({ file, line: withPositions().starts[index], message: `document ${index + 1} is not a Kubernetes object (it needs "apiVersion" and "kind"); skipped` });
      return;
    }
    flattenObjects([value]).forEach((object, item) => {
      documents.push({
        file,
        index,
        item,
        object,
        get line() {
          return located(index, item)?.line ?? 1;
        },
        lineOf: (jsonPath: string) => located(index, item)?.lineOf(jsonPath) ?? 1,
      });
    });
  });
  return { documents, problems };
}

/** The `yaml` parser with positions: every line number, and precise errors. */
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

/** Splits `a.b[0].c` into ['a', 'b', 0, 'c']. */
export function splitJsonPath(jsonPath: string): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const segment of jsonPath.split('.')) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(segment);
    if (!match) {
      parts.push(segment);
      continue;
    }
    if (match[1]) parts.push(match[1]);
    for (const idx of match[2].matchAll(/\[(\d+)\]/g)) parts.push(Number(idx[1]));
  }
  return parts;
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
