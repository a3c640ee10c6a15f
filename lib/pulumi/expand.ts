import * as fs from 'fs';
import * as path from 'path';
import { flattenObjects, isObject } from '../core/objects/pod-templates';
import { ENGINE_FIX, HELM_RELEASE_TYPE, HELM_RELEASE_UNSEEN, UnseenComponent } from '../core/policy/pulumi-resources';
import { RenderError, RenderTools, helmTemplate, isUrl, kustomizeBuild, parseObjects, readYamlFiles, toolPath } from './render';

/*
 * Under mocks the kubernetes provider does not run, so the components it expands (yaml.v2
 * ConfigFile/ConfigGroup, helm.v4.Chart, kustomize.v2.Directory: "remote" components) have no
 * children, and the invokes local components use to render (helm.v3.Chart's `helm template`,
 * kustomize.Directory's) have no answer. This expands what can be read here: YAML files and
 * text, charts in a local directory through `helm template`, local kustomizations through
 * `kustomize build` or `kubectl kustomize`. Each component it cannot expand is an
 * {@link UnseenComponent}: its images are neither in the run nor, so, in a lock made from it.
 */

/** Where relative paths are read from, and which tools may run. */
export interface ExpandContext {
  /** The program's directory (Pulumi runs programs there). */
  readonly baseDir: string;
  readonly tools: RenderTools;
}

/** A component's children as objects, or why they cannot be seen. */
export type ComponentExpansion =
  | { readonly objects: Record<string, unknown>[]; readonly prefix: string; readonly namespace?: string }
  | { readonly unseen: Pick<UnseenComponent, 'reason' | 'fix'> };

/** The remote components of @pulumi/kubernetes whose children the provider creates. */
export const REMOTE_COMPONENT_TYPES: ReadonlySet<string> = new Set([
  'kubernetes:yaml/v2:ConfigFile',
  'kubernetes:yaml/v2:ConfigGroup',
  'kubernetes:helm.sh/v4:Chart',
  'kubernetes:kustomize/v2:Directory',
]);

/** @pulumi/kubernetes's components whose type tokens look like Kubernetes kinds (the policy leaves them to their children). */
export const KUBERNETES_COMPONENT_TYPES: ReadonlySet<string> = new Set([...REMOTE_COMPONENT_TYPES, 'kubernetes:helm.sh/v3:Chart', 'kubernetes:helm.sh/v2:Chart']);

