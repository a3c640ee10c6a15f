import * as fs from 'fs';
import { ManifestDocument, ManifestProblem } from '../core/manifests/manifests';
import { Severity, describeObject } from '../core/findings/finding';
import type { CheckFinding } from './check';
import { templateKeyPath } from '../core/findings/rules';
import { printable } from '../util/printable';
import { groupByHost } from '../core/findings/host-failure';

/** Order of severities, most severe first. */
const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** True when `severity` is at least as severe as `threshold`. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] <= RANK[threshold];
}

const TEMPLATE_FIX = 'This is an unrendered Helm template ("{{ … }}"), not a manifest. Fix: render it with `helm template` first and pass the output';

/**
 * Turns the loader's problems (unreadable YAML, non-Kubernetes documents, oversized files)
 * into findings with file and line: `unreadable-manifest` (error) and `not-kubernetes` (warning).
 * A file that does not parse and holds Go template actions is named as an unrendered Helm
 * template, with the fix. Given the `documents` read, a document in which a template action
 * happened to parse as YAML (`image: {{ .Values.image }}` reads as a mapping with a mapping as
 * its key, which no real manifest has) is an `unreadable-manifest` too: nothing unreadable
 * passes silently. (Templates inside string values, as in an Alertmanager ConfigMap, are data.)
 */
export function problemFindings(problems: readonly ManifestProblem[], documents: readonly ManifestDocument[] = []): CheckFinding[] {
  const templates = new Map<string, boolean>();
  const findings: CheckFinding[] = problems.map((p) => {
    const notKubernetes = /is not a Kubernetes object/.test(p.message);
    if (!notKubernetes && !templates.has(p.file)) templates.set(p.file, holdsTemplateActions(p.file));
    const fix = !notKubernetes && templates.get(p.file) ? TEMPLATE_FIX : 'Fix: correct the YAML at this line';
    return {
      code: notKubernetes ? 'not-kubernetes' : 'unreadable-manifest',
      severity: notKubernetes ? 'warning' : 'error',
      object: { kind: 'File', name: p.file },
      path: '',
      message: notKubernetes ? p.message : `${p.message}. Nothing in it was checked. ${fix}`,
      file: p.file,
      ...(p.line !== undefined ? { line: p.line } : {}),
    };
  });
  for (const doc of documents) {
    const at = templateKeyPath(doc.object, '', 0);
    if (at === undefined) continue;
    const line = at === '' ? doc.line : doc.lineOf(at);
    findings.push({
      code: 'unreadable-manifest', severity: 'error', object: { kind: 'File', name: doc.file }, path: at,
      message: `a template action ("{{ … }}") was read as a YAML mapping${at ? ` at ${at}` : ''}: what it renders to cannot be checked. ${TEMPLATE_FIX}`,
      file: doc.file, line,
    });
  }
  return findings;
}

