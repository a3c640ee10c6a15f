import * as pulumi from '@pulumi/pulumi';
import { Finding, formatFinding } from '../findings';
import { ImagePolicyViolationError } from './pin';

/**
 * Reports a component's findings: errors throw one {@link ImagePolicyViolationError} listing them
 * all (so the program fails before the resource is registered), warnings and infos go to the Pulumi log.
 */
export function reportFindings(label: string, findings: readonly Finding[], onWarning?: (message: string) => void): void {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new ImagePolicyViolationError(label, errors);
  for (const finding of findings) {
    const message = `kubepin: ${label}: ${formatFinding(finding)}`;
    if (onWarning) onWarning(message);
    else if (finding.severity === 'warning') void pulumi.log.warn(message);
    else void pulumi.log.info(message);
  }
}
