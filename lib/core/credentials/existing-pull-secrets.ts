import type { PullSecretDeclaration } from './pull-secret';
import { JsonObject, isObject } from '../objects/pod-templates';

/**
 * Annotation on a workload naming the pull Secrets it lists that the app declared as living in
 * the cluster (`RegistryPullSecret.fromExistingSecret`): comma-separated names, in the object's
 * namespace. `kubepin check` reads it, so those Secrets need no `--cluster-secret` on every run.
 */
export const EXISTING_PULL_SECRETS_ANNOTATION = 'kubepin.dev/existing-pull-secrets';

/** Adds the secrets of `listed` (a pod's pull-secret list) declared `existing` to `object`'s {@link EXISTING_PULL_SECRETS_ANNOTATION} (sorted, each once). */
export function recordExistingPullSecrets(object: JsonObject, listed: unknown, declarations: readonly PullSecretDeclaration[] = []): void {
  if (!Array.isArray(listed) || !declarations.some((d) => d.existing === true)) return;
  const existing = new Set(declarations.filter((d) => d.existing === true).map((d) => d.name));
  const names = listed.map((entry) => (isObject(entry) ? entry.name : undefined)).filter((n): n is string => typeof n === 'string' && existing.has(n));
  if (names.length === 0) return;
  if (!isObject(object.metadata)) object.metadata = {};
  const metadata = object.metadata as JsonObject;
  if (!isObject(metadata.annotations)) metadata.annotations = {};
  const annotations = metadata.annotations as JsonObject;
  annotations[EXISTING_PULL_SECRETS_ANNOTATION] = [...new Set([...existingPullSecretsOf(object), ...names])].sort().join(',');
}

/** The names in `object`'s {@link EXISTING_PULL_SECRETS_ANNOTATION} (none when it has no such annotation). */
export function existingPullSecretsOf(object: JsonObject): string[] {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const value = isObject(metadata.annotations) ? metadata.annotations[EXISTING_PULL_SECRETS_ANNOTATION] : undefined;
  return typeof value === 'string' ? value.split(',').map((n) => n.trim()).filter((n) => n !== '') : [];
}
