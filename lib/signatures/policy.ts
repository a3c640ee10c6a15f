import * as path from 'path';
import { ImageReference } from '../core/names/image-reference';
import { ImagePattern, parseImagePattern, patternCovers } from './patterns';
import type { LockEntry } from '../core/lock/image-lock';
import { describeType } from '../util/errors';
import { unknownKeysProblem } from '../util/known-keys';
import { readRegularFile } from '../util/fs/read-regular-file';
import { CONFIG_FILE_NAME, ProjectConfig, ProjectConfigError, loadProjectConfig, projectConfigBeside } from '../core/config/project-config';
import type { SignatureKey } from './keys';
import { LogTrust, loadTrustedRoot } from './trusted-root';
import { KeylessSigner, describeSigners, keylessAccepts, parseKeylessSigners } from './keyless-policy';

export type { KeylessSigner } from './keyless-policy';

export { CONFIG_FILE_NAME } from '../core/config/project-config';

/** Largest key file read (parsePublicKey refuses more than 64 KiB of PEM). */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** Policies built from each loaded configuration (kept while the file is unchanged). */
const policies = new WeakMap<ProjectConfig, SignaturePolicy>();

/** The `signatures` section of the configuration file is malformed. */
export class SignaturePolicyError extends ProjectConfigError {}

/** Who may sign, and what a signature must carry: what verifying one digest needs. */
export interface SignerRequirement {
  /** Keys any one of which must have signed the digest. */
  readonly keys: readonly SignatureKey[];
  /** Keyless signers (Fulcio certificate identity and issuer), any one of which may have signed instead of a key. @default none */
  readonly keyless?: readonly KeylessSigner[];
  /** Where the requirement was written, for messages: `kubepin.config.json: signatures.require[0]`. */
  readonly where: string;
  /**
   * `"required"`: a signature counts only with a transparency-log entry verified against
   * {@link trustedRoot} (cosign's default). Otherwise log entries and timestamps are verified
   * when a signature carries them, and one that cannot be verified rejects the signature.
   * @default entries verified when present, none needed
   */
  readonly tlog?: 'required';
  /** Rekor's keys and the timestamp authorities (a Sigstore trusted_root.json). @default `signatures.trustedRoot`, else the public-good root over TUF (@sigstore/tuf) when a signature carries a log entry or timestamp */
  readonly trustedRoot?: LogTrust;
}

/** Images that must be signed, and who may sign them. */
export interface SignatureRequirement extends SignerRequirement {
  /** kubelet-style patterns (`ghcr.io/acme`, `*.example.com/team`, `*` for every image) as written, matched as pull secrets are matched over canonical names. */
  readonly images: readonly string[];
  /** {@link images}, normalized like image names (lib/signatures/patterns.ts). */
  readonly patterns: readonly ImagePattern[];
}

/**
 * Which images need a signature by which keys: the `signatures` section of `kubepin.config.json`.
 *
 * ```json
 * { "signatures": { "require": [ { "images": ["ghcr.io/acme"], "keys": ["keys/acme.pub"] } ] } }
 * ```
 * Key paths are relative to the configuration file. When several requirements match an image,
 * the most specific pattern (longest) decides, as the kubelet picks credentials.
 */
export class SignaturePolicy {
  /** A policy that requires nothing. */
  public static readonly NONE = new SignaturePolicy([], undefined);

  /** Reads `file`; a missing file is {@link NONE}. @throws ProjectConfigError, SignaturePolicyError, SignatureKeyError */
  public static load(file: string): SignaturePolicy {
    const config = loadProjectConfig(file);
    if (!config) return SignaturePolicy.NONE;
    let policy = policies.get(config);
    if (!policy) {
      policy = SignaturePolicy.fromConfig(config.data.signatures, config.dir, config.display);
      policies.set(config, policy);
    }
    return policy;
  }

  /**
   * The policy of the project whose lock file is `lockFile`: `kubepin.config.json` in the same
   * directory (kept while the file is unchanged: each synthesis pass asks for it).
   */
  public static forLockFile(lockFile: string): SignaturePolicy {
    return SignaturePolicy.load(projectConfigBeside(lockFile));
  }

  /**
   * Builds a policy from a `signatures` section (`undefined`: no requirements).
   * @param baseDir where relative key paths resolve
   * @param file the file name used in messages
   */
  public static fromConfig(section: unknown, baseDir: string, file: string = CONFIG_FILE_NAME): SignaturePolicy {
    if (section === undefined) return SignaturePolicy.NONE;
    const where = `${file}: signatures`;
    if (typeof section !== 'object' || section === null || Array.isArray(section)) {
      throw new SignaturePolicyError(`${where} must be an object with a "require" list, got ${describeType(section)}`);
    }
    const unknownFields = unknownKeysProblem(section, ['require', 'trustedRoot']);
    if (unknownFields) throw new SignaturePolicyError(`${where}: ${unknownFields}`);
    const { require: list, trustedRoot } = section as Record<string, unknown>;
    if (!Array.isArray(list)) throw new SignaturePolicyError(`${where}.require must be a list of { "images": [...], "keys": [...] }, got ${describeType(list)}`);
    const keyCache = new Map<string, SignatureKey>();
    const defaultRoot = trustedRoot === undefined ? undefined : loadTrustedRoot(trustedRoot, baseDir, `${where}.trustedRoot`);
    const requirements = list.map((item, i) => parseRequirement(item, `${where}.require[${i}]`, baseDir, keyCache, defaultRoot));
    return new SignaturePolicy(requirements, file);
  }

  private readonly cache = new Map<string, SignatureRequirement | undefined>();

