import * as fs from 'fs';
import { parse } from 'yaml';
import { findCdk8sConfig } from './lock-file';

let reported: ReadonlySet<string> | null | undefined;

/**
 * The finding codes kubepin's cdk8s validation plugin reports after this synthesis, when it will
 * run (`cdk8s synth` with `validations:` naming `KubepinValidation` in cdk8s.yaml; cdk8s-cli then
 * sets CDK8S_RECORD_CONSTRUCT_METADATA=true): the codes of `kubepin check`. Null otherwise. The
 * policy leaves those warnings to the plugin's report, so one synthesis says each once.
 */
export function codesThePluginReports(): ReadonlySet<string> | null {
  if (reported !== undefined) return reported;
  reported = null;
  const config = process.env.CDK8S_RECORD_CONSTRUCT_METADATA === 'true' ? findCdk8sConfig() : undefined;
  if (config === undefined) return reported;
  try {
    const validations = (parse(fs.readFileSync(config, 'utf8')) as { validations?: unknown } | null)?.validations;
    if (Array.isArray(validations) && validations.some((v) => typeof v === 'object' && v !== null && (v as { class?: unknown }).class === 'KubepinValidation')) {
      reported = new Set(Object.keys((require('../check/sarif') as typeof import('../check/sarif')).CHECK_RULES));
    }
  } catch {
    // cdk8s-cli read this file before running the app; whatever it accepted, a file we cannot read means: no plugin known.
  }
  return reported;
}
