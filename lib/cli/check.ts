import * as fs from 'fs';
import { isKustomizationFile, kustomizePatchFiles } from '../check/kustomize-patches';
import * as path from 'path';
import { CliIo, Command, EXIT } from './io';
import { TRANSPORT_FLAGS, choiceFlag, parseFlags, readCaFile, secondsFlag } from './options';
import { LoadedManifests, parseManifestText } from '../core/manifests/manifests';
import { OUTPUT_FLAGS, OutputFormat, outputFlagsHelp, outputMode } from './output-flags';
import { ALLOW_EMPTY_FLAG, ALLOW_EMPTY_HELP, describeInput, nothingToCheck, readManifestInput } from './manifest-input';
import { Severity } from '../core/findings/finding';
import { CheckFinding, CheckOptions, checkDocuments } from '../check/check';
import { probePlans } from '../check/probe';
import { atLeast, formatJson, formatText, problemFindings } from '../check/report';
import { toSarif } from '../check/sarif';
import { readPullSecretObject } from '../check/pull-secrets';
import { isObject } from '../core/objects/pod-templates';
import { ImageReference } from '../core/names/image-reference';
import { KubepinError, KubepinUsageError } from '../util/errors';
import { packageVersion } from '../util/version';
import { SignaturePolicy } from '../signatures/policy';
import { CONFIG_FILE_NAME, loadProjectConfig } from '../core/config/project-config';
import { DigestSource, ImageLock, LOCK_FILE_NAME } from '../core/lock/image-lock';
import { clusterPlatforms } from '../core/policy/platforms';
import { ImageLocations } from '../core/objects/image-locations';
import { CredentialKeyring } from '../core/credentials/keyring';
import { addNodeDockerConfigFile } from '../node/node-keyring';
import { CredentialProviderConfig, NodeConfigProblem } from '../node/credential-provider-types';
import { loadCredentialProviderConfig } from '../node/credential-provider-validate';
import { docPath } from '../util/docs';

import { PULUMI_PROGRAM_HELP } from './pulumi-program-help';
const HELP = `Usage: kubepin check [PATH…|-] [options]

Predicts, from manifests, what the kubelet will report for every image: InvalidImageName,
ErrImagePull / ImagePullBackOff, ErrImageNeverPull. PATH is a file or directory of YAML
(default: dist/); "-" reads standard input.
${PULUMI_PROGRAM_HELP}

Options:
${outputFlagsHelp(['text', 'json', 'sarif'])}
  --fail-on error|warning|info lowest severity that makes the exit code 1 (default error)
  --cluster-secret [NS/]NAME   a pull Secret that lives in the cluster, not in the manifests (repeatable)
  --secret-file NAME=PATH      the .dockerconfigjson payload (or Secret manifest) of a pull Secret kept elsewhere (repeatable)
  --allow-registry KEY         only allow images from these registries, e.g. ghcr.io/acme (repeatable)
  --public-registry KEY        a registry that needs no credentials (repeatable)
  --private-registry KEY       a registry that needs credentials (repeatable)
  --pre-pulled IMAGE           an image a pre-puller outside the manifests puts on every node (repeatable)
  --no-ensure-secret-pulled-images
                               the cluster runs without KubeletEnsureSecretPulledImages (before 1.35)
  --node-config PATH           a node's config.json: its "auths" are tried after the pod's secrets (repeatable)
  --credential-provider-config PATH
                               the kubelet's CredentialProviderConfig (file or directory)
  --online                     also ask the registries, with the credentials the kubelet would use;
                               images kubepin.config.json (in the working directory) requires to
                               be signed get their signatures verified (${docPath('signatures.md')})
  --insecure-registry HOST     with --online: talk plain HTTP to HOST (repeatable)
  --ca-file PATH               with --online: trust this CA (PEM) for registry TLS
  --timeout SECONDS            with --online: per-request timeout (default 10)
                               Custom resources' images are checked where the "imageLocations" of
                               kubepin.config.json (working directory) says (${docPath('image-locations.md')})
  --color / --no-color         force colour on or off (default: on when stdout is a terminal)
${ALLOW_EMPTY_HELP}
  -h, --help                   show this help

Exit code: 1 when a finding reaches --fail-on, 2 for bad usage (a PATH that does not exist
included), 5 when there is nothing to check (no manifests at all: a failed synth leaves dist/
empty) unless --allow-empty, 0 otherwise.
`;

