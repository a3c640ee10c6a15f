import { DEBUG_ENV } from '../util/debug';

/** Set once per process (duck-typed: two copies of kubepin install one listener). */
const INSTALLED = Symbol.for('kubepin.cdk8s.synthErrorReport');

/**
 * In an app that `cdk8s synth` (or `kubepin lock`) runs, makes an uncaught image-policy error
 * print as its findings alone and exit 1: Node would print a compiled-source excerpt of the
 * throw and ten stack frames of cdk8s and kubepin internals around the one useful part.
 * Validation errors cdk8s throws from `app.synth()` (`Validation failed with the following
 * errors: …`) print the same way. Any other uncaught error is reported by Node as usual. Not in
 * tests (`Testing.app()` sets no `CDK8S_OUTDIR`) and not with `KUBEPIN_DEBUG=1`, which keeps
 * Node's report, stack included.
 */
export function reportSynthErrorsAsFindings(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CDK8S_OUTDIR === undefined || env[DEBUG_ENV] === '1') return;
  const holder = process as unknown as Record<symbol, boolean>;
  if (holder[INSTALLED]) return;
  Object.defineProperty(holder, INSTALLED, { value: true });
  const listener = (error: unknown): void => {
    const text = findingsText(error);
    if (text !== undefined) {
      // Standard error is synchronous for files, pipes and terminals on POSIX: nothing is lost by exiting.
      process.stderr.write(`${text}\n(${DEBUG_ENV}=1 shows the stack trace)\n`);
      process.exit(1);
    }
    // Not ours: thrown again with nothing listening, so Node reports it exactly as it would have.
    process.removeListener('uncaughtException', listener);
    if (process.listenerCount('uncaughtException') === 0) process.nextTick(() => { throw error; });
  };
  process.on('uncaughtException', listener);
}

function findingsText(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'ImagePolicyError' || error.message.startsWith('Validation failed with the following errors:')) return error.message;
  return undefined;
}
