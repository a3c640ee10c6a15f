import { ImageReference } from '../base/image-reference';
import { RegistryError } from '../base/registry-error';
import type { RegistryClient } from '../registry/client';
import { listRepositories, listTags } from '../registry/listing';
import { ImageLocation, LockOutcome, ManifestImages } from '../registry/lock-images';
import { CliIo } from './io';
import { relativePath as rel } from './lock-project';
import { closest } from './options';
import { safeText } from '../base/printable';

type Failed = Extract<LockOutcome, { status: 'failed' }>;

/** Why a registry host could not be talked to at all, in words, and what to do. */
export interface HostFailure {
  /** The cause, e.g. `the DNS name "locahost" was not found`. */
  readonly cause: string;
  /** The fix. */
  readonly fix: string;
}

/** Registries users often mean, for "did you mean" on a host that does not resolve. */
const WELL_KNOWN_HOSTS = ['localhost', 'docker.io', 'ghcr.io', 'quay.io', 'gcr.io', 'registry.k8s.io', 'registry.gitlab.com', 'public.ecr.aws', 'mcr.microsoft.com'];

/**
 * The host-level cause of `error` (the registry could not be reached: DNS, refused, no answer,
 * TLS, an insecure or redirecting host), or `undefined` for an answer about one image (401,
 * 404, a digest mismatch…). `knownHosts` are the other registries of the run, for "did you mean".
 */
export function hostFailure(error: RegistryError, knownHosts: readonly string[] = []): HostFailure | undefined {
  const host = error.host;
  const [hostname, port] = splitHost(host);
  const message = error.message;
  if (error.kind === 'tls') {
    const detail = /\(([^)]*)\)/.exec(message)?.[1];
    return {
      cause: `TLS failed${detail ? ` (${detail})` : ''}`,
      fix: `if ${host} uses a private CA, pass it with --ca-file (or NODE_EXTRA_CA_CERTS); if it speaks plain HTTP, allow it with --insecure-registry ${host}`,
    };
  }
  if (error.kind === 'timeout') {
    const ms = /within (\d+) ms/.exec(message)?.[1];
    return {
      cause: /looks down/.test(message) ? 'requests kept timing out, so it looks down' : `no answer${ms ? ` within ${Number(ms) / 1000} s` : ''}${/connect timed out/.test(message) ? ' (the connection could not be opened)' : ''}`,
      fix: `check that ${host} is reachable from here (network, VPN, firewall, proxy); for a slow registry raise --timeout SECONDS`,
    };
  }
  if (error.kind === 'insecure' || error.kind === 'redirect') return { cause: stripImage(message), fix: 'see above' };
  if (error.kind !== 'network') return undefined;
  if (/ENOTFOUND/.test(message)) {
    const near = closest(hostname, [...new Set([...knownHosts.map((h) => splitHost(h)[0]), ...WELL_KNOWN_HOSTS])].filter((h) => h !== hostname));
    return {
      cause: `the DNS name "${hostname}" was not found`,
      fix: `${near ? `did you mean ${near}${port ? `:${port}` : ''}? ` : ''}correct the registry host in the image; if the name is right, check this machine's DNS (or /etc/hosts)`,
    };
  }
  if (/EAI_AGAIN/.test(message)) return { cause: `the DNS lookup of "${hostname}" failed (no DNS server answered)`, fix: 'check the network and DNS of this machine, then run again' };
  if (/connection refused/.test(message)) {
    return { cause: `connection refused: nothing listens on ${hostname} port ${port ?? '443'}`, fix: `start the registry, or correct the host and port in the image (${host})` };
  }
  if (/EHOSTUNREACH|ENETUNREACH/.test(message)) return { cause: 'no route to the host (network unreachable)', fix: `check the network path to ${host} (VPN, firewall)` };
  if (/connection reset/.test(message)) return { cause: 'the connection was reset, again after the retries', fix: `check that ${host} is a registry and that no proxy cuts the connection; run again` };
  return { cause: stripImage(message), fix: `check that ${host} is reachable from here and is a registry` };
}

