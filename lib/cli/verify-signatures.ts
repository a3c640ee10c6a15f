import { ImageReference } from '../core/names/image-reference';
import { RegistryError } from '../core/findings/registry-error';
import { unreachableHost } from '../core/findings/host-failure';
import type { LockEntry } from '../core/lock/image-lock';
import { INDEX_TYPES } from '../registry/manifest-verification';
import { platformDigests } from '../registry/index-platforms';
import type { ImageLocation } from '../registry/lock-images';
import type { LockedManifest } from '../registry/liveness';
import { SignatureVerificationError } from '../signatures/errors';
import type { SignaturePolicy, SignerRequirement } from '../signatures/policy';
import type { SignatureVerifier } from '../signatures/verifier';
import { describeSigners } from '../signatures/keyless-policy';
import { describeRecord, sameSigner } from '../core/lock/signature-record';

/** A signature problem `kubepin verify --remote` found. */
export interface SignatureFinding {
  readonly code: 'signature-invalid' | 'remote-error';
  /** The locked reference, or the image as written for a digest-only reference. */
  readonly image: string;
  /** Where a digest-only reference is used. */
  readonly location?: ImageLocation;
  /** The platform whose locked digest the signed index does not list. */
  readonly platform?: string;
  /** For a registry that could not be reached: its host, and the cause in words. */
  readonly registry?: string;
  readonly cause?: string;
  readonly message: string;
}

/**
 * The `remote-error` finding for a registry's failure. A host that could not be reached is
 * named with the cause in words and the fix (no request URL), and carries `registry` and
 * `cause` so the text output says it once per host.
 */
export function remoteErrorFinding(image: string, error: RegistryError): { code: 'remote-error'; image: string; message: string; registry?: string; cause?: string } {
  const down = unreachableHost(error);
  if (!down) return { code: 'remote-error', image, message: error.message };
  return { code: 'remote-error', image, registry: down.host, cause: down.cause, message: `${image}: registry ${down.host}: ${down.cause}${down.fix === 'see above' ? '' : `. Fix: ${down.fix}`}` };
}

/**
 * The signature side of `verify --remote` for one lock entry a requirement covers: the locked
 * digest's signature verifies again (by the key the lock records), and every platform digest
 * the lock records is the one the signed index lists for that platform, read again from the
 * registry (its bytes hash to the signed digest, so its children are covered by the signature)
 * through `index` (shared with liveness: one GET in a run), at the same time as the signature.
 * A digest put under `platforms` by hand, signed or not, is refused here.
 * @throws RegistryError when the registry fails (network, auth)
 */
export async function lockedSignatureFindings(index: LockedManifest, verifier: SignatureVerifier, entry: LockEntry, requirement: SignerRequirement, lockName: string): Promise<SignatureFinding[]> {
  const image = entry.reference;
  const ref = ImageReference.parse(entry.reference);
  const findings: SignatureFinding[] = [];
  const locked = Object.entries(entry.platforms ?? {});
  const indexed = INDEX_TYPES.has(entry.mediaType);
  // Asked for beside the signature, not after it; a failure is seen once the signature verified.
  const body = locked.length > 0 && indexed ? index.read().then((b) => ({ b }), (error: unknown) => ({ error })) : undefined;
  try {
    const record = await verifier.verify(ref, entry.digest, requirement);
    if (entry.signature && !sameSigner(record, entry.signature)) {
      findings.push({ code: 'signature-invalid', image, message: `${image}@${entry.digest}: ${lockName} records a signature by ${describeRecord(entry.signature)}, but the registry's valid signature is by ${describeRecord(record)}. Fix: run \`kubepin lock --update\` to record it` });
    }
  } catch (e) {
    if (!(e instanceof SignatureVerificationError)) throw e;
    return [{ code: 'signature-invalid', image, message: e.message }];
  }
  if (locked.length === 0) return findings;
  const fix = `Fix: run \`kubepin lock --update\` to record the signed index's own platform digests`;
  if (!indexed) {
    return [...findings, { code: 'signature-invalid', image, message: `${image}: ${lockName} records platform digests for ${entry.digest}, which is a single manifest (${entry.mediaType}), not an index: they are not covered by its signature (the lock was edited by hand?). ${fix}` }];
  }
  const read = await body!;
  if ('error' in read) throw read.error;
  if (!read.b) {
    return [...findings, { code: 'signature-invalid', image, message: `${image}: the registry no longer serves the signed index ${entry.digest}, so its platform digests cannot be checked against it. ${fix}` }];
  }
  let listed: Record<string, string>;
  try {
    listed = platformDigests(read.b, locked.map(([p]) => p), ref.registry, image);
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    return [...findings, { code: 'signature-invalid', image, message: `${e.message}, yet ${lockName} records a digest for it (the lock was edited by hand?). ${fix}` }];
  }
  for (const [platform, digest] of locked) {
    if (listed[platform] === digest) continue;
    findings.push({
      code: 'signature-invalid', image, platform,
      message: `${image}: ${lockName} records ${digest} for ${platform}, but the signed index ${entry.digest} lists ${listed[platform]}: ${digest} is not covered by the index's signature (the lock was edited by hand?). ${fix}`,
    });
  }
  return findings;
}

