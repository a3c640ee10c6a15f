import { ImageReference } from '../core/names/image-reference';
import { PullPolicy } from '../core/names/pull-policy';
import { CredentialKeyring } from '../core/credentials/keyring';
import { DigestSource } from '../core/lock/image-lock';
import { Finding } from '../core/findings/finding';
import { PullSecretDeclaration, applyImagePolicy } from '../core/policy/engine';
import { JsonObject, isObject, objectRef } from '../core/objects/pod-templates';
import { KubepinUsageError, describeType } from '../util/errors';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../core/names/k8s-names';
import { sortRecord } from '../util/records';
import { NodeScope, unionNodeScope, validateNodeScope } from './node-scope';
import { DEFAULT_HELPER_BINARY, DEFAULT_HELPER_IMAGE, DEFAULT_PAUSE_IMAGE, PREPULL_LABEL, PrePullHelperImages } from '../core/policy/prepull-helpers';

export { DEFAULT_HELPER_BINARY, DEFAULT_HELPER_IMAGE, DEFAULT_PAUSE_IMAGE, PREPULL_LABEL } from '../core/policy/prepull-helpers';

/** Default name of the pre-puller's ServiceAccount and DaemonSet. */
export const DEFAULT_PREPULL_NAME = 'kubepin-prepull';
/** Numeric uid and gid the pre-puller runs as (the "nonroot" user of distroless images). */
export const PREPULL_USER_ID = 65532;
/** Images per pod beyond which kubepin suggests splitting the pre-puller. */
export const DEFAULT_MAX_IMAGES_PER_POD = 50;
/** Where the no-op binary is mounted in every container of the pre-puller. */
export const PREPULL_BIN_DIR = '/.kubepin-prepull';
const BIN_VOLUME = 'kubepin-noop';
const NOOP = `${PREPULL_BIN_DIR}/busybox`;

/** Where and with which secrets one image is used (as its workloads use it). */
export interface PrePullImageOptions {
  /** Names of pull Secrets the workloads use for it (in the pre-puller's namespace). @default none beyond the matching declarations */
  readonly pullSecrets?: readonly string[];
  /** The workload's `nodeSelector`. @default any node */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** The workload's `tolerations`. @default none */
  readonly tolerations?: readonly object[];
  /** The workload's `affinity` (its required node affinity limits the nodes). @default none */
  readonly affinity?: object;
}

/** An image to pre-pull, with the node scope and secrets of the workloads that use it. */
export interface PrePullImage extends PrePullImageOptions {
  /** The image as the workloads write it, e.g. `nginx:1.27.5`. */
  readonly image: string;
}

