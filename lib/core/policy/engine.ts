import { ImageReference, InvalidImageReferenceError } from '../names/image-reference';
import { PullPolicy, defaultPullPolicy, isPullPolicy, isUnsetPullPolicy } from '../names/pull-policy';
import { CredentialKeyring, registryKeyMatches } from '../credentials/keyring';
import { DigestSource, LockEntry, lockReferenceOf } from '../lock/image-lock';
import { ImageCollector, activeCollector } from './collect-mode';
import type { SignaturePolicy } from '../../signatures/policy';
import { Finding, FindingCode, ObjectRef, Severity } from '../findings/finding';
import { describeRecord } from '../lock/signature-record';
import {
  invalidImageFinding, latestTagFinding, latestWithDigestFinding, matchesAnyRegistryKey, neverWithoutPrePullFinding,
  ImageParseCache, holdsTemplateMapping, prePullCovers, registryNotAllowedFinding, secretForPublicRegistryFinding, unrenderedTemplateFinding,
} from '../findings/rules';
import { notePrePullHelpers, prePullDefaultOrigin } from './prepull-helpers';
import { recordExistingPullSecrets } from '../credentials/existing-pull-secrets';
import type { PullSecretDeclaration, ServiceAccountPullSecrets } from '../credentials/pull-secret';
import { noteUnlocatedKind } from '../findings/unlocated-images';
import { ImageSite, JsonObject, PodTemplate, findPodTemplates, isObject, objectRef, siteLabel, writtenPullPolicy } from '../objects/pod-templates';
import { ImageLocationRule, ImageLocations } from '../objects/image-locations';
import { annotate } from '../objects/original-images';
import { KubepinUsageError, describeType } from '../../util/errors';
import { PodImage, clusterPlatformsBeside, platformFindings } from './platforms';

export { ORIGINAL_IMAGES_ANNOTATION } from '../objects/original-images';
export type { PullSecretDeclaration, ServiceAccountPullSecrets } from '../credentials/pull-secret';

/** Options of {@link applyImagePolicy}. */
export interface ImagePolicyOptions {
  /** Where digests come from (an {@link ImageLock}). @default no lock: every tag is a finding */
  readonly lock?: DigestSource;
  /** Missing lock entries are errors instead of warnings. @default false */
  readonly strict?: boolean;
  /** Keep the tag next to the digest (`repo:tag@sha256:…`) for readers. @default true */
  readonly keepTag?: boolean;
  /** Force this pull policy on every image. @default none: keep explicit ones, else IfNotPresent for pinned images */
  readonly pullPolicy?: PullPolicy;
  /** Policy for images left without one. @default IfNotPresent for pinned images, the API server's default otherwise */
  readonly defaultPullPolicy?: PullPolicy;
  /** Replace pull policies already written in the objects (e.g. cdk8s-plus's implicit `Always`). @default false */
  readonly replaceExistingPullPolicy?: boolean;
  /** Images a pre-puller puts on the nodes: `Never` is allowed only for these. Repository names match any tag. @default none */
  readonly prePulled?: readonly string[];
  /** Pull secrets to attach to the pods whose images they serve. @default none */
  readonly pullSecrets?: readonly PullSecretDeclaration[];
  /**
   * ServiceAccounts that carry pull secrets. Their secrets serve the pods that run as them, but
   * the kubelet copies them in only when the pod lists no secrets of its own: kubepin then adds
   * the serving ones to the pod and warns. @default none
   */
  readonly serviceAccounts?: readonly ServiceAccountPullSecrets[];
  /** Registry keys that need credentials: a pod pulling from them without a serving secret is an error. @default none */
  readonly privateRegistries?: readonly string[];
  /** Registry keys that are public: a secret matching them is a warning (the kubelet never retries anonymously). @default none */
  readonly publicRegistries?: readonly string[];
  /** Registry keys images may come from; others are errors. @default any registry */
  readonly allowedRegistries?: readonly string[];
  /** Record the images as written in the {@link ORIGINAL_IMAGES_ANNOTATION} annotation. @default true */
  readonly annotate?: boolean;
  /**
   * Images that must be signed: a locked image under a requirement whose entry lacks a signature
   * record by a required key is an error (docs/signatures.md).
   * @default `kubepin.config.json` next to the lock file (`lock.file`), else none
   */
  readonly signatures?: SignaturePolicy;
  /**
   * Where images live in kinds kubepin does not know (custom resources), added to Kubernetes'
   * workloads and the Argo Rollouts and OpenKruise presets (docs/image-locations.md).
   * @default the `imageLocations` of `kubepin.config.json` next to the lock file (`lock.file`), else none
   */
  readonly imageLocations?: readonly ImageLocationRule[] | ImageLocations;
}

