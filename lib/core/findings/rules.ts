import { ImageReference, InvalidImageReferenceError } from '../names/image-reference';
import { registryKeyMatches } from '../credentials/keyring';
import { Finding, ObjectRef } from './finding';
import { ImageSite } from '../objects/pod-templates';

/*
 * Image rules shared by the policy engine (lib/policy.ts) and `kubepin check`: one message
 * per rule, so synth-time findings and CI findings read the same.
 */

/** Parses `image`, returning the error instead of throwing it. */
export function parseImageOrError(image: string): ImageReference | InvalidImageReferenceError {
  try {
    return ImageReference.parse(image);
  } catch (e) {
    if (e instanceof InvalidImageReferenceError) return e;
    throw e;
  }
}

/** Parses image strings once each: apps repeat the same few images across many containers. */
export class ImageParseCache {
  private readonly parsed = new Map<string, ImageReference | InvalidImageReferenceError>();

  /** The parsed reference, or the error explaining why `image` is invalid. */
  public parse(image: string): ImageReference | InvalidImageReferenceError {
    let result = this.parsed.get(image);
    if (!result) {
      result = parseImageOrError(image);
      this.parsed.set(image, result);
    }
    return result;
  }
}

/**
 * `invalid-image` for an image field holding `{{ … }}` read as YAML (an unrendered Helm or Go
 * template): not an empty image, a template to render first.
 */
export function unrenderedTemplateFinding(object: ObjectRef, site: ImageSite): Finding {
  return {
    code: 'invalid-image',
    severity: 'error',
    object,
    path: site.path,
    message: `${site.path} holds an unrendered template ({{ … }} read as YAML), not an image. Fix: render the chart or template first (\`helm template\`, or the tool that owns the {{ }} syntax) and give kubepin its output`,
  };
}

/** True when `value` holds a `{{ … }}` template action read as a YAML mapping (reported as an unreadable manifest by `problemFindings`). */
export function holdsTemplateMapping(value: unknown): boolean {
  return templateKeyPath(value, '', 0) !== undefined;
}

/** The JSON path of the first mapping whose key was itself a mapping (`{{ x }}` read as YAML), if any. */
export function templateKeyPath(value: unknown, at: string, depth: number): string | undefined {
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = templateKeyPath(value[i], `${at}[${i}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === '[object Object]') return at;
    const found = templateKeyPath(child, at ? `${at}.${key}` : key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * `invalid-image`: the kubelet reports InvalidImageName and never tries a pull. The message reads
 * problem, consequence, then `Fix: …` last, so reports can show the fix on its own line.
 */
export function invalidImageFinding(object: ObjectRef, site: ImageSite, error: InvalidImageReferenceError): Finding {
  if (error.rule === 'run-time-parameter') {
    // The controller substitutes it before any pod exists: nothing wrong, but nothing to pin or check here either.
    return {
      code: 'run-time-image-parameter',
      severity: 'warning',
      object,
      path: site.path,
      image: site.image,
      message: `${error.problem}. kubepin cannot pin or check an image chosen at run time. Fix: ${error.fix}`,
    };
  }
  const consequence = error.isPlaceholder
    ? 'Left as written, the kubelet reports InvalidImageName and never starts the container'
    : 'The kubelet reports InvalidImageName and never starts the container';
  return {
    code: 'invalid-image',
    severity: 'error',
    object,
    path: site.path,
    image: site.image,
    message: `${error.problem}. ${consequence}${error.fix ? `. Fix: ${error.fix}` : ''}`,
  };
}

/**
 * `latest-tag`: the image has tag `latest` or no tag at all (which means `latest`). `pinned` says
 * kubepin pinned it to a digest: what runs is then fixed, and only the version stays unreadable.
 */
export function latestTagFinding(object: ObjectRef, site: ImageSite, parsed: ImageReference, pinned = false): Finding | undefined {
  if (!(parsed.tag === 'latest' || (parsed.tag === undefined && parsed.digest === undefined))) return undefined;
  const tag = parsed.tag ? 'the "latest" tag' : 'no tag (which means "latest")';
  const fixed = pinned || parsed.digest !== undefined;
  return {
    code: 'latest-tag',
    severity: 'warning',
    object,
    path: site.path,
    image: site.image,
    message: fixed
      ? `${site.image} uses ${tag}; the digest fixes which build runs, but reviewers cannot tell which version it is, and the next \`kubepin lock --update\` may bring any release. Fix: use a version tag`
      : `${site.image} uses ${tag}, which moves; reviewers cannot tell which build runs. Fix: use a version tag`,
  };
}

