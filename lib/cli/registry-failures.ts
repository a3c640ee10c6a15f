import { ImageReference } from '../core/names/image-reference';
import { RegistryError } from '../core/findings/registry-error';
import type { RegistryClient } from '../registry/client';
import { listRepositories, listTags } from '../registry/listing';
import { ImageLocation, LockOutcome, ManifestImages } from '../registry/lock-images';
import { CliIo } from './io';
import { relativePath as rel } from './lock-project';
import { closest } from './options';
import { safeText } from '../util/printable';
import { groupByHost, hostFailure, hostFailureHeading } from '../core/findings/host-failure';
import { isPrePullDefaultOrigin, prePullOriginNote } from '../core/policy/prepull-helpers';

type Failed = Extract<LockOutcome, { status: 'failed' }>;

/**
 * Prints the images `kubepin lock` could not resolve. Failures to reach a registry are said once
 * per host: the cause in words, the images it affects with where each is used, and the fix. A
 * 404 tells a missing repository from a missing tag (asking the registry's tag list), with the
 * nearest names the registry lists; other failures are printed per image.
 */
export async function reportLockFailures(failed: readonly Failed[], images: ManifestImages, io: CliIo, client: RegistryClient): Promise<void> {
  const hosts = [...new Set([...images.tagged.keys()].map((r) => ImageReference.tryParse(r)?.registry).filter((h): h is string => h !== undefined))];
  const usedAt = (reference: string) => (images.tagged.get(reference) ?? []).map((location) => safeText`    used at ${where(io.cwd, location)}\n`).join('') + originNote(images.tagged.get(reference) ?? []);
  const failures = new Map(failed.map((o) => [o, hostFailure(o.error, hosts)]));
  const { byHost, rest } = groupByHost(failed, (o) => (failures.get(o) ? o.error.host : undefined));
  for (const outcome of rest) {
    const message = outcome.error.kind === 'not-found' ? await notFoundMessage(outcome.reference, outcome.error, client) : outcome.error.message;
    io.stderr.write(`${safeText`error: ${message}`}\n${usedAt(outcome.reference).replace(/^ {4}/gm, '  ')}`);
  }
  for (const [host, outcomes] of byHost) {
    const failure = failures.get(outcomes[0])!;
    io.stderr.write(`${safeText`error: ${hostFailureHeading(host, failure.cause, outcomes.length, 'resolved')}`}\n`);
    for (const o of outcomes) io.stderr.write(`${safeText`  ${o.reference}`}\n${usedAt(o.reference)}`);
    if (failure.fix !== 'see above') io.stderr.write(safeText`  Fix: ${failure.fix}\n`);
  }
}

/**
 * Which kubepin default brought the image in, and how to change it, when every use of it is one
 * kubepin added (a pre-puller's default helper or pause image); nothing when the app uses it too.
 */
function originNote(locations: readonly ImageLocation[]): string {
  const origin = locations[0]?.origin;
  if (!isPrePullDefaultOrigin(origin) || locations.some((l) => l.origin !== origin)) return '';
  return safeText`    Note: ${prePullOriginNote(origin, locations[0].image)}\n`;
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

function where(cwd: string, location: ImageLocation): string {
  return `${location.line > 0 ? `${rel(cwd, location.file)}:${location.line}` : location.file} (${location.object}, ${location.path})`;
}
