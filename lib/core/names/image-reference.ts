import { KubepinError, describeType } from '../../util/errors';
import { describePlaceholder, quote, truncate } from './placeholders';

/**
 * The rule an invalid image reference breaks. Stable: tools may switch on it.
 */
export type ImageReferenceRule =
  | 'not-a-string'
  | 'empty'
  | 'input-too-long'
  | 'image-id'
  | 'uppercase-repository'
  | 'invalid-domain'
  | 'invalid-path'
  | 'invalid-tag'
  | 'tag-too-long'
  | 'invalid-digest'
  | 'unsupported-digest-algorithm'
  | 'digest-length'
  | 'digest-uppercase-hex'
  | 'name-too-long'
  | 'invalid-format'
  /** An unsubstituted placeholder (`{{ .Values.tag }}`, `${IMAGE}`, `$(params.image)`, `<image>`…). */
  | 'unrendered-placeholder'
  /** A `ko://` import path, which `ko resolve` replaces with a built image. */
  | 'ko-import-path'
  /** A parameter the workload's own controller substitutes when it runs (Argo Workflows, Tekton, Chainsaw): never seen by a kubelet. */
  | 'run-time-parameter';

/** Thrown when a string is not an image reference the kubelet would accept. */
export class InvalidImageReferenceError extends KubepinError {
  /** The text that failed to parse (truncated to 200 characters for long input). */
  public readonly input: string;
  /** Which rule of the reference grammar was broken. */
  public readonly rule: ImageReferenceRule;
  /** What is wrong, naming the image: `invalid image reference "X": <detail>` (no fix). */
  public readonly problem: string;
  /** How to fix it, when there is a fix to give. */
  public readonly fix: string | undefined;

  constructor(input: string, rule: ImageReferenceRule, detail: string, fix?: string) {
    const problem = `invalid image reference ${quote(input)}: ${detail}`;
    super(`${problem}${fix ? `. Fix: ${fix}` : ''}`);
    this.input = input.length > 200 ? `${input.slice(0, 200)}…` : input;
    this.rule = rule;
    this.problem = problem;
    this.fix = fix;
  }

  /** True when the image is a placeholder some tool substitutes (template, variable, `ko://`), not a typo. */
  public get isPlaceholder(): boolean {
    return this.rule === 'unrendered-placeholder' || this.rule === 'ko-import-path' || this.rule === 'run-time-parameter';
  }
}

/** Registry host Docker Hub images normalize to. */
export const DOCKER_HUB = 'docker.io';
const LEGACY_DOCKER_HUB = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

/**
 * Longest input parsed at all. No valid reference comes close (path ≤ 255, tag ≤ 128,
 * digest ≤ 136, DNS names ≤ 253), and V8's regex engine is not linear-time, so the cap
 * is applied before any pattern runs.
 */
export const MAX_REFERENCE_LENGTH = 1024;
/** Longest repository path the kubelet's parser accepts. */
export const MAX_PATH_LENGTH = 255;

// The grammar of github.com/distribution/reference, one anchored pattern per part so
// that no pattern sees more than one component and backtracking stays bounded.
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_GRAMMAR = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Hex lengths of the digest algorithms go-digest (and so the kubelet) supports. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * A container image reference, parsed and normalized exactly as the kubelet does
 * (`ParseNormalizedNamed` from distribution/reference, digests checked as go-digest does).
 *
 * @example
 * const ref = ImageReference.parse('nginx:1.27');
 * ref.toString(); // 'docker.io/library/nginx:1.27'
 * ref.familiar;   // 'nginx:1.27'
 *
 * @see https://github.com/distribution/reference/blob/main/normalize.go (ParseNormalizedNamed, familiar names)
 * @see https://github.com/distribution/reference/blob/main/regexp.go (the grammar)
 * @see https://github.com/opencontainers/go-digest/blob/v1.0.0/algorithm.go (digest algorithms and lengths)
 */
export class ImageReference {
  /**
   * Parses `text` as the kubelet would.
   * @throws InvalidImageReferenceError when the kubelet would report InvalidImageName.
   */
  public static parse(text: string): ImageReference {
    if (typeof text !== 'string') {
      throw new InvalidImageReferenceError(String(text), 'not-a-string', `expected a string, got ${describeType(text)}`,
        'set the image to a string, e.g. "nginx:1.27"');
    }
    return parseNormalized(text);
  }