/** `latest-with-digest`: `repo:latest@sha256:…`, which the API server defaults to `Always`. */
export function latestWithDigestFinding(object: ObjectRef, site: ImageSite, image: ImageReference): Finding | undefined {
  if (!(image.tag === 'latest' && image.digest !== undefined)) return undefined;
  return {
    code: 'latest-with-digest',
    severity: 'warning',
    object,
    path: site.path,
    image: site.image,
    message: `${image.familiar} has tag "latest" and a digest: the API server defaults such a container to imagePullPolicy Always (it looks only at the tag). kubepin writes the policy explicitly; also consider dropping the tag`,
  };
}

/** `registry-not-allowed`, or `undefined` when no allow-list is set or the image's registry is on it. */
export function registryNotAllowedFinding(object: ObjectRef, site: ImageSite, parsed: ImageReference, allowed: readonly string[] | undefined): Finding | undefined {
  if (!allowed || matchesAnyRegistryKey(allowed, parsed.name)) return undefined;
  return {
    code: 'registry-not-allowed',
    severity: 'error',
    object,
    path: site.path,
    image: site.image,
    message: `${parsed.registry} is not an allowed registry (allowed: ${allowed.join(', ')}). Fix: use an image from an allowed registry or extend allowedRegistries`,
  };
}

/** `never-without-prepull`: `imagePullPolicy: Never` for an image no pre-puller covers (ErrImageNeverPull). */
export function neverWithoutPrePullFinding(object: ObjectRef, site: ImageSite, image: ImageReference): Finding {
  return {
    code: 'never-without-prepull',
    severity: 'error',
    object,
    path: site.policyPath,
    image: site.image,
    message: `${site.name} uses imagePullPolicy Never but no pre-puller covers ${image.familiar}; the pod fails with ErrImageNeverPull on any node without it. Fix: pre-pull the image (prePull / prePulled) or use IfNotPresent`,
  };
}

/** `pull-secret-for-public-registry`: a matching secret for a registry that needs none. */
export function secretForPublicRegistryFinding(object: ObjectRef, site: ImageSite, registryName: string, secrets: readonly string[]): Finding {
  return {
    code: 'pull-secret-for-public-registry',
    severity: 'warning',
    object,
    path: site.path,
    image: site.image,
    message: `pull secret(s) ${secrets.join(', ')} match ${registryName}, which is declared public; the kubelet never retries anonymously when a matching credential fails, so a stale secret breaks this pull. Fix: narrow the secret's registries or drop the registry from publicRegistries`,
  };
}

/** True when a pre-pulled image (repository, optional tag, optional digest) covers `image`. */
export function prePullCovers(prePulled: readonly ImageReference[], image: ImageReference): boolean {
  return prePulled.some((p) => p.name === image.name
    && (p.tag === undefined || p.tag === image.tag)
    && (p.digest === undefined || p.digest === image.digest));
}

/** True when any registry key (kubelet form; `https://` allowed) matches the repository `name`. */
export function matchesAnyRegistryKey(keys: readonly string[] | undefined, name: string): boolean {
  return (keys ?? []).some((key) => registryKeyMatches(key.replace(/^https?:\/\//, ''), name));
}

/**
 * `host-like-name`: a reference that parses but not as its author meant: `localhost:5000`
 * alone is repository `localhost` with tag `5000`; `example.com` alone is
 * `docker.io/library/example.com`; `sha256:<hex>` alone is repository `sha256`;
 * `foo_bar.com/app` has no registry host (`_` is not a host character).
 */
export function hostLikeNameFinding(object: ObjectRef, site: ImageSite, parsed: ImageReference): Finding | undefined {
  const text = site.image;
  const slash = text.indexOf('/');
  const first = slash === -1 ? text.split(/[:@]/)[0] : text.slice(0, slash);
  let why: string | undefined;
  if (slash === -1 && first === 'localhost') {
    why = `"${text}" has no "/", so "localhost" is the repository on Docker Hub${parsed.tag ? ` and "${parsed.tag}" its tag` : ''}, not a local registry. Fix: add the repository path, e.g. localhost:5000/app:1.0`;
  } else if (slash === -1 && first === 'sha256') {
    why = `"${text}" is read as repository "sha256" on Docker Hub with a tag, not as a digest. Fix: write name@sha256:<hex>`;
  } else if (slash === -1 && first.includes('.')) {
    why = `"${text}" has no "/", so "${first}" is a repository on Docker Hub (${parsed.name}), not a registry host. Fix: add the repository path, e.g. ${first}/app:1.0`;
  } else if (slash !== -1 && parsed.registry === '') {
    why = `"${first}" looks like a registry host but is not a valid host name ("_" is not allowed), so the reference parses with no registry host (${parsed.name}): container runtimes disagree on where such an image is pulled from, no pull secret for ${first} matches it, and kubepin lock refuses it. Fix: use the registry's real host name`;
  }
  if (!why) return undefined;
  return { code: 'host-like-name', severity: 'warning', object, path: site.path, image: site.image, message: why };
}