/** Options of {@link buildPrePull} (`helperImage`, `helperBinary`, `pauseImage`: {@link PrePullHelperImages}). */
export interface PrePullOptions extends PrePullHelperImages {
  /** Images to pre-pull: strings, or objects carrying the workloads' node scope and secrets. @default none */
  readonly images?: readonly (string | PrePullImage)[];
  /** Name of the ServiceAccount and DaemonSet (split DaemonSets get `-1`, `-2`, … appended). @default "kubepin-prepull" */
  readonly name?: string;
  /** Namespace of the objects; pull secrets must live there. @default none (the chart's or the default namespace) */
  readonly namespace?: string;
  /** Where digests come from; every image, helper and pause included, is pinned through it. @default none: images stay tagged and are reported */
  readonly lock?: DigestSource;
  /** Images missing from the lock are errors instead of warnings. @default false */
  readonly strict?: boolean;
  /** Pull secrets the cluster has, matched to images by the kubelet's rules. @default none */
  readonly pullSecrets?: readonly PullSecretDeclaration[];
  /** Node scope replacing the union of the images' scopes (`kubernetes.io/os: linux` is still added). @default the union of the images' scopes */
  readonly nodeScope?: NodeScope;
  /** Only nodes of these architectures (`kubernetes.io/arch`), e.g. `amd64`. @default every architecture */
  readonly arch?: string | readonly string[];
  /** Tolerations added to the node scope, to reach tainted pools. @default none */
  readonly tolerations?: readonly object[];
  /** Replace every pod at once on a change (`maxUnavailable: 100%`) instead of surging. @default false */
  readonly fast?: boolean;
  /** `priorityClassName` of the pods. @default none */
  readonly priorityClassName?: string;
  /** Spread the images over this many DaemonSets, so kubelets with parallel pulls fetch them at once. @default 1 */
  readonly split?: number;
  /** More images than this in one pod is a finding suggesting `split`. @default 50 */
  readonly maxImagesPerPod?: number;
  /** Memory limit of each container (at least 32Mi). @default "32Mi" */
  readonly memoryLimit?: string;
  /** `sizeLimit` of the emptyDir holding the no-op binary. @default "16Mi" */
  readonly binVolumeSizeLimit?: string;
  /** Keep the tag next to the digest in pinned images. @default true */
  readonly keepTag?: boolean;
  /** Extra labels on every object. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What {@link buildPrePull} returns. */
export interface PrePullResult {
  /** The ServiceAccount followed by the DaemonSets, as plain JSON. */
  readonly objects: JsonObject[];
  /** The ServiceAccount (no RBAC, no token). */
  readonly serviceAccount: JsonObject;
  /** One DaemonSet, or several when split. */
  readonly daemonSets: JsonObject[];
  /** The pre-pulled images as they appear in the DaemonSets (pinned when locked), sorted, helper and pause excluded. */
  readonly images: string[];
  /** Findings: unpinned images, private images, too many images per pod. */
  readonly findings: Finding[];
}

/**
 * Builds the pre-pull ServiceAccount and DaemonSet(s) for `options.images`.
 *
 * Each pod runs one init container per image executing a static busybox copied into an
 * `emptyDir` by a first init container (so images without a shell work and nothing of the
 * image itself runs), then `pause` as its main container, which keeps the images in use
 * and makes the DaemonSet's rollout status the completion signal. Every image is pinned
 * through `options.lock` by the core policy engine and pulled `IfNotPresent`.
 */
export function buildPrePull(options: PrePullOptions = {}): PrePullResult {
  validatePrePullOptions(options);
  const name = options.name ?? DEFAULT_PREPULL_NAME;
  const entries = normalizeImages(options.images ?? []);
  const split = daemonSetCount(options.split, entries.length);
  const groups = chunk(entries, split);
  const arch = options.arch === undefined ? [] : typeof options.arch === 'string' ? [options.arch] : [...options.arch];

  const serviceAccount: JsonObject = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: prePullMetadata(options, 'ServiceAccount', 0),
    automountServiceAccountToken: false,
  };
  const daemonSets = groups.map((group, i) => {
    const dsMetadata = prePullMetadata(options, 'DaemonSet', i);
    // Each DaemonSet reaches the union of the nodes its images' workloads may use.
    const scheduling = unionNodeScope(
      options.nodeScope ? [options.nodeScope] : group.flatMap((e) => e.scopes),
      { arch, extraTolerations: options.tolerations },
    );
    const secrets = [...new Set(group.flatMap((e) => e.pullSecrets))].sort();
    return daemonSet(options, dsMetadata, group, scheduling, secrets, name);
  });

  // Pinning, pull policy and the kubelet-exact secret matching are the policy engine's.
  const policy = applyImagePolicy([serviceAccount, ...daemonSets], {
    lock: options.lock,
    strict: options.strict,
    keepTag: options.keepTag,
    pullPolicy: PullPolicy.IfNotPresent,
    pullSecrets: options.pullSecrets,
  });
  const findings = [...policy.findings];
  const [pinnedAccount, ...pinnedSets] = policy.objects;
  const images: string[] = [];
  pinnedSets.forEach((ds, i) => {
    const spec = ((ds.spec as JsonObject).template as JsonObject).spec as JsonObject;
    const pulled = (spec.initContainers as JsonObject[]).slice(1).map((c) => c.image as string);
    images.push(...pulled);
    const max = options.maxImagesPerPod ?? DEFAULT_MAX_IMAGES_PER_POD;
    if (pulled.length > max) {
      findings.push({
        code: 'prepull-too-many-images', severity: 'warning', object: objectRef(ds), path: 'spec.template.spec.initContainers',
        message: `${pulled.length} images in one pre-pull pod (more than ${max}): one slow or failing image delays every image after it and a huge pod spec is hard to review. Fix: set split to ${Math.ceil(entries.length / max)} or more`,
      });
    }
    findings.push(...privateImageFindings(ds, groups[i], spec, options));
  });
  return { objects: [pinnedAccount, ...pinnedSets], serviceAccount: pinnedAccount, daemonSets: pinnedSets, images: images.sort(), findings };
}

interface Entry {
  image: string;
  key: string;
  /** The scopes of every workload using the image: the pre-puller must reach their union. */
  scopes: NodeScope[];
  pullSecrets: string[];
}

