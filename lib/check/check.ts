import { createHash } from 'crypto';
import { ImageReference, InvalidImageReferenceError } from '../core/names/image-reference';
import { PullPolicy, defaultPullPolicy, isPullPolicy, isUnsetPullPolicy } from '../core/names/pull-policy';
import { CredentialKeyring } from '../core/credentials/keyring';
import { Finding, FindingCode, ObjectRef, Severity } from '../core/findings/finding';
import { ManifestDocument } from '../core/manifests/manifests';
import { KubepinUsageError, describeType } from '../util/errors';
import { ImageSite, JsonObject, PodTemplate, findPodTemplates, flattenObjects, isObject, objectRef, writtenPullPolicy } from '../core/objects/pod-templates';
import { ImageLocationRule, ImageLocations } from '../core/objects/image-locations';
import { unlocatedImages, unlocatedImagesMessage } from '../core/findings/unlocated-images';
import { existingPullSecretsOf } from '../core/credentials/existing-pull-secrets';
import { holdsTemplateMapping } from '../core/findings/rules';
export { holdsTemplateMapping, templateKeyPath } from '../core/findings/rules';
import {
  hostLikeNameFinding, invalidImageFinding, latestTagFinding, latestWithDigestFinding, matchesAnyRegistryKey,
  neverWithoutPrePullFinding, ImageParseCache, prePullCovers, registryNotAllowedFinding, secretForPublicRegistryFinding,
} from '../core/findings/rules';
import { KnownPullSecret, keyringOf, pullSecretFromPayload, readPullSecretObject } from './pull-secrets';
import { describeBackoff } from './backoff';
import { checkPrePull } from '../prepull/check';
import { CredentialProviderConfig } from '../node/credential-provider-types';
import { providersForImage } from '../node/credential-provider-validate';
import type { DigestSource } from '../core/lock/image-lock';
import { PodImage, platformFindings } from '../core/policy/platforms';

/** The container states the kubelet reports for image problems, as `kubectl get pods` shows them. */
export type KubeletState = 'InvalidImageName' | 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull';

/** A {@link Finding} of `kubepin check`, with the predicted kubelet state and where it stands. */
export interface CheckFinding extends Finding {
  /** The container state the kubelet will report because of it, when it breaks the pod. */
  readonly state?: KubeletState;
  /** The manifest file, when the objects came from files. */
  readonly file?: string;
  /** 1-based line of {@link Finding.path} in {@link file}. */
  readonly line?: number;
  /** For a pull that fails because the registry could not be reached (--online): its host, and the cause in words. */
  readonly registry?: string;
  readonly cause?: string;
}

/** Options of {@link checkManifests}. */
export interface CheckOptions {
  /** Pull Secrets that live in the cluster, not in the manifests: `name` or `namespace/name`. @default none */
  readonly clusterSecrets?: readonly string[];
  /** Payloads (`.dockerconfigjson` JSON, parsed) of pull Secrets kept outside the manifests, by Secret name. @default none */
  readonly secretFiles?: Readonly<Record<string, unknown>>;
  /** Registry keys images may come from (kubelet form: `ghcr.io`, `ghcr.io/acme`, `*.azurecr.io`). @default any registry */
  readonly allowedRegistries?: readonly string[];
  /** Registry keys that need no credentials: a matching secret is a warning. @default none */
  readonly publicRegistries?: readonly string[];
  /** Registry keys that need credentials: an image without a matching secret is an error. @default none */
  readonly privateRegistries?: readonly string[];
  /** Images a pre-puller outside the manifests puts on every node (`repo`, `repo:tag`, `repo@digest`). @default none; DaemonSets in the manifests always count */
  readonly prePulled?: readonly string[];
  /** The cluster runs KubeletEnsureSecretPulledImages (on by default from 1.35). @default true */
  readonly ensureSecretPulledImages?: boolean;
  /** The nodes' config.json credentials (see `addNodeDockerConfigFile`), tried after pod secrets. @default none */
  readonly nodeCredentials?: CredentialKeyring;
  /** The kubelet's CredentialProviderConfig, tried after config.json. @default none */
  readonly credentialProviders?: CredentialProviderConfig;
  /** Where images live in custom resources, added to Kubernetes' workloads and the built-in presets (docs/image-locations.md). @default none */
  readonly imageLocations?: readonly ImageLocationRule[] | ImageLocations;
  /** The lock: the platforms each image offers, as `kubepin lock` recorded them (lib/platforms.ts). @default none: platforms not checked */
  readonly lock?: DigestSource;
  /** The cluster's node platforms (kubepin.config.json `"platforms"`): a pod free to land on one its image lacks is a warning. @default not known */
  readonly clusterPlatforms?: readonly string[];
}