/** What {@link applyImagePolicy} returns. */
export interface ImagePolicyResult {
  /** The objects, pinned; new objects (the inputs are not changed). */
  readonly objects: JsonObject[];
  /** Everything found, in document order. */
  readonly findings: Finding[];
}

/**
 * Pins every image of every pod template in `objects` from the lock, sets an explicit pull
 * policy on each, attaches the pull secrets that serve them, and reports findings.
 * A `…List` comes back as a List with its items pinned. Running it on its own output changes nothing.
 */
export function applyImagePolicy(objects: readonly unknown[], options: ImagePolicyOptions = {}): ImagePolicyResult {
  if (!Array.isArray(objects)) {
    throw new KubepinUsageError(`applyImagePolicy(objects) takes an array of Kubernetes objects, got ${describeType(objects)}`);
  }
  const engine = new PolicyEngine(options);
  const out: JsonObject[] = [];
  for (const object of objects) {
    if (isObject(object)) out.push(applyKeepingLists(engine, object));
  }
  return { objects: out, findings: engine.findings };
}

/** `engine.apply` on an object, or on each item of a `…List` (returned as the List it was, as kubectl keeps it). */
function applyKeepingLists(engine: PolicyEngine, object: JsonObject, depth = 0): JsonObject {
  if (depth < 10 && typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    return { ...object, items: object.items.map((item) => (isObject(item) ? applyKeepingLists(engine, item, depth + 1) : item)) };
  }
  return engine.apply(object);
}

/**
 * The policy for one run. Reusable across calls: parse results and keyring lookups are
 * cached per image string, which is what keeps large apps fast.
 */
export class PolicyEngine {
  /** Findings of every object processed so far. */
  public readonly findings: Finding[] = [];
  private readonly keyring = new CredentialKeyring();
  private readonly secretNamespaces = new Map<string, string | undefined>();
  private readonly parsed = new ImageParseCache();
  private readonly lockEntries = new Map<string, LockEntry | undefined>();
  private readonly pins = new Map<string, ImageReference>();
  private readonly secretsByName = new Map<string, string[]>();
  private readonly prePulled: ImageReference[];
  /** Undefined when no lock file tells where the project's configuration is. */
  private readonly signatures: SignaturePolicy | undefined;
  /** The kinds and fields that hold images. */
  public readonly locations: ImageLocations;
  /** The cluster's node platforms (kubepin.config.json next to the lock), when named. */
  private readonly clusterPlatforms: string[] | undefined;
  /** Set in collect mode (`kubepin lock` learning an app's images): every image is recorded, none missing from the lock fails. */
  private readonly collector: ImageCollector | undefined = activeCollector();
  private source: string | undefined;
  /** The object being pinned (its pre-pull label tells kubepin's own images from the app's). */
  private object: JsonObject | undefined;
  private readonly unlocatedKinds = new Set<string>();

  constructor(private readonly options: ImagePolicyOptions) {
    validateOptions(options);
    const lockFile = typeof options.lock?.file === 'string' ? options.lock.file : undefined;
    // Loaded only with a lock file: `require('kubepin/prepull')` and the like stay lean.
    this.signatures = options.signatures ?? (lockFile !== undefined ? (require('../../signatures/policy') as typeof import('../../signatures/policy')).SignaturePolicy.forLockFile(lockFile) : undefined);
    this.locations = ImageLocations.forPolicy(options.imageLocations, lockFile, 'image policy option imageLocations');
    this.clusterPlatforms = clusterPlatformsBeside(lockFile);
    for (const secret of options.pullSecrets ?? []) {
      this.secretNamespaces.set(secret.name, secret.namespace);
      for (const registry of secret.registries) {
        this.keyring.addEntry(secret.name, registry, { username: '', password: '' });
      }
    }
    this.prePulled = (options.prePulled ?? []).map((image) => ImageReference.parse(image));
  }

  /**
   * Returns a pinned copy of `object` (non-workloads are returned as a copy, unchanged).
   * @param source where the object comes from (a construct path, a Pulumi resource), recorded in collect mode
   */
  public apply(input: JsonObject, source?: string): JsonObject {
    const object = structuredClone(input);
    const templates = findPodTemplates(object, this.locations);
    if (templates.length === 0) {
      noteUnlocatedKind(object, this.locations, this.unlocatedKinds, this.findings);
      return object;
    }
    const ref = objectRef(object);
    this.source = source;
    this.object = object;
    const before = this.findings.length;
    for (const template of templates) this.applyTemplate(object, ref, template);
    notePrePullHelpers(object, this.findings, before);
    return object;
  }

