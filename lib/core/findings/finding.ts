import type { ObjectRef } from '../objects/pod-templates';

export type { ObjectRef } from '../objects/pod-templates';

/** How bad a finding is: errors fail synthesis (in strict mode) and CI checks. */
export type Severity = 'error' | 'warning' | 'info';

/** One problem (or note) about an image in a manifest. */
export interface Finding {
  /** Stable identifier, e.g. `unpinned-image`; see {@link FindingCode}. */
  readonly code: FindingCode;
  /** `error`, `warning` or `info`. */
  readonly severity: Severity;
  /** The object the image belongs to. */
  readonly object: ObjectRef;
  /** JSON path of the field within the object, e.g. `spec.template.spec.containers[0].image`. */
  readonly path: string;
  /** The image as written in the manifest, when the finding is about one image. */
  readonly image?: string;
  /** What is wrong and how to fix it. Never contains a credential. */
  readonly message: string;
}

/** Every finding code the policy engine and the checker emit. */
export type FindingCode =
  | 'invalid-image'
  | 'unpinned-image'
  | 'latest-tag'
  | 'latest-with-digest'
  | 'never-without-prepull'
  | 'no-pull-secret-for-private-registry'
  | 'pull-secret-for-public-registry'
  | 'digest-mismatch-with-lock'
  | 'registry-not-allowed'
  | 'invalid-pull-policy'
  | 'service-account-pull-secrets-ignored'
  | 'signature-not-locked'
  | 'image-location-unknown'
  | 'run-time-image-parameter'
  | 'kustomize-patch'
  | 'platform-not-found'
  | 'platform-not-covered'
  | (string & { readonly __findingCode?: never });

/** Describes an object for messages: `Deployment default/web`. */
export function describeObject(object: ObjectRef): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
}

/** One line per finding: `error unpinned-image Deployment web spec…image: message`. */
export function formatFinding(finding: Finding): string {
  return `${finding.severity} ${finding.code} ${describeObject(finding.object)} ${finding.path}: ${finding.message}`;
}