/** One image the kubelet will pull, with the credentials it will try: the input of the online probe. */
export interface ImagePullPlan {
  /** The workload. */
  readonly object: ObjectRef;
  /** JSON path of the image field. */
  readonly path: string;
  /** The image as written. */
  readonly image: string;
  /** The parsed image. */
  readonly reference: ImageReference;
  /** The pull policy after API-server defaulting. */
  readonly pullPolicy: PullPolicy;
  /** The pull Secrets the pod presents (its own, else its ServiceAccount's), in order. */
  readonly secrets: readonly string[];
  /** The pod's keyring (usable secrets with known content). */
  readonly keyring: CredentialKeyring;
  /** Secrets whose content `check` does not know (cluster secrets): the prediction is uncertain. */
  readonly unknownSecrets: readonly string[];
  /** Credential-provider plugins whose `matchImages` match: their answer is known only on the node. */
  readonly providers: readonly string[];
  /** Set when a secret of the pod is malformed: the kubelet fails every pull of the pod. */
  readonly keyringError?: string;
  /** Manifest file, when known. */
  readonly file?: string;
  /** Line of the image field, when known. */
  readonly line?: number;
}

/** What {@link checkManifests} returns. */
export interface CheckResult {
  /** Every finding, in document order. */
  readonly findings: CheckFinding[];
  /** Every parseable image of every pod template, with its credentials. */
  readonly plans: ImagePullPlan[];
}

type Locator = (object: JsonObject, path: string) => { file?: string; line?: number };

/**
 * Runs the static checks of `kubepin check` over Kubernetes objects (Lists expanded) and
 * predicts what the kubelet will do with every image: InvalidImageName, ErrImageNeverPull,
 * pulls that fail for want of (or because of) credentials. No network access.
 */
export function checkManifests(objects: readonly unknown[], options: CheckOptions = {}): CheckResult {
  if (!Array.isArray(objects)) {
    throw new KubepinUsageError(`checkManifests(objects) takes an array of Kubernetes objects, got ${describeType(objects)}`);
  }
  return new Checker(options).run(flattenObjects(objects), () => ({}));
}

/** Like {@link checkManifests}, for documents from `loadManifests`: findings carry file and line. */
export function checkDocuments(documents: readonly ManifestDocument[], options: CheckOptions = {}): CheckResult {
  const byObject = new Map<JsonObject, ManifestDocument>();
  for (const doc of documents) byObject.set(doc.object, doc);
  return new Checker(options).run(documents.map((d) => d.object), (object, path) => {
    const doc = byObject.get(object);
    return doc ? { file: doc.file, line: doc.lineOf(path) } : {};
  });
}

interface PrePull {
  readonly reference: ImageReference;
  readonly sources: readonly string[];
  /** Hashes of the credentials it pulled with: the kubelet compares these, not Secret names. */
  readonly credentialIds: readonly string[];
  readonly object: JsonObject;
}

class Checker {
  private readonly findings: CheckFinding[] = [];
  private readonly plans: ImagePullPlan[] = [];
  private readonly secrets: KnownPullSecret[] = [];
  private readonly serviceAccounts: Array<{ name: string; namespace?: string; secrets: string[] }> = [];
  private readonly prePulled: ImageReference[];
  private readonly prePullers: PrePull[] = [];
  private readonly parsed = new ImageParseCache();
  private readonly keyrings = new Map<string, CredentialKeyring>();
  private locate: Locator = () => ({});

  private readonly locations: ImageLocations;