  /** Pins the images of one pod template of `object` (or its one image field). */
  private applyTemplate(object: JsonObject, ref: ObjectRef, template: PodTemplate): void {
    const namespace = ref.namespace;
    const originals: Record<string, string> = {};
    const neededSecrets: string[] = [];
    const accountSecrets = this.serviceAccountSecrets(template.spec, namespace);
    const accountServing: string[] = [];
    const privateUnserved: Array<{ site: ImageSite; image: string }> = [];
    const podImages: PodImage[] = [];

    for (const site of template.sites) {
      const result = this.pinSite(ref, site);
      if (!result) continue;
      podImages.push({ path: site.path, image: site.image, entry: lockReferenceOf(result.image) !== undefined ? this.lockEntry(site.image, result.image) : undefined });
      if (result.changed) originals[siteLabel(site)] = site.image;
      this.setPolicy(ref, site, result.image);
      const secrets = this.secretsFor(result.image).filter((name) => this.secretServesNamespace(name, namespace));
      for (const name of secrets) {
        const list = accountSecrets.includes(name) ? accountServing : neededSecrets;
        if (!list.includes(name)) list.push(name);
      }
      const registryName = result.image.name;
      if (secrets.length > 0 && matchesAnyRegistryKey(this.options.publicRegistries, registryName)) {
        this.findings.push(secretForPublicRegistryFinding(ref, site, registryName, secrets));
      }
      if (secrets.length === 0 && matchesAnyRegistryKey(this.options.privateRegistries, registryName)) {
        privateUnserved.push({ site, image: site.image });
      }
    }

    this.findings.push(...platformFindings(ref, template.spec, podImages, this.clusterPlatforms));
    // An image field without a pull-secrets field: the operator decides which secrets its pods get.
    if (template.pullSecretsField !== undefined) this.attachPullSecrets(ref, template, neededSecrets, accountServing, privateUnserved);
    recordExistingPullSecrets(object, template.pullSecretsField !== undefined ? template.spec[template.pullSecretsField] : undefined, this.options.pullSecrets);
    if (this.options.annotate !== false && Object.keys(originals).length > 0) {
      annotate(object, template.metadataPath, originals);
    }
  }

  /**
   * Adds the secrets the pod's images need after those it lists, reports private images no
   * secret serves, and adds the ServiceAccount's serving secrets once the pod lists its own
   * (the kubelet then ignores the ServiceAccount's).
   */
  private attachPullSecrets(ref: ObjectRef, template: PodTemplate, needed: string[], accountServing: string[], privateUnserved: Array<{ site: ImageSite; image: string }>): void {
    const namespace = ref.namespace;
    const field = template.pullSecretsField!;
    const ownListed = this.mergePullSecrets(template.spec, field, needed);
    const undeclaredListed = ownListed.some((name) => !this.secretNamespaces.has(name));
    for (const { site, image } of privateUnserved) {
      if (undeclaredListed) continue; // A secret we know nothing about may serve it.
      this.report(ref, 'no-pull-secret-for-private-registry', 'error', site.path, image,
        `${image} comes from a private registry but no pull secret serves it${namespace ? ` in namespace ${namespace}` : ''}; the pull will fail with 401 (ErrImagePull, then ImagePullBackOff). Fix: declare a pull secret whose registries match ${ImageReference.tryParse(image)?.name ?? image}`);
    }
    if (ownListed.length > 0 && accountServing.length > 0) {
      // The kubelet ignores the ServiceAccount's secrets once the pod lists any of its own.
      const added = accountServing.filter((name) => !ownListed.includes(name));
      if (added.length > 0) {
        this.mergePullSecrets(template.spec, field, added);
        const account = typeof template.spec.serviceAccountName === 'string' ? template.spec.serviceAccountName : 'default';
        this.report(ref, 'service-account-pull-secrets-ignored', 'warning', template.specPath === '' ? field : `${template.specPath}.${field}`, undefined,
          `the pod lists its own ${field} (${ownListed.join(', ')}), so the kubelet ignores those of ServiceAccount ${account}; kubepin added ${added.join(', ')} to the pod. Fix: attach every secret to the pod, or none (and let the ServiceAccount provide them)`);
      }
    }
  }

