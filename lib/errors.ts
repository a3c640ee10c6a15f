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

/** `message`, cut at {@link MAX_ERROR_MESSAGE} characters with a note of how much was cut. */
export function capMessage(message: string, max = MAX_ERROR_MESSAGE): string {
  return message.length > max ? `${message.slice(0, max)}… (${message.length - max} more characters cut)` : message;
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
