import { capMessage } from '../util/errors';

/** Longest piece of registry-supplied text quoted in a message. */
export const MAX_REGISTRY_TEXT = 200;

/**
 * Makes text a registry (or anything on the network) sent safe to print: control characters
 * (escape sequences, CR/LF that could fake a line in a CI log, bidi overrides) become spaces,
 * credential-looking values (`Basic …`, `Bearer …`, `token=…`, `password: …`, JWTs) are replaced by
 * `[redacted]` (registries have been seen echoing the request's Authorization header), and the
 * result is capped at `max` characters.
 */
export function sanitizeRegistryText(text: string, max = MAX_REGISTRY_TEXT): string {
  const clean = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+/g, ' ')
    .replace(/\b(basic|bearer|token|negotiate|digest)(\s+|=|:\s*)[^\s"',;]+/gi, '$1$2[redacted]')
    .replace(/\b(authorization|password|passwd|secret|access_token|refresh_token|auth)("?\s*[:=]\s*"?)[^\s"',;]+/gi, '$1$2[redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/ {2,}/g, ' ')
    .trim();
  return capMessage(clean, max);
}
