import { ImageReference } from '../core/names/image-reference';
import { SignatureVerificationError } from './errors';
import { RegistryError } from '../core/findings/registry-error';
import { ArtifactSource, FetchedManifest } from './artifacts';
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from './artifacts';
import { COSIGN_CERTIFICATE_ANNOTATION, COSIGN_REKOR_ANNOTATION, COSIGN_SIGNATURE_ANNOTATION, COSIGN_TIMESTAMP_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SignatureRejection, SignatureSubject, isRecord, quote, verifySimpleSigning } from './cosign';
import { SignerRequirement } from './policy';
import type { VerifiedSigner } from './bundle';
import type { PublicGoodRoot } from './public-good';
import { describeSigners } from './keyless-policy';
import { LockedSignature, SignatureFormat } from '../core/lock/signature-record';

export type { SignatureFormat } from '../core/lock/signature-record';

/**
 * What the lock records for a verified digest: which key (its fingerprint) or which keyless
 * signer (the certificate's identity and issuer) signed it, in which format. No time.
 */
export type SignatureRecord = LockedSignature;

/** Why a required signature is missing or invalid. Stable: tools may switch on it. */
export { SignatureVerificationError } from './errors';
export type { SignatureFailureKind } from './errors';

/** Bounds on what a registry may make kubepin read for one image's signatures. */
export interface SignatureLimits {
  /** Largest `.sig` manifest, referrers index or referring manifest. @default 256 KiB */
  readonly maxManifestBytes?: number;
  /** Layers of a `.sig` manifest looked at (one per signature); more is refused. @default 32 */
  readonly maxSignatures?: number;
  /** Largest simple-signing payload. @default 64 KiB */
  readonly maxPayloadBytes?: number;
  /** Largest Sigstore bundle. @default 1 MiB */
  readonly maxBundleBytes?: number;
  /** Referring artifacts looked at per digest. @default 16 */
  readonly maxReferrers?: number;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/**
 * Finds and verifies the signatures of a digest: cosign's `sha256-<hex>.sig` tag (simple-signing
 * payload + `dev.cosignproject.cosign/signature`) and Sigstore bundles referring to the digest
 * (OCI 1.1 referrers API, or the referrers tag schema `sha256-<hex>` where the registry lacks it).
 * Every read is bounded; any one valid signature by a required key is enough.
 */
export class SignatureVerifier {
  private readonly limits: Required<SignatureLimits>;
  /** The public-good root, fetched at most once per verifier (a run) and only when a signature needs it. */
  private readonly publicGood: PublicGoodRoot;
  /** Registry → whether it has the referrers API, learnt from the first ask (concurrent verifications wait for it). */
  private readonly referrersApi = new Map<string, Promise<boolean>>();
  /** Registries whose first answer about the referrers API is in. */
  private readonly referrersApiKnown = new Set<string>();

  constructor(
    private readonly source: ArtifactSource,
    limits: SignatureLimits = {},
    /** The trusted root where a requirement names none. @default the public-good root over TUF (lib/signatures/public-good.ts) */
    publicGoodRoot?: PublicGoodRoot,
  ) {
    this.publicGood = publicGoodRoot ?? lazyPublicGood();
    this.limits = {
      maxManifestBytes: limits.maxManifestBytes ?? 256 * 1024,
      maxSignatures: limits.maxSignatures ?? 32,
      maxPayloadBytes: limits.maxPayloadBytes ?? 64 * 1024,
      maxBundleBytes: limits.maxBundleBytes ?? 1024 * 1024,
      maxReferrers: limits.maxReferrers ?? 16,
    };
  }