  /** Like {@link parse}, but returns `undefined` instead of throwing. */
  public static tryParse(text: string): ImageReference | undefined {
    try {
      return ImageReference.parse(text);
    } catch (e) {
      if (e instanceof InvalidImageReferenceError) return undefined;
      throw e;
    }
  }

  /** Checks a digest string (`sha256:<64 hex>` and friends) the way go-digest does. */
  public static validateDigest(digest: string): void {
    validateDigest(digest, digest);
  }

  private constructor(
    /** Registry host with optional port, e.g. `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
    public readonly registry: string,
    /** Repository path within the registry, e.g. `library/nginx`. */
    public readonly repository: string,
    /** The tag, when the reference has one. */
    public readonly tag: string | undefined,
    /** The digest (`sha256:…`), when the reference has one. */
    public readonly digest: string | undefined,
  ) {}

  /** `registry/repository`, the name the kubelet looks credentials up by. */
  public get name(): string {
    return this.registry ? `${this.registry}/${this.repository}` : this.repository;
  }

  /** The short form people write: `nginx:1.27` for `docker.io/library/nginx:1.27`. */
  public get familiar(): string {
    let name = this.name;
    if (this.registry === DOCKER_HUB) {
      name = this.repository;
      if (name.startsWith(OFFICIAL_PREFIX) && !name.slice(OFFICIAL_PREFIX.length).includes('/')) {
        name = name.slice(OFFICIAL_PREFIX.length);
      }
    }
    return name + this.suffix();
  }

  /** True when the reference names an immutable image (has a digest). */
  public get isPinned(): boolean {
    return this.digest !== undefined;
  }

  /** A copy of this reference with `digest` set, keeping the tag for readers. */
  public withDigest(digest: string): ImageReference {
    validateDigest(`${this.name}@${digest}`, digest);
    return new ImageReference(this.registry, this.repository, this.tag, digest);
  }

  /** A copy without the tag (digest kept). */
  public withoutTag(): ImageReference {
    return new ImageReference(this.registry, this.repository, undefined, this.digest);
  }

  /** A copy without the digest (tag kept). */
  public withoutDigest(): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag, undefined);
  }

  /** Fully-qualified normalized form: `docker.io/library/nginx:1.27@sha256:…`. */
  public toString(): string {
    return this.name + this.suffix();
  }

  private suffix(): string {
    return (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }
}

/**
 * Parses `input`; when it fails, a placeholder (a template action, a variable, a `ko://` path)
 * is named as such, with the tool that substitutes it, instead of as a broken grammar rule.
 * `suggest` is false while checking that a suggested spelling parses (no suggestion of a suggestion).
 */
function parseNormalized(input: string, suggest = true): ImageReference {
  if (input.length === 0) {
    throw new InvalidImageReferenceError(input, 'empty', 'the image is empty', 'set the container image, e.g. "nginx:1.27"');
  }
  if (input.length > MAX_REFERENCE_LENGTH) {
    throw new InvalidImageReferenceError(input, 'input-too-long',
      `it is ${input.length} characters long; no valid reference is longer than ${MAX_REFERENCE_LENGTH}`,
      'put only the image reference (registry/repository:tag or @digest) in the field');
  }
  try {
    return parseGrammar(input, suggest);
  } catch (e) {
    if (!(e instanceof InvalidImageReferenceError)) throw e;
    const placeholder = describePlaceholder(input);
    if (placeholder) throw new InvalidImageReferenceError(input, placeholder.rule, placeholder.detail, placeholder.fix);
    // Stray whitespace (a YAML value quoted with a trailing space) is the whole problem when the trimmed text parses.
    const trimmed = input.trim();
    if (suggest && trimmed !== input && parses(trimmed)) {
      const detail = e.problem.slice(`invalid image reference ${quote(input)}: `.length);
      throw new InvalidImageReferenceError(input, e.rule, `${detail} (the image has leading or trailing whitespace)`, `remove the whitespace: use ${quote(trimmed)}`);
    }
    throw e;
  }
}

/** True when `text` parses (used to vet suggested spellings before offering them). */
function parses(text: string): boolean {
  try {
    parseNormalized(text, false);
    return true;
  } catch (e) {
    if (e instanceof InvalidImageReferenceError) return false;
    throw e;
  }
}

