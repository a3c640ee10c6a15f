/**
 * Values from manifests (names, namespaces, file names, image references as written) and from
 * registries, made safe to print as text on a terminal or in a CI log. Every text renderer of the
 * CLI prints such values only through {@link printable} or {@link safeText}: JSON and SARIF
 * output quote them as data and need neither.
 */

/**
 * C0 and C1 controls and DEL (ESC sequences that clear the screen or move the cursor, CR and LF
 * that forge lines), the bidirectional controls that reorder what is shown (U+061C, U+200E/F,
 * U+202A–202E, U+2066–2069) and the Unicode line and paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (NAMED[c]) return NAMED[c];
  // Controls as JSON writes them; the invisible format characters in ES6 style, so they stand out.
  return code <= 0x9f ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * `value` with control and bidirectional characters escaped (`\u001b`, `\r`, `\n`, `\u{202e}`),
 * so it shows as one line, in order, and changes nothing on the terminal; and with what would make
 * a CI runner read a line as a command defused: a leading `::` (GitHub Actions' `::error file=…::`)
 * and `##[` anywhere (its older form) get their first character escaped.
 */
export function printable(value: string): string {
  return defuseCommands(value.replace(UNSAFE, escapeChar));
}

function defuseCommands(text: string): string {
  return text.replace(/^(\s*):(?=:)/, '$1\\u{3a}').replace(/#(?=#\[)/g, '\\u{23}');
}

/**
 * A tagged template for text output: every interpolated value goes through {@link printable};
 * the literal parts (kubepin's own wording, newlines, colours) are kept. No line of the result
 * starts a CI command, whatever the values.
 * @example io.stderr.write(safeText`error: ${file}:${line}: ${message}\n`)
 */
export function safeText(literals: TemplateStringsArray, ...values: unknown[]): string {
  let out = literals[0];
  for (let i = 0; i < values.length; i++) out += printable(String(values[i])) + literals[i + 1];
  return out.split('\n').map(defuseCommands).join('\n');
}

/** A message of several lines (an app's output, a list), each line made {@link printable}; the line breaks kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