/**
 * Metadata of the pre-puller's ServiceAccount or its `index`th DaemonSet; it does not
 * depend on the images, so faces can create their objects before images are added.
 * DaemonSets are named `<name>-<index+1>` when `split` is above 1.
 */
export function prePullMetadata(options: PrePullOptions, kind: 'ServiceAccount' | 'DaemonSet', index = 0): { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> } {
  const base = options.name ?? DEFAULT_PREPULL_NAME;
  const name = kind === 'DaemonSet' && (options.split ?? 1) > 1 ? `${base}-${index + 1}` : base;
  const labels: Record<string, string> = { ...(options.labels ?? {}), 'app.kubernetes.io/name': 'kubepin-prepull', 'app.kubernetes.io/managed-by': 'kubepin', 'app.kubernetes.io/component': 'pre-pull', [PREPULL_LABEL]: 'true' };
  if (kind === 'DaemonSet') labels['app.kubernetes.io/instance'] = name;
  return {
    name,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    labels: sortRecord(labels),
    ...(kind === 'DaemonSet' ? { annotations: { [PREPULL_NOTE_ANNOTATION]: PREPULL_NOTE } } : {}),
  };
}

/** Annotation on each pre-pull DaemonSet repeating the Kubernetes docs' warning. */
export const PREPULL_NOTE_ANNOTATION = 'kubepin.dev/note';
const PREPULL_NOTE = 'Pre-pulled images are usable by every pod on these nodes; on clusters before Kubernetes 1.35 (or with imagePullCredentialsVerificationPolicy NeverVerify) that includes private images.';

function daemonSet(options: PrePullOptions, metadata: ReturnType<typeof prePullMetadata>, group: Entry[], scheduling: ReturnType<typeof unionNodeScope>, secrets: string[], serviceAccountName: string): JsonObject {
  const selector = { 'app.kubernetes.io/name': 'kubepin-prepull', 'app.kubernetes.io/instance': metadata.name };
  const memoryLimit = options.memoryLimit ?? '32Mi';
  const securityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
  const resources = { requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: memoryLimit } };
  const binMount = { name: BIN_VOLUME, mountPath: PREPULL_BIN_DIR };
  const helper = {
    name: 'copy-noop',
    image: options.helperImage ?? DEFAULT_HELPER_IMAGE,
    command: [options.helperBinary ?? DEFAULT_HELPER_BINARY, 'cp', options.helperBinary ?? DEFAULT_HELPER_BINARY, NOOP],
    workingDir: PREPULL_BIN_DIR,
    resources, securityContext, volumeMounts: [binMount],
  };
  const used = new Set<string>(['copy-noop', 'pause']);
  const pulls = group.map((entry, i) => ({
    name: containerName(entry, i, used),
    image: entry.image,
    // `command` replaces the image's entrypoint: nothing of the image runs, and no shell is needed.
    command: [NOOP, 'true'],
    // The mount point exists in every image; an image's own WORKDIR might not, and the root is read-only.
    workingDir: PREPULL_BIN_DIR,
    resources, securityContext, volumeMounts: [{ ...binMount, readOnly: true }],
  }));
  const podSpec: JsonObject = {
    serviceAccountName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 0,
    securityContext: { runAsNonRoot: true, runAsUser: PREPULL_USER_ID, runAsGroup: PREPULL_USER_ID, seccompProfile: { type: 'RuntimeDefault' } },
    ...(options.priorityClassName !== undefined ? { priorityClassName: options.priorityClassName } : {}),
    nodeSelector: scheduling.nodeSelector,
    ...(scheduling.affinity ? { affinity: structuredClone(scheduling.affinity) } : {}),
    ...(scheduling.tolerations.length > 0 ? { tolerations: structuredClone(scheduling.tolerations) } : {}),
    ...(secrets.length > 0 ? { imagePullSecrets: secrets.map((s) => ({ name: s })) } : {}),
    initContainers: [helper, ...pulls],
    containers: [{ name: 'pause', image: options.pauseImage ?? DEFAULT_PAUSE_IMAGE, resources, securityContext }],
    volumes: [{ name: BIN_VOLUME, emptyDir: { sizeLimit: options.binVolumeSizeLimit ?? '16Mi' } }],
  };
  const rollingUpdate = options.fast ? { maxSurge: 0, maxUnavailable: '100%' } : { maxSurge: '25%', maxUnavailable: 0 };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata,
    spec: {
      selector: { matchLabels: selector },
      revisionHistoryLimit: 3,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate },
      template: { metadata: { labels: { ...metadata.labels } }, spec: podSpec },
    },
  };
}

