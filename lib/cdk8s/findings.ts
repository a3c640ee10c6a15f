import { KubepinError } from '../errors';
import { Finding, formatFinding } from '../findings';

/** Synthesis failed because the image policy found errors. Lists every error of the chart. */
export class ImagePolicyError extends KubepinError {
  /** Every finding of the evaluation (errors and warnings). */
  declare public readonly findings: readonly Finding[];
  constructor(message: string, findings: readonly Finding[]) {
    super(message);
    // Not enumerable: Node prints an uncaught error's own enumerable properties after its stack,
    // which would list every finding a second time under the message that already lists them.
    Object.defineProperty(this, 'findings', { value: findings, enumerable: false });
  }
}

/** A finding with the construct path of the object it is about. */
export interface ConstructFinding extends Finding {
  /** Path of the `ApiObject` in the construct tree. */
  readonly constructPath: string;
}

/** One line per finding: `[app/chart/web/Resource] error unpinned-image Deployment web …`. */
export function formatConstructFinding(f: ConstructFinding): string {
  return `[${f.constructPath}] ${formatFinding(f)}`;
}
