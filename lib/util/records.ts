/** A copy of `record` with its keys in sorted order, so JSON output is byte-stable. */
export function sortRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}
