/**
 * The candidate nearest to `word` by edit distance, if near enough to be a likely typo
 * (or `word` is a prefix of it), else `undefined`.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, candidate);
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/**
 * Why `record` has keys outside `known` (`unknown field "kinds" (did you mean "kind"?); the
 * fields are …`), or undefined when it has none: a misspelled key is refused, never ignored.
 */
export function unknownKeysProblem(record: object, known: readonly string[]): string | undefined {
  const unknown = Object.keys(record).filter((k) => !known.includes(k));
  if (unknown.length === 0) return undefined;
  const named = unknown.slice(0, 5).map((k) => {
    const near = closest(k, known);
    return `${JSON.stringify(k)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`;
  });
  const more = unknown.length > named.length ? ` and ${unknown.length - named.length} more` : '';
  return `unknown field${unknown.length > 1 ? 's' : ''} ${named.join(', ')}${more}; the fields are ${known.map((k) => JSON.stringify(k)).join(', ')}`;
}
