import * as fs from 'fs';
import { unlocatedImagesMessage } from '../core/findings/unlocated-images';
import * as path from 'path';
import { CliIo, Command, EXIT } from './io';
import { loadLock, loadLockProject, manifestProblemReports, unlocatedJson, relativePath as rel } from './lock-project';
import { collectAppImages, findApp } from './lock-app';
import type { UnseenComponent } from '../core/policy/pulumi-resources';
import { chooseEngine, engineDescription, previewAppImages } from './lock-engine';
import { saveLockOrKeepResults, unsavedLockText } from './lock-save';
import { KubepinUsageError } from '../util/errors';
import { printable, safeText } from '../util/printable';
import { ImageLock } from '../core/lock/image-lock';
import { clusterPlatformsBeside } from '../core/policy/platforms';
import { LoadedManifests } from '../core/manifests/manifests';
import { ImageLocation, LockOutcome, LockUpdater, ManifestImages, referencesToResolve } from '../registry/lock-images';
import { changesAnything, describeChanges, lockChanges } from './lock-changes';
import { describeInput, STDIN_PATH } from './manifest-input';
import { startProgress } from './progress';
import { findProjectRoot } from './project-root';
import { reportLockFailures } from './registry-failures';
import { hostFailure } from '../core/findings/host-failure';
import type { SignaturePolicy } from '../signatures/policy';
import { SignatureVerificationError } from '../signatures/errors';
import { outputMode } from './output-flags';
import { DEBUG_ENV } from '../util/debug';
import { docPath } from '../util/docs';
import { REGISTRY_FLAGS_HELP, parseRegistryFlags, validateRegistryFlags, platformsFromFlags, registryClientFromFlags } from './registry-options';

const HELP = `Usage: kubepin lock [PATH…|-] [options]

Resolves every image the app uses to its digest and records it in kubepin.lock.json.
Images already in the lock are not looked up again unless --update is given.

Where the images come from:
  no PATH, cdk8s.yaml          (here or in a directory above, as git finds .git: the lock
                               file is then kubepin.lock.json there) runs the app's \`app\` command as \`cdk8s synth\` does, into a
                               temporary directory (never your output directory), with every
                               ImagePolicy in collect mode: strict or not, it records each image
                               and fails nothing for images missing from the lock
  no PATH, Pulumi.yaml         with a pulumi CLI (--engine PATH, or pulumi on PATH and a stack
                               selected): takes the images of every resource of \`pulumi preview\`
                               of the stack (--stack NAME), the children of helm.v4.Chart and
                               yaml.v2 components included; the stack's state is not written.
                               Else (or with --mocks) runs the program (nodejs runtime) under the
                               Pulumi runtime's mocks and expands itself what it can read:
                               yaml.v2 files, globs, yaml and objs, local Helm charts (helm on
                               PATH), local kustomize directories (kustomize or kubectl on PATH).
                               A component it cannot see is named with the fix, and the lock
                               is incomplete (exit 1, and --prune removes nothing)
                               (cdk8s.yaml or Pulumi.yaml here or in a directory above, as git
                               finds .git; the lock is then kubepin.lock.json there)
  --app COMMAND                runs COMMAND as a cdk8s app instead of the one in cdk8s.yaml
  PATH…                        reads the manifests under PATH (YAML files or directories; "-"
                               is standard input); with no PATH and no app, dist/
Untagged images (nginx) are locked as the kubelet pulls them (docker.io/library/nginx:latest).
Images that kubepin.config.json (next to the lock file) requires to be signed are locked only
with a verified signature, whose key fingerprint the entry records (${docPath('signatures.md')}).
Images are found in Kubernetes' workloads, Argo Rollouts' and OpenKruise's resources, and the
custom resources kubepin.config.json's "imageLocations" names (${docPath('image-locations.md')}).

The lock is written atomically, under an exclusive lock file (kubepin.lock.json.lock, beside a
symlink's target) so concurrent runs merge their entries; a run waits for another at most
KUBEPIN_LOCK_WAIT_MS (default 60000) milliseconds. A save that fails keeps the results in
kubepin.lock.json.unsaved.

Options:
  --app COMMAND                the cdk8s app command to run (see above)
  --engine PATH                the pulumi CLI to run \`pulumi preview\` with (Pulumi.yaml)
  --stack NAME                 the stack to preview (default: the selected one)
  --mocks                      run the Pulumi program under mocks even where a pulumi CLI is
                               on PATH
  --update                     re-resolve every image, not just those missing from the lock
                               (an entry whose digest did not change keeps its "requested")
  --prune                      remove (and list) entries for images the app or manifests no
                               longer use (without it, such entries are named in a note)
  --frozen                     write nothing, and fail (exit 1) when the lock would change: an
                               image missing from it (or, with --update, a moved tag; with
                               --prune, an unused entry). For CI, as \`npm ci\`
  --dry-run                    resolve and print what would change, write nothing
  --debug                      show the app's full error output (stack traces) when it fails;
                               the same as KUBEPIN_DEBUG=1
  --platform OS/ARCH[/VARIANT] also record this platform's manifest digest from the verified
                               index (repeatable); the index digest is what gets pinned
When kubepin.config.json names the cluster's node "platforms" (["linux/amd64", "linux/arm64"]),
each index must offer all of them (else platform-not-found), the lock records every platform
it offers and these platforms' digests, and a single-platform image fails when several are named.
${REGISTRY_FLAGS_HELP}

While the app runs (most of a lock), a progress line shows on a terminal's stderr
(with --verbose, a line at the start and one at the end, anywhere).

Exit code: 0 when every image is locked, 1 when any failed, a manifest could not be read,
the app failed, a component of a Pulumi program was not seen (its images are missing: the
warning names it and the fix; the images learned are still saved) or --frozen found a change,
2 for bad usage (a PATH that does not exist included), 130, 143 or 129 when SIGINT, SIGTERM
or SIGHUP stopped the app's run.
`;

