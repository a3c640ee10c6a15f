import { RegistryError } from '../core/findings/registry-error';
import { ImageLock } from '../core/lock/image-lock';
import { RegistryClient } from '../registry/client';
import { LivenessCode, LockedManifest, checkLiveness } from '../registry/liveness';
import { INDEX_TYPES } from '../registry/manifest-verification';
import type { SignaturePolicy } from '../signatures/policy';
import { SignatureVerificationError } from '../signatures/errors';
import type { ImageLocation } from '../registry/lock-images';
import { DigestOnlyImages, digestOnlyFindings, lockedSignatureFindings, remoteErrorFinding } from './verify-signatures';

/** A finding of `kubepin verify --remote`, about one locked reference. */
export interface RemoteFinding {
  readonly code: 'tag-moved' | 'remote-error' | 'signature-invalid' | LivenessCode;
  /** The locked reference (or the image as written, for one pinned by digest alone). */
  readonly image: string;
  /** Where an image pinned by digest alone is used. */
  readonly location?: ImageLocation;
  /** The digest concerned (the locked one, or a platform's), for liveness findings. */
  readonly digest?: string;
  /** The platform, for findings about one platform's manifest. */
  readonly platform?: string;
  /** What `kubectl describe pod` will show, for a pin that will not pull. */
  readonly kubelet?: string;
  /** For a registry that could not be reached: its host, and the cause in words. */
  readonly registry?: string;
  readonly cause?: string;
  readonly message: string;
}

/** A tag that names another digest than the lock's. */
export interface Drift {
  readonly reference: string;
  readonly locked: string;
  readonly current: string;
}

/** Exit code of `kubepin verify --remote` when a locked digest (or a platform's) is gone: the pods will not pull. */
export const EXIT_PIN_GONE = 3;
/** Exit code when the repository or the credential is gone (and no digest is known gone). */
export const EXIT_ACCESS_GONE = 4;

const PIN_GONE: ReadonlySet<string> = new Set(['digest-gone', 'child-gone', 'platform-not-found']);
const ACCESS_GONE: ReadonlySet<string> = new Set(['repository-gone', 'credential-gone']);

/** The exit code the findings call for: pins gone (3) over access gone (4) over any other finding (1). */
export function remoteExitCode(codes: readonly string[], otherwise: number): number {
  if (codes.some((c) => PIN_GONE.has(c))) return EXIT_PIN_GONE;
  if (codes.some((c) => ACCESS_GONE.has(c))) return EXIT_ACCESS_GONE;
  return otherwise;
}

/**
 * For every entry of `lock`: is the locked digest (and each platform manifest the lock records
 * or `cluster` needs) still served, does the tag still name it, and does the signature a
 * requirement asks for still verify (with the platform digests the lock records, and the
 * `digestOnly` images a requirement covers). Reads only: nothing here writes the lock.
 */
export async function remoteFindings(client: RegistryClient, lock: ImageLock, signatures: SignaturePolicy, lockName: string, cluster: readonly string[] = [], digestOnly: DigestOnlyImages = []): Promise<{ findings: RemoteFinding[]; drift: Drift[] }> {
  const { SignatureVerifier } = require('../signatures/verifier') as typeof import('../signatures/verifier');
  const verifier = new SignatureVerifier(client);
  const findings: RemoteFinding[] = [];
  const drift: Drift[] = [];
  await Promise.all(
    lock.list().map(async (entry) => {
      // The tag, and the signature a requirement asks for, are asked for alongside the digests, not after them.
      const tag = client.resolve(entry.reference).then((result) => ({ result }), (error: unknown) => ({ error }));
      const requirement = signatures.requirementFor(entry.reference);
      // The signature check reads a signed index anyway (its platform digests): liveness then GETs it instead of a HEAD, once for both.
      const index = new LockedManifest(client, entry, requirement !== undefined && Object.keys(entry.platforms ?? {}).length > 0 && INDEX_TYPES.has(entry.mediaType));
      const signed = requirement ? lockedSignatureFindings(index, verifier, entry, requirement, lockName).then((found) => ({ found }), (error: unknown) => ({ error })) : undefined;
      try {
        const gone = await checkLiveness(client, entry, cluster, index).finally(() => tag);
        for (const g of gone) {
          findings.push({ code: g.code, image: entry.reference, digest: g.digest, ...(g.platform ? { platform: g.platform } : {}), kubelet: g.kubelet, message: `${g.message}. The kubelet reports ErrImagePull, then ImagePullBackOff: ${g.kubelet}` });
        }
        // Without the repository or the credential the tag cannot be read either: one finding says it.
        if (gone.some((g) => ACCESS_GONE.has(g.code))) return;
        const answer = await tag;
        if ('error' in answer) throw answer.error;
        const { result } = answer;
        if (result.digest !== entry.digest) {
          drift.push({ reference: entry.reference, locked: entry.digest, current: result.digest });
          findings.push({ code: 'tag-moved', image: entry.reference, message: `${entry.reference} moved: ${lockName} has ${entry.digest}, the registry now serves ${result.digest}. Fix: \`kubepin lock --update\` if the new image is wanted` });
        }
        // The locked digest's signature and its platform digests, checked again: a hand-edited lock is caught here.
        if (signed) {
          const verdict = await signed;
          if ('error' in verdict) throw verdict.error;
          findings.push(...verdict.found);
        }
      } catch (e) {
        if (e instanceof SignatureVerificationError) {
          findings.push({ code: 'signature-invalid', image: entry.reference, message: e.message });
          return;
        }
        if (!(e instanceof RegistryError)) throw e;
        findings.push(remoteErrorFinding(entry.reference, e));
      }
    }),
  );
  findings.push(...(await digestOnlyFindings(verifier, digestOnly)));
  drift.sort((a, b) => a.reference.localeCompare(b.reference));
  return { findings, drift };
}
