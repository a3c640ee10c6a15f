import { KubepinError } from '../../util/errors';
import { Finding } from './finding';

/**
 * The image policy found errors. Both faces throw it: the cdk8s face for a chart (synthesis
 * fails), the Pulumi face for a resource (its registration fails). The message lists every error.
 */
export class ImagePolicyError extends KubepinError {
  /** Every finding of the evaluation (errors, and warnings where the face has them). */
  declare public readonly findings: readonly Finding[];
  constructor(message: string, findings: readonly Finding[]) {
    super(message);
    // Not enumerable: Node prints an uncaught error's own enumerable properties after its stack,
    // which would list every finding a second time under the message that already lists them.
    Object.defineProperty(this, 'findings', { value: findings, enumerable: false });
  }
}

/** Where {@link dispatchFindings} sends each finding. */
export interface FindingSinks<F extends Finding> {
  /** The line printed for a finding. */
  readonly format: (finding: F) => string;
  /** Receives warnings (and errors, when `reportOnly`). */
  readonly warn: (line: string) => void;
  /** Receives infos. */
  readonly info: (line: string) => void;
  /** The error thrown for the error findings (`all` is every finding). */
  readonly fail: (errors: readonly F[], all: readonly F[]) => ImagePolicyError;
  /** Log errors as warnings instead of throwing. @default false */
  readonly reportOnly?: boolean;
  /** Findings another reporter prints after this run (kubepin's cdk8s validation plugin): not logged here; errors still throw. @default none */
  readonly leftToOthers?: (finding: F) => boolean;
  /** Say each finding once: a finding whose key is in `seen` is not logged again. @default log every time */
  readonly once?: { readonly seen: Set<string>; readonly key: (finding: F) => string };
}

/**
 * The one rule of both faces: errors throw (one {@link ImagePolicyError} listing them all),
 * warnings go to `warn`, infos to `info`; non-errors are logged before the throw.
 */
export function dispatchFindings<F extends Finding>(findings: readonly F[], sinks: FindingSinks<F>): void {
  for (const finding of findings) {
    if (finding.severity === 'error' && !sinks.reportOnly) continue;
    if (sinks.leftToOthers?.(finding)) continue;
    if (sinks.once) {
      const key = sinks.once.key(finding);
      if (sinks.once.seen.has(key)) continue;
      sinks.once.seen.add(key);
    }
    (finding.severity === 'info' ? sinks.info : sinks.warn)(sinks.format(finding));
  }
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0 && !sinks.reportOnly) throw sinks.fail(errors, findings);
}
