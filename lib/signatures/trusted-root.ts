import { createHash } from 'crypto';
import * as path from 'path';
import type { TrustMaterial } from '@sigstore/verify';
import { readRegularFile } from '../util/fs/read-regular-file';
import { ProjectConfigError } from '../core/config/project-config';

/** Largest trusted_root.json read (the public-good one is about 10 KiB). */
const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

const parsedRoots = new Map<string, LogTrust>();

/** The transparency logs and timestamp authorities a signature's log entries and timestamps are verified against. */
export interface LogTrust {
  /** The file, as written in the configuration, for messages. */
  readonly source: string;
  /**
   * `@sigstore/verify`'s trust material without keys (the requirement's keys are added per
   * signature); opaque, so that the public types do not depend on `@sigstore/verify`'s.
   */
  readonly material: unknown;
}

/**
 * Reads a Sigstore `trusted_root.json` (`file` relative to `baseDir`): its transparency logs
 * (Rekor's keys: what a log entry's signed entry timestamp or checkpoint is verified with) and
 * timestamp authorities. Parsed once per run and file, when the configuration is loaded.
 * @throws ProjectConfigError naming `where`, the file and the fix
 */
export function loadTrustedRoot(file: unknown, baseDir: string, where: string): LogTrust {
  if (typeof file !== 'string' || file === '') throw new ProjectConfigError(`${where} must be the path of a Sigstore trusted_root.json (relative to the configuration file)`);
  const full = path.resolve(baseDir, file);
  const text = readRegularFile(full, MAX_TRUSTED_ROOT_BYTES);
  if (typeof text !== 'string') throw new ProjectConfigError(`${where}: cannot read ${file}: ${text.problem.replace(/^cannot read: /, '')}`);
  // One parse per file and content in a process: requirements and signers naming the same file share it.
  const cacheKey = `${full}\0${createHash('sha256').update(text).digest('hex')}`;
  const cached = parsedRoots.get(cacheKey);
  if (cached) return { source: file, material: cached.material };
  try {
    const trust = parseTrustedRoot(text, file);
    parsedRoots.set(cacheKey, trust);
    return trust;
  } catch (e) {
    throw new ProjectConfigError(`${where}: ${file} is not a usable Sigstore trusted root (${String((e as Error).message).split('\n')[0].slice(0, 200)}). Fix: use the trusted_root.json of your Sigstore instance (for the public one: \`kubepin trust update --output ${file}\`, or \`cosign trusted-root create\`)`);
  }
}

/**
 * Parses a trusted_root.json's text into trust material (`source` names it in messages).
 * @throws Error when it is not one, or lists no transparency log and no timestamp authority
 */
export function parseTrustedRoot(text: string, source: string): LogTrust {
  // Loaded only for a configuration that names a trusted root.
  const { TrustedRoot } = require('@sigstore/protobuf-specs') as typeof import('@sigstore/protobuf-specs');
  const { toTrustMaterial } = require('@sigstore/verify') as typeof import('@sigstore/verify');
  const json = JSON.parse(text) as Record<string, unknown>;
  // A validity period without its start is malformed, not unbounded (the Sigstore client specification).
  const periods = [
    ...['tlogs', 'ctlogs'].flatMap((k) => (Array.isArray(json?.[k]) ? (json[k] as Array<{ publicKey?: { validFor?: { start?: unknown } } }>).map((t, i) => ({ at: `${k}[${i}].publicKey.validFor`, v: t?.publicKey?.validFor })) : [])),
    ...['certificateAuthorities', 'timestampAuthorities'].flatMap((k) => (Array.isArray(json?.[k]) ? (json[k] as Array<{ validFor?: { start?: unknown } }>).map((t, i) => ({ at: `${k}[${i}].validFor`, v: t?.validFor })) : [])),
  ];
  const open = periods.find((p) => typeof p.v?.start !== 'string');
  if (open) throw new Error(`${open.at} has no "start"`);
  const material = toTrustMaterial(TrustedRoot.fromJSON(json));
  if (material.tlogs.length === 0 && material.timestampAuthorities.length === 0) throw new Error('it lists no transparency log ("tlogs") and no timestamp authority');
  const { certificateAuthorities, timestampAuthorities, tlogs, ctlogs } = material;
  const withoutKeys: Omit<TrustMaterial, 'publicKey'> = { certificateAuthorities, timestampAuthorities, tlogs, ctlogs };
  return { source, material: withoutKeys };
}