  constructor(private readonly options: CheckOptions) {
    validateOptions(options);
    this.locations = ImageLocations.withExtra(options.imageLocations, 'check option imageLocations');
    this.prePulled = (options.prePulled ?? []).map((image) => {
      const ref = ImageReference.tryParse(image);
      if (!ref) throw new KubepinUsageError(`check option prePulled: ${JSON.stringify(image)} is not a valid image reference`);
      return ref;
    });
  }

  public run(objects: JsonObject[], locate: Locator): CheckResult {
    this.locate = locate;
    this.collect(objects);
    for (const object of objects) {
      const templates = findPodTemplates(object, this.locations);
      for (const template of templates) this.checkWorkload(object, template);
      // An object whose images a location found has none left unlocated: no second walk.
      const unlocated = templates.length > 0 ? [] : unlocatedImages(object, this.locations);
      if (unlocated.length > 0) {
        this.report(object, 'image-location-unknown', 'info', unlocated[0].path, unlocated[0].image, unlocatedImagesMessage(objectRef(object).kind, unlocated));
      }
    }
    this.addPrePullFindings(objects);
    return { findings: this.findings, plans: this.plans };
  }

  private collect(objects: JsonObject[]): void {
    for (const object of objects) {
      const secret = readPullSecretObject(object);
      if (secret) this.secrets.push(secret);
      // Secrets the app declared as living in the cluster (fromExistingSecret), recorded on the workload by the policy.
      for (const name of existingPullSecretsOf(object)) this.secrets.push({ name, namespace: objectRef(object).namespace, origin: 'cluster' });
      if (object.kind === 'ServiceAccount' && isObject(object.metadata) && typeof object.metadata.name === 'string') {
        this.serviceAccounts.push({
          name: object.metadata.name,
          namespace: typeof object.metadata.namespace === 'string' ? object.metadata.namespace : undefined,
          secrets: secretNames(object.imagePullSecrets),
        });
      }
    }
    for (const [name, payload] of Object.entries(this.options.secretFiles ?? {})) {
      this.secrets.push(pullSecretFromPayload(name, payload));
    }
    for (const entry of this.options.clusterSecrets ?? []) {
      const slash = entry.indexOf('/');
      this.secrets.push(slash === -1 ? { name: entry, origin: 'cluster' } : { name: entry.slice(slash + 1), namespace: entry.slice(0, slash), origin: 'cluster' });
    }
    // A DaemonSet runs on every node, so whatever it pulls is on every node: a pre-puller.
    for (const object of objects) {
      if (object.kind !== 'DaemonSet') continue;
      for (const template of findPodTemplates(object, this.locations)) this.addPrePuller(object, template);
    }
  }

  /** Every image of a DaemonSet's pod (pulled on every node it reaches) serves the pods that use it. */
  private addPrePuller(object: JsonObject, template: PodTemplate): void {
    const { secrets } = this.podSecrets(object, template, false);
    const keyring = keyringOf(secrets.filter((s): s is KnownPullSecret => s !== undefined));
    for (const site of template.sites) {
      const ref = this.parsed.parse(site.image);
      if (ref instanceof InvalidImageReferenceError) continue;
      if (effectivePolicy(site) === PullPolicy.Never) continue;
      const creds = keyring.lookupCredentials(ref.toString());
      this.prePullers.push({ reference: ref, sources: unique(creds.map((m) => m.source)), credentialIds: creds.map(credentialId), object });
    }
  }

  /**
   * Node-scope and `Always` findings of the pre-pull DaemonSets kubepin builds (lib/prepull).
   * Its `never-without-prepull` is left out: ours also counts other DaemonSets and `prePulled`.
   */
  private addPrePullFindings(objects: JsonObject[]): void {
    const byRef = new Map<string, JsonObject>();
    const key = (r: ObjectRef) => `${r.kind}/${r.namespace ?? ''}/${r.name}`;
    for (const object of objects) byRef.set(key(objectRef(object)), object);
    for (const finding of checkPrePull(objects, this.locations)) {
      if (finding.code === 'never-without-prepull') continue;
      const object = byRef.get(key(finding.object));
      const state = finding.code === 'prepull-node-scope' && finding.severity === 'error' ? 'ErrImageNeverPull' : undefined;
      if (object) this.add(object, finding, state);
      else this.findings.push({ ...finding, ...(state ? { state } : {}) });
    }
  }