/** Parsed flags of `kubepin check`. */
export interface CheckArgs {
  /** Files, directories or `-` (none: dist/). */
  readonly paths: string[];
  /** Pass when there are no manifests at all. */
  readonly allowEmpty: boolean;
  /** Output format. */
  readonly format: OutputFormat;
  /** `--quiet`: nothing on success. */
  readonly quiet: boolean;
  /** `--verbose`: say what was read. */
  readonly verbose: boolean;
  /** Exit 1 at this severity or above. */
  readonly failOn: Severity;
  /** Options for the checker. */
  readonly options: CheckOptions;
  /** Secret files as given: name → path. */
  readonly secretFiles: Array<[string, string]>;
  /** Probe the registries. */
  readonly online: boolean;
  /** Node config.json files. */
  readonly nodeConfigs: string[];
  /** The kubelet's CredentialProviderConfig path. */
  readonly credentialProviderConfig?: string;
  /** Plain-HTTP registry hosts for the probe. */
  readonly insecureRegistries: string[];
  /** CA bundle for the probe. */
  readonly caFile?: string;
  /** Probe timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Colour: forced on/off, or `undefined` for auto. */
  readonly color?: boolean;
  /** `--help` was given. */
  readonly help: boolean;
}

/** `util.parseArgs` specs of `kubepin check`. */
export const CHECK_FLAG_SPECS = {
  ...OUTPUT_FLAGS,
  'fail-on': { type: 'string' },
  'cluster-secret': { type: 'string', multiple: true },
  'secret-file': { type: 'string', multiple: true },
  'allow-registry': { type: 'string', multiple: true },
  'public-registry': { type: 'string', multiple: true },
  'private-registry': { type: 'string', multiple: true },
  'pre-pulled': { type: 'string', multiple: true },
  'no-ensure-secret-pulled-images': { type: 'boolean' },
  'node-config': { type: 'string', multiple: true },
  'credential-provider-config': { type: 'string' },
  online: { type: 'boolean' },
  ...TRANSPORT_FLAGS,
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  ...ALLOW_EMPTY_FLAG,
} as const;

/** Parses the flags of `kubepin check`. @throws KubepinUsageError for bad flags */
export function parseCheckArgs(args: readonly string[]): CheckArgs {
  const { values, positionals: paths } = parseFlags(args, CHECK_FLAG_SPECS);
  const { format, quiet, verbose } = outputMode(values, ['text', 'json', 'sarif']);
  const failOn: Severity = choiceFlag(values['fail-on'], 'fail-on', ['error', 'warning', 'info'] as const) ?? 'error';
  const secretFiles = (values['secret-file'] ?? []).map((v): [string, string] => {
    const at = v.indexOf('=');
    if (at <= 0 || at === v.length - 1) throw new KubepinUsageError(`--secret-file takes NAME=PATH (the Secret's name and a file with its .dockerconfigjson), got ${JSON.stringify(v)}`);
    return [v.slice(0, at), v.slice(at + 1)];
  });
  const timeoutSeconds = secondsFlag(values.timeout, 'timeout') ?? 10;
  const color = values['no-color'] ? false : values.color ? true : undefined;
  const allow = values['allow-registry'] ?? [];
  return {
    paths,
    allowEmpty: values['allow-empty'] === true,
    format,
    quiet,
    verbose,
    failOn,
    secretFiles,
    online: values.online === true,
    insecureRegistries: values['insecure-registry'] ?? [],
    nodeConfigs: values['node-config'] ?? [],
    ...(values['credential-provider-config'] ? { credentialProviderConfig: values['credential-provider-config'] } : {}),
    ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}),
    timeoutSeconds,
    ...(color !== undefined ? { color } : {}),
    help: values.help === true,
    options: {
      clusterSecrets: values['cluster-secret'] ?? [],
      allowedRegistries: allow.length > 0 ? allow : undefined,
      publicRegistries: values['public-registry'] ?? [],
      privateRegistries: values['private-registry'] ?? [],
      prePulled: values['pre-pulled'] ?? [],
      ensureSecretPulledImages: values['no-ensure-secret-pulled-images'] !== true,
    },
  };
}

/** The lock and the cluster's platforms of the working directory, for the platform rule (lib/platforms.ts). */
function platformOptions(cwd: string): Pick<CheckOptions, 'lock' | 'clusterPlatforms'> {
  const lockFile = path.join(cwd, LOCK_FILE_NAME);
  const cluster = clusterPlatforms(loadProjectConfig(path.join(cwd, CONFIG_FILE_NAME)));
  return { ...(fs.existsSync(lockFile) ? { lock: ImageLock.load(lockFile) } : {}), ...(cluster ? { clusterPlatforms: cluster } : {}) };
}

