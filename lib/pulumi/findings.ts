import * as pulumi from '@pulumi/pulumi';
import { Finding, formatFinding } from '../core/findings/finding';
import { ImagePolicyError, dispatchFindings } from '../core/findings/dispatch';

/**
 * Reports the findings of one resource or component by the core's rule: errors throw one
 * {@link ImagePolicyError} listing them all (so the program fails before the resource is
 * registered); warnings go to `onWarning` (default `pulumi.log.warn`), infos to `onWarning`
 * when given, else `pulumi.log.info`.
 */
export function reportFindings(
  label: string,
  findings: readonly Finding[],
  onWarning?: (message: string) => void,
  once?: { readonly seen: Set<string>; readonly key: (finding: Finding) => string },
): void {
  dispatchFindings(findings, {
    format: (f) => `kubepin: ${label}: ${formatFinding(f)}`,
    warn: onWarning ?? ((m) => void pulumi.log.warn(m)),
    info: onWarning ?? ((m) => void pulumi.log.info(m)),
    fail: (errors) => new ImagePolicyError(`kubepin image policy rejected ${label}:\n${errors.map((f) => `  - ${formatFinding(f)}`).join('\n')}`, errors),
    ...(once ? { once } : {}),
  });
}
