import { CredentialKeyring } from '../core/credentials/keyring';
import { DockerConfigError, readDockerConfig } from '../core/credentials/docker-config';
import { JsonObject, isObject } from '../core/objects/pod-templates';
import { DOCKER_CONFIG_JSON_TYPE } from '../core/credentials/pull-secret';

/** The legacy `.dockercfg` Secret type (the kubelet still reads it). */
export const DOCKERCFG_TYPE = 'kubernetes.io/dockercfg';

/** A pull Secret as `kubepin check` knows it. */
export interface KnownPullSecret {
  /** `metadata.name`. */
  readonly name: string;
  /** `metadata.namespace`; `undefined` matches any namespace (kubectl applies it where it applies the pods). */
  readonly namespace?: string;
  /** Where it came from: a manifest object, `--cluster-secret`, or `--secret-file`. */
  readonly origin: 'manifest' | 'cluster' | 'file';
  /** The Docker config payload, when known (not for cluster secrets). */
  readonly config?: unknown;
  /** Why the kubelet cannot use it (the pod's pulls fail), when it cannot. Never holds a secret value. */
  readonly error?: string;
  /** Why the kubelet ignores it (wrong type or key), when it does. */
  readonly ignored?: string;
  /** The object, for manifest secrets. */
  readonly object?: JsonObject;
}

/**
 * Reads a `Secret` object as the kubelet's `MakeDockerKeyring` does: only type
 * `kubernetes.io/dockerconfigjson` with key `.dockerconfigjson` (of which only `.auths` is read)
 * and type `kubernetes.io/dockercfg` with key `.dockercfg` count; `stringData` wins over `data`.
 * Returns `undefined` for Secrets that are not pull secrets at all.
 */
export function readPullSecretObject(object: JsonObject): KnownPullSecret | undefined {
  if (object.kind !== 'Secret') return undefined;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  if (!name) return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  const type = object.type;
  const base = { name, namespace, origin: 'manifest' as const, object };
  const key = type === DOCKER_CONFIG_JSON_TYPE ? '.dockerconfigjson' : type === DOCKERCFG_TYPE ? '.dockercfg' : undefined;
  if (!key) {
    const hasConfigKey = ['.dockerconfigjson', '.dockercfg'].some((k) => (isObject(object.data) && k in object.data) || (isObject(object.stringData) && k in object.stringData));
    return hasConfigKey
      ? { ...base, ignored: `Secret ${name} holds a Docker config but has ${describeSecretType(type)}; the kubelet reads pull credentials only from type ${DOCKER_CONFIG_JSON_TYPE} (key .dockerconfigjson) or ${DOCKERCFG_TYPE} (key .dockercfg)` }
      : { ...base, ignored: `Secret ${name} has ${describeSecretType(type)}, not ${DOCKER_CONFIG_JSON_TYPE}; the kubelet ignores it as a pull secret` };
  }
  let text: string | undefined;
  if (isObject(object.stringData) && typeof object.stringData[key] === 'string') {
    text = object.stringData[key] as string;
  } else if (isObject(object.data) && typeof object.data[key] === 'string') {
    const raw = (object.data[key] as string).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) {
      return { ...base, error: `data["${key}"] of Secret ${name} is not valid base64; the API server rejects the Secret` };
    }
    text = Buffer.from(raw, 'base64').toString('utf8');
  }
  if (text === undefined || text.length === 0) {
    return { ...base, ignored: `Secret ${name} has type ${type} but no "${key}" key; the API server rejects it, and the kubelet would ignore it` };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { ...base, error: `"${key}" of Secret ${name} is not valid JSON; the API server rejects the Secret` };
  }
  return secretFromPayload(base, payload, key);
}

/** A pull secret kept outside the manifests (`--secret-file NAME=PATH`), from its parsed payload. */
export function pullSecretFromPayload(name: string, payload: unknown, namespace?: string): KnownPullSecret {
  return secretFromPayload({ name, namespace, origin: 'file' }, payload, '.dockerconfigjson');
}

function secretFromPayload(base: { name: string; namespace?: string; origin: KnownPullSecret['origin']; object?: JsonObject }, payload: unknown, key: string): KnownPullSecret {
  let config: unknown = payload;
  if (key === '.dockerconfigjson') {
    // The kubelet unmarshals into {auths: …}; anything else in the payload is dropped silently.
    if (!isObject(payload)) {
      return { ...base, error: `"${key}" of Secret ${base.name} must be a JSON object with an "auths" key` };
    }
    if (!isObject(payload.auths)) {
      return { ...base, config: { auths: {} }, ignored: `"${key}" of Secret ${base.name} has no "auths" object, so the kubelet finds no credentials in it. Fix: nest the registries under "auths"` };
    }
    config = { auths: payload.auths };
  }
  try {
    readDockerConfig(config, `Secret ${base.name}`);
  } catch (e) {
    if (!(e instanceof DockerConfigError)) throw e;
    // The fix is given by the finding; keep only what is wrong.
    return { ...base, error: e.message.replace(/\. Fix: [\s\S]*$/, '') };
  }
  return { ...base, config };
}

/** A keyring holding the usable secrets among `secrets`, in the order given (the pod's order). */
export function keyringOf(secrets: readonly KnownPullSecret[]): CredentialKeyring {
  const keyring = new CredentialKeyring();
  for (const secret of secrets) {
    if (secret.config !== undefined && !secret.error) keyring.add(secret.name, secret.config);
  }
  return keyring;
}

/** `type "Opaque"`, or for a Secret that sets none, what the API server defaults it to. */
function describeSecretType(type: unknown): string {
  return type === undefined ? 'no type (the API server makes it "Opaque")' : `type ${JSON.stringify(type)}`;
}