/** The platform manifests the lock records for a pinned index: `--online` asks for them too. */
function lockedChildren(lock: DigestSource): (image: ImageReference) => Array<{ platform: string; digest: string }> {
  return (image) => {
    const entry = image.tag !== undefined ? lock.get(image.toString()) : undefined;
    if (!entry || entry.digest !== image.digest) return [];
    return Object.entries(entry.platforms ?? {}).map(([platform, digest]) => ({ platform, digest }));
  };
}

/** `kubepin check`: predicts the kubelet's image errors from manifests. */
export const checkCommand: Command = {
  summary: 'predict InvalidImageName, ErrImagePull/ImagePullBackOff and ErrImageNeverPull from manifests',
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseCheckArgs(args);
    if (parsed.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const node = readNodeFiles(parsed, io.cwd);
    const options: CheckOptions = {
      ...parsed.options,
      secretFiles: readSecretFiles(parsed.secretFiles, io.cwd),
      ...node.options,
      // Custom resources' image fields, as lock and verify read them (kubepin.config.json, here in the working directory).
      imageLocations: ImageLocations.forConfigFile(path.join(io.cwd, CONFIG_FILE_NAME)),
      ...platformOptions(io.cwd),
    };
    for (const image of options.prePulled ?? []) {
      if (!ImageReference.tryParse(image)) throw new KubepinUsageError(`--pre-pulled ${JSON.stringify(image)} is not a valid image reference`);
    }
    const input = await readManifestInput(parsed.paths, io);
    if (parsed.verbose) io.stderr.write(`${describeInput(input)}\n`);
    const empty = parsed.allowEmpty ? undefined : nothingToCheck(input, io.cwd);
    const { loaded, patchFindings } = withoutKustomizePatches(input.loaded, io.cwd);
    const result = checkDocuments(loaded.documents, options);
    const findings: CheckFinding[] = [...node.findings, ...patchFindings, ...problemFindings(loaded.problems, loaded.documents), ...result.findings];
    let probes: unknown[] | undefined;
    if (parsed.online) {
      const ca = readCaFile(parsed.caFile, io.cwd);
      const outcome = await probePlans(result.plans, {
        ...(options.nodeCredentials ? { nodeCredentials: options.nodeCredentials } : {}),
        ...(options.credentialProviders ? { credentialProviders: options.credentialProviders } : {}),
        insecureRegistries: parsed.insecureRegistries,
        ...(ca ? { ca } : {}),
        timeoutMs: parsed.timeoutSeconds * 1000,
        ...(options.lock ? { children: lockedChildren(options.lock) } : {}),
      });
      // The static check may already have said it (a declared public registry): say it once.
      const said = new Set(findings.map((f) => `${f.code}\u0000${f.file}\u0000${f.line}\u0000${f.path}`));
      findings.push(...outcome.findings.filter((f) => !said.has(`${f.code}\u0000${f.file}\u0000${f.line}\u0000${f.path}`)));
      probes = outcome.probes;
      const signatures = SignaturePolicy.load(path.join(io.cwd, CONFIG_FILE_NAME));
      if (!signatures.empty) {
        const { probeSignatures } = require('../check/signature-probe') as typeof import('../check/signature-probe');
        findings.push(...(await probeSignatures(result.plans, signatures, {
          insecureRegistries: parsed.insecureRegistries,
          ...(ca ? { ca } : {}),
          timeoutMs: parsed.timeoutSeconds * 1000,
        })));
      }
    }
    const version = packageVersion();
    if (parsed.format === 'json') {
      io.stdout.write(formatJson(findings, { ...(probes ? { probes } : {}), ...(empty ? { nothingToCheck: empty } : {}) }));
    } else if (parsed.format === 'sarif') {
      io.stdout.write(`${JSON.stringify(toSarif(findings, { baseDir: io.cwd, ...(version ? { version } : {}), ...(empty ? { failure: empty } : {}) }), null, 2)}\n`);
    } else if (!empty) {
      const color = parsed.color ?? (io.stdout.isTTY === true && io.env.NO_COLOR === undefined);
      // --quiet: only what fails the run, and nothing at all when nothing does.
      const shown = parsed.quiet ? findings.filter((f) => atLeast(f.severity, parsed.failOn)) : findings;
      if (!(parsed.quiet && shown.length === 0)) io.stdout.write(formatText(shown, { color }));
    }
    // A gate that found nothing to check fails, distinctly: "No problems found" would pass a failed synth.
    if (empty) {
      io.stderr.write(`kubepin check: ${empty}\n`);
      return EXIT.empty;
    }
    return findings.some((f) => atLeast(f.severity, parsed.failOn)) ? EXIT.findings : EXIT.ok;
  },
};

