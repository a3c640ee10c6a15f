import * as fs from 'fs';
import { ImageLocations } from '../core/objects/image-locations';
import { CONFIG_FILE_NAME } from '../core/config/project-config';
import * as path from 'path';
import { CliIo, Command, EXIT } from './io';
import { FlagSpecs, closest, parseFlags } from './options';
import { OUTPUT_FLAGS, OutputMode, outputMode } from './output-flags';
import { KubepinUsageError } from '../util/errors';
import { loadManifests } from '../core/manifests/manifests';
import { CredentialKeyring } from '../core/credentials/keyring';
import {
  CredentialProviderSpec,
  NodeConfigError,
  NodeConfigProblem,
  NodeCredentialFilesOptions,
  NodeCredentialSpec,
  NodeRegistryAuth,
  SecretSource,
  UsernameSource,
  addNodeDockerConfigFile,
  buildNodeCredentialFiles,
  formatNodeConfigProblem,
  generateCredentialProviderConfig,
  imagesOfObjects,
  loadCredentialProviderConfig,
  readNodeCredentialSpec,
  writeNodeCredentialFiles,
  writeNodeDockerConfig,
} from '../node';
import { writeFileAtomic } from '../util/fs/write-file-atomic';
import { printableLines, safeText } from '../util/printable';

/** What each subcommand is for, and its own options: `kubepin node-config SUB --help` prints its part. */
const SUBCOMMAND_HELP: Record<string, { usage: string; summary: string; options: string }> = {
  'provider-config': {
    usage: 'provider-config [options] [PATH…]',
    summary: 'write a CredentialProviderConfig with matchImages computed from the images',
    options: `  --provider NAME=REGISTRY[,REGISTRY…]  a plugin and the registry keys it serves (repeatable); NAME is an
                                        executable name or a preset: ecr, gcp, acr
  --spec FILE                           YAML/JSON with "credentialProviders" (and "exclude"), for args, env, …
  --exclude KEY                         a registry or name no provider may match (repeatable)
  --cache-duration DURATION             defaultCacheDuration of --provider plugins (default 12h)
  -o, --output FILE                     write here instead of standard output`,
  },
  'docker-config': {
    usage: 'docker-config -o FILE [options] [PATH…]',
    summary: 'write a node config.json (auths) from environment variables or files, mode 0600',
    options: `  --auth REGISTRY=USER,PASSWORD         USER and PASSWORD are env:VARIABLE or file:PATH; USER may also be a
                                        plain user name. Passwords are never taken literally (repeatable)
  --from-docker-config FILE             copy "auths" entries from an existing Docker config
  --registry KEY                        with --from-docker-config: the entries to copy (default: the
                                        registries of the app's images) (repeatable)
  -o, --output FILE                     the config.json to write (required; it is never printed)`,
  },
  generate: {
    usage: 'generate --spec FILE --out-dir DIR [options] [PATH…]',
    summary: 'write both into a directory, from a spec file',
    options: `  --spec FILE                           YAML/JSON with "credentialProviders", "exclude", "nodeDockerConfig"
  --out-dir DIR                         where to write credential-provider-config.yaml and config.json`,
  },
  validate: {
    usage: 'validate FILE… [options]',
    summary: "check CredentialProviderConfig files/directories or config.json files with the kubelet's rules",
    options: '',
  },
};

const COMMON_HELP = `Common options:
  --image IMAGE                         an image the app uses besides those in PATH (repeatable)
  --format text|json                    output format (default text); --json is --format json: a report
                                        of what was written or found, on stdout
  -q, --quiet                           print errors only
  --verbose                             also say what was read
  -h, --help                            show this help`;

const EXIT_HELP = `Exit code: 1 when a file is invalid or cannot be built, 2 for bad usage (a PATH that does not
exist included), 0 otherwise.`;

const HELP = `Usage: kubepin node-config <subcommand> [options] [PATH…]

Node-side credentials, for cluster administrators who configure node pools once:
the kubelet's CredentialProviderConfig and a node config.json. PATH is a file or directory
of the app's manifests (default: dist/); its images decide what the files cover.

Subcommands:
${Object.entries(SUBCOMMAND_HELP).map(([name, h]) => `  ${(name === 'validate' ? 'validate FILE…' : name).padEnd(17)} ${h.summary}`).join('\n')}

${Object.entries(SUBCOMMAND_HELP).filter(([, h]) => h.options).map(([name, h]) => `${name} options:\n${h.options}`).join('\n\n')}

${COMMON_HELP}

Run \`kubepin node-config <subcommand> --help\` for one subcommand's options.

${EXIT_HELP}
`;

