import { KubepinError, KubepinUsageError } from '../util/errors';
import { packageVersion } from '../util/version';
import { printable, printableLines } from '../util/printable';
import { CliIo, Command, CommandInterruptedError, EXIT } from './io';
import { closest } from './options';

export { CliIo, Command, EXIT, processIo } from './io';

// Each command lives in its own module, loaded only when used so `kubepin --help` stays fast.
const COMMANDS: Record<string, () => Command> = {
  lock: () => require('./lock').lockCommand,
  // In a Pulumi project given no PATH, both check the program's resources (pulumi-program.ts).
  verify: () => require('./pulumi-program').withPulumiProgram(require('./verify').verifyCommand, (args: string[]) => require('./verify').verifyPaths(args).length > 0),
  check: () => require('./pulumi-program').withPulumiProgram(require('./check').checkCommand, (args: string[]) => require('./check').parseCheckArgs(args).paths.length > 0),
  'node-config': () => require('./node-config').nodeConfigCommand,
  trust: () => require('./trust').trustCommand,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, load]) => `  ${name.padEnd(16)} ${load().summary}`);
  return [
    'Usage: kubepin <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'help [COMMAND]'.padEnd(16)} show this help, or a command's (the same as \`kubepin COMMAND --help\`)`,
    `  ${'version'.padEnd(16)} print kubepin's version (also -v, --version)`,
    '',
    'Every command takes --format (--json), --quiet and --verbose; run `kubepin help <command>` for its options.',
    'Exit codes: 0 fine, 1 findings or failures, 2 usage, 5 nothing to check (verify, check); verify --remote: 3, 4.',
    '',
  ].join('\n');
}

const VERSION_WORDS = new Set(['--version', '-v', '-V', 'version']);

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let [name, ...args] = argv;
  if (name === 'help' && args.length > 0) {
    // `kubepin help lock` is `kubepin lock --help`; `kubepin help node-config validate` too.
    [name, ...args] = [...args, '--help'];
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (VERSION_WORDS.has(name)) {
    io.stdout.write(`${packageVersion() ?? 'unknown'}\n`);
    return EXIT.ok;
  }
  // Load only the command asked for: each pulls in its own dependencies.
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name]() : undefined;
  if (!command) {
    const suggestion = closest(name, [...Object.keys(COMMANDS), 'help', 'version']);
    io.stderr.write(`kubepin: unknown command "${printable(name)}"${suggestion ? `; did you mean "${suggestion}"?` : ''}\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    // One rule for every command: bad flags and PATHs that do not exist are usage errors.
    // A malformed kubepin.config.json is a configuration error (2), like a bad flag: its message names the file, line and fix.
    if (e instanceof (require('../core/config/project-config') as typeof import('../core/config/project-config')).ProjectConfigError) {
      io.stderr.write(`kubepin ${name}: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof KubepinUsageError || e instanceof (require('../core/manifests/manifests') as typeof import('../core/manifests/manifests')).ManifestReadError) {
      io.stderr.write(`kubepin ${name}: ${printable(e.message)}\nRun \`kubepin ${name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    // Messages quote values (paths, names, a registry's words): escaped, so none moves the cursor or forges a line; only
    // messages built of several lines (an app's output) keep their line breaks, each line escaped.
    if (e instanceof CommandInterruptedError) {
      io.stderr.write(`kubepin ${name}: ${printableLines(e.message)}\n`);
      return e.exitCode;
    }
    if (e instanceof KubepinError) {
      io.stderr.write(`kubepin ${name}: ${printableLines(e.message)}\n`);
      return EXIT.findings;
    }
    throw e;
  }
}
