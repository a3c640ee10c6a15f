/** The parity app (app.ts) through the cdk8s face: real synthesis to YAML, parsed back. */
import * as YAML from 'yaml';
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as cdk8sFace from '../../lib/cdk8s';
import { PrePullDaemonSet as Cdk8sPrePull } from '../../lib/cdk8s/pre-pull-daemon-set';
import { JsonObject } from '../../lib/core/objects/pod-templates';
import { API_LABELS, API_POD, GHCR, NAMESPACE, POLICY, PREPULL, QUAY, WORKER } from './app';
import { digestOf, parityLock as lock } from './pulumi-app';

export function renderCdk8s(): JsonObject[] {
  const app = Testing.app();
  new cdk8sFace.ImagePolicy(app, 'policy', { lock: lock(), ...POLICY });
  const chart = new Chart(app, 'payments', { namespace: NAMESPACE });
  cdk8sFace.RegistryPullSecret.fromCredentials(chart, 'ghcr', { name: GHCR.name, registry: GHCR.registry, username: GHCR.username, passwordEnv: GHCR.passwordEnv });
  cdk8sFace.RegistryPullSecret.fromExternalSecret(chart, 'quay', QUAY);
  new Cdk8sPrePull(chart, 'prepull', { lock: lock(), ...PREPULL });
  new ApiObject(chart, 'api', {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'api' },
    spec: { replicas: 1, selector: { matchLabels: API_LABELS }, template: { metadata: { labels: API_LABELS }, spec: API_POD } },
  });
  new ApiObject(chart, 'worker', WORKER);
  return YAML.parseAllDocuments(app.synthYaml()).map((d) => d.toJSON()).filter((o) => o !== null);
}

export /** Secret payloads are compared by hash, so a failing assertion never prints one. */
function hashSecretData(objects: JsonObject[]): JsonObject[] {
  return objects.map((o) => {
    if (o.kind !== 'Secret' || typeof o.data !== 'object' || o.data === null) return o;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.data as Record<string, string>)) data[k] = `sha256 of value: ${digestOf(v)}`;
    return { ...o, data };
  });
}

