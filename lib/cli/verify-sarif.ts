import type { CheckFinding } from '../check/check';
import { SarifRule, toSarif } from '../check/sarif';
import type { VerifyCode, VerifyFinding } from './verify-findings';

const DOC = { page: 'registry.md', anchor: 'kubepin-verify-path' } as const;
const LIVENESS = { page: 'lock-freshness.md', anchor: 'pins-that-will-still-pull-a-daily-kubepin-verify---remote-job' } as const;

/** The rules of `kubepin verify`, for its SARIF output: every one fails the gate. */
export const VERIFY_RULES: Readonly<Record<VerifyCode, SarifRule>> = {
  'unreadable-manifest': { title: 'Manifest file or document that cannot be read', level: 'error', doc: DOC, help: 'Nothing in it was verified. Correct the YAML at the line given.' },
  'invalid-reference': { title: 'Image reference the kubelet rejects (InvalidImageName)', level: 'error', doc: DOC, help: 'The reference does not parse. Use the spelling the message suggests.' },
  unpinned: { title: 'Image not pinned to a digest', level: 'error', doc: DOC, help: 'The manifest names a tag only, so what runs can change. Run kubepin lock, then synthesize again with the lock.' },
  'not-in-lock': { title: 'Pinned image whose tag the lock does not have', level: 'error', doc: DOC, help: 'The manifests are older than the lock. Synthesize again with the current lock; run kubepin lock first only if the app still uses the tag.' },
  'digest-mismatch': { title: 'Image pinned to another digest than the lock records', level: 'error', doc: DOC, help: 'The manifests were written with an older lock. Synthesize again with the current lock.' },
  'tag-moved': { title: 'Locked tag now names another digest (verify --remote)', level: 'error', doc: DOC, help: 'The registry serves another image under the tag. Run kubepin lock --update if the new image is wanted.' },
  'remote-error': { title: 'Locked tag could not be re-resolved (verify --remote)', level: 'error', doc: DOC, help: 'The registry could not be asked. The message names the cause and the fix.' },
  'digest-gone': { title: 'Locked digest no longer served (verify --remote)', level: 'error', doc: LIVENESS, help: 'The registry no longer serves the locked digest: new pods fail with ErrImagePull. Run kubepin lock --update and synthesize again.' },
  'child-gone': { title: "A platform manifest of the locked index is gone (verify --remote)", level: 'error', doc: LIVENESS, help: 'Nodes of that platform cannot pull the pinned image. Run kubepin lock --update and synthesize again.' },
  'platform-not-found': { title: 'Locked image lacks a platform of the cluster (verify --remote)', level: 'error', doc: LIVENESS, help: 'The locked index has no manifest for a platform kubepin.config.json names. Use an image built for it.' },
  'repository-gone': { title: 'Repository of a locked image is gone (verify --remote)', level: 'error', doc: LIVENESS, help: 'The registry says the repository does not exist (or hides it from this credential). Check the name and the access.' },
  'credential-gone': { title: 'Credential for a locked image no longer works (verify --remote)', level: 'error', doc: LIVENESS, help: 'The registry refuses the credential. Renew it, or the pull secret the cluster uses.' },
  'signature-not-locked': { title: 'Lock entry lacks the signature the configuration requires', level: 'error', doc: { page: 'signatures.md', anchor: 'enforcement' }, help: 'kubepin.config.json requires the image to be signed and its lock entry records no verified signature by a required key. Run kubepin lock --update.' },
  'signature-invalid': { title: 'Locked digest has no valid required signature (verify --remote)', level: 'error', doc: { page: 'signatures.md', anchor: 'enforcement' }, help: 'The signature check of the locked digest failed. Do not deploy it; lock a signed digest.' },
};

/** `kubepin verify --format sarif`: the findings as SARIF 2.1.0, on the manifest lines where they are. */
export function verifySarif(findings: readonly VerifyFinding[], options: { readonly baseDir: string; readonly version?: string; readonly failure?: string }): Record<string, unknown> {
  const asCheck = findings.map((f): CheckFinding => {
    const [kind, ...rest] = (f.location?.object ?? 'File/').split('/');
    return {
      code: f.code as CheckFinding['code'],
      severity: 'error',
      object: f.location ? { kind, name: rest.join('/') } : { kind: 'File', name: f.file ?? '' },
      path: f.location?.path ?? '',
      message: f.message,
      ...(f.image ? { image: f.image } : {}),
      ...(f.location ? { file: f.location.file, line: f.location.line } : f.file !== undefined ? { file: f.file, ...(f.line ? { line: f.line } : {}) } : {}),
    };
  });
  return toSarif(asCheck, { ...options, rules: VERIFY_RULES });
}
