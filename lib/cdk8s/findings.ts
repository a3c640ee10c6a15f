import { Finding, formatFinding } from '../core/findings/finding';

/** Synthesis failed because the image policy found errors (the core's one policy error class). */
export { ImagePolicyError } from '../core/findings/dispatch';

/** A finding with the construct path of the object it is about. */
export interface ConstructFinding extends Finding {
  /** Path of the `ApiObject` in the construct tree. */
  readonly constructPath: string;
}

/** One line per finding: `[app/chart/web/Resource] error unpinned-image Deployment web …`. */
export function formatConstructFinding(f: ConstructFinding): string {
  return `[${f.constructPath}] ${formatFinding(f)}`;
}