  private findSecret(name: string, namespace: string | undefined): KnownPullSecret | undefined {
    const sameNamespace = (s: KnownPullSecret) => s.namespace === undefined || namespace === undefined || s.namespace === namespace;
    // Manifest objects first: they are what the cluster will have after apply.
    for (const origin of ['manifest', 'file', 'cluster'] as const) {
      const found = this.secrets.find((s) => s.origin === origin && s.name === name && sameNamespace(s));
      if (found) return found;
    }
    return undefined;
  }

  /** The secrets the kubelet gets for the pod: its own list, else its ServiceAccount's (no merge). */
  private podSecrets(object: JsonObject, template: PodTemplate, report: boolean): { names: string[]; secrets: Array<KnownPullSecret | undefined>; listPath: string } {
    const ref = objectRef(object);
    const field = template.pullSecretsField ?? 'imagePullSecrets';
    const own = template.pullSecretsField !== undefined ? secretNames(template.spec[field]) : [];
    const saName = typeof template.spec.serviceAccountName === 'string' ? template.spec.serviceAccountName
      : typeof template.spec.serviceAccount === 'string' ? template.spec.serviceAccount : 'default';
    const sa = this.serviceAccounts.find((s) => s.name === saName && (s.namespace === undefined || ref.namespace === undefined || s.namespace === ref.namespace));
    const listPath = template.specPath === '' ? field : `${template.specPath}.${field}`;
    let names = own;
    if (own.length === 0 && sa) {
      names = sa.secrets;
    } else if (report && sa && sa.secrets.length > 0 && sa.secrets.some((s) => !own.includes(s))) {
      this.report(object, 'service-account-pull-secrets-ignored', 'warning', listPath, undefined,
        `the pod lists its own imagePullSecrets (${own.join(', ')}), so the ServiceAccount ${saName}'s pull secrets (${sa.secrets.join(', ')}) are not added: Kubernetes copies them only into pods that list none. Fix: list every secret the pod needs in the pod, or none to inherit the ServiceAccount's`);
    }
    return { names, secrets: names.map((n) => this.findSecret(n, ref.namespace)), listPath };
  }

