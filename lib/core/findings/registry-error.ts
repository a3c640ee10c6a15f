import { KubepinError, capMessage } from '../../util/errors';

/**
 * Why resolving an image failed. Stable: tools may switch on it.
 * - `unauthorized` / `forbidden`: the registry (or its token server) refused the credential tried, or none was found.
 * - `not-found`: the repository or tag does not exist (HTTP 404).
 * - `digest-mismatch`: the registry's digest header disagrees with the hash of the bytes it sent.
 * - `too-large`: a manifest or token response exceeded the size cap.
 * - `tls`: the TLS handshake or certificate check failed.
 * - `timeout`, `network`, `server-error`, `rate-limited`: still failing after the bounded retries.
 * - `redirect`: too many redirects, or a redirect to a plain-HTTP remote host.
 * - `insecure`: plain HTTP to a host that is neither loopback nor listed as insecure.
 * - `platform-not-found`: the index has no manifest for a requested platform.
 * - `invalid-reference`: the image reference names no registry host (e.g. `a_b.c/x:1`); nothing was sent.
 * - `bad-response`: anything else the protocol does not allow (malformed digest, unknown media type, …).
 */
export type RegistryErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'digest-mismatch'
  | 'too-large'
  | 'tls'
  | 'timeout'
  | 'network'
  | 'server-error'
  | 'rate-limited'
  | 'redirect'
  | 'insecure'
  | 'platform-not-found'
  | 'invalid-reference'
  | 'bad-response';

/** Longest {@link RegistryError} message. */
export const MAX_REGISTRY_ERROR_CHARS = 2000;

/** A registry could not resolve an image. The message names the image, the host and the fix; never a secret. */
export class RegistryError extends KubepinError {
  /** What went wrong. */
  public readonly kind: RegistryErrorKind;
  /** HTTP status of the last answer, when there was one. */
  public readonly status?: number;
  /** The registry host talked to. */
  public readonly host: string;

  constructor(kind: RegistryErrorKind, host: string, message: string, status?: number) {
    // Messages may list what a registry sent (an index's platforms): never a 300 KB error.
    super(capMessage(message, MAX_REGISTRY_ERROR_CHARS));
    this.kind = kind;
    this.host = host;
    this.status = status;
  }
}