  private pinSite(ref: ObjectRef, site: ImageSite): { image: ImageReference; changed: boolean } | undefined {
    if (holdsTemplateMapping(site.holder[site.imageField])) {
      this.findings.push(unrenderedTemplateFinding(ref, site));
      return undefined;
    }
    const parsed = this.parsed.parse(site.image);
    if (parsed instanceof InvalidImageReferenceError) {
      this.findings.push(invalidImageFinding(ref, site, parsed));
      return undefined;
    }
    this.push(registryNotAllowedFinding(ref, site, parsed, this.options.allowedRegistries));
    const origin = this.collector && this.object ? prePullDefaultOrigin(this.object, site.path, site.image) : undefined;
    this.collector?.record({ image: site.image, object: `${ref.kind}/${ref.name}`, path: site.path, ...(this.source !== undefined ? { source: this.source } : {}), ...(origin ? { origin } : {}) });
    let image = parsed;
    // Untagged images are locked as the kubelet pulls them, with tag `latest`.
    const entry = lockReferenceOf(parsed) !== undefined ? this.lockEntry(site.image, parsed) : undefined;
    if (parsed.digest !== undefined) {
      if (entry && entry.digest !== parsed.digest) {
        this.report(ref, 'digest-mismatch-with-lock', 'error', site.path, site.image,
          `${site.image} is pinned to ${parsed.digest} but the lock has ${entry.digest} for ${entry.reference}. Fix: run \`kubepin lock --update\` if the tag moved, or correct the digest in the manifest`);
      }
    } else if (entry) {
      image = this.pinned(site.image, parsed, entry.digest);
    }
    this.push(latestTagFinding(ref, site, parsed, image.digest !== undefined));
    if (parsed.digest === undefined && !entry && !this.collector) {
      this.report(ref, 'unpinned-image', this.options.strict ? 'error' : 'warning', site.path, site.image,
        `${site.image} is not in the lock file, so it stays unpinned. Fix: run \`npx kubepin lock\` where cdk8s.yaml or Pulumi.yaml is (it runs the app to learn its images, strict or not), or \`npx kubepin lock <manifests>\``);
    }
    this.checkSignature(ref, site, parsed, entry);
    if (this.options.keepTag === false && image.digest !== undefined) image = image.withoutTag();
    // Only a `:latest@sha256:…` written in the source: kubepin's own pinned output (untagged or
    // `:latest` pinned from the lock) gets an explicit policy, so the API server's default never applies.
    if (parsed.digest !== undefined) this.push(latestWithDigestFinding(ref, site, image));
    const text = image.toString() === parsed.toString() ? site.image : image.toString();
    const changed = text !== site.image;
    site.holder[site.imageField] = text;
    return { image, changed };
  }

  /** An image a signature policy covers must come from a lock entry that records a signature by a required key. */
  private checkSignature(ref: ObjectRef, site: ImageSite, parsed: ImageReference, entry: LockEntry | undefined): void {
    // Collect mode: the lock is being made, and `kubepin lock` verifies what lacks a record.
    if (!this.signatures || this.signatures.empty || this.collector) return;
    const requirement = this.signatures.requirementFor(parsed);
    if (!requirement) return;
    const keys = this.signatures.describeSigners(requirement);
    if (!entry) {
      if (parsed.tag === undefined && parsed.digest !== undefined) {
        this.report(ref, 'signature-not-locked', 'warning', site.path, site.image,
          `${site.image} must be signed by ${keys} (${requirement.where}) but is pinned by digest in the source, so the lock cannot vouch for its signature. Fix: reference it by tag and run \`kubepin lock\`, or check it with \`kubepin verify --remote\``);
      } else {
        this.report(ref, 'signature-not-locked', 'error', site.path, site.image,
          `${site.image} must be signed by ${keys} (${requirement.where}) but is not in the lock, so no signature was verified. Fix: run \`kubepin lock\` (it verifies the signature before recording the digest)`);
      }
      return;
    }
    if (this.signatures.vouches(entry)) return;
    const recorded = entry.signature ? `records a signature by ${describeRecord(entry.signature)}, which is not one of the required signers` : 'records no verified signature';
    this.report(ref, 'signature-not-locked', 'error', site.path, site.image,
      `${site.image} must be signed by ${keys} (${requirement.where}) but its lock entry ${recorded}. Fix: run \`kubepin lock --update\` to verify and record the signature (it fails if the image is not signed by a required key)`);
  }

