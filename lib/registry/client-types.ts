/** The options, results and counters of RegistryClient (client.ts). */
import { RegistryCredentialProvider } from './credentials';

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Where credentials come from. @default none: anonymous only */
  readonly credentials?: RegistryCredentialProvider;
  /** PEM text of extra CA certificates trusted on top of the system CAs. @default none */
  readonly ca?: string | Buffer;
  /** Hosts reached over plain HTTP (or HTTPS without certificate checks); loopback hosts always may. @default none */
  readonly insecureRegistries?: readonly string[];
  /** Registry host → mirror host (`{ 'docker.io': 'mirror.example:5000' }`): resolved through the mirror, recorded under the original name. @default none */
  readonly mirrors?: Readonly<Record<string, string>>;
  /**
   * Requests in flight per registry host. @default 16 over HTTP/1.1 (keep-alive connections);
   * over HTTP/2, as many streams as the registry allows on its one connection, at most 256
   */
  readonly concurrency?: number;
  /** Talk HTTP/2 to HTTPS registries that offer it (ALPN `h2`); HTTP/1.1 keep-alive otherwise. @default true */
  readonly http2?: boolean;
  /** Milliseconds per request, connect to last byte. @default 10000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt on 5xx, 408, 429, resets and timeouts. @default 3 */
  readonly retries?: number;
  /** First back-off delay; doubles per retry. @default 200 */
  readonly backoffMs?: number;
  /** Longest back-off delay. @default 3000 */
  readonly maxBackoffMs?: number;
  /** Longest `Retry-After` honoured; a longer one fails the image as rate-limited. @default 30000 */
  readonly maxRetryAfterMs?: number;
  /**
   * Requests to one host that may time out in a row (each after its retries) before the host is
   * taken for down and its remaining images fail at once instead of each waiting out its own
   * timeouts. @default 3
   */
  readonly maxConsecutiveTimeouts?: number;
  /** Largest manifest body read. @default 4 MiB (the OCI limit registries must accept) */
  readonly maxManifestBytes?: number;
}

/** Options of one resolution. */
export interface ResolveOptions {
  /** Platforms (`os/arch[/variant]`) whose manifest digests to record from the verified index. @default none */
  readonly platforms?: readonly string[];
  /** Also list every platform a multi-platform index offers ({@link ResolvedImage.offeredPlatforms}). @default false */
  readonly listPlatforms?: boolean;
}

/** A tag resolved to its digest. */
export interface ResolvedImage {
  /** The normalized tagged reference, e.g. `docker.io/library/nginx:1.27`. */
  readonly reference: string;
  /** Digest of what the tag names (the index for multi-arch images). */
  readonly digest: string;
  /** Media type of that manifest. */
  readonly mediaType: string;
  /** `os/arch[/variant]` → platform manifest digest, when asked for and the image is multi-arch. */
  readonly platforms?: Readonly<Record<string, string>>;
  /** Every platform the index offers (`os/arch[/variant]` → manifest digest, sorted, attestations left out), when asked for and the image is multi-arch. */
  readonly offeredPlatforms?: Readonly<Record<string, string>>;
  /** The host actually asked (a mirror, or the API host of Docker Hub). */
  readonly resolvedFrom: string;
  /** The credential that worked (source and user, never the secret), if any was used. */
  readonly credential?: { readonly source: string; readonly username: string };
}

/** Counters for benchmarks and tests. */
export interface RegistryClientStats {
  /** HTTP requests sent, all kinds. */
  readonly requests: number;
  /** `GET /v2/` pings. */
  readonly pings: number;
  /** Token requests. */
  readonly tokenRequests: number;
  /** Manifest HEADs and GETs. */
  readonly manifestRequests: number;
  /** Retries after failures. */
  readonly retries: number;
}

/** What {@link RegistryClient.probeManifest} found. */
export type ManifestPresence =
  | {
      readonly present: true;
      /** Media type of the manifest, as the registry serves it. */
      readonly mediaType: string;
      /** The manifest's bytes, when a GET was needed (they hash to the digest asked for). */
      readonly body?: Buffer;
    }
  | {
      readonly present: false;
      /** The registry's error code for the 404 (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`), when it sent one. */
      readonly code?: string;
      /** The registry's error message, sanitized. */
      readonly message?: string;
    };