/** The help of one subcommand: its usage, what it does, its options and the common ones. */
function subcommandHelp(sub: string): string {
  const h = SUBCOMMAND_HELP[sub];
  return `Usage: kubepin node-config ${h.usage}

${h.summary[0].toUpperCase()}${h.summary.slice(1)}.${sub === 'validate' ? '' : ' PATH is a file or directory of the app\'s manifests (default: dist/).'}
${h.options ? `\nOptions:\n${h.options}\n` : ''}
${COMMON_HELP}

${EXIT_HELP}
`;
}

const COMMON = {
  image: { type: 'string', multiple: true },
  ...OUTPUT_FLAGS,
} as const;

const SUBCOMMANDS = ['provider-config', 'docker-config', 'generate', 'validate'];

/** `kubepin node-config`: generate and validate node-side credential files. */
export const nodeConfigCommand: Command = {
  summary: 'generate or validate node-side credentials (CredentialProviderConfig, node config.json)',
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    try {
      switch (sub) {
        case 'provider-config':
          return providerConfig(rest, io);
        case 'docker-config':
          return dockerConfig(rest, io);
        case 'generate':
          return generate(rest, io);
        case 'validate':
          return validate(rest, io);
        default: {
          const suggestion = closest(sub, SUBCOMMANDS);
          throw new KubepinUsageError(`unknown subcommand "${sub}"; ${suggestion ? `did you mean "${suggestion}"? ` : ''}use provider-config, docker-config, generate or validate`);
        }
      }
    } catch (e) {
      if (e instanceof NodeConfigError) {
        io.stderr.write(safeText`kubepin node-config ${sub}: ${e.message}\n`);
        return EXIT.findings;
      }
      throw e;
    }
  },
};

function parse(args: string[], options: FlagSpecs): { values: Record<string, unknown>; positionals: string[] } {
  return parseFlags(args, { ...COMMON, ...options });
}

function appImages(positionals: string[], values: Record<string, unknown>, io: CliIo): string[] {
  const paths = positionals.length > 0 ? positionals.map((p) => path.resolve(io.cwd, p)) : [path.resolve(io.cwd, 'dist')];
  const extra = (values.image as string[] | undefined) ?? [];
  let images: string[] = [];
  if (positionals.length > 0 || fs.existsSync(paths[0])) {
    const loaded = loadManifests(paths);
    if (!values.quiet) for (const p of loaded.problems) io.stderr.write(safeText`warning: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}\n`);
    images = imagesOfObjects(loaded.documents.map((d) => d.object), ImageLocations.forConfigFile(path.join(io.cwd, CONFIG_FILE_NAME)));
    if (values.verbose) io.stderr.write(`read ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}: ${loaded.documents.length} Kubernetes object${loaded.documents.length === 1 ? '' : 's'}, ${images.length} image${images.length === 1 ? '' : 's'}\n`);
  }
  const all = [...new Set([...images, ...extra])];
  if (all.length === 0) throw new KubepinUsageError('no images found: give the manifest files or directories (default dist/), or --image');
  return all;
}

/** Where a subcommand's output goes: text lines (results on stdout, notes on stderr), or one JSON report. */
class Output {
  private readonly report: Record<string, unknown> = {};
  private readonly mode: OutputMode;

  constructor(private readonly io: CliIo, values: Record<string, unknown>) {
    this.mode = outputMode(values, ['text', 'json']);
  }

  /** A result: `text` on stdout, or `value` under `key` in the report. */
  public result(text: string, key: string, value: unknown): void {
    if (this.mode.format === 'json') this.report[key] = value;
    else this.io.stdout.write(text);
  }

  /** A note on stderr (none with --quiet), or `value` under `key` in the report. */
  public note(text: string, key: string, value: unknown): void {
    if (this.mode.format === 'json') this.report[key] = value;
    else if (!this.mode.quiet) this.io.stderr.write(printableLines(text));
  }

  /** The problems found: errors always, warnings unless --quiet. */
  public problems(problems: readonly NodeConfigProblem[]): void {
    if (this.mode.format === 'json') {
      this.report.problems = [...((this.report.problems as NodeConfigProblem[] | undefined) ?? []), ...problems];
      return;
    }
    for (const p of problems) if (p.severity === 'error' || !this.mode.quiet) this.io.stderr.write(safeText`${formatNodeConfigProblem(p)}\n`);
  }