function privateImageFindings(ds: JsonObject, group: Entry[], spec: JsonObject, options: PrePullOptions): Finding[] {
  const keyring = new CredentialKeyring();
  const namespace = options.namespace ?? 'default';
  for (const secret of options.pullSecrets ?? []) {
    if (secret.namespace !== undefined && secret.namespace !== namespace) continue;
    for (const registry of secret.registries) keyring.addEntry(secret.name, registry, { username: '', password: '' });
  }
  const out: Finding[] = [];
  const containers = spec.initContainers as JsonObject[];
  group.forEach((entry, i) => {
    const image = containers[i + 1].image as string;
    const secrets = [...new Set([...entry.pullSecrets, ...keyring.lookup(image).map((m) => m.source)])];
    if (secrets.length === 0) return;
    out.push({
      code: 'prepull-private-image', severity: 'info', object: objectRef(ds), path: `spec.template.spec.initContainers[${i + 1}].image`, image: entry.image,
      message: `${entry.image} is private (pulled with ${secrets.join(', ')}); once pre-pulled, every pod on those nodes can use it on clusters before Kubernetes 1.35 or with imagePullCredentialsVerificationPolicy NeverVerify. Keep it off the pre-puller if that matters`,
    });
  });
  return out;
}

/** De-duplicates by normalized reference (merging scopes and secrets) and sorts, so the output does not depend on the order images were added. */
function normalizeImages(list: readonly (string | PrePullImage)[]): Entry[] {
  const byKey = new Map<string, Entry>();
  const scopes = new Map<string, NodeScope[]>();
  list.forEach((item, i) => {
    const where = `pre-pull image #${i + 1}`;
    const spec: PrePullImage = typeof item === 'string' ? { image: item } : item;
    if (!isObject(spec) || typeof spec.image !== 'string' || spec.image === '') {
      throw new KubepinUsageError(`${where}: expected an image string or { image, pullSecrets?, nodeSelector?, tolerations?, affinity? }, got ${describeType(item)}`);
    }
    const { image, pullSecrets, ...scope } = spec;
    validateNodeScope(scope, `${where} (${image})`);
    if (pullSecrets !== undefined && (!Array.isArray(pullSecrets) || pullSecrets.some((s) => typeof s !== 'string' || s === ''))) {
      throw new KubepinUsageError(`${where} (${image}): pullSecrets must be a list of Secret names`);
    }
    const key = imageKey(image);
    const existing = byKey.get(key);
    if (existing) {
      for (const s of pullSecrets ?? []) if (!existing.pullSecrets.includes(s)) existing.pullSecrets.push(s);
      // Keep one spelling whatever the order images were added in: the shortest, then the first in byte order.
      if (image.length < existing.image.length || (image.length === existing.image.length && image < existing.image)) existing.image = image;
    } else {
      byKey.set(key, { image, key, scopes: [], pullSecrets: [...(pullSecrets ?? [])] });
    }
    scopes.set(key, [...(scopes.get(key) ?? []), scope]);
  });
  const entries = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const entry of entries) entry.scopes = scopes.get(entry.key)!;
  return entries;
}

/** The normalized reference; an unparseable image is kept as written (the policy engine reports it with its rule). */
function imageKey(image: string): string {
  return ImageReference.tryParse(image)?.toString() ?? image;
}

/**
 * How many DaemonSets {@link buildPrePull} makes for `options`: `split`, but never more than
 * the distinct images (spellings of one reference count once), and at least one.
 */
export function prePullDaemonSetCount(options: Pick<PrePullOptions, 'images' | 'split'>): number {
  const keys = new Set((options.images ?? []).map((i) => imageKey(typeof i === 'string' ? i : i.image)));
  return daemonSetCount(options.split, keys.size);
}

function daemonSetCount(split: number | undefined, images: number): number {
  return Math.max(1, Math.min(split ?? 1, images));
}

function containerName(entry: Entry, index: number, used: Set<string>): string {
  const ref = ImageReference.tryParse(entry.image);
  const last = (ref?.repository ?? 'image').split('/').pop()!;
  const slug = last.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'image';
  let name = `pull-${index + 1}-${slug}`.slice(0, 63).replace(/-+$/, '');
  for (let n = 2; used.has(name); n++) name = `pull-${index + 1}-${n}`;
  used.add(name);
  return name;
}

