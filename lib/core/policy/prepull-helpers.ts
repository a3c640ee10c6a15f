import { ImageReference } from '../names/image-reference';
import { describeType } from '../../util/errors';
import { ProjectConfigError, loadProjectConfig, projectConfigBeside, refuseUnknownConfigKeys } from '../config/project-config';
import { docPath } from '../../util/docs';
import type { Finding } from '../findings/finding';
import { isObject } from '../objects/pod-templates';

/** Helper image whose static `/bin/busybox` is copied into the pod and run as the no-op. */
export const DEFAULT_HELPER_IMAGE = 'busybox:1.36.1';
/** Path of the static binary inside the helper image. */
export const DEFAULT_HELPER_BINARY = '/bin/busybox';
/** Image of the main container that holds the pod (and keeps the pulled images in use). */
export const DEFAULT_PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
/** Label on every object the pre-pull builder makes; the checker finds pre-pullers by it. */
export const PREPULL_LABEL = 'kubepin.dev/pre-pull';
/** The `kubepin.config.json` section and the ImagePolicy option (both faces) that set the images below. */
export const PREPULL_HELPERS_KEY = 'prePullHelpers';

/**
 * The two images every pre-pull pod runs besides the pre-pulled ones. Set them where a project
 * sets things (the `prePullHelpers` section of kubepin.config.json, or the ImagePolicy option
 * of the same name) when docker.io or registry.k8s.io are not reachable or not allowed.
 */
export interface PrePullHelperImages {
  /** Image holding a static binary that runs `true`, copied into each pod. @default "busybox:1.36.1" */
  readonly helperImage?: string;
  /** Path of that static binary in the helper image. @default "/bin/busybox" */
  readonly helperBinary?: string;
  /** Image of the main container that holds the pod. @default "registry.k8s.io/pause:3.10" */
  readonly pauseImage?: string;
}

const FIELDS = ['helperImage', 'helperBinary', 'pauseImage'] as const;

/**
 * The `prePullHelpers` section of the kubepin.config.json beside `lockFile` (nothing when there
 * is no lock file, file or section).
 * @throws ProjectConfigError
 */
export function configuredPrePullHelpers(lockFile: string | undefined): PrePullHelperImages {
  if (lockFile === undefined) return {};
  const config = loadProjectConfig(projectConfigBeside(lockFile));
  const section = config?.data.prePullHelpers;
  if (!config || section === undefined) return {};
  const where = `${config.display}: ${PREPULL_HELPERS_KEY}`;
  if (!isObject(section)) throw new ProjectConfigError(`${where} must be an object such as { "helperImage": "registry.acme.test/busybox:1.36.1", "pauseImage": "registry.acme.test/pause:3.10" }, got ${describeType(section)}`);
  refuseUnknownConfigKeys(section, FIELDS, where);
  for (const field of FIELDS) {
    const value = section[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new ProjectConfigError(`${where}.${field} must be a non-empty string, got ${describeType(value)}`);
  }
  return section as PrePullHelperImages;
}

/** Each field from the first layer that sets it: the construct's own props, then the policy's option, then kubepin.config.json. */
export function mergePrePullHelpers(...layers: ReadonlyArray<PrePullHelperImages | undefined>): PrePullHelperImages {
  const out: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = layers.find((l) => l?.[field] !== undefined)?.[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** The `origin` an image record carries for an image kubepin itself added to a pre-puller: its default helper or pause image. */
export type PrePullDefaultOrigin = 'prepull-default-helper' | 'prepull-default-pause';
const ORIGINS: Record<PrePullDefaultOrigin, 'helper' | 'pause'> = { 'prepull-default-helper': 'helper', 'prepull-default-pause': 'pause' };

/** Which of a pre-puller's own images is at `path` (by the label kubepin's pre-pull builder sets), if any. */
function prePullRole(object: Record<string, unknown>, path: string): 'helper' | 'pause' | undefined {
  const labels = isObject(object.metadata) ? (object.metadata as Record<string, unknown>).labels : undefined;
  if (!isObject(labels) || (labels as Record<string, unknown>)[PREPULL_LABEL] !== 'true') return undefined;
  return /\binitContainers\[0\]/.test(path) ? 'helper' : /\bcontainers\[0\]/.test(path) ? 'pause' : undefined;
}

const ROLES = {
  helper: ['helperImage', DEFAULT_HELPER_IMAGE, 'copies a static no-op binary into each pre-pull pod'],
  pause: ['pauseImage', DEFAULT_PAUSE_IMAGE, 'holds each pre-pull pod'],
} as const;

/** True for the default image of `role` as written or as pinned (`docker.io/library/busybox:1.36.1@sha256:…`). */
function isDefaultImage(role: 'helper' | 'pause', image: string): boolean {
  const fallback = ROLES[role][1];
  if (image === fallback || image.startsWith(`${fallback}@`)) return true;
  const ref = ImageReference.tryParse(image);
  const def = ImageReference.tryParse(fallback);
  return ref !== undefined && def !== undefined && ref.name === def.name && ref.tag === def.tag;
}

/**
 * The origin of the image at `path` of `object` when it is kubepin's default helper or pause image
 * of a pre-puller, for the app's image records; undefined for any other (a user's own busybox, a
 * pre-pulled image, a helper the project set).
 */
export function prePullDefaultOrigin(object: Record<string, unknown>, path: string, image: string): PrePullDefaultOrigin | undefined {
  const role = prePullRole(object, path);
  if (!role || !isDefaultImage(role, image)) return undefined;
  return role === 'helper' ? 'prepull-default-helper' : 'prepull-default-pause';
}

/** True for a known {@link PrePullDefaultOrigin}. */
export function isPrePullDefaultOrigin(origin: unknown): origin is PrePullDefaultOrigin {
  return typeof origin === 'string' && Object.hasOwn(ORIGINS, origin);
}

/** Which image it is, whether kubepin's default brought it in, and where to set another. */
function helperNote(role: 'helper' | 'pause', image: string): string {
  const [field, fallback, what] = ROLES[role];
  const origin = isDefaultImage(role, image) ? `kubepin's default pre-pull ${role} image (${fallback}), added by the pre-puller (prePull: true, prePulled, PrePullDaemonSet)` : `the pre-pull ${field}`;
  return `${image} is ${origin}: it ${what}. To use another (a mirror in your registry), set "${PREPULL_HELPERS_KEY}": { "${field}": "…" } in kubepin.config.json, or the ImagePolicy option ${PREPULL_HELPERS_KEY}.${field} (${docPath('pre-pull.md')})`;
}

/** The note for `image` whose every use has `origin` (`kubepin lock` adds it to the image's failure). */
export function prePullOriginNote(origin: PrePullDefaultOrigin, image: string): string {
  return helperNote(ORIGINS[origin], image);
}

/**
 * For a finding on a pre-puller's helper (`initContainers[0]`) or pause container
 * (`containers[0]`): which image it is, whether kubepin's default brought it in, and where to
 * set another. Undefined for any other finding.
 */
export function prePullHelperNote(object: Record<string, unknown>, finding: Finding): string | undefined {
  const role = prePullRole(object, finding.path);
  return role ? helperNote(role, finding.image ?? '') : undefined;
}

/** Appends {@link prePullHelperNote} to each of `findings` from index `from` on that concerns a pre-puller's helper or pause image of `object`. */
export function notePrePullHelpers(object: Record<string, unknown>, findings: Finding[], from: number): void {
  for (let i = from; i < findings.length; i++) {
    const note = prePullHelperNote(object, findings[i]);
    if (note) findings[i] = { ...findings[i], message: `${findings[i].message}. Note: ${note}` };
  }
}