function parseGrammar(input: string, suggest: boolean): ImageReference {
  if (IMAGE_ID.test(input)) {
    throw new InvalidImageReferenceError(input, 'image-id',
      'a bare 64-character hex string is an image ID, not a repository name',
      `write the repository and digest instead, e.g. "registry.example.com/app@sha256:${input}"`);
  }
  // splitDockerDomain: the first component is a host only when a '/' follows and it
  // looks like one (has '.', ':', is localhost, or has an uppercase letter).
  const slash = input.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : input.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB;
    remainder = input;
  } else {
    domain = first;
    remainder = input.slice(slash + 1);
  }
  if (domain === LEGACY_DOCKER_HUB) domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;

  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    // Suggest the input with only the repository part (as written) lowercased: tags may keep capitals.
    const start = domain === DOCKER_HUB && input.indexOf('/') === -1 ? 0 : input.indexOf('/') + 1;
    const stop = input.slice(start).search(/[:@]/);
    const end = stop === -1 ? input.length : start + stop;
    const suggestion = input.slice(0, start) + input.slice(start, end).toLowerCase() + input.slice(end);
    // Offer the spelling only when it is itself a valid reference ("{IMAGE}" → "{image}" is not).
    const candidate = [suggestion, suggestion.trim()].find((text) => suggest && parses(text));
    const fix = candidate !== undefined ? `use ${quote(candidate)}` : 'write the repository path in lowercase';
    throw new InvalidImageReferenceError(input, 'uppercase-repository', `repository name "${truncate(remote)}" must be lowercase`, fix);
  }
  return parseReference(input, `${domain}/${remainder}`, suggest);
}

function parseReference(input: string, text: string, suggest: boolean): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_GRAMMAR.test(digest)) {
      diagnoseDigestGrammar(input, digest);
    }
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    checkTag(input, tag);
  }
  const { domain, path } = splitName(input, rest);
  if (path.length > MAX_PATH_LENGTH) {
    throw new InvalidImageReferenceError(input, 'name-too-long',
      `repository name is ${path.length} characters long; the limit is ${MAX_PATH_LENGTH}`, 'shorten the repository path');
  }
  if (digest !== undefined) validateDigest(input, digest, suggest);
  return new (ImageReference as unknown as new (...a: unknown[]) => ImageReference)(domain, path, tag, digest);
}

function checkTag(input: string, tag: string): void {
  if (TAG.test(tag)) return;
  if (tag.length > 128 && TAG.test(tag.slice(0, 128))) {
    throw new InvalidImageReferenceError(input, 'tag-too-long', `tag is ${tag.length} characters long; the limit is 128`,
      'shorten the tag');
  }
  if (tag.length === 0) {
    throw new InvalidImageReferenceError(input, 'invalid-tag', 'the tag after ":" is empty', 'remove the ":" or add a tag');
  }
  throw new InvalidImageReferenceError(input, 'invalid-tag',
    `tag "${truncate(tag)}" may hold only letters, digits, "_", "." and "-", and must not start with "." or "-"`,
    'write a tag of letters, digits, "_", "." and "-" that starts with a letter, digit or "_", e.g. "1.27.3"');
}

/**
 * Splits `domain/path`. Like the upstream regex, the first component is the domain when it
 * matches the domain grammar; otherwise the whole name must be a path (no domain).
 */
function splitName(input: string, name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  if (slash !== -1) {
    const first = name.slice(0, slash);
    const path = name.slice(slash + 1);
    if (isDomainAndPort(first)) {
      checkPath(input, path);
      return { domain: first, path };
    }
    if (name.split('/').every((c) => PATH_COMPONENT.test(c))) return { domain: '', path: name };
    if (/[.:A-Z[]/.test(first)) {
      throw new InvalidImageReferenceError(input, 'invalid-domain',
        `registry host "${truncate(first)}" is not a valid host[:port]`,
        'write the host as labels of letters, digits and inner "-" joined by ".", with an optional numeric port, e.g. "registry.example.com:5000"');
    }
  }
  checkPath(input, name);
  return { domain: '', path: name };
}

function isDomainAndPort(text: string): boolean {
  let host = text;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close === -1) return false;
    const port = host.slice(close + 1);
    if (port !== '' && !(port.startsWith(':') && PORT.test(port.slice(1)))) return false;
    return IPV6_HOST.test(host.slice(0, close + 1));
  }
  const colon = host.indexOf(':');
  if (colon !== -1) {
    if (!PORT.test(host.slice(colon + 1))) return false;
    host = host.slice(0, colon);
  }
  return host.split('.').every((label) => DOMAIN_COMPONENT.test(label));
}

