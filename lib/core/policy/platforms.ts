/**
 * Which platforms an image can run on, and which a workload may land on: the one rule that
 * `kubepin lock` (config `platforms`), the policy engine at synthesis (both faces), `kubepin
 * check` and the pre-pull DaemonSet (its pod spec goes through the policy engine) share.
 */
import { ProjectConfig, ProjectConfigError, loadProjectConfig, projectConfigBeside } from '../config/project-config';
import { Finding, ObjectRef } from '../findings/finding';
import { LockEntry, PLATFORM_PATTERN } from '../lock/image-lock';

export { PLATFORM_PATTERN } from '../lock/image-lock';
import { JsonObject } from '../objects/pod-templates';
import { ARCH_LABEL, OS_LABEL, Requirement, termsOf, nodeScopeOf } from '../objects/node-terms';


/**
 * The cluster's node platforms from `kubepin.config.json`'s `"platforms"` (sorted, unique), or
 * `undefined` when the file or the field is absent (platforms are then not checked).
 * @throws ProjectConfigError when the field is not a non-empty list of `os/arch[/variant]`.
 */
export function clusterPlatforms(config: ProjectConfig | undefined): string[] | undefined {
  const value = config?.data.platforms;
  if (value === undefined) return undefined;
  const example = 'e.g. "platforms": ["linux/amd64", "linux/arm64"]';
  if (!Array.isArray(value) || value.length === 0) throw new ProjectConfigError(`${config!.display}: "platforms" must be a non-empty list of the cluster's node platforms, ${example}`);
  for (const p of value) {
    if (typeof p !== 'string' || !PLATFORM_PATTERN.test(p)) {
      throw new ProjectConfigError(`${config!.display}: "platforms" entry ${JSON.stringify(p)} is not os/arch or os/arch/variant in lower case (${example})`);
    }
  }
  return [...new Set(value as string[])].sort();
}

/** {@link clusterPlatforms} of the `kubepin.config.json` next to `lockFile`; `undefined` without a lock file. */
export function clusterPlatformsBeside(lockFile: string | undefined): string[] | undefined {
  return lockFile === undefined ? undefined : clusterPlatforms(loadProjectConfig(projectConfigBeside(lockFile)));
}

/**
 * Whether an image offering `offered` runs on a node of platform `wanted`: same OS and
 * architecture, and the same variant when `wanted` names one (a node label names none).
 */
export function platformOffered(offered: readonly string[], wanted: string): boolean {
  const [os, arch, variant] = wanted.split('/');
  return offered.some((o) => {
    const [oos, oarch, ovariant] = o.split('/');
    return oos === os && oarch === arch && (variant === undefined || ovariant === variant);
  });
}

/**
 * The platforms a locked image can run on: those its index offers, as `kubepin lock` recorded
 * them under `platforms` in kubepin.config.json; `undefined` when not known (not checked then).
 */
export function imagePlatforms(entry: LockEntry | undefined): readonly string[] | undefined {
  return entry?.offeredPlatforms;
}

/** Where a pod may run, as far as OS and architecture go. */
export interface LandingPlatforms {
  /** The pod's nodeSelector or required node affinity names `kubernetes.io/arch` or `kubernetes.io/os`. */
  readonly pinned: boolean;
  /** The platforms (of the cluster's, when known) the pod may land on. */
  readonly platforms: string[];
  /** The scheduling that restricts it, for messages. */
  readonly how: string;
}

/**
 * The platforms a pod with `spec` may land on: of `cluster` (when given) and of those its
 * `In` requirements name (os `linux` unless it names one). Requirements on other labels are
 * taken as satisfiable: only OS and architecture are judged.
 */
