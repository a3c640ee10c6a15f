import { describeType } from '../util/errors';
import { unknownKeysProblem } from '../util/known-keys';
import { ProjectConfigError } from '../core/config/project-config';
import { LogTrust, loadTrustedRoot } from './trusted-root';

/**
 * A keyless (Fulcio certificate) signer: who, by the certificate's identity and its OIDC issuer,
 * and which Sigstore instance vouches for the certificate (docs/signatures.md).
 */
export interface KeylessSigner {
  /** The certificate's subject alternative name, exactly (e.g. `https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main`). */
  readonly identity?: string;
  /** Instead of {@link identity}: a regular expression the **whole** SAN must match (anchored). */
  readonly identityRegExp?: string;
  /** The OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, else the legacy .1.1), exactly. */
  readonly issuer?: string;
  /** Instead of {@link issuer}: a regular expression the whole issuer must match (anchored). */
  readonly issuerRegExp?: string;
  /** The Sigstore trusted root (Fulcio CAs, CT logs, Rekor, TSAs). @default `signatures.trustedRoot`, else the public-good root over TUF */
  readonly trustedRoot?: LogTrust;
  /** Where it was written, for messages: `kubepin.config.json: signatures.require[0].keyless[0]`. */
  readonly where: string;
}

/** What a keyless signature's certificate says of its signer (what the lock records). */
export interface CertificateIdentity {
  /** The SAN (URI or e-mail). */
  readonly identity: string;
  /** The OIDC issuer. */
  readonly issuer: string;
}

const compiled = new Map<string, RegExp>();

/** `source` as a regular expression that must match a whole string. */
function anchored(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    // `^(?:…)$`: `org/repo` must never match `evilorg/repo` or `org/repo-evil` (sigstore-js's matcher is unanchored).
    re = new RegExp(`^(?:${source})$`, 'u');
    compiled.set(source, re);
  }
  return re;
}

/** True when the certificate identity `seen` is one `signer` accepts: identity and issuer both, exactly or by whole-string match. */
export function keylessAccepts(signer: KeylessSigner, seen: CertificateIdentity): boolean {
  const identityOk = signer.identity !== undefined ? seen.identity === signer.identity : anchored(signer.identityRegExp!).test(seen.identity);
  const issuerOk = signer.issuer !== undefined ? seen.issuer === signer.issuer : anchored(signer.issuerRegExp!).test(seen.issuer);
  return identityOk && issuerOk;
}

/** `identity "…" (issuer "…")`, as configured, for messages. */
export function describeKeyless(signer: KeylessSigner): string {
  const identity = signer.identity !== undefined ? `identity ${JSON.stringify(signer.identity)}` : `identity matching /${signer.identityRegExp}/`;
  const issuer = signer.issuer !== undefined ? `issuer ${JSON.stringify(signer.issuer)}` : `issuer matching /${signer.issuerRegExp}/`;
  return `keyless ${identity} (${issuer})`;
}

/**
 * Reads `signatures.require[].keyless`: one signer or a list of them.
 * @throws ProjectConfigError naming the entry and the fix
 */
export function parseKeylessSigners(value: unknown, where: string, baseDir: string, defaultRoot: LogTrust | undefined): KeylessSigner[] {
  const raw = Array.isArray(value) ? value : [value];
  if (raw.length === 0) throw new ProjectConfigError(`${where}.keyless must name at least one signer`);
  return raw.map((entry, i) => {
    const at = Array.isArray(value) ? `${where}.keyless[${i}]` : `${where}.keyless`;
    const shape = `{ "identity": "<certificate SAN>" | "identityRegExp": "<regexp of the whole SAN>", "issuer": "<OIDC issuer URL>" | "issuerRegExp": "<regexp>", "trustedRoot"?: "<trusted_root.json>" }`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ProjectConfigError(`${at} must be ${shape}, got ${describeType(entry)}`);
    const e = entry as Record<string, unknown>;
    const extra = unknownKeysProblem(e, ['identity', 'identityRegExp', 'issuer', 'issuerRegExp', 'trustedRoot']);
    if (extra) throw new ProjectConfigError(`${at}: ${extra}`);
    const identity = oneOf(e, 'identity', 'identityRegExp', at, shape);
    const issuer = oneOf(e, 'issuer', 'issuerRegExp', at, shape);
    const trustedRoot = e.trustedRoot === undefined ? defaultRoot : loadTrustedRoot(e.trustedRoot, baseDir, `${at}.trustedRoot`);
    return { ...identity, ...issuer, ...(trustedRoot ? { trustedRoot } : {}), where: at };
  });
}

function oneOf(e: Record<string, unknown>, exact: 'identity' | 'issuer', regExp: 'identityRegExp' | 'issuerRegExp', at: string, shape: string): Partial<KeylessSigner> {
  const a = e[exact];
  const b = e[regExp];
  if ((a === undefined) === (b === undefined)) {
    throw new ProjectConfigError(`${at} needs exactly one of "${exact}" (exact) and "${regExp}" (a regular expression of the whole value), got ${a === undefined ? 'neither' : 'both'}: ${shape}`);
  }
  const text = a ?? b;
  if (typeof text !== 'string' || text === '') throw new ProjectConfigError(`${at}.${a !== undefined ? exact : regExp} must be a non-empty string, got ${describeType(text)}`);
  if (b !== undefined) {
    try {
      anchored(text);
    } catch (err) {
      throw new ProjectConfigError(`${at}.${regExp} ${JSON.stringify(text)} is not a valid regular expression (${(err as Error).message}). Fix: write a JavaScript regular expression; it must match the whole value, so no "^" or "$" is needed`);
    }
    return { [regExp]: text };
  }
  return { [exact]: text };
}

/** Every signer a requirement accepts, for messages: key files, then keyless signers. */
export function describeSigners(requirement: { readonly keys: ReadonlyArray<{ readonly source: string }>; readonly keyless?: readonly KeylessSigner[] }): string {
  return [...requirement.keys.map((k) => k.source), ...(requirement.keyless ?? []).map(describeKeyless)].join(', ');
}