/**
 * Offline, what a manifest pinned to one of `entry`'s platform digests can be checked against:
 * the lock itself. A platform digest is a child of an index, so the entry must be one, and when
 * the lock records the index's offered platforms the pinned platform must be among them.
 * @returns why the lock contradicts the pin, or `undefined` (`digest` is not a platform digest, or it is consistent)
 */
export function platformPinContradiction(entry: LockEntry, digest: string): string | undefined {
  const platform = Object.entries(entry.platforms ?? {}).find(([, d]) => d === digest)?.[0];
  if (platform === undefined) return undefined;
  if (!INDEX_TYPES.has(entry.mediaType)) return `that is a single manifest (${entry.mediaType}), not an index with platform manifests`;
  if (entry.offeredPlatforms && !entry.offeredPlatforms.includes(platform)) return `the index offers ${entry.offeredPlatforms.join(', ') || 'no platform'}, not ${platform}`;
  return undefined;
}

/** Images pinned by digest alone that a requirement covers, with it. */
export type DigestOnlyImages = ReadonlyArray<{ readonly location: ImageLocation; readonly ref: ImageReference; readonly requirement: SignerRequirement }>;

/** Images pinned by digest alone (`repo@sha256:…`) that a requirement covers: no lock entry vouches for them. */
export function digestOnlyCovered(locations: readonly ImageLocation[], signatures: SignaturePolicy): DigestOnlyImages {
  const out: Array<DigestOnlyImages[number]> = [];
  for (const location of locations) {
    const ref = ImageReference.tryParse(location.image);
    if (!ref || ref.tag !== undefined || ref.digest === undefined) continue;
    const requirement = signatures.requirementFor(ref);
    if (requirement) out.push({ location, ref, requirement });
  }
  return out;
}

/** `verify --remote` for digest-only references: each digest's signature is verified (once per reference). */
export async function digestOnlyFindings(verifier: SignatureVerifier, covered: DigestOnlyImages): Promise<SignatureFinding[]> {
  const verdicts = new Map<string, Promise<Omit<SignatureFinding, 'image'> | undefined>>();
  const findings: SignatureFinding[] = [];
  await Promise.all(
    covered.map(async ({ location, ref, requirement }) => {
      const key = ref.toString();
      let verdict = verdicts.get(key);
      if (!verdict) {
        verdict = verifier.verify(ref.withoutDigest(), ref.digest!, requirement).then(
          () => undefined,
          (e: unknown) => {
            if (e instanceof SignatureVerificationError) return { code: 'signature-invalid' as const, message: `${e.message} (pinned by digest in the manifest)` };
            if (e instanceof RegistryError) return remoteErrorFinding(ref.toString(), e);
            throw e;
          },
        );
        verdicts.set(key, verdict);
      }
      const problem = await verdict;
      if (problem !== undefined) findings.push({ ...problem, image: location.image, location });
    }),
  );
  return findings;
}

/** The warning offline `verify` gives for a digest-only reference a requirement covers, as synthesis does. */
export function digestOnlyWarning(image: string, requirement: SignerRequirement): string {
  return `${image} must be signed by ${describeSigners(requirement)} (${requirement.where}) but is pinned by digest alone, so the lock cannot vouch for its signature. Fix: run \`kubepin verify --remote\` (it verifies the digest's signature), or reference it by tag and run \`kubepin lock\``;
}
