// The probe's types, apart from its logic, so the registry adapter can use them without an import cycle.
import { ImageReference } from '../core/names/image-reference';
import { CredentialKeyring } from '../core/credentials/keyring';
import { CredentialProviderConfig } from '../node/credential-provider-types';

/** What one manifest request with one credential (or none) came back with. */
export type ManifestAnswer =
  | { readonly outcome: 'found'; readonly digest?: string }
  | { readonly outcome: 'unauthorized' | 'forbidden' | 'not-found' | 'error'; readonly status: number; readonly detail?: string }
  | {
      readonly outcome: 'unreachable' | 'tls';
      readonly detail: string;
      /** The host that could not be reached, the cause in words and the fix (lib/base/host-failure), when known. */
      readonly host?: string;
      readonly cause?: string;
      readonly fix?: string;
    };

/** One credential to try: a user name and a password (or token); never printed. */
export interface ProbeCredential {
  /** User name. */
  readonly username: string;
  /** Password or token. */
  readonly password: string;
}

/**
 * Asks a registry for a manifest as the kubelet's pull would, with one credential or
 * anonymously. Implemented over the registry client by `registryProber` (./probe); tests may
 * pass their own.
 */
export type ManifestProber = (image: ImageReference, credential: ProbeCredential | undefined) => Promise<ManifestAnswer>;

/** Options of `probePlans` (./probe) and of the registry prober. */
export interface ImageProbeOptions {
  /** Asks the registry. @default a `registryProber` built from the options below */
  readonly prober?: ManifestProber;
  /** The nodes' config.json credentials, tried after pod secrets. @default none */
  readonly nodeCredentials?: CredentialKeyring;
  /** The kubelet's credential providers (their answer is unknown here). @default none */
  readonly credentialProviders?: CredentialProviderConfig;
  /** Registry hosts spoken to over plain HTTP. @default none (127.0.0.1 and localhost registries are tried over HTTP too) */
  readonly insecureRegistries?: readonly string[];
  /** Extra CA certificates (PEM) for registry TLS. @default the system's */
  readonly ca?: Buffer | string;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * The platform manifests of a pinned index that must be there too (from the lock: the
   * platforms it records), asked for with the credential that read the index. @default none
   */
  readonly children?: (image: ImageReference) => ReadonlyArray<{ readonly platform: string; readonly digest: string }>;
}
