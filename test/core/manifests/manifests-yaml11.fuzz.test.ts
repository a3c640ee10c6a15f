import { parseManifestText } from '../../../lib/core/manifests/manifests';

/*
 * Fuzz: generated documents read by kubepin's loader against an independent reading. The
 * generator knows every scalar's text and style; the expected value of a plain scalar comes
 * from the YAML 1.1 type definitions below (yaml.org/type/{bool,null,int,float}.html), written
 * here without looking at lib/core/manifests/yaml11.ts. Where go-yaml (what kubectl runs) departs from
 * the 1.1 specs (sexagesimal `1:30`, timestamps, `08`, `1e3` without a dot), the generator
 * does not go: those cases are pinned one by one in manifests-hardening.test.ts.
 */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPEC_BOOL_TRUE = /^(y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const SPEC_BOOL_FALSE = /^(n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const SPEC_NULL = /^(~|null|Null|NULL|)$/;
const SPEC_INT_BIN = /^([-+]?)0b([0-1_]+)$/;
const SPEC_INT_OCT = /^([-+]?)0([0-7_]+)$/;
const SPEC_INT_DEC = /^[-+]?(0|[1-9][0-9_]*)$/;
const SPEC_INT_HEX = /^([-+]?)0x([0-9a-fA-F_]+)$/;
const SPEC_FLOAT = /^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$/;

/** The YAML 1.1 reading of a plain scalar, from the type specs. */
function specReading(text: string): unknown {
  if (SPEC_BOOL_TRUE.test(text)) return true;
  if (SPEC_BOOL_FALSE.test(text)) return false;
  if (SPEC_NULL.test(text)) return null;
  // Integers have no negative zero (+ 0 turns -0 into 0).
  const sign = (s: string) => (s === '-' ? -1 : 1);
  let m = SPEC_INT_BIN.exec(text);
  if (m) return sign(m[1]) * parseInt(m[2].replace(/_/g, ''), 2) + 0;
  m = SPEC_INT_HEX.exec(text);
  if (m) return sign(m[1]) * parseInt(m[2].replace(/_/g, ''), 16) + 0;
  m = SPEC_INT_OCT.exec(text);
  if (m) return sign(m[1]) * parseInt(m[2].replace(/_/g, ''), 8) + 0;
  if (SPEC_INT_DEC.test(text)) return parseInt(text.replace(/_/g, ''), 10);
  if (SPEC_FLOAT.test(text) && (text.match(/\./g) ?? []).length === 1 && /[0-9]/.test(text)) return parseFloat(text.replace(/_/g, ''));
  return text;
}

const WORDS = ['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'NO', 'true', 'True', 'FALSE', 'on', 'On', 'ON', 'off', 'Off', 'OFF', '~', 'null', 'Null', 'NULL',
  'yess', 'Yes!', 'nul', 'tru', 'onn', 'o', 'x', 'nginx', 'web-1', 'a_b', 'ab.cd', '0x', '0b', '+', '0xg', 'v1.2', '1.2.3', '12abc', '0o', 'image'];

function plainScalar(next: () => number): string {
  const digits = (min: number, chars: string) => {
    let out = '';
    const n = min + Math.floor(next() * 5);
    for (let i = 0; i < n; i++) out += chars[Math.floor(next() * chars.length)];
    return out;
  };
  const sign = () => ['', '+', '-'][Math.floor(next() * 3)];
  switch (Math.floor(next() * 8)) {
    case 0: return `${sign()}${'123456789'[Math.floor(next() * 9)]}${digits(0, '0123456789_')}`.replace(/_$/, '');
    case 1: return `${sign()}0${'1234567'[Math.floor(next() * 7)]}${digits(0, '01234567')}`;
    case 2: return `${sign()}0x${digits(1, '0123456789abcdefABCDEF')}`;
    case 3: return `${sign()}0b1${digits(0, '01')}`;
    case 4: return `${sign()}${digits(1, '0123456789')}.${digits(0, '0123456789')}${next() < 0.3 ? `e${next() < 0.5 ? '+' : '-'}${1 + Math.floor(next() * 20)}` : ''}`;
    case 5: return '0';
    default: return WORDS[Math.floor(next() * WORDS.length)];
  }
}

interface Generated {
  /** YAML lines (without indentation of the parent). */
  lines: string[];
  /** What kubectl reads. */
  value: unknown;
}

const KEYS = ['alpha', 'beta', 'gamma', 'delta', 'image', 'name', 'mode', 'k1', 'k2', 'k3'];

function scalar(next: () => number): Generated {
  const text = plainScalar(next);
  const style = next();
  if (style < 0.6) return { lines: [text], value: specReading(text) };
  if (style < 0.8) return { lines: [JSON.stringify(text)], value: text };
  return { lines: [`'${text.replace(/'/g, "''")}'`], value: text };
}

function node(next: () => number, depth: number): Generated {
  const r = next();
  if (depth > 3 || r < 0.5) return scalar(next);
  if (r < 0.75) {
    const n = 1 + Math.floor(next() * 3);
    const lines: string[] = [];
    const value: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const child = node(next, depth + 1);
      child.lines.forEach((l, j) => lines.push(j === 0 ? `- ${l}` : `  ${l}`));
      value.push(child.value);
    }
    return { lines, value };
  }
  return mapping(next, depth);
}

function mapping(next: () => number, depth: number): Generated {
  const n = 1 + Math.floor(next() * 4);
  const lines: string[] = [];
  const value: Record<string, unknown> = {};
  const keys = [...KEYS].sort(() => next() - 0.5).slice(0, n);
  for (const key of keys) {
    const child = node(next, depth + 1);
    value[key] = child.value;
    if (child.lines.length === 1 && !child.lines[0].startsWith('- ') && !/^[a-z0-9]+:/.test(child.lines[0])) {
      lines.push(`${key}: ${child.lines[0]}`);
    } else {
      lines.push(`${key}:`);
      child.lines.forEach((l) => lines.push(`  ${l}`));
    }
  }
  return { lines, value };
}

/** A document, sometimes with an anchor and a `<<` merge (which sends it to the positional parser). */
function document(next: () => number, index: number): { text: string; object: Record<string, unknown> } {
  const data = mapping(next, 1);
  const object: Record<string, unknown> = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `d${index}` }, data: data.value };
  let text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d${index}\ndata:\n${data.lines.map((l) => `  ${l}`).join('\n')}\n`;
  if (next() < 0.3) {
    const base = mapping(next, 2);
    const own = mapping(next, 2);
    text += `base: &base\n${base.lines.map((l) => `  ${l}`).join('\n')}\nmerged:\n  <<: *base\n${own.lines.map((l) => `  ${l}`).join('\n')}\n`;
    object.base = base.value;
    object.merged = { ...(base.value as object), ...(own.value as object) };
  }
  return { text, object };
}

test.each(Array.from({ length: 8 }, (_, i) => i + 1))('seed %i: 60 generated documents read as YAML 1.1 says, in YAML and as a JSON stream', (seed) => {
  const next = rng(seed * 7919);
  const docs = Array.from({ length: 60 }, (_, i) => document(next, i));
  // One file per document (each takes the fast or the positional path on its own), then all in one file.
  for (const doc of docs) {
    const result = parseManifestText(doc.text, 'f.yaml');
    expect({ text: doc.text, problems: result.problems, objects: result.documents.map((d) => d.object) }).toEqual({ text: doc.text, problems: [], objects: [doc.object] });
  }
  const all = parseManifestText(docs.map((d) => d.text).join('---\n'), 'all.yaml');
  expect(all.documents.map((d) => d.object)).toEqual(docs.map((d) => d.object));
  const stream = parseManifestText(docs.map((d) => JSON.stringify(d.object)).join(next() < 0.5 ? '\n' : ''), 'all.json');
  // JSON itself has no -0: the stream is compared with the JSON round trip of the expected objects.
  expect(stream.documents.map((d) => d.object)).toEqual(docs.map((d) => JSON.parse(JSON.stringify(d.object))));
});