/**
 * Prints the images `kubepin lock` could not resolve. Failures to reach a registry are said once
 * per host: the cause in words, the images it affects with where each is used, and the fix. A
 * 404 tells a missing repository from a missing tag (asking the registry's tag list), with the
 * nearest names the registry lists; other failures are printed per image.
 */
export async function reportLockFailures(failed: readonly Failed[], images: ManifestImages, io: CliIo, client: RegistryClient): Promise<void> {
  const byHost = new Map<string, { failure: HostFailure; outcomes: Failed[] }>();
  const hosts = [...new Set([...images.tagged.keys()].map((r) => ImageReference.tryParse(r)?.registry).filter((h): h is string => h !== undefined))];
  const usedAt = (reference: string) => (images.tagged.get(reference) ?? []).map((location) => safeText`    used at ${where(io.cwd, location)}\n`).join('');
  for (const outcome of failed) {
    const failure = hostFailure(outcome.error, hosts);
    if (failure) {
      const group = byHost.get(outcome.error.host) ?? { failure, outcomes: [] };
      group.outcomes.push(outcome);
      byHost.set(outcome.error.host, group);
      continue;
    }
    const message = outcome.error.kind === 'not-found' ? await notFoundMessage(outcome.reference, outcome.error, client) : outcome.error.message;
    io.stderr.write(`${safeText`error: ${message}`}\n${usedAt(outcome.reference).replace(/^ {4}/gm, '  ')}`);
  }
  for (const [host, { failure, outcomes }] of byHost) {
    const count = outcomes.length === 1 ? 'the image' : `${outcomes.length} images`;
    io.stderr.write(safeText`error: registry ${host}: ${failure.cause}; ${count} on it could not be resolved:\n`);
    for (const o of outcomes) io.stderr.write(`${safeText`  ${o.reference}`}\n${usedAt(o.reference)}`);
    if (failure.fix !== 'see above') io.stderr.write(safeText`  Fix: ${failure.fix}\n`);
  }
}

/** A 404, told apart: no such repository (with near names from the catalog) or no such tag (with near tags). */
async function notFoundMessage(reference: string, error: RegistryError, client: RegistryClient): Promise<string> {
  const ref = ImageReference.tryParse(reference);
  if (!ref || ref.tag === undefined) return error.message;
  const host = error.host;
  const tags = await listing(() => listTags(client, ref));
  if (tags === null) return error.message;
  if (tags !== undefined) {
    const near = closest(ref.tag, tags);
    const some = [...tags].sort().slice(-8);
    return `${reference}: the repository ${ref.repository} exists on ${host} but has no tag "${ref.tag}" (HTTP 404)${near ? `; did you mean "${near}"?` : tags.length > 0 ? `; its tags include ${some.join(', ')}.` : '; it has no tags.'} Fix: correct the tag, or push it`;
  }
  const repositories = await listing(() => listRepositories(client, ref));
  const near = repositories ? closest(ref.repository, repositories) : undefined;
  return `${reference}: the repository ${ref.repository} does not exist on ${host} (HTTP 404)${near ? `; did you mean ${near}?` : '.'} Fix: correct the image name${near ? '' : ' (or the registry host)'}, or push the image`;
}

/** The registry's answer, or `null` when it could not be asked (no suggestion then). */
async function listing<T>(ask: () => Promise<T>): Promise<T | null> {
  try {
    return await ask();
  } catch (e) {
    if (e instanceof RegistryError) return null;
    throw e;
  }
}

function splitHost(host: string): [string, string | undefined] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return m ? [m[1], m[2]] : [host, undefined];
}

/** The message without its leading "<image or URL>: ". */
function stripImage(message: string): string {
  return message.replace(/^[^\s:]+(?::\d+)?[^\s:]*: /, '');
}

function where(cwd: string, location: ImageLocation): string {
  return `${location.line > 0 ? `${rel(cwd, location.file)}:${location.line}` : location.file} (${location.object}, ${location.path})`;
}
