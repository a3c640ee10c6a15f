import * as path from 'path';
import { unlocatedImagesMessage } from '../core/findings/unlocated-images';
import { CliIo, Command, EXIT } from './io';
import { loadLockProject, manifestProblemReports, unlocatedJson, relativePath as rel } from './lock-project';
import { lockReferenceOf } from '../core/lock/image-lock';
import { KubepinUsageError } from '../util/errors';
import { safeText } from '../util/printable';
import { ImageReference } from '../core/names/image-reference';
import { clusterPlatformsBeside } from '../core/policy/platforms';
import { Drift, remoteExitCode, remoteFindings } from './verify-remote';
import { digestOnlyCovered, digestOnlyWarning, platformPinContradiction } from './verify-signatures';
import { describeSigners } from '../signatures/keyless-policy';
import { describeRecord } from '../core/lock/signature-record';
import { ALLOW_EMPTY_FLAG, ALLOW_EMPTY_HELP, describeInput, nothingToCheck } from './manifest-input';
import { outputMode } from './output-flags';
import { verifySarif } from './verify-sarif';
import type { VerifyFinding } from './verify-findings';
import { packageVersion } from '../util/version';
import { againWithLock, findProjectRoot } from './project-root';
import { PULUMI_PROGRAM_HELP } from './pulumi-program-help';
import { REGISTRY_FLAGS_HELP, parseRegistryFlags, validateRegistryFlags, registryClientFromFlags } from './registry-options';
import { docPath } from '../util/docs';
import { groupByHost, hostFailureHeading } from '../core/findings/host-failure';
import { splitFix } from '../check/report';

const HELP = `Usage: kubepin verify [PATH…|-] [options]

Checks that every image in the manifests under PATH (default: dist/) is pinned to a digest
and that the digest is the one kubepin.lock.json records. Every file and document under PATH
must parse (as in \`kubepin check\`): what cannot be read fails, with file and line. Custom
resources' images count where kubepin.config.json's "imageLocations" says (${docPath('image-locations.md')}).
Offline unless --remote is given.

Options:
  --remote                     also ask the registries whether they still serve every locked
                               digest (one HEAD each, and each platform manifest the lock records
                               or kubepin.config.json's "platforms" needs), whether each locked
                               tag still names it (reports drift), and verify again the signature
                               of every locked digest kubepin.config.json requires to be signed,
                               the platform digests the lock records against the signed index,
                               and images pinned by digest alone (${docPath('signatures.md')}).
                               Writes nothing.
  --format sarif               also SARIF 2.1.0, for code scanning (each finding on its manifest line)
${ALLOW_EMPTY_HELP}
${REGISTRY_FLAGS_HELP}

PATH "-" reads the manifests from standard input.
${PULUMI_PROGRAM_HELP}

Exit code: 0 when everything is pinned and agrees with the lock (and, with --remote, no tag
moved), 1 otherwise (an image not pinned, untagged ones included, or a file or document that
cannot be read), 2 for bad usage (a PATH that does not exist included), 5 when there is
nothing to check (no manifests at all: a failed synth leaves dist/ empty) unless --allow-empty.
With --remote: 3 when a locked digest will not pull (digest-gone, child-gone,
platform-not-found), else 4 when the repository or the credential is gone (repository-gone,
credential-gone).
`;

export type { VerifyCode, VerifyFinding } from './verify-findings';

const VERIFY_FLAGS = { remote: { type: 'boolean' }, ...ALLOW_EMPTY_FLAG } as const;

/** The PATH arguments of `kubepin verify ARGS`. @throws KubepinUsageError for bad flags */
export function verifyPaths(args: readonly string[]): string[] {
  return parseRegistryFlags(args, VERIFY_FLAGS).positionals;
}