  /**
   * Verifies that `digest` of `image`'s repository is signed as `requirement` demands.
   * @throws SignatureVerificationError with the reasons every candidate failed, and the fix
   * @throws RegistryError when the registry fails (network, auth)
   */
  public async verify(image: ImageReference, digest: string, requirement: SignerRequirement): Promise<SignatureRecord> {
    const repository = image.withoutDigest();
    const display = `${image.tag !== undefined ? `${image.name}:${image.tag}` : image.name}@${digest}`;
    const host = image.registry;
    const subject: SignatureSubject = { digest, repository };
    // Both places are looked up at once (a bundle-signed image costs one round trip less), and judged in order: cosign's tag
    // first, bundles only when it has no valid signature (the lock records the same format either way). Once the tag's
    // signature verifies, the bundle lookup stops before reading any bundle.
    let settled = false;
    const cosignReasons: string[] = [];
    const bundleReasons: string[] = [];
    const lookups = [
      { candidates: this.cosignCandidates(repository, digest, cosignReasons), reasons: cosignReasons },
      { candidates: this.bundleCandidates(repository, digest, bundleReasons, () => !settled), reasons: bundleReasons },
    ];
    // Judged only when the tag's signature fails: its failure (a network error) must not go unheard before that.
    lookups[1].candidates.catch(() => undefined);
    let found = 0;
    for (const { candidates: pending, reasons } of lookups) {
      const candidates = await pending.catch((e: unknown) => {
        settled = true;
        throw e;
      });
      found += candidates.length;
      for (const candidate of candidates) {
        try {
          const signer = await candidate.verify(requirement, subject, this.publicGood);
          settled = true;
          return signer.key ? { key: signer.key.fingerprint, format: candidate.format } : { format: candidate.format, identity: signer.certificate.identity, issuer: signer.certificate.issuer };
        } catch (e) {
          // Whatever a registry sent that does not parse (a garbage timestamp, a broken certificate) rejects this candidate only.
          reasons.push(`${candidate.where}: ${e instanceof SignatureRejection ? e.message : `part of it cannot be read (${String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200)})`}`);
        }
      }
    }
    const reasons = [...cosignReasons, ...bundleReasons];
    const keys = describeSigners(requirement);
    if (found === 0 && reasons.length === 0) {
      throw new SignatureVerificationError('signature-missing', host,
        `${display} is not signed: no cosign signature (tag ${sigTag(digest)}.sig) and no Sigstore bundle refers to the digest, but ${requirement.where} requires a signature by ${keys}. Fix: sign it (cosign sign ${requirement.keys.length > 0 ? '--key <private key> ' : ''}${image.name}@${digest}), or correct the requirement's images`);
    }
    throw new SignatureVerificationError('signature-invalid', host,
      `${display}: no valid signature by ${keys} (required by ${requirement.where}): ${reasons.join('; ')}. Fix: sign this digest as a required signer, or check that the image is the one you meant to trust; nothing was locked for it`);
  }

