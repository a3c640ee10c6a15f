/*
 * Line numbers for manifests the position-tracking parser refuses: found by searching the text.
 */

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

/**
 * Lines found by searching the text, for documents the position-tracking parser cannot read:
 * documents start after `---` lines, and a JSON path is followed key by key (and `- ` item by
 * item) down from its document's start.
 */
export class TextLines {
  /** Offset where each document's text starts, and where the text ends. */
  private readonly bounds: number[] = [];

  constructor(private readonly text: string) {
    const marker = /^---(?=[ \t]|$)/gm;
    // Text before the first `---` is a document only if it holds more than comments and directives.
    const first = marker.exec(text);
    if (!first || /^[ \t]*[^\s#%]/m.test(text.slice(0, first.index))) this.bounds.push(0);
    for (let m = first; m; m = marker.exec(text)) this.bounds.push(m.index + 3);
  }

  /** How many documents the `---` lines make. */
  get count(): number {
    return this.bounds.length;
  }

  /** The text of document `index`, and the line its first character is on. */
  slice(index: number): { text: string; firstLine: number } {
    const from = this.bounds[index] ?? 0;
    return { text: this.text.slice(from, this.end(index)), firstLine: this.lineAt(from) };
  }

  /** 1-based line of the first content of document `index`. */
  documentStart(index: number): number {
    const from = this.bounds[index] ?? 0;
    const content = /^[ \t]*[^\s#]/m;
    const rest = this.text.slice(from, this.end(index));
    const m = content.exec(rest);
    return this.lineAt(from + (m ? m.index + m[0].length - 1 : 0));
  }

  /** 1-based line of `jsonPath` in document `index`: as deep as the search gets. */
  lineOf(index: number, jsonPath: string): number {
    let end = this.end(index);
    let at = this.bounds[index] ?? 0;
    // The column a block mapping's keys are written at (a key of that name deeper down is another key).
    let keyColumn = this.childColumn(at);
    let found: number | undefined;
    for (const key of splitJsonPath(jsonPath)) {
      const next = typeof key === 'number' ? this.findItem(at, end, key) : this.findKey(at, end, key, keyColumn);
      if (next === undefined) break;
      // Later keys are searched within this node only: up to the next line indented no deeper.
      end = Math.min(end, this.nextLineAtOrLeftOf(next, this.columnOf(next), typeof key === 'string'));
      keyColumn = this.childColumn(typeof key === 'number' ? next + 1 : this.text.indexOf(':', next + String(key).length) + 1);
      at = next;
      found = next;
    }
    return found === undefined ? this.documentStart(index) : this.lineAt(found);
  }

  private findKey(from: number, end: number, key: string, column: number | undefined): number | undefined {
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`(^|[\\s{,])(["']?)${escaped}\\2[ \t]*:(?=\\s|$)`, 'gm');
    re.lastIndex = from;
    for (let m = re.exec(this.text); m && m.index < end; m = re.exec(this.text)) {
      const start = m.index + m[1].length;
      if (column === undefined || this.columnOf(start) === column) return start;
    }
    return undefined;
  }

  /**
   * Column of the block mapping keys in the node written after `from` (just past `key:` or `-`):
   * on the same line (`- name: a`) or on the next line with content. `undefined` for a flow
   * collection or a scalar, whose keys are not searched by column.
   */
  private childColumn(from: number): number | undefined {
    const re = /[^ \t]/g;
    re.lastIndex = from;
    let m = re.exec(this.text);
    if (m && m[0] !== '\n' && m[0] !== '#') return /[{["'|>&!*]/.test(m[0]) ? undefined : this.columnOf(m.index);
    const content = /^ *([^\s#])/gm;
    content.lastIndex = m ? m.index : from;
    m = content.exec(this.text);
    return m && m[1] !== '-' ? this.columnOf(m.index + m[0].length - 1) : m ? undefined : undefined;
  }

  private columnOf(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  /** The `item`-th `- ` entry of the block sequence that starts after `from`. */
  private findItem(from: number, end: number, item: number): number | undefined {
    const re = /^( *)-(?=[ \t]|$)/gm;
    // A sequence in a sequence may start on its parent item's line: `- - name: a`.
    const compact = /-[ \t]+-(?=[ \t]|$)/y;
    compact.lastIndex = from;
    let first: number;
    let indent: number;
    if (compact.test(this.text)) {
      first = compact.lastIndex - 1;
      indent = this.columnOf(first);
      re.lastIndex = first + 1;
    } else {
      re.lastIndex = this.text[from] === '-' ? from + 1 : from;
      const m = re.exec(this.text);
      if (!m || m.index >= end) return undefined;
      indent = m[1].length;
      first = m.index + indent;
    }
    let at = first;
    for (let seen = 0; seen < item; ) {
      const m = re.exec(this.text);
      if (!m || m.index >= end || m[1].length < indent) return undefined;
      if (m[1].length === indent) {
        seen++;
        at = m.index + indent;
      }
    }
    return at;
  }

  /**
   * Offset of the first line after the one holding `offset` whose content starts at `column` or
   * left of it: where a node written at `column` ends. A key's block sequence may be written at
   * the key's own column (`containers:` then `- name: a`), so for a key, `- ` there does not end it.
   */
  private nextLineAtOrLeftOf(offset: number, column: number, isKey: boolean): number {
    const left = column > 0 ? `^ {0,${column - 1}}[^\\s#]|` : '';
    const at = isKey ? `^ {${column}}(?:[^\\s#-]|-(?![ \\t]|$))` : `^ {${column}}[^\\s#]`;
    const re = new RegExp(left + at, 'gm');
    const lineEnd = this.text.indexOf('\n', offset);
    if (lineEnd === -1) return this.text.length;
    re.lastIndex = lineEnd + 1;
    return re.exec(this.text)?.index ?? this.text.length;
  }

  private end(index: number): number {
    return this.bounds[index + 1] ?? this.text.length;
  }

  private lineAt(offset: number): number {
    let line = 1;
    for (let i = this.text.indexOf('\n'); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) line++;
    return line;
  }
}

