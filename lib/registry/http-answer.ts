/**
 * What one HTTP exchange gives back, in the transport's terms: the types `transport.ts` and
 * `http2-sessions.ts` both speak, in a file of their own so neither imports the other for them.
 */
import type * as http from 'http';

/** One HTTP answer, body read (up to the cap) unless the method was HEAD. */
export interface HttpAnswer {
  /** HTTP status code. */
  readonly status: number;
  /** Response headers (lower-case names). */
  readonly headers: http.IncomingHttpHeaders;
  /** The body; empty for HEAD. */
  readonly body: Buffer;
  /** The URL that answered. */
  readonly url: URL;
}

/** A failure before or during an HTTP/2 exchange, in the transport's terms. */
export type FailureClassifier = (e: Error) => Error;