  private checkWorkload(object: JsonObject, template: PodTemplate): void {
    const ref = objectRef(object);
    const { names, secrets, listPath } = this.podSecrets(object, template, true);
    let keyringError: string | undefined;
    const unknownSecrets: string[] = [];
    names.forEach((name, i) => {
      const secret = secrets[i];
      const path = `${listPath}[${i}]`;
      if (!secret) {
        this.report(object, 'missing-pull-secret', 'warning', path, undefined,
          `pull Secret ${name} is not in the manifests and not declared as living in the cluster; the kubelet skips a missing Secret with a warning event and pulls without it (private images then fail with ErrImagePull). Fix: add the Secret to the manifests, or pass --cluster-secret ${ref.namespace ? `${ref.namespace}/` : ''}${name} if it is created another way`);
      } else if (secret.error) {
        keyringError = keyringError ?? secret.error;
        this.report(object, 'malformed-pull-secret', 'error', path, undefined,
          `${secret.error}. The kubelet cannot build the pod's keyring, so every image pull of this pod fails, public images included. Fix: store base64("username:password") in "auth" (or use username/password) under "auths"`);
      } else if (secret.ignored) {
        this.report(object, 'unusable-pull-secret', 'warning', path, undefined, `${secret.ignored}. Fix: create it with \`kubectl create secret docker-registry\``);
      } else if (secret.origin === 'cluster') {
        unknownSecrets.push(name);
      }
    });
    const usable = secrets.filter((s): s is KnownPullSecret => s !== undefined && !s.error && !s.ignored);
    // Most pods of an app share one secret list: build its keyring once.
    const keyringKey = usable.map((s) => `${s.origin}/${s.namespace ?? ''}/${s.name}`).join('\u0000');
    let keyring = this.keyrings.get(keyringKey);
    if (!keyring) {
      keyring = keyringOf(usable);
      this.keyrings.set(keyringKey, keyring);
    }

    this.checkPlatforms(object, template);
    for (const site of template.sites) {
      if (site.image === '') {
        // `image: {{ .Values.image }}` is reported once as an unrendered template, not as a missing image.
        if (holdsTemplateMapping(site.holder[site.imageField])) continue;
        // The one image check the API server makes: the object is refused at apply time.
        this.report(object, 'invalid-image', 'error', site.path, site.image,
          `${site.type === 'imageVolume' ? `image volume ${site.name} has no reference` : site.type === 'imageField' ? `${site.path} is empty` : `container ${site.name} has no image`}; the API server rejects the object. Fix: set ${site.imageField}`);
        continue;
      }
      const parsed = this.parsed.parse(site.image);
      if (parsed instanceof InvalidImageReferenceError) {
        const finding = invalidImageFinding(ref, site, parsed);
        this.add(object, finding, finding.code === 'invalid-image' ? 'InvalidImageName' : undefined);
        continue;
      }
      this.add(object, hostLikeNameFinding(ref, site, parsed));
      this.add(object, registryNotAllowedFinding(ref, site, parsed, this.options.allowedRegistries));
      this.add(object, latestTagFinding(ref, site, parsed));
      const explicit = writtenPullPolicy(site);
      if (isUnsetPullPolicy(explicit)) this.add(object, latestWithDigestFinding(ref, site, parsed));
      else if (!isPullPolicy(explicit)) {
        this.report(object, 'invalid-pull-policy', 'error', site.policyPath, site.image,
          `${site.policyField} ${JSON.stringify(explicit)} is not one of Always, IfNotPresent, Never; the API server rejects the object. Fix: use one of the three`);
        continue;
      }
      const policy = effectivePolicy(site);
      const prePuller = this.prePullers.find((p) => p.object !== object && pulledServes(p.reference, parsed));
      if (policy === PullPolicy.Never && !prePuller && !prePullCovers(this.prePulled, parsed)) {
        this.add(object, neverWithoutPrePullFinding(ref, site, parsed), 'ErrImageNeverPull');
      }
      if (keyringError && policy !== PullPolicy.Never) {
        // The pod-level finding names the Secret; each container gets its predicted state too.
        this.report(object, 'malformed-pull-secret', 'error', site.path, site.image,
          `${site.image}: the pull fails with ErrImagePull (then ImagePullBackOff, retrying after ${describeBackoff()}) because a pull Secret of the pod cannot be parsed: ${keyringError}. Fix: repair the Secret (see the finding on imagePullSecrets)`, 'ErrImagePull');
      }
      const sources = unique(keyring.lookup(parsed.toString()).map((m) => m.source));
      const nodeSources = this.options.nodeCredentials ? unique(this.options.nodeCredentials.lookup(parsed.toString()).map((m) => m.source)) : [];
      const providers = this.options.credentialProviders ? providersForImage(this.options.credentialProviders, parsed.toString()).map((p) => p.provider) : [];
      if (sources.length > 0 && matchesAnyRegistryKey(this.options.publicRegistries, parsed.name)) {
        this.add(object, secretForPublicRegistryFinding(ref, site, parsed.name, sources));
      }
      if (sources.length === 0 && nodeSources.length === 0 && providers.length === 0 && unknownSecrets.length === 0 && !keyringError
        && matchesAnyRegistryKey(this.options.privateRegistries, parsed.name)) {
        this.report(object, 'no-pull-secret-for-private-registry', 'error', site.path, site.image,
          `${site.image} comes from a private registry but no pull secret of the pod matches ${parsed.name}; the pull fails with 401 (ErrImagePull, then ImagePullBackOff retrying after ${describeBackoff()}). Fix: add a pull secret for ${parsed.registry} to imagePullSecrets`, 'ErrImagePull');
      }
      // KEP-2535: the same Secret, or another holding the same credential, may reuse the image.
      const presented = prePuller && prePuller.credentialIds.length > 0 ? keyring.lookupCredentials(parsed.toString()).map(credentialId) : [];
      if (this.options.ensureSecretPulledImages !== false && policy !== PullPolicy.Always && prePuller && prePuller.credentialIds.length > 0
        && !prePuller.credentialIds.some((id) => presented.includes(id)) && unknownSecrets.length === 0) {
        const never = policy === PullPolicy.Never;
        this.report(object, 'prepull-credentials-differ', never ? 'error' : 'warning', site.path, site.image,
          `${parsed.familiar} is pre-pulled by ${describe(objectRef(prePuller.object))} with pull secret(s) ${prePuller.sources.join(', ')}, whose credentials this pod does not present${sources.length ? ` (it presents ${sources.join(', ')})` : ''}. With KubeletEnsureSecretPulledImages (on by default from Kubernetes 1.35) the kubelet reuses an image pulled with a Secret only for pods presenting the same credentials, so ${never ? 'this pod fails with ErrImageNeverPull' : 'the kubelet pulls again with this pod\'s credentials and fails with ErrImagePull if they do not work'}. Fix: give the workload the same pull secret as the pre-puller`,
          never ? 'ErrImageNeverPull' : undefined);
      }
      const where = this.locate(object, site.path);
      this.plans.push({
        object: ref, path: site.path, image: site.image, reference: parsed, pullPolicy: policy, secrets: names, keyring,
        unknownSecrets, providers, ...(keyringError ? { keyringError } : {}), ...where,
      });
    }
  }

