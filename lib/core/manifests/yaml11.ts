import * as jsYaml from 'js-yaml';
import { FAILSAFE_SCHEMA, Schema, Type } from 'js-yaml';

/** js-yaml's `<<` merge-key type (exported at runtime, missing from its typings). */
const MERGE_TYPE = (jsYaml as unknown as { types: { merge: Type } }).types.merge;

/**
 * Plain (unquoted) scalars resolved as kubectl resolves them. kubectl reads manifests with
 * sigs.k8s.io/yaml over go-yaml v2, which is YAML 1.1: `0400` is octal (256), `yes`/`on`/`y`
 * are true, `no`/`off`/`n` are false, `1_000` is 1000, `0b101` is 5. Timestamp-looking values
 * stay strings (go-yaml keeps them strings when decoding into interface{}), and there is no
 * sexagesimal (`1:30` is a string). Quoted and block scalars are always strings.
 */
export function resolvePlainScalar(text: string): unknown {
  if (Object.prototype.hasOwnProperty.call(PLAIN_WORDS, text)) return PLAIN_WORDS[text];
  const first = text.charAt(0);
  if (first === '.') {
    // go: strconv.ParseFloat on the text as written.
    return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : text;
  }
  if (!/^[-+0-9]/.test(first)) return text;
  const plain = text.replace(/_/g, '');
  const int = parseGoInt(plain);
  if (int !== undefined) return int;
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return Number(plain);
  return text;
}

/** Words go-yaml v2 resolves by table (`resolveMapList`), `<<` aside. */
const PLAIN_WORDS: Record<string, unknown> = {};
for (const [value, words] of [
  [true, 'y Y yes Yes YES true True TRUE on On ON'],
  [false, 'n N no No NO false False FALSE off Off OFF'],
  [null, '~ null Null NULL'],
  [NaN, '.nan .NaN .NAN'],
  [Infinity, '.inf .Inf .INF +.inf +.Inf +.INF'],
  [-Infinity, '-.inf -.Inf -.INF'],
] as Array<[unknown, string]>) {
  for (const word of words.split(' ')) PLAIN_WORDS[word] = value;
}
PLAIN_WORDS[''] = null;

/** Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`: sign, then 0x / 0o / 0b / 0 prefixes. */
function parseGoInt(s: string): number | undefined {
  const match = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!match) return undefined;
  const [, sign, digits] = match;
  let magnitude: bigint;
  if (/^0[oO]/.test(digits)) magnitude = BigInt(`0o${digits.slice(2)}`);
  else if (/^0[0-7]+$/.test(digits)) magnitude = BigInt(`0o${digits.slice(1)}`);
  else magnitude = BigInt(digits);
  const value = sign === '-' ? -magnitude : magnitude;
  // Out of int64 (and, for positive values, of uint64): go-yaml tries a float next.
  if (value < -(2n ** 63n) || value > 2n ** 64n - 1n) return undefined;
  return Number(value);
}

/**
 * js-yaml schema reading YAML as kubectl does: strings by default (failsafe), merge keys, and
 * every other plain scalar through {@link resolvePlainScalar}. js-yaml applies implicit types
 * to plain scalars only, so quoted values stay strings.
 */
export const KUBECTL_JS_YAML_SCHEMA: Schema = FAILSAFE_SCHEMA.extend({
  implicit: [
    MERGE_TYPE,
    new Type('tag:yaml.org,2002:kubectl-plain', {
      kind: 'scalar',
      resolve: (data: string) => typeof data === 'string' && typeof resolvePlainScalar(data) !== 'string',
      construct: (data: string) => resolvePlainScalar(data),
    }),
  ],
});