/** `kubepin verify`: every image pinned, and pinned to what the lock says. */
export const verifyCommand: Command = {
  summary: 'check that manifests pin every image to the digest in kubepin.lock.json (--remote: detect moved tags)',
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = (() => {
      const parsed = parseRegistryFlags(args, VERIFY_FLAGS);
      validateRegistryFlags(parsed.values);
      if ((parsed.values.platform ?? []).length > 0) throw new KubepinUsageError('--platform is an option of `kubepin lock`, not of `kubepin verify`');
      return parsed;
    })();
    const mode = outputMode(values, ['text', 'json', 'sarif']);
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const json = mode.format === 'json';
    const { lockFile, lock, manifests, images, signatures, input } = await loadLockProject(values, positionals, io);
    const findings: VerifyFinding[] = [];
    const lockName = rel(io.cwd, lockFile);
    if (mode.verbose) io.stderr.write(`${describeInput(input)}\n`);
    // A gate that finds no manifests fails, distinctly: "0 image references … ok" would pass a failed synth.
    const empty = values['allow-empty'] ? undefined : nothingToCheck(input, io.cwd);
    if (empty) {
      if (json) io.stdout.write(`${JSON.stringify({ ok: false, lockFile: lockName, images: 0, nothingToCheck: empty, findings: [] }, null, 2)}\n`);
      if (mode.format === 'sarif') io.stdout.write(`${JSON.stringify(verifySarif([], { baseDir: io.cwd, ...versionOption(), failure: empty }), null, 2)}\n`);
      io.stderr.write(`kubepin verify: ${empty}\n`);
      return EXIT.empty;
    }
    // The step that writes the manifests again, for fixes: the project's, where the lock is.
    const kind = (findProjectRoot(path.dirname(lockFile)) ?? findProjectRoot(io.cwd))?.kind;

    // What cannot be read fails, as in `kubepin check`: nothing unreadable passes silently.
    const problems = manifestProblemReports(manifests, io.cwd);
    for (const problem of problems) {
      if (problem.severity === 'error') findings.push({ code: 'unreadable-manifest', image: '', file: problem.finding.file, ...(problem.finding.line ? { line: problem.finding.line } : {}), message: problem.finding.message });
      else if (!json && !mode.quiet) io.stderr.write(safeText`warning: ${problem.text}\n`);
    }
    for (const { location, error } of images.invalid) {
      const template = /\{\{.*\}\}/.test(location.image) ? '. It is a Helm template expression: render the chart with `helm template` first and verify the output' : '';
      findings.push({ code: 'invalid-reference', image: location.image, location, message: `${error.message} (the kubelet reports InvalidImageName)${template}` });
    }
    for (const location of images.locations) {
      const ref = ImageReference.tryParse(location.image);
      // Invalid (reported) or digest-only (pinned, nothing to compare); untagged images are locked as `:latest`.
      if (!ref || lockReferenceOf(ref) === undefined) continue;
      const entry = lock.get(location.image);
      if (ref.digest === undefined) {
        findings.push({
          code: 'unpinned',
          image: location.image,
          location,
          message: `${location.image} is not pinned to a digest${entry ? ` (${lockName} has ${entry.digest})` : ` and is not in ${lockName}`}. Fix: ${entry ? '' : 'run `kubepin lock`, then '}${againWithLock(kind)}`,
        });
      } else if (!entry) {
        findings.push({
          code: 'not-in-lock',
          image: location.image,
          location,
          message: `${location.image} is pinned in the manifest but ${lockName} has no entry for ${lockReferenceOf(ref)}: the manifests are older than the lock (the entry was pruned, or the app moved to another tag). Fix: ${againWithLock(kind, true)}; only if the app still uses ${lockReferenceOf(ref)}, lock it first (\`kubepin lock\`)`,
        });
      } else if (entry.digest !== ref.digest && platformPinContradiction(entry, ref.digest) !== undefined) {
        findings.push({ code: 'digest-mismatch', image: location.image, location, message: `${location.image} is pinned to ${ref.digest}, which ${lockName} lists under "platforms" of ${entry.digest}, but ${platformPinContradiction(entry, ref.digest)} (the lock was edited by hand?). Fix: run \`kubepin lock --update\`, then synthesize again` });
      } else if (entry.digest !== ref.digest && !Object.values(entry.platforms ?? {}).includes(ref.digest)) {
        findings.push({
          code: 'digest-mismatch',
          image: location.image,
          location,
          message: `${location.image} is pinned to ${ref.digest} but ${lockName} has ${entry.digest} for that tag: the manifests were written with an older lock. Fix: ${againWithLock(kind, true)}; only if the lock itself is stale, \`kubepin lock --update\` first`,
        });
      }
      if (entry && !signatures.vouches(entry)) {
        const requirement = signatures.requirementFor(entry.reference)!;
        findings.push({
          code: 'signature-not-locked',
          image: location.image,
          location,
          message: `${entry.reference} must be signed by ${describeSigners(requirement)} (${requirement.where}) but its entry in ${lockName} records ${entry.signature ? `${describeRecord(entry.signature)}, not a required signer` : 'no verified signature'}. Fix: run \`kubepin lock --update\``,
        });
      }
    }

    // Pinned by digest alone: no lock entry vouches, so --remote verifies the digest's signature; offline says so.
    const digestOnly = digestOnlyCovered(images.locations, signatures);
    if (!values.remote && !values.json) {
      for (const { location, requirement } of digestOnly) io.stderr.write(`warning: ${rel(io.cwd, location.file)}:${location.line}: ${location.object}: ${digestOnlyWarning(location.image, requirement)}\n`);
    }

    let drift: Drift[] = [];
    if (values.remote) {
      const client = registryClientFromFlags(values, io.cwd, io.env, manifests.documents);
      try {
        const remote = await remoteFindings(client, lock, signatures, lockName, clusterPlatformsBeside(lockFile), digestOnly);
        findings.push(...remote.findings);
        drift = remote.drift;
      } finally {
        client.close();
      }
    }

    findings.sort((a, b) => order(a).localeCompare(order(b)));
    if (mode.format === 'sarif') {
      io.stdout.write(`${JSON.stringify(verifySarif(findings, { baseDir: io.cwd, ...versionOption() }), null, 2)}\n`);
    } else if (json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            ok: findings.length === 0,
            lockFile: lockName,
            images: images.locations.length,
            findings: findings.map((f) => ({
              code: f.code,
              image: f.image,
              ...(f.location ? { file: rel(io.cwd, f.location.file), line: f.location.line, object: f.location.object, path: f.location.path } : {}),
              ...(f.file !== undefined ? { file: rel(io.cwd, f.file), ...(f.line ? { line: f.line } : {}) } : {}),
              ...(f.digest !== undefined ? { digest: f.digest } : {}),
              ...(f.platform !== undefined ? { platform: f.platform } : {}),
              message: f.message,
              ...(f.registry !== undefined ? { registry: f.registry, cause: f.cause } : {}),
              ...(f.kubelet !== undefined ? { kubelet: f.kubelet } : {}),
            })),
            ...(values.remote ? { drift } : {}),
            ...(!values.remote && digestOnly.length > 0 ? { warnings: digestOnly.map(({ location, requirement }) => ({ code: 'signature-not-locked', image: location.image, file: rel(io.cwd, location.file), line: location.line, message: digestOnlyWarning(location.image, requirement) })) } : {}),
            unlocated: unlocatedJson(io.cwd, images),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      // A registry that could not be reached is said once, with the images it affects.
      const { byHost, rest } = groupByHost(findings, (f) => f.registry);
      for (const f of rest) {
        const at = f.location
          ? `${rel(io.cwd, f.location.file)}:${f.location.line}: ${f.location.object}: `
          : f.file !== undefined ? `${rel(io.cwd, f.file)}${f.line ? `:${f.line}` : ''}: ` : '';
        io.stderr.write(safeText`error: ${at}${f.message}\n`);
      }
      for (const [host, list] of byHost) {
        io.stderr.write(`${safeText`error: ${hostFailureHeading(host, list[0].cause ?? '', list.length, 'checked')}`}\n`);
        for (const f of list) io.stderr.write(`${safeText`  ${f.image}${f.location ? ` (${rel(io.cwd, f.location.file)}:${f.location.line})` : ''}`}\n`);
        const fix = splitFix(list[0].message).fix;
        if (fix) io.stderr.write(safeText`  Fix: ${fix}\n`);
      }
      // Not a failure (the field may be data), but never silent: verify cannot vouch for these.
      for (const u of mode.quiet ? [] : images.unlocated) io.stderr.write(safeText`note: ${rel(io.cwd, u.location.file)}:${u.location.line}: ${u.location.object}: ${unlocatedImagesMessage(u.kind, u.images)}\n`);
      const summary = findings.length === 0 ? 'ok' : `${findings.length} problem${findings.length === 1 ? '' : 's'}`;
      if (!mode.quiet) io.stdout.write(safeText`${images.locations.length} image reference${images.locations.length === 1 ? '' : 's'} checked against ${lockName}${values.remote ? ` (${lock.size} locked tags re-resolved, their digests asked for)` : ''}: ${summary}\n`);
    }
    return findings.length > 0 ? remoteExitCode(findings.map((f) => f.code), EXIT.findings) : EXIT.ok;
  },
};

function versionOption(): { version?: string } {
  const version = packageVersion();
  return version ? { version } : {};
}

function order(f: VerifyFinding): string {
  if (f.file !== undefined) return `0${f.file}\0${String(f.line ?? 0).padStart(8, '0')}`;
  return f.location ? `0${f.location.file}\0${String(f.location.line).padStart(8, '0')}` : `1${f.image}`;
}