/**
 * Leaves out the files a kustomization lists as patches (partial objects, not manifests), with
 * one note each saying how to check what they become.
 */
function withoutKustomizePatches(read: LoadedManifests, cwd: string): { loaded: LoadedManifests; patchFindings: CheckFinding[] } {
  const patches = kustomizePatchFiles(read.files, cwd);
  // A kustomization is kustomize's configuration: no "not a Kubernetes object" warning for it.
  const problems = read.problems.filter((p) => !(isKustomizationFile(p.file) && /is not a Kubernetes object/.test(p.message)));
  if (patches.size === 0) return { loaded: { ...read, problems }, patchFindings: [] };
  const isPatch = (file: string) => patches.has(path.resolve(cwd, file));
  const patchFindings: CheckFinding[] = [...new Set(read.files.filter(isPatch))].map((file) => {
    const kustomization = patches.get(path.resolve(cwd, file))!;
    return {
      code: 'kustomize-patch', severity: 'info', object: { kind: 'File', name: file }, path: '', file,
      message: `listed as a patch in ${kustomization}: a partial object kustomize merges into a resource, so it is not checked on its own. Fix: check what it becomes, \`kustomize build ${path.dirname(kustomization) || '.'} | kubepin check -\``,
    };
  });
  return {
    loaded: { ...read, documents: read.documents.filter((d) => !isPatch(d.file)), problems: problems.filter((p) => !isPatch(p.file)) },
    patchFindings,
  };
}

/** Node-side credentials: problems with the files become findings (the kubelet ignores a broken file). */
function readNodeFiles(parsed: CheckArgs, cwd: string): { options: Partial<CheckOptions>; findings: CheckFinding[] } {
  const findings: CheckFinding[] = [];
  const problems: NodeConfigProblem[] = [];
  const options: { nodeCredentials?: CredentialKeyring; credentialProviders?: CredentialProviderConfig } = {};
  try {
    if (parsed.nodeConfigs.length > 0) {
      const keyring = new CredentialKeyring();
      for (const file of parsed.nodeConfigs) problems.push(...addNodeDockerConfigFile(keyring, path.resolve(cwd, file)));
      options.nodeCredentials = keyring;
    }
    if (parsed.credentialProviderConfig) {
      const loaded = loadCredentialProviderConfig(path.resolve(cwd, parsed.credentialProviderConfig));
      problems.push(...loaded.problems);
      // The kubelet refuses to start with an invalid provider config; predict no providers then.
      if (loaded.config && !loaded.problems.some((p) => p.severity === 'error')) options.credentialProviders = loaded.config;
    }
  } catch (e) {
    if (e instanceof KubepinError) throw new KubepinUsageError(e.message);
    throw e;
  }
  for (const p of problems) {
    findings.push({
      code: 'node-config-problem', severity: p.severity, object: { kind: 'File', name: p.file ?? '' }, path: p.path,
      message: p.message, ...(p.file ? { file: path.relative(cwd, p.file) || p.file } : {}), ...(p.line ? { line: p.line } : {}),
    });
  }
  return { options, findings };
}

function readSecretFiles(entries: Array<[string, string]>, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, file] of entries) {
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (e) {
      throw new KubepinUsageError(`--secret-file ${name}=${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const parsed = parseManifestText(text, file);
    const secret = parsed.documents.map((d) => readPullSecretObject(d.object)).find((s) => s !== undefined);
    if (secret) {
      if (secret.error || secret.ignored) throw new KubepinUsageError(`--secret-file ${name}=${file}: ${secret.error ?? secret.ignored}`);
      out[name] = secret.config;
      continue;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new KubepinUsageError(`--secret-file ${name}=${file}: the file is neither a Secret manifest nor .dockerconfigjson JSON ({"auths": {…}})`);
    }
    if (!isObject(payload)) throw new KubepinUsageError(`--secret-file ${name}=${file}: expected a JSON object with "auths"`);
    out[name] = payload;
  }
  return out;
}