  private async cosignCandidates(image: ImageReference, digest: string, reasons: string[]): Promise<Candidate[]> {
    const tag = `${sigTag(digest)}.sig`;
    const manifest = await this.fetchManifest(image, tag, [OCI_MANIFEST, DOCKER_MANIFEST], reasons, `cosign tag ${tag}`);
    if (!manifest) return [];
    const where = `cosign signature ${tag}`;
    const parsed = parseJson(manifest.body);
    const layers = isRecord(parsed) && Array.isArray(parsed.layers) ? parsed.layers : undefined;
    if (!layers) {
      reasons.push(`${where}: the manifest is not an image manifest with layers`);
      return [];
    }
    if (layers.length > this.limits.maxSignatures) {
      reasons.push(`${where}: the manifest lists ${layers.length} layers; kubepin reads at most ${this.limits.maxSignatures} signatures per digest and refused it`);
      return [];
    }
    const out: Candidate[] = [];
    await Promise.all(
      layers.map(async (layer, i) => {
        const at = `${where} layer ${i}`;
        if (!isRecord(layer) || layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return;
        const signature = isRecord(layer.annotations) ? layer.annotations[COSIGN_SIGNATURE_ANNOTATION] : undefined;
        if (typeof signature !== 'string') {
          reasons.push(`${at}: no ${COSIGN_SIGNATURE_ANNOTATION} annotation`);
          return;
        }
        const payload = await this.fetchBlob(image, layer, this.limits.maxPayloadBytes, reasons, at);
        const annotations = layer.annotations as Record<string, unknown>;
        if (payload) out[i] = { where: at, format: 'cosign', verify: (req, subject, root) => verifyClassic(payload, signature, annotations, req, subject, root) };
      }),
    );
    return out.filter(Boolean);
  }

  /** The Sigstore bundles referring to `digest`; none are read once `wanted()` says the verification is settled. */
  private async bundleCandidates(image: ImageReference, digest: string, reasons: string[], wanted: () => boolean = () => true): Promise<Candidate[]> {
    const tagWhere = `referrers tag ${sigTag(digest)}`;
    const readTag = (into: string[]): Promise<Buffer | undefined> => this.fetchManifest(image, sigTag(digest), [OCI_INDEX], into, tagWhere).then((m) => m?.body);
    // Until the registry's first answer about the API is in, the referrers tag is read beside the ask, not after it
    // (used only if the API is absent; what it found wrong counts then too).
    const earlyReasons: string[] = [];
    const early = this.referrersApiKnown.has(image.registry) ? undefined : { reasons: earlyReasons, body: readTag(earlyReasons) };
    early?.body.catch(() => undefined);
    let index = await this.askReferrersApi(image, digest);
    let via = 'referrers API';
    if (index === undefined) {
      // Registries without the referrers API (distribution 2.8): the referrers tag schema.
      if (early) reasons.push(...early.reasons);
      index = await (early ? early.body : readTag(reasons));
      via = tagWhere;
    }
    if (index === undefined || !wanted()) return [];
    const parsed = parseJson(index);
    const entries = isRecord(parsed) && Array.isArray(parsed.manifests) ? parsed.manifests.filter(isRecord) : undefined;
    if (!entries) {
      reasons.push(`${via}: not an OCI index`);
      return [];
    }
    // The referrers tag's index may label entries with the config type (cosign writes the empty type): look at each unless it is clearly something else.
    const candidates = entries.filter((e) => typeof e.digest === 'string' && (e.artifactType === undefined || e.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE || e.artifactType === 'application/vnd.oci.empty.v1+json'));
    if (candidates.length > this.limits.maxReferrers) {
      reasons.push(`${via}: lists ${candidates.length} referring artifacts; kubepin looks at the first ${this.limits.maxReferrers}`);
    }
    const out: Candidate[] = [];
    await Promise.all(
      candidates.slice(0, this.limits.maxReferrers).map(async (entry, i) => {
        const at = `Sigstore bundle ${String(entry.digest).slice(0, 19)}… (${via})`;
        const manifest = await this.fetchManifest(image, entry.digest as string, [OCI_MANIFEST], reasons, at);
        if (!manifest) {
          reasons.push(`${at}: the referring manifest is missing`);
          return;
        }
        const m = parseJson(manifest.body);
        if (!isRecord(m)) return;
        const artifactType = m.artifactType ?? (isRecord(m.config) ? m.config.mediaType : undefined);
        if (artifactType !== SIGSTORE_BUNDLE_MEDIA_TYPE) return; // Another kind of referrer (SBOM, attestation).
        if (!isRecord(m.subject) || m.subject.digest !== digest) {
          reasons.push(`${at}: refers to ${quote(isRecord(m.subject) ? m.subject.digest : undefined)}, not ${digest}`);
          return;
        }
        const layer = Array.isArray(m.layers) && m.layers.length === 1 && isRecord(m.layers[0]) ? m.layers[0] : undefined;
        if (!layer || layer.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE) {
          reasons.push(`${at}: expected exactly one ${SIGSTORE_BUNDLE_MEDIA_TYPE} layer`);
          return;
        }
        const bytes = await this.fetchBlob(image, layer, this.limits.maxBundleBytes, reasons, at);
        // @sigstore/verify is loaded only when there is a bundle to check (~50 ms of start-up otherwise).
        if (bytes) out[i] = { where: at, format: 'sigstore-bundle', verify: (req, subject, root) => (require('./bundle') as typeof import('./bundle')).verifySigstoreBundle(bytes, req, subject, root) };
      }),
    );
    return out.filter(Boolean);
  }

  /** The referrers API's index, or `undefined` when the registry lacks the API (asked of it once per run). */
  private async askReferrersApi(image: ImageReference, digest: string): Promise<Buffer | undefined> {
    const known = this.referrersApi.get(image.registry);
    if (known && !(await known)) return undefined;
    const ask = this.source.fetchReferrers(image, digest, SIGSTORE_BUNDLE_MEDIA_TYPE, this.limits.maxManifestBytes);
    if (!known) {
      const registry = image.registry;
      this.referrersApi.set(registry, ask.then((index) => index !== undefined, () => true).finally(() => this.referrersApiKnown.add(registry)));
    }
    return ask;
  }

  private async fetchManifest(image: ImageReference, reference: string, accept: string[], reasons: string[], where: string): Promise<FetchedManifest | undefined> {
    try {
      return await this.source.fetchManifest(image, reference, accept, this.limits.maxManifestBytes);
    } catch (e) {
      if (e instanceof RegistryError && (e.kind === 'too-large' || e.kind === 'digest-mismatch' || e.kind === 'bad-response')) {
        reasons.push(`${where}: ${e.kind === 'too-large' ? `larger than ${this.limits.maxManifestBytes} bytes; refused` : e.message}`);
        return undefined;
      }
      throw e;
    }
  }

  /** Reads a blob a descriptor names, refusing a declared or actual size above `max`. */
  private async fetchBlob(image: ImageReference, descriptor: Record<string, unknown>, max: number, reasons: string[], where: string): Promise<Buffer | undefined> {
    const digest = descriptor.digest;
    if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      reasons.push(`${where}: the layer has no sha256 digest`);
      return undefined;
    }
    if (typeof descriptor.size === 'number' && descriptor.size > max) {
      reasons.push(`${where}: the layer claims ${descriptor.size} bytes, more than the ${max} kubepin reads; refused`);
      return undefined;
    }
    try {
      return await this.source.fetchBlob(image, digest, max);
    } catch (e) {
      if (e instanceof RegistryError && ['too-large', 'digest-mismatch', 'not-found', 'bad-response'].includes(e.kind)) {
        reasons.push(`${where}: ${e.kind === 'too-large' ? `larger than ${max} bytes; refused` : e.kind === 'not-found' ? 'the layer blob is missing' : e.message}`);
        return undefined;
      }
      throw e;
    }
  }
}

