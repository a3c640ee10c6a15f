import * as path from 'path';
import { Severity } from '../core/findings/finding';
import { docsUrl, informationUrl } from '../util/docs-url';
import { CheckFinding } from './check';
import { splitFix } from './report';

/** A rule for the SARIF rule table: a title, its level, help text and where the docs describe it. */
export interface SarifRule {
  /** One line. */
  readonly title: string;
  /** Its default level. */
  readonly level: Severity;
  /** What goes wrong and how to fix it. */
  readonly help: string;
  /** The docs/check.md section. @default the static rules */
  readonly section?: 'probe' | 'static';
  /** The docs page and heading anchor, for rules of other commands. @default docs/check.md at `section` */
  readonly doc?: { readonly page: string; readonly anchor: string };
}

/** Every code `kubepin check` reports, for the SARIF rule table. */
export const CHECK_RULES: Readonly<Record<string, SarifRule>> = {
  'invalid-image': { title: 'Image reference the kubelet rejects (InvalidImageName)', level: 'error', help: 'The reference does not parse, so the kubelet reports InvalidImageName and never starts the container. Use the spelling the message suggests, or render the template or placeholder it names first.' },
  'host-like-name': { title: 'Single-component image name that looks like a registry host', level: 'warning', help: 'A name such as localhost:5000 or example.com is read as a Docker Hub repository, not a registry. Write the full reference: host/repository:tag.' },
  'latest-tag': { title: 'Image uses the latest tag or no tag', level: 'warning', help: 'latest (or no tag) defaults imagePullPolicy to Always and changes under you. Pin a version tag, and the digest with kubepin lock.' },
  'latest-with-digest': { title: 'Image ":latest@sha256:…" defaults to imagePullPolicy Always', level: 'warning', help: 'The API server looks at the tag only, so name:latest@sha256:… is pulled every time. Set imagePullPolicy: IfNotPresent, or use a version tag.' },
  'registry-not-allowed': { title: 'Image from a registry outside the allow-list', level: 'error', help: 'The image comes from a registry --allow-registry does not list. Use an allowed registry (or a mirror of it), or extend the list.' },
  'invalid-pull-policy': { title: 'imagePullPolicy is not Always, IfNotPresent or Never', level: 'error', help: 'The API server rejects any other value. Use Always, IfNotPresent or Never.' },
  'never-without-prepull': { title: 'imagePullPolicy Never without a pre-puller (ErrImageNeverPull)', level: 'error', help: 'With Never the kubelet only uses images already on the node, and nothing in the manifests puts this one there: ErrImageNeverPull. Pre-pull it (prePull / prePulled), or use IfNotPresent.' },
  'missing-pull-secret': { title: 'Referenced pull Secret is neither in the manifests nor declared in the cluster', level: 'warning', help: 'The kubelet skips a pull Secret that does not exist and pulls anonymously. Add the Secret, or declare one that lives in the cluster with --cluster-secret.' },
  'malformed-pull-secret': { title: 'Malformed .dockerconfigjson breaks every pull of the pod', level: 'error', help: 'A pull Secret whose payload is not valid JSON or whose auth is not base64 user:password fails every pull of the pod. Recreate it (kubectl create secret docker-registry).' },
  'unusable-pull-secret': { title: 'Pull Secret of a type or shape the kubelet ignores', level: 'warning', help: 'Only kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg Secrets with auths are used. Fix the type or the payload.' },
  'service-account-pull-secrets-ignored': { title: 'ServiceAccount pull secrets ignored because the pod lists its own', level: 'warning', help: "A pod that lists imagePullSecrets does not get its ServiceAccount's: there is no merge. List every Secret the pod needs, or none." },
  'pull-secret-for-public-registry': { title: 'Pull secret matches a registry that needs none (no anonymous retry)', level: 'warning', help: 'Once a credential matches, the kubelet never retries anonymously: when the Secret goes stale, the pull fails. Remove the Secret for a public registry.' },
  'no-pull-secret-for-private-registry': { title: 'Private registry without a matching pull secret (ErrImagePull)', level: 'error', help: 'Nothing gives the kubelet credentials for this private registry: ErrImagePull, then ImagePullBackOff. Add a pull Secret, a node config.json entry or a credential provider.' },
  'prepull-credentials-differ': { title: 'Image pre-pulled with a different Secret than the workload presents (KEP-2535)', level: 'warning', help: 'From Kubernetes 1.35 the kubelet checks that a pod may use a pre-pulled image with its own credentials. Give the workload the Secret the pre-puller uses.' },
  'pull-fails': { title: 'Registry probe: the pull will fail (ErrImagePull, then ImagePullBackOff)', level: 'error', help: 'Asked with the credentials the kubelet would present, the registry refused or lacks the image. Fix the credential, the image name or tag, as the message says.', section: 'probe' },
  'pull-uncertain': { title: 'Registry probe: the outcome could not be predicted', level: 'warning', help: 'A credential that exists only in the cluster (a --cluster-secret, a credential provider) decides the pull. Check it in the cluster.', section: 'probe' },
  'unreadable-manifest': { title: 'Manifest file or document that cannot be read', level: 'error', help: 'The YAML does not parse, so nothing in it was checked. Correct it at the line given; render Helm templates with helm template first.' },
  'not-kubernetes': { title: 'YAML document that is not a Kubernetes object', level: 'warning', help: 'A document without apiVersion and kind is skipped. Move non-manifest YAML (Helm values, config) out of the manifest directory.' },
  'node-config-problem': { title: 'Node config.json or CredentialProviderConfig the kubelet ignores or misreads', level: 'warning', help: 'The kubelet ignores a broken node credential file. Correct it as the message says.' },
  'prepull-node-scope': { title: 'Pre-puller does not reach every node the workload may run on', level: 'warning', help: "The pre-pull DaemonSet's node selection or tolerations leave out nodes the workload may be scheduled on. Align them." },
  'prepull-always': { title: 'Pre-pulled image pulled with imagePullPolicy Always', level: 'warning', help: 'Always asks the registry at every start, so the pre-pull buys nothing. Use IfNotPresent.' },
  'run-time-image-parameter': { title: 'Image substituted by a controller at run time (Argo, Tekton, Chainsaw)', level: 'warning', help: "The workload's controller replaces the image before any pod exists, so kubepin cannot pin or check it. Pin the value where the controller gets it." },
  'kustomize-patch': { title: 'File listed as a kustomize patch, not checked on its own', level: 'info', help: 'A patch is a partial object. Check what it becomes: kustomize build <dir> | kubepin check -.' },
  'platform-not-found': { title: 'Workload scheduled on a platform its image has no manifest for (ErrImagePull)', level: 'error', help: 'The image offers no manifest for the platform of the nodes the workload is scheduled on, so the pull fails. Use an image built for that platform, or schedule the workload where it runs.' },
  'platform-not-covered': { title: 'Workload may land on a cluster platform its image lacks', level: 'warning', help: "The cluster has nodes of a platform the image does not offer, and nothing keeps the workload off them. Add a nodeSelector for the image's platforms, or use a multi-platform image." },
  'image-location-unknown': { title: 'Image fields of a kind no image location covers', level: 'info', help: 'These images are not locked, pinned or checked. Add the imageLocations entry the finding names to kubepin.config.json.' },
};

