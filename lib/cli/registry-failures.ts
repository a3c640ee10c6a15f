import { LockOutcome, ManifestImages } from '../registry/lock-images';
import { CliIo } from './io';
import { relativePath as rel } from './lock-project';

type Failed = Extract<LockOutcome, { status: 'failed' }>;

/** Prints the images `kubepin lock` could not resolve, each with where it is used. */
export function reportLockFailures(failed: readonly Failed[], images: ManifestImages, io: CliIo): void {
  for (const outcome of failed) {
    io.stderr.write(`error: ${outcome.error.message}\n`);
    for (const location of images.tagged.get(outcome.reference) ?? []) {
      io.stderr.write(`  used at ${location.line > 0 ? `${rel(io.cwd, location.file)}:${location.line}` : location.file} (${location.object}, ${location.path})\n`);
    }
  }
}