  private constructor(
    /** Every requirement, in file order. */
    public readonly requirements: readonly SignatureRequirement[],
    /** The file it came from, if any. */
    public readonly file: string | undefined,
  ) {}

  /** Every signer `requirement` accepts, for messages: key files, then keyless signers. */
  public describeSigners(requirement: SignerRequirement): string {
    return describeSigners(requirement);
  }

  /** True when no image needs a signature. */
  public get empty(): boolean {
    return this.requirements.length === 0;
  }

  /**
   * True when the lock `entry` carries what this policy demands for its image: nothing when no
   * requirement covers it, else a signature record by one of the required keys.
   */
  public vouches(entry: LockEntry): boolean {
    const requirement = this.requirementFor(entry.reference);
    if (!requirement) return true;
    const record = entry.signature;
    if (!record) return false;
    if (record.key !== undefined) return requirement.keys.some((k) => k.fingerprint === record.key);
    return record.identity !== undefined && record.issuer !== undefined && (requirement.keyless ?? []).some((s) => keylessAccepts(s, { identity: record.identity!, issuer: record.issuer! }));
  }

  /** The requirement covering `image` (a reference or its `registry/repository` name), if any. */
  public requirementFor(image: string | ImageReference): SignatureRequirement | undefined {
    if (this.requirements.length === 0) return undefined;
    const ref = typeof image === 'string' ? ImageReference.tryParse(image) : image;
    // Not an image the kubelet would pull: only "every image" covers it.
    const name = ref?.name ?? String(image);
    if (this.cache.has(name)) return this.cache.get(name);
    let best: { requirement: SignatureRequirement; length: number } | undefined;
    for (const requirement of this.requirements) {
      for (const pattern of requirement.patterns) {
        const covers = ref ? patternCovers(pattern, ref) : pattern.keys.length === 0;
        if (covers && (!best || pattern.length > best.length)) best = { requirement, length: pattern.length };
      }
    }
    this.cache.set(name, best?.requirement);
    return best?.requirement;
  }
}

function parseRequirement(item: unknown, where: string, baseDir: string, keyCache: Map<string, SignatureKey>, defaultRoot: LogTrust | undefined): SignatureRequirement {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new SignaturePolicyError(`${where} must be an object, got ${describeType(item)}`);
  const record = item as Record<string, unknown>;
  const unknownFields = unknownKeysProblem(record, ['images', 'keys', 'keyless', 'tlog', 'trustedRoot']);
  if (unknownFields) throw new SignaturePolicyError(`${where}: ${unknownFields}`);
  if (record.tlog !== undefined && record.tlog !== 'required') throw new SignaturePolicyError(`${where}.tlog must be "required" (a signature counts only with a verified transparency-log entry), or left out (entries verified when present)`);
  const trustedRoot = record.trustedRoot === undefined ? defaultRoot : loadTrustedRoot(record.trustedRoot, baseDir, `${where}.trustedRoot`);
  const images = record.images;
  if (!Array.isArray(images) || images.length === 0 || images.some((p) => typeof p !== 'string' || p === '')) {
    throw new SignaturePolicyError(`${where}.images must be a non-empty list of registry/repository patterns as pull secrets use them (e.g. "ghcr.io/acme", "*.example.com", "*" for every image), without tag or digest`);
  }
  const patterns = (images as string[]).map((written, i) => {
    const pattern = parseImagePattern(written);
    if ('problem' in pattern) throw new SignaturePolicyError(`${where}.images[${i}] ${JSON.stringify(written)}: ${pattern.problem}`);
    return pattern;
  });
  const keyList = record.keys ?? [];
  if (!Array.isArray(keyList) || keyList.some((k) => typeof k !== 'string' || k === '')) {
    throw new SignaturePolicyError(`${where}.keys must be a list of public key files (PEM, relative to the configuration file) or PEM texts`);
  }
  // Key parsing (and its crypto) is loaded only for a configuration with a signatures section.
  const { SignatureKeyError, parsePublicKey } = require('./keys') as typeof import('./keys');
  const keys = (keyList as string[]).map((k, i) => {
    const inline = k.includes('-----BEGIN');
    const file = inline ? undefined : path.resolve(baseDir, k);
    const cacheKey = file ?? k;
    let key = keyCache.get(cacheKey);
    if (!key) {
      let pem: string = k;
      if (file) {
        const read = readRegularFile(file, MAX_KEY_FILE_BYTES);
        if (typeof read !== 'string') {
          throw new SignatureKeyError(`${where}.keys[${i}]: cannot read ${file}: ${read.problem === 'cannot read: ENOENT' ? 'no such file' : read.problem.replace(/^cannot read: /, '')}`);
        }
        pem = read;
      }
      const label = file ? `${where}.keys[${i}] (${k})` : `${where}.keys[${i}]`;
      // Messages name a key file as written in the configuration.
      key = { ...parsePublicKey(pem, label), source: file ? k : label };
      keyCache.set(cacheKey, key);
    }
    return key;
  });
  let keyless: KeylessSigner[] | undefined;
  if (record.keyless !== undefined) {
    try {
      keyless = parseKeylessSigners(record.keyless, where, baseDir, trustedRoot);
    } catch (e) {
      throw new SignaturePolicyError((e as Error).message);
    }
  }
  if (keys.length === 0 && !keyless) throw new SignaturePolicyError(`${where} needs "keys" (public key files) or "keyless" signers`);
  return { images: images as string[], patterns, keys, ...(keyless ? { keyless } : {}), where, ...(record.tlog === 'required' ? { tlog: 'required' as const } : {}), ...(trustedRoot ? { trustedRoot } : {}) };
}