const SECTION_ANCHOR = { static: 'static-rules-no-network-always-on', probe: 'registry-probe---online' } as const;

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
  /** The rule table. @default {@link CHECK_RULES} */
  readonly rules?: Readonly<Record<string, SarifRule>>;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/**
 * A SARIF 2.1.0 log of `findings`, so CI code scanning shows each finding on the file and
 * line of the YAML. Findings without a file (stdin, in-memory objects) carry only a logical location.
 */
export function toSarif(findings: readonly CheckFinding[], options: SarifOptions = {}): Record<string, unknown> {
  const baseDir = options.baseDir ?? process.cwd();
  const table = options.rules ?? CHECK_RULES;
  const codes = [...new Set([...Object.keys(table), ...findings.map((f) => f.code as string)])];
  const rules = codes.map((id) => {
    const rule: SarifRule = table[id] ?? { title: id, level: 'warning', help: id };
    const helpUri = rule.doc ? docsUrl(rule.doc.page, rule.doc.anchor) : docsUrl('check.md', SECTION_ANCHOR[rule.section ?? 'static']);
    return {
      id,
      name: id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
      shortDescription: { text: rule.title },
      fullDescription: { text: rule.help },
      help: { text: `${rule.help} See ${helpUri}`, markdown: `${rule.help}\n\n[kubepin: \`${id}\`](${helpUri})` },
      helpUri,
      defaultConfiguration: { level: LEVEL[rule.level] },
    };
  });
  const results = findings.map((f) => {
    const { problem, fix } = splitFix(f.message);
    const text = [problem + (problem.endsWith('.') ? '' : '.'), f.state ? `Predicted kubelet state: ${f.state}.` : undefined, fix ? `Fix: ${fix}` : undefined].filter(Boolean).join(' ');
    // The object as Kubernetes names it (kind, namespace, name): where a result shows when its file is not in the repository.
    const logical = f.object.kind === 'File' ? [] : [{
      name: f.object.name,
      fullyQualifiedName: `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}${f.path ? `#${f.path}` : ''}`,
      kind: 'resource',
      properties: { kind: f.object.kind, ...(f.object.namespace ? { namespace: f.object.namespace } : {}), name: f.object.name, ...(f.path ? { path: f.path } : {}), ...(f.object.apiVersion ? { apiVersion: f.object.apiVersion } : {}) },
    }];
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
      tool: { driver: { name: 'kubepin', ...(options.version ? { version: options.version } : {}), informationUri: informationUrl(), rules } },
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