/** `kubepin lock`: resolve tags to digests and write the lock file. */
export const lockCommand: Command = {
  summary: 'resolve the images of the app (cdk8s.yaml, Pulumi.yaml) or manifests to digests in kubepin.lock.json',
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, platforms } = (() => {
      const parsed = parseRegistryFlags(args, {
        update: { type: 'boolean' }, prune: { type: 'boolean' }, app: { type: 'string' },
        frozen: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, debug: { type: 'boolean' },
        engine: { type: 'string' }, stack: { type: 'string' }, mocks: { type: 'boolean' },
      });
      if (parsed.values.mocks && (parsed.values.engine !== undefined || parsed.values.stack !== undefined)) throw new KubepinUsageError('give either --mocks or --engine/--stack, not both');
      const platformList = platformsFromFlags(parsed.values);
      validateRegistryFlags(parsed.values);
      if (parsed.values.app !== undefined && parsed.positionals.length > 0) throw new KubepinUsageError('give either --app or PATHs, not both');
      if (parsed.values.app !== undefined && (parsed.values.app as string).trim() === '') throw new KubepinUsageError('--app needs a command, e.g. --app "npx ts-node main.ts"');
      return { ...parsed, platforms: platformList };
    })();
    const mode = outputMode(values, ['text', 'json']);
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const json = mode.format === 'json';
    const frozen = values.frozen === true;
    const writes = !frozen && values['dry-run'] !== true;
    // With no PATH, the project is found from a subdirectory too, as git and npm find theirs.
    const root = positionals.length === 0 && values.app === undefined ? findProjectRoot(io.cwd) : undefined;
    const projectDir = root?.dir ?? io.cwd;
    if (root && root.dir !== io.cwd && mode.verbose) io.stderr.write(safeText`project: ${rel(io.cwd, root.dir)} (${root.kind === 'cdk8s' ? 'cdk8s.yaml' : 'Pulumi.yaml'})\n`);
    const app = positionals.length === 0 ? findApp(projectDir, values.app as string | undefined) : undefined;
    let source: { lockFile: string; lock: ImageLock; signatures: SignaturePolicy; manifests: LoadedManifests; images: ManifestImages; from: string; recordProblems?: string[]; unseen?: UnseenComponent[] };
    if (app) {
      const lockSide = loadLock(values, io.cwd, projectDir);
      // Before the app runs and the registries are asked: a lock that cannot be written would lose that work.
      if (writes) lockSide.lock.checkWritable();
      const debug = values.debug === true || io.env[DEBUG_ENV] === '1';
      // Running the app is most of a lock (seconds): say so while it runs.
      const pulumiFlags = { engine: values.engine as string | undefined, stack: values.stack as string | undefined, mocks: values.mocks as boolean | undefined };
      if (app.kind !== 'pulumi' && (pulumiFlags.engine !== undefined || pulumiFlags.stack !== undefined || pulumiFlags.mocks)) {
        throw new KubepinUsageError('--engine, --stack and --mocks are for a Pulumi project (Pulumi.yaml); this is a cdk8s app');
      }
      const appEnv = debug ? { ...io.env, [DEBUG_ENV]: '1' } : io.env;
      const engine = app.kind === 'pulumi' ? await chooseEngine(pulumiFlags, app, io.env, (text) => {
        if (!json && !mode.quiet) io.stderr.write(safeText`note: ${text}\n`);
      }, (text) => {
        if (mode.verbose) io.stderr.write(safeText`note: ${text}\n`);
      }) : undefined;
      const from = engine ? engineDescription(engine) : app.description;
      const progress = startProgress(io, `running ${from} to learn its images`, { ...mode, json });
      let learned;
      try {
        learned = engine ? await previewAppImages(app, engine, appEnv, lockSide.locations) : await collectAppImages(app, appEnv, lockSide.locations, lockSide.configFile);
      } finally {
        progress.stop('the app ran');
      }
      source = { ...lockSide, ...learned, from };
    } else {
      const project = await loadLockProject(values, positionals, io);
      if (writes) project.lock.checkWritable();
      if (mode.verbose) io.stderr.write(safeText`${describeInput(project.input)}\n`);
      source = { ...project, from: project.paths.map((p) => (p === STDIN_PATH ? 'standard input' : rel(io.cwd, p))).join(', ') };
    }
    const { lockFile, lock, manifests, images, signatures } = source;
    const lockName = rel(io.cwd, lockFile);
    const problems = manifestProblemReports(manifests, io.cwd);
    const recordProblems = source.recordProblems ?? [];
    const unseen = source.unseen ?? [];
    const unreadable = problems.filter((p) => p.severity === 'error');
    if (!json) {
      for (const u of unseen) io.stderr.write(safeText`warning: ${unseenText(u, lockName)}\n`);
      for (const problem of problems) if (problem.severity === 'error' || !mode.quiet) io.stderr.write(safeText`${problem.severity}: ${problem.text}\n`);
      for (const problem of recordProblems) io.stderr.write(safeText`error: ${problem}\n`);
      for (const { location, error } of images.invalid) io.stderr.write(safeText`error: ${where(io.cwd, location)}: ${error.message}\n`);
      for (const u of mode.quiet ? [] : images.unlocated) io.stderr.write(safeText`note: ${at(io.cwd, u.location)}: ${u.location.object}: ${unlocatedImagesMessage(u.kind, u.images)}\n`);
    }

    const before = lock.serialize();
    // --frozen without --update needs no registry: an image missing from the lock already changes it.
    const clusterPlatforms = clusterPlatformsBeside(lockFile);
    const missing = frozen && values.update !== true ? referencesToResolve(lock, images.tagged.keys(), { platforms, signatures, clusterPlatforms }) : [];
    let outcomes: LockOutcome[] = [];
    if (!(frozen && values.update !== true)) {
      const client = registryClientFromFlags(values, io.cwd, io.env, manifests.documents);
      const progress = !json && !mode.quiet && io.stderr.isTTY === true && !io.env.CI;
      const updater = new LockUpdater(client, lock, {
        update: values.update === true,
        platforms,
        clusterPlatforms,
        signatures,
        onOutcome: (outcome, done, total) => {
          if (progress) io.stderr.write(safeText`\r\x1b[K[${done}/${total}] ${outcome.reference}`);
        },
      });
      try {
        for (const [reference, locations] of images.tagged) updater.add(reference, stripDigest(locations[0].image));
        outcomes = await updater.finish();
        if (progress) io.stderr.write('\r\x1b[K');
        // Said once per unreachable registry, with the cause in words; a 404 asks the registry what exists.
        if (!json) await reportLockFailures(outcomes.filter((o): o is Failed => o.status === 'failed'), images, io, client);
      } finally {
        client.close();
        if (progress) io.stderr.write('\r\x1b[K');
      }
    }
    const resolved = outcomes.filter((o): o is Extract<LockOutcome, { status: 'resolved' }> => o.status === 'resolved');
    const failed = outcomes.filter((o): o is Failed => o.status === 'failed');
    // Only a complete picture of the images may remove entries (or call them unused): not when some could not be read.
    const complete = unreadable.length === 0 && images.invalid.length === 0 && recordProblems.length === 0 && unseen.length === 0;
    const unused = complete ? lock.list().filter((entry) => !images.tagged.has(entry.reference)).map((entry) => entry.reference) : [];
    const pruned = values.prune === true ? unused : [];
    for (const reference of pruned) lock.delete(reference);
    const changes = lockChanges(before, lock, outcomes, pruned, missing);
    const wouldChange = changesAnything(changes) || (!fs.existsSync(lockFile) && images.tagged.size > 0);
    // Successes are saved even when others failed; the save merges with concurrent writers and is atomic.
    const unsaved = writes && (resolved.length > 0 || pruned.length > 0 || !fs.existsSync(lockFile)) ? saveLockOrKeepResults(lock) : undefined;
    const unchanged = images.tagged.size - outcomes.length - missing.length;
    const failedCount = failed.length + images.invalid.length + unreadable.length + recordProblems.length + (unsaved ? 1 : 0);
    const frozenFails = frozen && wouldChange;
    if (json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            lockFile: lockName,
            imagesFrom: source.from,
            images: images.tagged.size,
            ...(writes ? {} : { written: false, wouldChange, changes: { added: changes.added, changed: changes.changed, pruned: changes.pruned } }),
            resolved: resolved.map((o) => ({
              reference: o.reference,
              digest: o.entry.digest,
              mediaType: o.entry.mediaType,
              ...(o.entry.platforms ? { platforms: o.entry.platforms } : {}),
              ...(o.entry.offeredPlatforms ? { offeredPlatforms: o.entry.offeredPlatforms } : {}),
              ...(o.entry.signature ? { signature: o.entry.signature } : {}),
              ...(o.previous && o.previous.digest !== o.entry.digest ? { previousDigest: o.previous.digest } : {}),
            })),
            alreadyLocked: unchanged,
            failed: [
              ...failed.map((o) => ({
                reference: o.reference,
                kind: o.error instanceof SignatureVerificationError ? o.error.signatureKind : o.error.kind,
                ...(o.error.status ? { status: o.error.status } : {}),
                message: o.error.message,
                ...(hostFailure(o.error) ? { registry: o.error.host, cause: hostFailure(o.error)!.cause } : {}),
                usedAt: (images.tagged.get(o.reference) ?? []).map((l) => at(io.cwd, l)),
              })),
              ...images.invalid.map(({ location, error }) => ({ reference: location.image, kind: 'invalid-reference', message: error.message, usedAt: [at(io.cwd, location)] })),
            ],
            ...(values.prune ? { pruned } : {}),
            unused: values.prune ? [] : unused,
            ...(unsaved ? { notSaved: { error: unsaved.error, ...(unsaved.savedTo ? { savedTo: rel(io.cwd, unsaved.savedTo) } : { lock: JSON.parse(unsaved.text) }) } } : {}),
            problems: [
              ...problems.map((p) => ({ severity: p.severity, code: p.finding.code, file: rel(io.cwd, p.finding.file ?? ''), ...(p.finding.line ? { line: p.finding.line } : {}), message: p.finding.message })),
              ...recordProblems.map((message) => ({ severity: 'error', code: 'unreadable-image-record', message })),
            ],
            unlocated: unlocatedJson(io.cwd, images),
            // Components whose children (and images) were not seen: the lock is not complete.
            notSeen: unseen,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      if (unsaved) io.stderr.write(unsavedLockText(unsaved, lock.size, rel(io.cwd, lockFile), unsaved.savedTo && rel(io.cwd, unsaved.savedTo)));
      if (images.locations.length === 0 && !mode.quiet) io.stderr.write(safeText`warning: no images found in ${source.from}\n`);
      if (writes) {
        for (const c of changes.changed) io.stdout.write(safeText`updated ${c.reference}: ${c.from} -> ${c.to}\n`);
        for (const reference of pruned) io.stdout.write(safeText`pruned ${reference} (no longer used)\n`);
      } else {
        for (const line of describeChanges(changes, true)) io.stdout.write(`${printable(line)}\n`);
      }
      if (values.prune && pruned.length === 0 && !complete) {
        io.stderr.write(unseen.length > 0
          ? safeText`warning: --prune removed nothing: ${countOf(unseen.length, 'component')} of the program ${unseen.length === 1 ? 'was' : 'were'} not seen (${unseen.map((u) => `${u.type} "${u.name}"`).join(', ')}), so an entry ${unseen.length === 1 ? 'its' : 'their'} images use would look unused\n`
          : 'warning: --prune removed nothing: some images could not be read\n');
      }
      // Said for an app only: its images are the project's, while manifests given as PATHs may be a part (a lock shared by several).
      if (app && !values.prune && unused.length > 0 && !mode.quiet) {
        io.stderr.write(safeText`note: ${unused.length} entr${unused.length === 1 ? 'y' : 'ies'} of ${lockName} ${unused.length === 1 ? 'is' : 'are'} no longer used (${unused.join(', ')}); \`kubepin lock --prune\` removes ${unused.length === 1 ? 'it' : 'them'}\n`);
      }
      if (frozenFails) {
        io.stderr.write(safeText`error: ${lockName} is not up to date (--frozen: nothing was written). Fix: run \`kubepin lock${values.update ? ' --update' : ''}${values.prune ? ' --prune' : ''}\` and commit ${lockName}\n`);
      }
      if (!mode.quiet || failedCount > 0 || unseen.length > 0) {
        // Never a plain success while images are known to be missing.
        const notSeen = unseen.length > 0 ? `, ${countOf(unseen.length, 'component')} not seen (incomplete: ${unseen.length === 1 ? 'its' : 'their'} images are missing)` : '';
        const counts = writes
          ? `${resolved.length} resolved (${changes.added.length} new, ${changes.changed.length} changed), ${unchanged} already locked, ${failedCount} failed${values.prune ? `, ${pruned.length} pruned` : ''}${notSeen}`
          : `${frozen ? 'frozen' : 'dry run'}, nothing written: ${changes.added.length} to add, ${changes.changed.length} to update, ${changes.pruned.length} to prune, ${unchanged} already locked, ${failedCount} failed${notSeen}`;
        io.stdout.write(`${printable(lockName)}${unsaved ? ' (not saved)' : ''}: ${counts}${app ? ` (images from ${printable(source.from)})` : ''}\n`);
      }
    }
    return failedCount > 0 || frozenFails || unseen.length > 0 ? EXIT.findings : EXIT.ok;
  },
};

/** One component whose children were not seen, as the warning says it. */
function unseenText(u: UnseenComponent, lockName: string): string {
  return `${u.type} "${u.name}": its children were not seen (${u.reason}), so their images are not in ${lockName}. Fix: ${u.fix}`;
}

function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

type Failed = Extract<LockOutcome, { status: 'failed' }>;

function stripDigest(image: string): string {
  const at = image.indexOf('@');
  return at === -1 ? image : image.slice(0, at);
}


/** `file:line`, or the construct path / resource for images learned by running the app (line 0). */
function at(cwd: string, location: ImageLocation): string {
  return location.line > 0 ? `${rel(cwd, location.file)}:${location.line}` : location.file;
}

function where(cwd: string, location: ImageLocation): string {
  return `${at(cwd, location)} (${location.object}, ${location.path})`;
}