/** Kinds that have no namespace (a component's `namespace` is not set on them). */
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'RuntimeClass', 'IngressClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/**
 * The children of a remote component (or why they cannot be seen); undefined for other types.
 * `inputs` are as the mock monitor receives them (assets as asset objects).
 * @throws RenderError when a chart or file the component names fails to render (the tool's message)
 */
export async function expandComponent(type: string, name: string, inputs: Record<string, any>, context: ExpandContext): Promise<ComponentExpansion | undefined> {
  const label = `${type} "${name}"`;
  const prefix = typeof inputs.resourcePrefix === 'string' ? inputs.resourcePrefix : name;
  const base = context.baseDir;
  switch (type) {
    case 'kubernetes:yaml/v2:ConfigFile': {
      const file = String(inputs.file ?? '');
      if (isUrl(file)) return { unseen: { reason: `its file ${file} is fetched by the provider`, fix: `download it beside the program and name the local file, or ${ENGINE_FIX}` } };
      return { objects: readYamlFiles([file], base, label), prefix };
    }
    case 'kubernetes:yaml/v2:ConfigGroup': {
      const files = list(inputs.files).map(String);
      const remote = files.filter(isUrl);
      if (remote.length > 0) return { unseen: { reason: `its files ${remote.join(', ')} are fetched by the provider`, fix: `download them beside the program and name the local files, or ${ENGINE_FIX}` } };
      const objects = readYamlFiles(files, base, label);
      for (const text of list(inputs.yaml)) objects.push(...parseObjects(String(text), `${label}: its yaml`));
      objects.push(...flattenObjects(list(inputs.objs)));
      return { objects, prefix };
    }
    case 'kubernetes:helm.sh/v4:Chart':
      return expandHelmV4(label, inputs, prefix, context);
    case 'kubernetes:kustomize/v2:Directory': {
      const directory = String(inputs.directory ?? '');
      const local = path.resolve(base, directory);
      if (isUrl(directory) || !isDirectory(local)) return { unseen: { reason: `its directory ${directory} is not a local directory`, fix: `clone it beside the program and name the local directory, or ${ENGINE_FIX}` } };
      const objects = await kustomizeBuild(context.tools, local, label, base);
      if (!objects) return { unseen: { reason: 'neither kustomize nor kubectl is on PATH', fix: `put kustomize or kubectl on PATH, or ${ENGINE_FIX}` } };
      return { objects, prefix, ...(typeof inputs.namespace === 'string' ? { namespace: inputs.namespace } : {}) };
    }
    case HELM_RELEASE_TYPE:
      return { unseen: HELM_RELEASE_UNSEEN };
    default:
      return undefined;
  }
}

async function expandHelmV4(label: string, inputs: Record<string, any>, prefix: string, context: ExpandContext): Promise<ComponentExpansion> {
  const chart = String(inputs.chart ?? '');
  const local = localChart(chart, context.baseDir);
  if (!local || inputs.repositoryOpts?.repo) {
    return { unseen: { reason: `its chart ${chart} comes from a repository`, fix: `vendor it (\`helm pull ${chart} --untar\`) and name the local directory, or ${ENGINE_FIX}` } };
  }
  const helm = toolPath(context.tools, 'helm');
  if (!helm) return { unseen: { reason: 'helm is not on PATH', fix: `put helm on PATH, or ${ENGINE_FIX}` } };
  const valueFiles: string[] = [];
  const valueTexts: string[] = [];
  for (const asset of list(inputs.valueYamlFiles)) {
    const file = await (asset as { path?: unknown }).path;
    const text = await (asset as { text?: unknown }).text;
    if (typeof file === 'string') valueFiles.push(path.resolve(context.baseDir, file));
    else if (typeof text === 'string') valueTexts.push(text);
    else return { unseen: { reason: 'a file of its valueYamlFiles is remote', fix: `name local value files, or ${ENGINE_FIX}` } };
  }
  const namespace = typeof inputs.namespace === 'string' && inputs.namespace !== '' ? inputs.namespace : undefined;
  const postRenderer = inputs.postRenderer && typeof inputs.postRenderer.command === 'string' ? { command: inputs.postRenderer.command, args: list(inputs.postRenderer.args).map(String) } : undefined;
  const objects = await helmTemplate(helm, {
    release: typeof inputs.name === 'string' && inputs.name !== '' ? inputs.name : prefix,
    chart: local,
    ...(namespace ? { namespace } : {}),
    valueFiles,
    valueTexts,
    values: isObject(inputs.values) ? inputs.values : undefined,
    includeCrds: inputs.skipCrds !== true,
    noHooks: inputs.includeHooks === false,
    ...(postRenderer ? { postRenderer } : {}),
  }, label, context.baseDir);
  return { objects, prefix, ...(namespace ? { namespace } : {}) };
}

/**
 * Answers the invokes local components render with (helm.v3.Chart's `kubernetes:helm:template`,
 * kustomize.Directory's `kubernetes:kustomize:directory`): `{ result }`, with `unseen` when it
 * cannot render (then `result` is empty, as a chart with no objects); undefined for other tokens.
 */
export async function answerRenderInvoke(token: string, inputs: Record<string, any>, context: ExpandContext): Promise<{ result: Record<string, unknown>[]; unseen?: UnseenComponent } | undefined> {
  if (token === 'kubernetes:helm:template') {
    const opts = JSON.parse(String(inputs.jsonOpts ?? '{}')) as Record<string, any>;
    const release = String(opts.release_name ?? 'chart');
    const unseen = (reason: string, fix: string) => ({ result: [], unseen: { type: 'kubernetes:helm.sh/v3:Chart', name: release, reason, fix } });
    const chart = typeof opts.path === 'string' ? localChart(opts.path, context.baseDir) : undefined;
    if (!chart) return unseen(`its chart ${String(opts.chart ?? opts.path)} comes from a repository`, `vendor it (\`helm pull --untar\`) and give its directory as \`path\`, or ${ENGINE_FIX}`);
    const helm = toolPath(context.tools, 'helm');
    if (!helm) return unseen('helm is not on PATH', `put helm on PATH, or ${ENGINE_FIX}`);
    const label = `kubernetes:helm.sh/v3:Chart "${release}"`;
    const result = await helmTemplate(helm, {
      release, chart,
      ...(typeof opts.namespace === 'string' && opts.namespace !== '' ? { namespace: opts.namespace } : {}),
      valueFiles: [], valueTexts: [],
      values: isObject(opts.values) ? opts.values : undefined,
      includeCrds: opts.skip_crd_rendering !== true,
      noHooks: false,
    }, label, context.baseDir);
    return { result };
  }
  if (token === 'kubernetes:kustomize:directory') {
    const directory = String(inputs.directory ?? '');
    const unseen = (reason: string, fix: string) => ({ result: [], unseen: { type: 'kubernetes:kustomize:Directory', name: directory, reason, fix } });
    const local = path.resolve(context.baseDir, directory);
    if (isUrl(directory) || !isDirectory(local)) return unseen('its directory is not a local directory', `clone it beside the program and name the local directory, or ${ENGINE_FIX}`);
    const result = await kustomizeBuild(context.tools, local, `kubernetes:kustomize:Directory "${directory}"`, context.baseDir);
    return result ? { result } : unseen('neither kustomize nor kubectl is on PATH', `put kustomize or kubectl on PATH, or ${ENGINE_FIX}`);
  }
  return undefined;
}

/** The Pulumi type token of a Kubernetes object (`apps/v1` Deployment → `kubernetes:apps/v1:Deployment`). */
export function typeTokenOf(object: Record<string, unknown>): string | undefined {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') return undefined;
  return `kubernetes:${apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`}:${kind}`;
}

/**
 * The children a component's expansion creates, as the provider names them (`prefix:namespace/name`),
 * with the component's namespace set on namespaced objects that have none.
 * @throws RenderError for an object without apiVersion, kind or name
 */
export function componentChildren(label: string, expansion: { objects: Record<string, unknown>[]; prefix: string; namespace?: string }): Array<{ type: string; name: string; props: Record<string, unknown> }> {
  return expansion.objects.map((object) => {
    const type = typeTokenOf(object);
    const metadata = (isObject(object.metadata) ? object.metadata : {}) as Record<string, unknown>;
    if (!type || typeof metadata.name !== 'string') throw new RenderError(`${label}: an object without apiVersion, kind or metadata.name (${JSON.stringify(object).slice(0, 120)}). Fix: give every object of the component all three`);
    const props = { ...object };
    if (expansion.namespace && metadata.namespace === undefined && !CLUSTER_SCOPED.has(String(object.kind))) props.metadata = { ...metadata, namespace: expansion.namespace };
    const ns = (props.metadata as Record<string, unknown>).namespace;
    const objectName = typeof ns === 'string' && ns !== '' ? `${ns}/${metadata.name}` : metadata.name;
    return { type, name: expansion.prefix ? `${expansion.prefix}:${objectName}` : objectName, props };
  });
}

/** A local chart: a directory with Chart.yaml or a packaged `.tgz`, relative to `base`. */
function localChart(chart: string, base: string): string | undefined {
  if (chart === '' || isUrl(chart)) return undefined;
  const resolved = path.resolve(base, chart);
  if (isDirectory(resolved) && fs.existsSync(path.join(resolved, 'Chart.yaml'))) return resolved;
  if (/\.tgz$/.test(resolved) && fs.existsSync(resolved)) return resolved;
  return undefined;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}


export { ENGINE_FIX, HELM_RELEASE_TYPE, RenderError, UnseenComponent };
