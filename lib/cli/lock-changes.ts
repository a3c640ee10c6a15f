import { ImageLock } from '../core/lock/image-lock';
import { LockOutcome } from '../registry/lock-images';

/** What a `kubepin lock` run changes (or, with --dry-run / --frozen, would change) in the lock. */
export interface LockChanges {
  /** References added, with their digest when resolved (`--frozen` does not resolve them). */
  readonly added: Array<{ readonly reference: string; readonly digest?: string }>;
  /** References whose digest changed. */
  readonly changed: Array<{ readonly reference: string; readonly from: string; readonly to: string }>;
  /** References removed by --prune. */
  readonly pruned: readonly string[];
  /** Anything else in the entries (a platform digest, a signature, `requested`) differs. */
  readonly otherwise: boolean;
}

/** The changes between the lock's entries `before` (serialized) and now, given the run's outcomes. */
export function lockChanges(before: string, lock: ImageLock, outcomes: readonly LockOutcome[], pruned: readonly string[], missing: readonly string[] = []): LockChanges {
  const added: Array<{ reference: string; digest?: string }> = missing.map((reference) => ({ reference }));
  const changed: Array<{ reference: string; from: string; to: string }> = [];
  for (const o of outcomes) {
    if (o.status !== 'resolved') continue;
    if (!o.previous) added.push({ reference: o.reference, digest: o.entry.digest });
    else if (o.previous.digest !== o.entry.digest) changed.push({ reference: o.reference, from: o.previous.digest, to: o.entry.digest });
  }
  return { added, changed, pruned, otherwise: lock.serialize() !== before };
}

/** True when the changes would alter the lock file. */
export function changesAnything(changes: LockChanges): boolean {
  return changes.added.length > 0 || changes.changed.length > 0 || changes.pruned.length > 0 || changes.otherwise;
}

/** One line per change: "add …", or "would add …" for a run that writes nothing. */
export function describeChanges(changes: LockChanges, would: boolean): string[] {
  const verb = (v: string) => (would ? `would ${v}` : v);
  return [
    ...changes.added.map((a) => `${verb('add')} ${a.reference}${a.digest ? ` (${a.digest})` : ' (not in the lock)'}`),
    ...changes.changed.map((c) => `${verb('update')} ${c.reference}: ${c.from} -> ${c.to}`),
    ...changes.pruned.map((p) => `${verb('prune')} ${p} (no longer used)`),
  ];
}