/** True when the regular file `file` holds Go template actions (`{{ .Values.x }}`, `{{- include … }}`). */
function holdsTemplateActions(file: string): boolean {
  try {
    // Regular files only: reading a FIFO or a device would block or never end.
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > 4 * 1024 * 1024) return false;
    return /\{\{-?\s*(?:[.$]|include\b|if\b|else\b|range\b|with\b|define\b|template\b|toYaml\b|end\b|\/\*)/.test(fs.readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Counts of findings by severity. */
export interface CheckSummary {
  /** Error-level findings. */
  readonly errors: number;
  /** Warnings. */
  readonly warnings: number;
  /** Notes. */
  readonly infos: number;
}

/** Counts `findings` by severity. */
export function summarize(findings: readonly CheckFinding[]): CheckSummary {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}

/** Splits a message into what is wrong and the fix (`… Fix: …`). */
export function splitFix(message: string): { problem: string; fix?: string } {
  const at = message.lastIndexOf('Fix: ');
  if (at === -1) return { problem: message };
  return { problem: message.slice(0, at).replace(/[.\s]+$/, ''), fix: message.slice(at + 5) };
}

/** Options of {@link formatText}. */
export interface TextFormatOptions {
  /** Use ANSI colours. @default false */
  readonly color?: boolean;
}

/**
 * Human output: findings grouped by workload, each with the predicted kubelet state and the fix.
 * Every value from the manifests is {@link printable}: no control or bidirectional character
 * reaches the terminal, and no line starts a CI command.
 */
export function formatText(findings: readonly CheckFinding[], options: TextFormatOptions = {}): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const mark = (f: CheckFinding) => (f.severity === 'error' ? paint('31', '✗ error  ') : f.severity === 'warning' ? paint('33', '! warning') : paint('36', 'i info   '));
  // A registry that could not be reached is said once, with the images it affects (each keeps its finding in --json and SARIF).
  const { byHost, rest } = groupByHost(findings, (f) => f.registry);
  const groups = new Map<string, CheckFinding[]>();
  for (const f of rest) {
    const key = f.object.kind === 'File' ? `File ${f.file}` : `${describeObject(f.object)}${f.file ? `  (${f.file})` : ''}`;
    const list = groups.get(key) ?? [];
    list.push(f);
    groups.set(key, list);
  }
  const lines: string[] = [];
  for (const [title, list] of groups) {
    lines.push(paint('1', printable(title)));
    // Within a workload, read top to bottom like the YAML (the sort is stable for equal lines).
    const sorted = [...list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    for (const f of sorted) {
      const where = [f.path, f.line !== undefined ? `line ${f.line}` : undefined].filter(Boolean).join(', ');
      lines.push(`  ${mark(f)} ${paint('1', printable(f.code))}${where ? ` (${printable(where)})` : ''}`);
      if (f.image !== undefined) lines.push(`      image:     ${printable(JSON.stringify(f.image))}`);
      if (f.state) lines.push(`      predicted: ${paint('31', printable(f.state))}`);
      const { problem, fix } = splitFix(f.message);
      lines.push(`      ${printable(problem)}`);
      // Fixes written for any file (`ko resolve -f <file>`) name this finding's file, quoted for a shell when needed.
      if (fix) lines.push(`      ${paint('32', 'fix:')} ${printable(f.file ? fix.split('<file>').join(shellWord(f.file)) : fix)}`);
    }
    lines.push('');
  }
  for (const [host, list] of byHost) {
    const first = list[0];
    lines.push(paint('1', printable(`Registry ${host}`)));
    lines.push(`  ${mark(first)} ${paint('1', printable(first.code))}: ${printable(`${first.cause}; ${list.length === 1 ? 'the image' : `${list.length} images`} on it will not pull`)}`);
    if (first.state) lines.push(`      predicted: ${paint('31', printable(first.state))}, then ImagePullBackOff`);
    for (const f of list) {
      const where = [f.file, f.path, f.line !== undefined ? `line ${f.line}` : undefined].filter(Boolean).join(', ');
      lines.push(`      ${printable(`${JSON.stringify(f.image)}  ${describeObject(f.object)}${where ? ` (${where})` : ''}`)}`);
    }
    const { fix } = splitFix(first.message);
    if (fix) lines.push(`      ${paint('32', 'fix:')} ${printable(fix)}`);
    lines.push('');
  }
  const s = summarize(findings);
  const summary = `${s.errors} error(s), ${s.warnings} warning(s), ${s.infos} note(s)`;
  lines.push(findings.length === 0 ? paint('32', 'No problems found.') : summary);
  return `${lines.join('\n')}\n`;
}

/** `text` as one shell word: bare when it holds only safe characters, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Machine output: `{ version, summary, findings }`. */
export function formatJson(findings: readonly CheckFinding[], extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ version: 1, summary: summarize(findings), findings, ...extra }, null, 2)}\n`;
}
