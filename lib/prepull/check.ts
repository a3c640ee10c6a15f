import { ImageReference } from '../core/names/image-reference';
import { defaultPullPolicy, isUnsetPullPolicy } from '../core/names/pull-policy';
import { Finding } from '../core/findings/finding';
import { JsonObject, PodTemplate, findPodTemplate, findPodTemplates, flattenObjects, isObject, objectRef, writtenPullPolicy } from '../core/objects/pod-templates';
import { ImageLocations } from '../core/objects/image-locations';
import { KubepinUsageError, describeType } from '../util/errors';
import { PREPULL_LABEL } from './builder';
import { NodeScope, nodeScopeGap, nodeScopeOf } from './node-scope';

interface PrePuller {
  object: JsonObject;
  scope: NodeScope;
  images: ImageReference[];
}

/**
 * Checks workloads against the pre-pullers among `objects` (DaemonSets labelled
 * `kubepin.dev/pre-pull: "true"`, as {@link buildPrePull} makes them):
 * - `never-without-prepull` (error): `imagePullPolicy: Never` on an image no pre-puller pulls;
 * - `prepull-node-scope` (error for `Never`, else warning): the workload may run on nodes
 *   the pre-puller that pulls its image does not reach;
 * - `prepull-always` (warning): a pre-pulled image that a workload pulls with `Always`,
 *   so the pre-pull buys nothing for it.
 *
 * When using this, pass the pre-pulled images as `prePulled` to the policy engine so that
 * `never-without-prepull` is not reported twice.
 */
export function checkPrePull(objects: readonly unknown[], locations: ImageLocations = ImageLocations.DEFAULT): Finding[] {
  if (!Array.isArray(objects)) throw new KubepinUsageError(`checkPrePull(objects) takes an array of Kubernetes objects, got ${describeType(objects)}`);
  const all = flattenObjects(objects);
  const pullers: PrePuller[] = [];
  for (const object of all) {
    if (!isPrePuller(object)) continue;
    const template = findPodTemplate(object)!;
    // Every image of the pod is on the node once it runs: the helper and pause images too.
    const images = template.sites
      .map((s) => ImageReference.tryParse(s.image))
      .filter((r): r is ImageReference => r !== undefined);
    pullers.push({ object, scope: nodeScopeOf(template.spec), images });
  }
  const findings: Finding[] = [];
  for (const object of all) {
    if (isPrePuller(object)) continue;
    for (const template of findPodTemplates(object, locations)) findings.push(...checkTemplate(object, template, pullers));
  }
  return findings;
}

/** The findings of one pod template against the pre-pullers. */
function checkTemplate(object: JsonObject, template: PodTemplate, pullers: readonly PrePuller[]): Finding[] {
  const findings: Finding[] = [];
  const ref = objectRef(object);
  const scope = nodeScopeOf(template.spec);
  for (const site of template.sites) {
    const image = ImageReference.tryParse(site.image);
    if (!image) continue; // The policy engine reports invalid images.
    const explicit = writtenPullPolicy(site);
    const policy = typeof explicit === 'string' && !isUnsetPullPolicy(explicit) ? explicit : defaultPullPolicy(site.image);
    const covering = pullers.filter((p) => p.images.some((i) => covers(i, image)));
    if (covering.length === 0) {
      if (policy === 'Never') {
        findings.push({
          code: 'never-without-prepull', severity: 'error', object: ref, path: site.policyPath, image: site.image,
          message: `${site.name} uses imagePullPolicy Never but no pre-puller pulls ${image.familiar}; the pod fails with ErrImageNeverPull on any node without it. Fix: pre-pull the image (prePull: true) or use IfNotPresent`,
        });
      }
      continue;
    }
    if (policy === 'Always') {
      findings.push({
        code: 'prepull-always', severity: 'warning', object: ref, path: site.policyPath, image: site.image,
        message: `${image.familiar} is pre-pulled but ${site.name} pulls it with imagePullPolicy Always, so every start still asks the registry: the pre-pull buys nothing. Fix: pin it to a digest and use IfNotPresent, or stop pre-pulling it`,
      });
    }
    const gaps = covering.map((p) => nodeScopeGap(p.scope, scope));
    if (gaps.every((g) => g !== undefined)) {
      findings.push({
        code: 'prepull-node-scope', severity: policy === 'Never' ? 'error' : 'warning', object: ref, path: site.path, image: site.image,
        message: `${image.familiar} is pre-pulled by ${covering.map((p) => objectRef(p.object).name).join(', ')}, but ${gaps[0]}${policy === 'Never' ? '; with imagePullPolicy Never the pod fails with ErrImageNeverPull there' : ''}`,
      });
    }
  }
  return findings;
}

/** True for a DaemonSet made by the pre-pull builder. */
export function isPrePuller(object: JsonObject): boolean {
  if (object.kind !== 'DaemonSet' || !isObject(object.metadata)) return false;
  const labels = object.metadata.labels;
  return isObject(labels) && labels[PREPULL_LABEL] === 'true';
}

/** A pre-pulled image serves a container when name matches and the digest (if pinned) or tag agree. */
function covers(pulled: ImageReference, wanted: ImageReference): boolean {
  if (pulled.name !== wanted.name) return false;
  if (wanted.digest !== undefined) return pulled.digest === wanted.digest;
  // A tag-only container resolves the tag on the node: a pre-pulled digest of that tag serves it only
  // if the tag still points there, which kubepin's lock keeps true.
  return wanted.tag !== undefined ? pulled.tag === wanted.tag : pulled.tag === undefined || pulled.tag === 'latest';
}
