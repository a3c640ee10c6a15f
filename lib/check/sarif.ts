import * as path from 'path';
import { Severity, describeObject } from '../findings';
import { CheckFinding } from './check';
import { splitFix } from './report';

/** Short descriptions of every code `kubepin check` reports, for the SARIF rule table. */
export const CHECK_RULES: Readonly<Record<string, { readonly title: string; readonly level: Severity }>> = {
  'invalid-image': { title: 'Image reference the kubelet rejects (InvalidImageName)', level: 'error' },
  'host-like-name': { title: 'Single-component image name that looks like a registry host', level: 'warning' },
  'latest-tag': { title: 'Image uses the latest tag or no tag', level: 'warning' },
  'latest-with-digest': { title: 'Image ":latest@sha256:…" defaults to imagePullPolicy Always', level: 'warning' },
  'registry-not-allowed': { title: 'Image from a registry outside the allow-list', level: 'error' },
  'invalid-pull-policy': { title: 'imagePullPolicy is not Always, IfNotPresent or Never', level: 'error' },
  'never-without-prepull': { title: 'imagePullPolicy Never without a pre-puller (ErrImageNeverPull)', level: 'error' },
  'missing-pull-secret': { title: 'Referenced pull Secret is neither in the manifests nor declared in the cluster', level: 'warning' },
  'malformed-pull-secret': { title: 'Malformed .dockerconfigjson breaks every pull of the pod', level: 'error' },
  'unusable-pull-secret': { title: 'Pull Secret of a type or shape the kubelet ignores', level: 'warning' },
  'service-account-pull-secrets-ignored': { title: 'ServiceAccount pull secrets ignored because the pod lists its own', level: 'warning' },
  'pull-secret-for-public-registry': { title: 'Pull secret matches a registry that needs none (no anonymous retry)', level: 'warning' },
  'no-pull-secret-for-private-registry': { title: 'Private registry without a matching pull secret (ErrImagePull)', level: 'error' },
  'prepull-credentials-differ': { title: 'Image pre-pulled with a different Secret than the workload presents (KEP-2535)', level: 'warning' },
  'pull-fails': { title: 'Registry probe: the pull will fail (ErrImagePull, then ImagePullBackOff)', level: 'error' },
  'pull-uncertain': { title: 'Registry probe: the outcome could not be predicted', level: 'warning' },
  'unreadable-manifest': { title: 'Manifest file or document that cannot be read', level: 'error' },
  'not-kubernetes': { title: 'YAML document that is not a Kubernetes object', level: 'warning' },
  'node-config-problem': { title: 'Node config.json or CredentialProviderConfig the kubelet ignores or misreads', level: 'warning' },
  'prepull-node-scope': { title: 'Pre-puller does not reach every node the workload may run on', level: 'warning' },
  'prepull-always': { title: 'Pre-pulled image pulled with imagePullPolicy Always', level: 'warning' },
  'platform-not-found': { title: 'Workload scheduled on a platform its image has no manifest for (ErrImagePull)', level: 'error' },
  'platform-not-covered': { title: 'Workload may land on a cluster platform its image lacks', level: 'warning' },
};

/** Options of {@link toSarif}. */
export interface SarifOptions {
  /** Directory the artifact URIs are relative to (`%SRCROOT%`). @default process.cwd() */
  readonly baseDir?: string;
  /** Tool version for `driver.version`. @default none */
  readonly version?: string;
  /**
   * Why the run checked nothing (no manifests): recorded as a failed invocation with an error
   * notification, so a viewer shows the run failed rather than "no results". @default none (the run succeeded)
   */
  readonly failure?: string;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/**
 * A SARIF 2.1.0 log of `findings`, so CI code scanning shows each finding on the file and
 * line of the YAML. Findings without a file (stdin, in-memory objects) carry only a logical location.
 */
export function toSarif(findings: readonly CheckFinding[], options: SarifOptions = {}): Record<string, unknown> {
  const baseDir = options.baseDir ?? process.cwd();
  const codes = [...new Set([...Object.keys(CHECK_RULES), ...findings.map((f) => f.code as string)])];
  const rules = codes.map((id) => {
    const rule = CHECK_RULES[id] ?? { title: id, level: 'warning' as Severity };
    return {
      id,
      name: id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
      shortDescription: { text: rule.title },
      defaultConfiguration: { level: LEVEL[rule.level] },
    };
  });
  const results = findings.map((f) => {
    const { problem, fix } = splitFix(f.message);
    const text = [problem + (problem.endsWith('.') ? '' : '.'), f.state ? `Predicted kubelet state: ${f.state}.` : undefined, fix ? `Fix: ${fix}` : undefined].filter(Boolean).join(' ');
    const logical = f.object.kind === 'File' ? [] : [{ fullyQualifiedName: `${describeObject(f.object)}${f.path ? ` ${f.path}` : ''}`, kind: 'resource' }];
    const location: Record<string, unknown> = {};
    if (f.file && f.file !== '<stdin>') {
      location.physicalLocation = {
        artifactLocation: { uri: toUri(f.file, baseDir), uriBaseId: '%SRCROOT%' },
        region: { startLine: f.line ?? 1 },
      };
    }
    if (logical.length > 0) location.logicalLocations = logical;
    return {
      ruleId: f.code,
      ruleIndex: codes.indexOf(f.code),
      level: LEVEL[f.severity],
      message: { text },
      locations: Object.keys(location).length > 0 ? [location] : [],
      ...(f.state || f.image !== undefined ? { properties: { ...(f.state ? { kubeletState: f.state } : {}), ...(f.image !== undefined ? { image: f.image } : {}) } } : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'kubepin', ...(options.version ? { version: options.version } : {}), rules } },
      invocations: [options.failure === undefined
        ? { executionSuccessful: true }
        : { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', descriptor: { id: 'nothing-to-check' }, message: { text: options.failure } }] }],
      originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileUri(baseDir) } },
      columnKind: 'utf16CodeUnits',
      results,
    }],
  };
}

function toUri(file: string, baseDir: string): string {
  const relative = path.relative(baseDir, path.resolve(baseDir, file));
  return relative.split(path.sep).map(encodeURIComponent).join('/');
}

function pathToFileUri(dir: string): string {
  const abs = path.resolve(dir).split(path.sep).map(encodeURIComponent).join('/');
  return `file://${abs.startsWith('/') ? '' : '/'}${abs}/`;
}
