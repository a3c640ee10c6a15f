import * as fs from 'fs';
import * as path from 'path';
import { CliIo, Command, EXIT } from './main';
import { loadLockProject, usageChecked } from './lock-project';
import { ImageLocation, LockOutcome, LockUpdater } from '../registry/lock-images';
import { SignatureVerificationError } from '../signatures/verifier';
import { REGISTRY_FLAGS_HELP, parseRegistryFlags, validateRegistryFlags, platformsFromFlags, registryClientFromFlags } from '../registry/cli-options';

const HELP = `Usage: kubepin lock [PATH…] [options]

Resolves every tagged image in the manifests under PATH (files or directories of YAML;
default: dist/) to its digest and records it in kubepin.lock.json, written atomically.
Images already in the lock are not looked up again unless --update is given. Images that
kubepin.config.json (next to the lock file) requires to be signed are locked only with a
verified signature, whose key fingerprint the entry records (docs/signatures.md).

Options:
  --update                     re-resolve every image, not just those missing from the lock
  --platform OS/ARCH[/VARIANT] also record this platform's manifest digest from the verified
                               index (repeatable); the index digest is what gets pinned
${REGISTRY_FLAGS_HELP}

Exit code: 0 when every image is locked, 1 when any failed (the others are still saved),
2 for bad usage.
`;

/** `kubepin lock`: resolve tags to digests and write the lock file. */
export const lockCommand: Command = {
  summary: 'resolve image tags in manifests to digests and write kubepin.lock.json',
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals, platforms } = usageChecked(() => {
      const parsed = parseRegistryFlags(args, { update: { type: 'boolean' } });
      const platformList = platformsFromFlags(parsed.values);
      validateRegistryFlags(parsed.values);
      return { ...parsed, platforms: platformList };
    });
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const json = values.json === true;
    const { paths, lockFile, lock, manifests, images, signatures } = loadLockProject(values, positionals, io.cwd);
    if (!json) {
      for (const problem of manifests.problems) io.stderr.write(`warning: ${rel(io.cwd, problem.file)}${problem.line ? `:${problem.line}` : ''}: ${problem.message}\n`);
      for (const { location, error } of images.invalid) io.stderr.write(`error: ${where(io.cwd, location)}: ${error.message}\n`);
    }

    const client = usageChecked(() => registryClientFromFlags(values, io.cwd, io.env, manifests.documents));
    const progress = !json && io.stderr.isTTY === true && !io.env.CI;
    const updater = new LockUpdater(client, lock, {
      update: values.update === true,
      platforms,
      signatures,
      onOutcome: (outcome, done, total) => {
        if (progress) io.stderr.write(`\r\x1b[K[${done}/${total}] ${outcome.reference}`);
        if (outcome.status === 'failed' && !json) {
          if (progress) io.stderr.write('\r\x1b[K');
          io.stderr.write(`error: ${outcome.error.message}\n`);
          for (const location of images.tagged.get(outcome.reference) ?? []) io.stderr.write(`  used at ${where(io.cwd, location)}\n`);
        }
      },
    });
    let outcomes: LockOutcome[];
    try {
      for (const [reference, locations] of images.tagged) updater.add(reference, stripDigest(locations[0].image));
      outcomes = await updater.finish();
    } finally {
      client.close();
      if (progress) io.stderr.write('\r\x1b[K');
    }
    const resolved = outcomes.filter((o): o is Extract<LockOutcome, { status: 'resolved' }> => o.status === 'resolved');
    const failed = outcomes.filter((o): o is Extract<LockOutcome, { status: 'failed' }> => o.status === 'failed');
    // Successes are saved even when others failed; the write is atomic (temp file + rename).
    if (resolved.length > 0 || !fs.existsSync(lockFile)) lock.save();
    const changed = resolved.filter((o) => o.previous && o.previous.digest !== o.entry.digest);
    const added = resolved.filter((o) => !o.previous);
    const unchanged = images.tagged.size - outcomes.length;
    const failedCount = failed.length + images.invalid.length;

    if (json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            lockFile: rel(io.cwd, lockFile),
            images: images.tagged.size,
            resolved: resolved.map((o) => ({
              reference: o.reference,
              digest: o.entry.digest,
              mediaType: o.entry.mediaType,
              ...(o.entry.platforms ? { platforms: o.entry.platforms } : {}),
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
                usedAt: (images.tagged.get(o.reference) ?? []).map((l) => `${rel(io.cwd, l.file)}:${l.line}`),
              })),
              ...images.invalid.map(({ location, error }) => ({ reference: location.image, kind: 'invalid-reference', message: error.message, usedAt: [`${rel(io.cwd, location.file)}:${location.line}`] })),
            ],
            problems: manifests.problems.map((p) => ({ file: rel(io.cwd, p.file), ...(p.line ? { line: p.line } : {}), message: p.message })),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      if (images.locations.length === 0) io.stderr.write(`warning: no images found in ${paths.map((p) => rel(io.cwd, p)).join(', ')}\n`);
      for (const o of changed) io.stdout.write(`updated ${o.reference}: ${o.previous!.digest} -> ${o.entry.digest}\n`);
      io.stdout.write(
        `${rel(io.cwd, lockFile)}: ${resolved.length} resolved (${added.length} new, ${changed.length} changed), ${unchanged} already locked, ${failedCount} failed\n`,
      );
    }
    return failedCount > 0 ? EXIT.findings : EXIT.ok;
  },
};

function stripDigest(image: string): string {
  const at = image.indexOf('@');
  return at === -1 ? image : image.slice(0, at);
}

function rel(cwd: string, file: string): string {
  const r = path.relative(cwd, file);
  return r === '' ? '.' : r.startsWith('..') ? file : r;
}

function where(cwd: string, location: ImageLocation): string {
  return `${rel(cwd, location.file)}:${location.line} (${location.object}, ${location.path})`;
}