export function landingPlatforms(spec: JsonObject, cluster: readonly string[] | undefined): LandingPlatforms {
  const terms = termsOf(nodeScopeOf(spec)) ?? [];
  const relevant = terms.map((t) => t.filter((r) => r.key === ARCH_LABEL || r.key === OS_LABEL));
  // Pinned only when every OR-ed term restricts the platform: one term without a restriction lets the pod land anywhere.
  const pinned = relevant.length > 0 && relevant.every((t) => t.length > 0);
  const how = describeScheduling(spec, relevant);
  // A pod pinned to a platform the config does not name is still headed for such nodes: both count.
  const named = (key: string): string[] => [...new Set(relevant.flatMap((t) => t.filter((r) => r.key === key && r.operator === 'In').flatMap((r) => r.values ?? [])))];
  const oses = named(OS_LABEL);
  const candidates = [...new Set([...(cluster ?? []), ...named(ARCH_LABEL).flatMap((arch) => (oses.length > 0 ? oses : ['linux']).map((os) => `${os}/${arch}`))])];
  const allows = (platform: string): boolean => {
    const [os, arch] = platform.split('/');
    return relevant.length === 0 || relevant.some((t) => t.every((r) => holds(r, r.key === ARCH_LABEL ? arch : os)));
  };
  return { pinned, platforms: candidates.filter(allows).sort(), how };
}

function holds(r: Requirement, value: string): boolean {
  switch (r.operator) {
    case 'In':
      return (r.values ?? []).includes(value);
    case 'NotIn':
      return !(r.values ?? []).includes(value);
    case 'DoesNotExist':
      return false;
    default:
      return true; // Exists, and Gt/Lt (meaningless for these labels).
  }
}

function describeScheduling(spec: JsonObject, relevant: Requirement[][]): string {
  const selector = spec.nodeSelector as Record<string, unknown> | undefined;
  const fromSelector = [ARCH_LABEL, OS_LABEL].filter((k) => typeof selector?.[k] === 'string').map((k) => `${k}: ${String(selector![k])}`);
  if (fromSelector.length > 0) return `nodeSelector {${fromSelector.join(', ')}}`;
  return `required node affinity ${relevant.map((t) => t.map((r) => `${r.key} ${r.operator}${r.values ? ` ${r.values.join(',')}` : ''}`).join(' and ')).filter(Boolean).join(' or ')}`;
}

/** One image of a pod, with its lock entry. */
export interface PodImage {
  readonly path: string;
  readonly image: string;
  readonly entry: LockEntry | undefined;
}

/**
 * Findings for a pod whose images lack a platform it may land on: `platform-not-found`
 * (error) when its scheduling pins it to OS/architectures one of its images has no manifest
 * for; `platform-not-covered` (warning) when it may land on any node and the cluster
 * (`cluster`) has a platform the image lacks. Images whose platforms are not known are skipped.
 */
export function platformFindings(object: ObjectRef, spec: JsonObject, images: readonly PodImage[], cluster: readonly string[] | undefined): Finding[] {
  const known = images.filter((i) => imagePlatforms(i.entry) !== undefined);
  if (known.length === 0) return [];
  const landing = landingPlatforms(spec, cluster);
  if (!landing.pinned && !cluster) return [];
  const findings: Finding[] = [];
  for (const { path, image, entry } of known) {
    const offered = imagePlatforms(entry)!;
    const missing = landing.platforms.filter((p) => !platformOffered(offered, p));
    if (missing.length === 0) continue;
    const has = `${entry!.reference} offers ${offered.join(', ') || 'no platform'} (kubepin.lock.json)`;
    const pull = `the kubelet there fails the pull with ErrImagePull ("no match for platform in manifest: not found"), then ImagePullBackOff`;
    findings.push(landing.pinned
      ? { code: 'platform-not-found', severity: 'error', object, path, image, message: `${image} has no manifest for ${missing.join(', ')}, where the pod's ${landing.how} sends it: ${has}; ${pull}. Fix: publish the image for ${missing.join(', ')} and run \`kubepin lock --update\`, or schedule the workload on ${offered.join(', ')} nodes` }
      : { code: 'platform-not-covered', severity: 'warning', object, path, image, message: `${image} has no manifest for ${missing.join(', ')}, and the pod may land on those nodes of the cluster (kubepin.config.json "platforms"): ${has}; ${pull}. Fix: publish the image for ${missing.join(', ')}, or add a nodeSelector (kubernetes.io/arch) keeping the workload on ${offered.join(', ')} nodes` });
  }
  return findings;
}