interface Candidate {
  readonly where: string;
  readonly format: SignatureFormat;
  /** `@sigstore/verify` is loaded only when there is a candidate to check (~50 ms of start-up otherwise). */
  verify(requirement: SignerRequirement, subject: SignatureSubject, publicGoodRoot: PublicGoodRoot): Promise<VerifiedSigner>;
}

/** A classic `.sig` layer: a plain key signature is checked here; one with a certificate, a log entry or a timestamp by lib/signatures/classic.ts. */
async function verifyClassic(payload: Buffer, signature: string, annotations: Record<string, unknown>, requirement: SignerRequirement, subject: SignatureSubject, root: PublicGoodRoot): Promise<VerifiedSigner> {
  const plain = requirement.keys.length > 0 && requirement.tlog !== 'required' && ![COSIGN_CERTIFICATE_ANNOTATION, COSIGN_REKOR_ANNOTATION, COSIGN_TIMESTAMP_ANNOTATION].some((a) => annotations[a] !== undefined);
  // @sigstore/verify is loaded only when there is a certificate, log entry or timestamp to check, or one is required.
  if (plain) return { key: verifySimpleSigning(payload, signature, requirement.keys, subject) };
  return (require('./classic') as typeof import('./classic')).verifyClassicSignature(payload, signature, annotations, requirement, subject, root);
}

/** The public-good loader, its module (and @sigstore/tuf) loaded only when a signature needs it. */
function lazyPublicGood(): PublicGoodRoot {
  let loader: PublicGoodRoot | undefined;
  return () => (loader ??= (require('./public-good') as typeof import('./public-good')).publicGoodLoader())();
}

/** `sha256-<hex>`: the tag cosign and the referrers tag schema derive from a digest. */
export function sigTag(digest: string): string {
  return digest.replace(':', '-');
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
