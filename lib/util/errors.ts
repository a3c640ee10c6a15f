/**
 * Base class of every error kubepin throws on purpose. Catch this to tell a kubepin
 * diagnosis (bad input, a registry answer, a broken lock file) from a bug.
 */
export class KubepinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Longest message of errors that may quote many values (lock entries, index platforms). */
export const MAX_ERROR_MESSAGE = 4000;

/** `message`, at most `max` characters in all, a note of how much was cut included. */
export function capMessage(message: string, max = MAX_ERROR_MESSAGE): string {
  if (message.length <= max) return message;
  // The note's own length depends on the count; sizing it for the whole message's count is enough.
  const kept = Math.max(0, max - `… (${message.length} more characters cut)`.length);
  return `${message.slice(0, kept)}… (${message.length - kept} more characters cut)`;
}

/** A value passed to a public function has the wrong type or shape. */
export class KubepinUsageError extends KubepinError {}

/** Throws a {@link KubepinUsageError} unless `value` is a string. */
export function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') {
    throw new KubepinUsageError(`${what} must be a string, got ${describeType(value)}`);
  }
  return value;
}

/** A short, secret-free description of a value's type for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