function checkPath(input: string, path: string): void {
  const components = path.split('/');
  for (const component of components) {
    if (PATH_COMPONENT.test(component)) continue;
    if (component === '') {
      throw new InvalidImageReferenceError(input, 'invalid-path', 'the repository path has an empty component (a leading, trailing or doubled "/")',
        'remove the extra "/" (an empty value substituted into "host/name" leaves one behind)');
    }
    if (PATH_COMPONENT.test(component.toLowerCase())) {
      throw new InvalidImageReferenceError(input, 'uppercase-repository',
        `repository name component "${truncate(component)}" must be lowercase`, 'write the repository path in lowercase');
    }
    throw new InvalidImageReferenceError(input, 'invalid-path',
      `repository path component "${truncate(component)}" is not valid`,
      'write each path component as lowercase letters and digits, separated by ".", "_", "__" or dashes, starting and ending with a letter or digit');
  }
}

function diagnoseDigestGrammar(input: string, digest: string): never {
  const colon = digest.indexOf(':');
  if (colon > 0 && /^[0-9a-fA-F]*$/.test(digest.slice(colon + 1))) {
    const algorithm = digest.slice(0, colon);
    const want = DIGEST_HEX_LENGTH[algorithm];
    if (want !== undefined) {
      throw new InvalidImageReferenceError(input, 'digest-length',
        `${algorithm} digest has ${digest.length - colon - 1} hex characters; it needs exactly ${want}`,
        'copy the full digest from the registry (`kubepin lock` resolves it for you)');
    }
  }
  throw new InvalidImageReferenceError(input, 'invalid-digest',
    `digest "${truncate(digest)}" is not of the form algorithm:hex`, 'write it as "@sha256:" followed by 64 lowercase hex digits');
}

const DIGEST_FORM_FIX = 'write it as "@sha256:" followed by 64 lowercase hex digits';

/** go-digest's Digest.Validate, with a message per failure. */
function validateDigest(input: string, digest: string, suggest = true): void {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon === digest.length - 1) {
    throw new InvalidImageReferenceError(input, 'invalid-digest', `digest "${truncate(digest)}" is not of the form algorithm:hex`, DIGEST_FORM_FIX);
  }
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const want = DIGEST_HEX_LENGTH[algorithm];
  if (want === undefined) {
    if (!DIGEST_GRAMMAR.test(digest)) {
      throw new InvalidImageReferenceError(input, 'invalid-digest', `digest "${truncate(digest)}" is not of the form algorithm:hex`, DIGEST_FORM_FIX);
    }
    throw new InvalidImageReferenceError(input, 'unsupported-digest-algorithm',
      `digest algorithm "${truncate(algorithm)}" is not supported`, 'use sha256 (or sha384/sha512)');
  }
  if (hex.length !== want) {
    throw new InvalidImageReferenceError(input, 'digest-length',
      `${algorithm} digest has ${hex.length} hex characters; it needs exactly ${want}`,
      'copy the full digest from the registry (`kubepin lock` resolves it for you)');
  }
  if (!/^[a-f0-9]+$/.test(hex)) {
    if (/^[a-fA-F0-9]+$/.test(hex)) {
      // Suggest the whole reference when it then parses; `input` is the digest alone for validateDigest().
      const whole = input.endsWith(`@${digest}`) ? `${input.slice(0, input.length - hex.length)}${hex.toLowerCase()}` : undefined;
      const fix = suggest && whole !== undefined && parses(whole) ? `use ${quote(whole)}` : `write the digest as "${algorithm}:${hex.toLowerCase()}"`;
      throw new InvalidImageReferenceError(input, 'digest-uppercase-hex', 'digest hex must be lowercase', fix);
    }
    throw new InvalidImageReferenceError(input, 'invalid-digest', `digest "${truncate(digest)}" has non-hex characters`, DIGEST_FORM_FIX);
  }
}
