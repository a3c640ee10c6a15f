import { loadManifests } from '../core/manifests/manifests';
import { CheckFinding, CheckOptions, CheckResult, checkDocuments } from './check';
import { problemFindings } from './report';

/**
 * Reads manifest files or directories with `loadManifests` and checks them: unreadable
 * YAML and non-Kubernetes documents become findings with file and line, then the
 * findings of {@link checkDocuments}. Never throws for bad YAML; throws
 * `ManifestReadError` for a path that does not exist.
 */
export function checkFiles(paths: readonly string[], options: CheckOptions = {}): CheckResult {
  const loaded = loadManifests(paths);
  const result = checkDocuments(loaded.documents, options);
  const findings: CheckFinding[] = [...problemFindings(loaded.problems, loaded.documents), ...result.findings];
  return { findings, plans: result.plans };
}
