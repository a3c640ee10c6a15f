import { ImageReference } from './image-reference';
import { KubepinUsageError, requireString } from '../../util/errors';

/** The three `imagePullPolicy` values Kubernetes accepts. */
export const PullPolicy = {
  /** Pull (or at least check the registry) every time a container starts. */
  Always: 'Always',
  /** Pull only when the image is not on the node yet. */
  IfNotPresent: 'IfNotPresent',
  /** Never pull: the image must already be on the node (pre-pulled), else `ErrImageNeverPull`. */
  Never: 'Never',
} as const;

/** One of `Always`, `IfNotPresent`, `Never`. */
export type PullPolicy = (typeof PullPolicy)[keyof typeof PullPolicy];

const POLICIES: ReadonlySet<string> = new Set(Object.values(PullPolicy));

/** True when `value` is a valid `imagePullPolicy`. */
export function isPullPolicy(value: unknown): value is PullPolicy {
  return typeof value === 'string' && POLICIES.has(value);
}

/**
 * True when an `imagePullPolicy` field counts as not set: absent, `null` or `""` (what `helm
 * template` writes for an unset value). The API server defaults all three, it rejects none.
 */
export function isUnsetPullPolicy(value: unknown): value is undefined | null | '' {
  return value === undefined || value === null || value === '';
}

/** Returns `value` as a {@link PullPolicy}, or throws a usage error naming `where`. */
export function requirePullPolicy(value: unknown, where: string): PullPolicy {
  if (!isPullPolicy(value)) {
    throw new KubepinUsageError(`${where}: imagePullPolicy ${JSON.stringify(value)} is not one of Always, IfNotPresent, Never`);
  }
  return value;
}

/**
 * The `imagePullPolicy` the API server fills in when a container leaves it empty
 * (`SetDefaults_Container`): it parses the image, counts "no tag and no digest" as tag
 * `latest`, and returns `Always` only for tag `latest` (case-sensitive). So
 * `app:latest@sha256:…` defaults to `Always`, and an unparseable image to `IfNotPresent`.
 *
 * @see https://github.com/kubernetes/kubernetes/blob/master/pkg/apis/core/v1/defaults.go (SetDefaults_Container)
 * @see https://kubernetes.io/docs/concepts/containers/images/#imagepullpolicy-defaulting
 */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  requireString(image, 'defaultPullPolicy(image)');
  const ref = ImageReference.tryParse(image);
  if (!ref) return PullPolicy.IfNotPresent;
  const tag = ref.tag ?? (ref.digest === undefined ? 'latest' : undefined);
  return tag === 'latest' ? PullPolicy.Always : PullPolicy.IfNotPresent;
}
