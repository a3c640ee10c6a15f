import { SignatureRejection } from './cosign';
import type { LogTrust } from './trusted-root';

/** Gives the trusted root used where the configuration names none. */
export type PublicGoodRoot = () => Promise<LogTrust>;

/** Where the public-good root comes from: Sigstore's TUF repository, or a mirror of it. */
export interface TufSource {
  /** The TUF repository. @default `KUBEPIN_SIGSTORE_TUF_MIRROR`, else https://tuf-repo-cdn.sigstore.dev */
  readonly mirrorURL?: string;
  /** The initial root.json for a mirror `@sigstore/tuf` has no embedded root for. @default `KUBEPIN_SIGSTORE_TUF_ROOT` */
  readonly rootPath?: string;
  /** The TUF cache. @default `KUBEPIN_SIGSTORE_TUF_CACHE`, else @sigstore/tuf's (a `sigstore-js` directory in the user's data directory) */
  readonly cachePath?: string;
}

/** The TUF options from `source` and the environment. */
export function tufOptions(source: TufSource = {}): { mirrorURL?: string; rootPath?: string; cachePath?: string; retry: { retries: number }; timeout: number } {
  const env = process.env;
  const mirrorURL = source.mirrorURL ?? (env.KUBEPIN_SIGSTORE_TUF_MIRROR || undefined);
  const rootPath = source.rootPath ?? (env.KUBEPIN_SIGSTORE_TUF_ROOT || undefined);
  const cachePath = source.cachePath ?? (env.KUBEPIN_SIGSTORE_TUF_CACHE || undefined);
  return { ...(mirrorURL ? { mirrorURL } : {}), ...(rootPath ? { rootPath } : {}), ...(cachePath ? { cachePath } : {}), retry: { retries: 1 }, timeout: 10_000 };
}

/**
 * Fetches the trusted_root.json target of Sigstore's TUF repository (`@sigstore/tuf`: its
 * embedded TUF root, then the signed metadata chain, cached).
 * @returns the file's JSON text
 */
export async function fetchTrustedRootOverTuf(source: TufSource = {}): Promise<string> {
  const { initTUF } = require('@sigstore/tuf') as typeof import('@sigstore/tuf');
  const tuf = await initTUF(tufOptions(source));
  return tuf.getTarget('trusted_root.json');
}

/**
 * A loader of the public-good Sigstore trusted root, fetched over TUF at its first use and kept
 * (a verifier makes one per run). Used for keyless signers and log entries where the
 * configuration names no `trustedRoot` (CI should pin one: `kubepin trust update`).
 * The loader rejects with a SignatureRejection naming the fix when the root cannot be had.
 */
export function publicGoodLoader(): PublicGoodRoot {
  let root: Promise<LogTrust> | undefined;
  return () => {
    root ??= (async () => {
      const options = tufOptions();
      const mirror = options.mirrorURL ?? 'https://tuf-repo-cdn.sigstore.dev';
      let text: string;
      try {
        text = await fetchTrustedRootOverTuf();
      } catch (e) {
        throw new SignatureRejection(`no trusted root is configured, and the public-good one could not be fetched over TUF from ${mirror} (${String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200)}). Fix: pin one with \`kubepin trust update --output sigstore/trusted_root.json\` and name it as "trustedRoot" in kubepin.config.json's "signatures"`);
      }
      const { parseTrustedRoot } = require('./trusted-root') as typeof import('./trusted-root');
      return parseTrustedRoot(text, `the public-good Sigstore trusted root (TUF ${mirror})`);
    })();
    return root;
  };
}

let processLoader: PublicGoodRoot | undefined;

/** The process's {@link publicGoodLoader}: the default of the verification functions when none is given. */
export function loadPublicGoodRoot(): Promise<LogTrust> {
  processLoader ??= publicGoodLoader();
  return processLoader();
}