  /** Writes the JSON report, if that is the format. */
  public finish(code: number): number {
    if (this.mode.format === 'json') this.io.stdout.write(`${JSON.stringify({ ok: code === 0, problems: [], ...this.report }, null, 2)}\n`);
    return code;
  }
}

function readSpec(file: string, io: CliIo): NodeCredentialSpec {
  return readNodeCredentialSpec(path.resolve(io.cwd, file));
}

function providerConfig(args: string[], io: CliIo): number {
  const { values, positionals } = parse(args, {
    provider: { type: 'string', multiple: true },
    spec: { type: 'string' },
    exclude: { type: 'string', multiple: true },
    'cache-duration': { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  if (values.help) {
    io.stdout.write(subcommandHelp('provider-config'));
    return EXIT.ok;
  }
  const out = new Output(io, values);
  const spec: NodeCredentialSpec = values.spec ? readSpec(values.spec as string, io) : {};
  const providers: CredentialProviderSpec[] = [...(spec.credentialProviders ?? [])];
  for (const raw of (values.provider as string[] | undefined) ?? []) {
    const eq = raw.indexOf('=');
    if (eq <= 0 || eq === raw.length - 1) throw new KubepinUsageError(`--provider ${JSON.stringify(raw)}: write NAME=REGISTRY[,REGISTRY…], e.g. --provider ecr=123456789012.dkr.ecr.eu-west-1.amazonaws.com`);
    providers.push({
      name: raw.slice(0, eq),
      registries: raw.slice(eq + 1).split(',').filter((r) => r !== ''),
      ...(values['cache-duration'] ? { defaultCacheDuration: values['cache-duration'] as string } : {}),
    });
  }
  if (providers.length === 0) throw new KubepinUsageError('no provider given: use --provider NAME=REGISTRY or --spec FILE');
  const images = appImages(positionals, values, io);
  const generated = generateCredentialProviderConfig({ images, providers, exclude: [...(spec.exclude ?? []), ...((values.exclude as string[] | undefined) ?? [])] });
  out.problems(generated.problems);
  if (values.output) {
    const file = path.resolve(io.cwd, values.output as string);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, generated.yaml, 0o644);
    out.result(`wrote ${values.output}\n`, 'wrote', [values.output]);
  } else {
    out.result(generated.yaml, 'yaml', generated.yaml);
  }
  out.note(Object.entries(generated.covered).map(([name, names]) => `${name}: ${names.length} image(s)\n`).join(''), 'covered', generated.covered);
  if (generated.notCovered.length > 0) out.note(`not served by any provider (pull secrets, node config.json or public): ${generated.notCovered.join(', ')}\n`, 'notCovered', generated.notCovered);
  return out.finish(EXIT.ok);
}

function source(text: string, what: string, literalAllowed: boolean): SecretSource | UsernameSource {
  if (text.startsWith('env:') && text.length > 4) return { env: text.slice(4) };
  if (text.startsWith('file:') && text.length > 5) return { file: text.slice(5) };
  if (literalAllowed && text !== '') return { value: text };
  throw new KubepinUsageError(`${what} must be env:VARIABLE or file:PATH; kubepin never takes a password on the command line (it would land in shell history and process lists)`);
}

function dockerConfig(args: string[], io: CliIo): number {
  const { values, positionals } = parse(args, {
    auth: { type: 'string', multiple: true },
    'from-docker-config': { type: 'string' },
    registry: { type: 'string', multiple: true },
    output: { type: 'string', short: 'o' },
  });
  if (values.help) {
    io.stdout.write(subcommandHelp('docker-config'));
    return EXIT.ok;
  }
  const out = new Output(io, values);
  if (!values.output || values.output === '-') throw new KubepinUsageError('--output FILE is required: the node config.json holds credentials and is never printed');
  const auths: NodeRegistryAuth[] = ((values.auth as string[] | undefined) ?? []).map((raw) => {
    const eq = raw.indexOf('=');
    const comma = raw.indexOf(',', eq);
    if (eq <= 0 || comma === -1) throw new KubepinUsageError('--auth: write REGISTRY=USER,PASSWORD, e.g. --auth ghcr.io=env:GHCR_USER,env:GHCR_TOKEN');
    const registry = raw.slice(0, eq);
    return {
      registry,
      username: source(raw.slice(eq + 1, comma), `--auth ${registry}: USER`, true) as UsernameSource,
      password: source(raw.slice(comma + 1), `--auth ${registry}: PASSWORD`, false) as SecretSource,
    };
  });
  if (auths.length === 0 && !values['from-docker-config']) throw new KubepinUsageError('give --auth REGISTRY=USER,PASSWORD or --from-docker-config FILE');
  if (values.registry && !values['from-docker-config']) throw new KubepinUsageError('--registry selects entries of --from-docker-config; use --auth for credentials from the environment');
  const images = positionals.length > 0 || values.image || fs.existsSync(path.resolve(io.cwd, 'dist')) ? appImages(positionals, values, io) : [];
  const result = writeNodeDockerConfig(path.resolve(io.cwd, values.output as string), {
    auths,
    ...(values['from-docker-config'] ? { fromDockerConfig: { file: values['from-docker-config'] as string, ...(values.registry ? { registries: values.registry as string[] } : {}) } } : {}),
    images,
    env: io.env,
    cwd: io.cwd,
  });
  out.problems(result.problems);
  out.result(`wrote ${values.output} (mode 0600) with credentials for: ${result.registries.join(', ')}\n`, 'wrote', [values.output]);
  out.note('', 'registries', result.registries);
  if (images.length > 0 && result.notCovered.length > 0) out.note(`no node credential for: ${result.notCovered.join(', ')}\n`, 'notCovered', result.notCovered);
  return out.finish(EXIT.ok);
}

function generate(args: string[], io: CliIo): number {
  const { values, positionals } = parse(args, { spec: { type: 'string' }, 'out-dir': { type: 'string' } });
  if (values.help) {
    io.stdout.write(subcommandHelp('generate'));
    return EXIT.ok;
  }
  const out = new Output(io, values);
  if (!values.spec || !values['out-dir']) throw new KubepinUsageError('generate needs --spec FILE and --out-dir DIR');
  const spec = readSpec(values.spec as string, io);
  const options: NodeCredentialFilesOptions = {
    ...spec,
    images: appImages(positionals, values, io),
    ...(spec.nodeDockerConfig ? { nodeDockerConfig: { ...spec.nodeDockerConfig, env: io.env } } : {}),
  };
  if (!options.credentialProviders && !options.nodeDockerConfig) throw new NodeConfigError(`${values.spec}: give credentialProviders and/or nodeDockerConfig`);
  const built = buildNodeCredentialFiles(options);
  out.problems(built.problems);
  const written = writeNodeCredentialFiles(path.resolve(io.cwd, values['out-dir'] as string), built);
  out.result(written.map((file) => `wrote ${path.relative(io.cwd, file)}${file.endsWith('config.json') ? ' (mode 0600)' : ''}\n`).join(''), 'wrote', written.map((file) => path.relative(io.cwd, file)));
  if (built.notCovered.length > 0) out.note(`no node-side credential for: ${built.notCovered.join(', ')}\n`, 'notCovered', built.notCovered);
  return out.finish(EXIT.ok);
}

function validate(args: string[], io: CliIo): number {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    io.stdout.write(subcommandHelp('validate'));
    return EXIT.ok;
  }
  const out = new Output(io, values);
  const valid: Array<{ file: string; kind: string }> = [];
  if (positionals.length === 0) throw new KubepinUsageError('validate needs at least one file or directory');
  const problems: NodeConfigProblem[] = [];
  for (const raw of positionals) {
    const file = path.resolve(io.cwd, raw);
    // The one rule of every command: a PATH that does not exist is a usage error.
    if (!fs.existsSync(file)) throw new KubepinUsageError(`${raw}: no such file or directory`);
    let kind: 'docker' | 'provider' = 'provider';
    if (fs.existsSync(file) && fs.statSync(file).isFile()) {
      const text = fs.readFileSync(file, 'utf8');
      // A Docker config is JSON with auths/credHelpers/credsStore and no kind.
      try {
        const data = JSON.parse(text);
        if (data && typeof data === 'object' && !('kind' in data)) kind = 'docker';
      } catch {
        // YAML: a CredentialProviderConfig.
      }
    }
    const found = kind === 'docker' ? addNodeDockerConfigFile(new CredentialKeyring(), file) : loadCredentialProviderConfig(file).problems;
    problems.push(...found.map((p) => ({ ...p, file: p.file ? path.relative(io.cwd, p.file) || p.file : raw })));
    if (!found.some((p) => p.severity === 'error')) valid.push({ file: raw, kind: kind === 'docker' ? 'node config.json' : 'CredentialProviderConfig' });
  }
  out.result(valid.map((v) => `${v.file}: valid ${v.kind}\n`).join(''), 'valid', valid);
  out.problems(problems);
  return out.finish(problems.some((p) => p.severity === 'error') ? EXIT.findings : EXIT.ok);
}