  /** The platform rule of synthesis (lib/platforms.ts), on the images whose lock entries record their platforms. */
  private checkPlatforms(object: JsonObject, template: PodTemplate): void {
    const lock = this.options.lock;
    if (!lock) return;
    const images: PodImage[] = [];
    for (const site of template.sites) {
      const parsed = this.parsed.parse(site.image);
      if (parsed instanceof InvalidImageReferenceError || parsed.tag === undefined) continue;
      const entry = lock.get(site.image);
      // An entry for another digest says nothing about the one pinned here.
      if (entry && (parsed.digest === undefined || parsed.digest === entry.digest)) images.push({ path: site.path, image: site.image, entry });
    }
    for (const finding of platformFindings(objectRef(object), template.spec, images, this.options.clusterPlatforms)) {
      this.add(object, finding, finding.severity === 'error' ? 'ErrImagePull' : undefined);
    }
  }

  private add(object: JsonObject, finding: Finding | undefined, state?: KubeletState): void {
    if (!finding) return;
    this.findings.push({ ...finding, ...(state ? { state } : {}), ...this.locate(object, finding.path) });
  }

  private report(object: JsonObject, code: FindingCode, severity: Severity, path: string, image: string | undefined, message: string, state?: KubeletState): void {
    this.add(object, { code, severity, object: objectRef(object), path, ...(image !== undefined ? { image } : {}), message }, state);
  }
}

/**
 * True when an image a DaemonSet pulled serves a container's image on the node: the same
 * digest for a digest reference, else the same tag (no tag meaning `latest`).
 */
function pulledServes(pulled: ImageReference, wanted: ImageReference): boolean {
  if (pulled.name !== wanted.name) return false;
  if (wanted.digest !== undefined) return pulled.digest === wanted.digest;
  const tag = (r: ImageReference) => r.tag ?? (r.digest === undefined ? 'latest' : undefined);
  return tag(pulled) === tag(wanted);
}

/** A one-way hash of a credential, compared in memory only. */
function credentialId(credential: { username: string; password: string }): string {
  return createHash('sha256').update(`${credential.username}\u0000${credential.password}`).digest('hex');
}

function effectivePolicy(site: ImageSite): PullPolicy {
  const explicit = writtenPullPolicy(site);
  return isPullPolicy(explicit) ? explicit : defaultPullPolicy(site.image);
}

function secretNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((s) => (isObject(s) && typeof s.name === 'string' ? s.name : undefined)).filter((n): n is string => n !== undefined && n !== '');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function describe(object: ObjectRef): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
}

function validateOptions(options: CheckOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new KubepinUsageError(`check options must be an object, got ${describeType(options)}`);
  }
  for (const field of ['clusterSecrets', 'allowedRegistries', 'publicRegistries', 'privateRegistries', 'prePulled'] as const) {
    const value = options[field];
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
      throw new KubepinUsageError(`check option ${field} must be a list of strings, got ${describeType(value)}`);
    }
  }
  if (options.secretFiles !== undefined && !isObject(options.secretFiles)) {
    throw new KubepinUsageError(`check option secretFiles must map Secret names to .dockerconfigjson payloads, got ${describeType(options.secretFiles)}`);
  }
}