function chunk<T>(items: T[], parts: number): T[][] {
  const out: T[][] = [];
  const size = Math.floor(items.length / parts);
  let extra = items.length % parts;
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const n = size + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    out.push(items.slice(at, at + n));
    at += n;
  }
  return out;
}

const QUANTITY = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const BINARY_SUFFIX: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Checks `options` as {@link buildPrePull} does, building nothing. @throws KubepinUsageError, InvalidImageReferenceError */
export function validatePrePullOptions(options: PrePullOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new KubepinUsageError(`pre-pull options must be an object, got ${describeType(options)}`);
  if (options.images !== undefined && !Array.isArray(options.images)) throw new KubepinUsageError(`pre-pull option images must be a list, got ${describeType(options.images)}`);
  const name = options.name ?? DEFAULT_PREPULL_NAME;
  if (typeof name !== 'string' || !DNS_LABEL.test(name) || name.length > 58) {
    throw new KubepinUsageError(`pre-pull name ${JSON.stringify(name)} is not a valid DaemonSet name: use lowercase letters, digits and "-", at most 58 characters (room for a split suffix), e.g. "kubepin-prepull"`);
  }
  if (options.namespace !== undefined && (typeof options.namespace !== 'string' || !DNS_LABEL.test(options.namespace) || options.namespace.length > 63)) {
    throw new KubepinUsageError(`pre-pull namespace ${JSON.stringify(options.namespace)} is not a valid namespace name (lowercase letters, digits and "-", at most 63 characters)`);
  }
  if (options.split !== undefined && (!Number.isInteger(options.split) || options.split < 1 || options.split > 100)) {
    throw new KubepinUsageError(`pre-pull option split must be a whole number from 1 to 100 (the number of DaemonSets), got ${JSON.stringify(options.split)}`);
  }
  if (options.maxImagesPerPod !== undefined && (!Number.isInteger(options.maxImagesPerPod) || options.maxImagesPerPod < 1)) {
    throw new KubepinUsageError(`pre-pull option maxImagesPerPod must be a whole number of at least 1, got ${JSON.stringify(options.maxImagesPerPod)}`);
  }
  const arch = options.arch === undefined ? [] : typeof options.arch === 'string' ? [options.arch] : options.arch;
  if (!Array.isArray(arch) || arch.some((a) => typeof a !== 'string' || !/^[a-z0-9_]+$/.test(a))) {
    throw new KubepinUsageError(`pre-pull option arch must be an architecture name or a list of them, as in the kubernetes.io/arch node label (amd64, arm64, …), got ${JSON.stringify(options.arch)}`);
  }
  if (options.priorityClassName !== undefined && (typeof options.priorityClassName !== 'string' || !DNS_SUBDOMAIN.test(options.priorityClassName))) {
    throw new KubepinUsageError(`pre-pull option priorityClassName ${JSON.stringify(options.priorityClassName)} is not a valid PriorityClass name`);
  }
  for (const field of ['helperImage', 'pauseImage'] as const) {
    const value = options[field];
    if (value !== undefined) {
      // Throws InvalidImageReferenceError with the rule and the fix.
      if (typeof value !== 'string') throw new KubepinUsageError(`pre-pull option ${field} must be an image string, got ${describeType(value)}`);
      ImageReference.parse(value);
    }
  }
  if (options.helperBinary !== undefined && (typeof options.helperBinary !== 'string' || !options.helperBinary.startsWith('/'))) {
    throw new KubepinUsageError(`pre-pull option helperBinary must be an absolute path in the helper image, e.g. "/bin/busybox", got ${JSON.stringify(options.helperBinary)}`);
  }
  for (const field of ['memoryLimit', 'binVolumeSizeLimit'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || !QUANTITY.test(value))) {
      throw new KubepinUsageError(`pre-pull option ${field} must be a Kubernetes quantity such as "32Mi", got ${JSON.stringify(value)}`);
    }
  }
  if (options.memoryLimit !== undefined) {
    const m = QUANTITY.exec(options.memoryLimit)!;
    if (Number(m[1]) * BINARY_SUFFIX[m[3] ?? ''] < 32 * 2 ** 20) {
      throw new KubepinUsageError(`pre-pull option memoryLimit ${options.memoryLimit} is below 32Mi; container runtimes need that much to start a container and the pods would be OOM-killed. Fix: use "32Mi" or more`);
    }
  }
  if (options.nodeScope !== undefined) validateNodeScope(options.nodeScope, 'pre-pull option nodeScope');
  if (options.tolerations !== undefined) validateNodeScope({ tolerations: options.tolerations }, 'pre-pull option tolerations');
}