  private setPolicy(ref: ObjectRef, site: ImageSite, image: ImageReference): void {
    // An image field without a policy field: the operator's pods get the API server's default.
    if (site.policyField === undefined) return;
    const existing = writtenPullPolicy(site);
    const keepExisting = !isUnsetPullPolicy(existing) && !this.options.pullPolicy && !this.options.replaceExistingPullPolicy;
    if (keepExisting && !isPullPolicy(existing)) {
      this.report(ref, 'invalid-pull-policy', 'error', site.policyPath, site.image,
        `${site.policyField} ${JSON.stringify(existing)} is not one of Always, IfNotPresent, Never; the API server rejects the object. Fix: use one of the three`);
      return;
    }
    let policy: PullPolicy;
    if (this.options.pullPolicy) policy = this.options.pullPolicy;
    else if (keepExisting) policy = existing as PullPolicy;
    else if (this.options.defaultPullPolicy) policy = this.options.defaultPullPolicy;
    // A digest cannot move, so even `:latest@sha256:…` needs no re-pull.
    else if (image.digest !== undefined) policy = PullPolicy.IfNotPresent;
    else policy = defaultPullPolicy(image.toString());
    if (policy === PullPolicy.Never && !this.isPrePulled(image)) {
      this.findings.push(neverWithoutPrePullFinding(ref, site, image));
    }
    site.holder[site.policyField] = policy;
  }

  /** True when a pre-puller declared in the options covers `image`. */
  public isPrePulled(image: ImageReference): boolean {
    return prePullCovers(this.prePulled, image);
  }

  private mergePullSecrets(spec: JsonObject, field: string, needed: string[]): string[] {
    const existing = Array.isArray(spec[field]) ? spec[field] as unknown[] : [];
    const names = existing.map((s) => (isObject(s) && typeof s.name === 'string' ? s.name : undefined));
    const merged = [...existing];
    for (const name of needed) {
      if (!names.includes(name)) {
        merged.push({ name });
        names.push(name);
      }
    }
    if (merged.length > 0) spec[field] = merged;
    return names.filter((n): n is string => n !== undefined);
  }

  /** Pull secrets of the ServiceAccount the pod runs as, from the options. */
  private serviceAccountSecrets(spec: JsonObject, namespace: string | undefined): readonly string[] {
    const name = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default';
    const ns = namespace ?? 'default';
    return (this.options.serviceAccounts ?? [])
      .filter((sa) => sa.name === name && (sa.namespace ?? 'default') === ns)
      .flatMap((sa) => sa.pullSecrets);
  }

  private secretServesNamespace(name: string, namespace: string | undefined): boolean {
    const home = this.secretNamespaces.get(name);
    return home === undefined || home === (namespace ?? 'default');
  }


  private lockEntry(image: string, parsed: ImageReference): LockEntry | undefined {
    if (!this.lockEntries.has(image)) this.lockEntries.set(image, this.options.lock?.get(parsed.toString()));
    return this.lockEntries.get(image);
  }

  private pinned(image: string, parsed: ImageReference, digest: string): ImageReference {
    const key = `${image}@@${digest}`;
    let ref = this.pins.get(key);
    if (!ref) {
      // An untagged image is pinned with the tag it was locked as (`latest`), so readers and
      // `kubepin verify` can tell which lock entry pinned it.
      ref = (parsed.tag === undefined ? ImageReference.parse(lockReferenceOf(parsed)!) : parsed).withDigest(digest);
      this.pins.set(key, ref);
    }
    return ref;
  }

  private secretsFor(image: ImageReference): string[] {
    let names = this.secretsByName.get(image.name);
    if (!names) {
      names = this.keyring.lookupName(image.name).map((m) => m.source);
      this.secretsByName.set(image.name, names);
    }
    return names;
  }

  private push(finding: Finding | undefined): void {
    if (finding) this.findings.push(finding);
  }

  private report(object: ObjectRef, code: FindingCode, severity: Severity, path: string, image: string | undefined, message: string): void {
    this.findings.push({ code, severity, object, path, ...(image !== undefined ? { image } : {}), message });
  }
}

function validateOptions(options: ImagePolicyOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new KubepinUsageError(`image policy options must be an object, got ${describeType(options)}`);
  for (const field of ['pullPolicy', 'defaultPullPolicy'] as const) {
    if (options[field] !== undefined && !isPullPolicy(options[field])) {
      throw new KubepinUsageError(`image policy option ${field}: ${JSON.stringify(options[field])} is not one of Always, IfNotPresent, Never`);
    }
  }
  for (const secret of options.pullSecrets ?? []) {
    if (typeof secret !== 'object' || secret === null || typeof secret.name !== 'string' || secret.name === '' || !Array.isArray(secret.registries)) {
      throw new KubepinUsageError('each pull secret declaration needs a name and a list of registries, e.g. { name: "ghcr-pull", registries: ["ghcr.io"] }');
    }
  }
  for (const field of ['prePulled', 'privateRegistries', 'publicRegistries', 'allowedRegistries'] as const) {
    const value = options[field];
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
      throw new KubepinUsageError(`image policy option ${field} must be a list of strings`);
    }
  }
}
