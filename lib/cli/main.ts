import { KubepinError } from '../errors';

/** Exit codes every command uses. */
export const EXIT = { ok: 0, findings: 1, usage: 2 } as const;

/** Streams a command writes to; injectable for tests. */
export interface CliIo {
  /** Standard output. */
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Standard error. */
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Standard input (for `-`). */
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Environment variables. */
  readonly env: NodeJS.ProcessEnv;
  /** Working directory. */
  readonly cwd: string;
}

/** A CLI sub-command: `kubepin <name> …`. */
export interface Command {
  /** One line for `kubepin --help`. */
  readonly summary: string;
  /** Runs the command; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Wrong flags or arguments: printed with a hint, exit code 2. */
export class UsageError extends KubepinError {}

// Each command lives in its own module, loaded only when used so `kubepin --help` stays fast.
const COMMANDS: Record<string, () => Command> = {
  lock: () => require('./lock').lockCommand,
  verify: () => require('./verify').verifyCommand,
  check: () => require('./check').checkCommand,
  'node-config': () => require('./node-config').nodeConfigCommand,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, load]) => `  ${name.padEnd(12)} ${load().summary}`);
  return ['Usage: kubepin <command> [options]', '', 'Commands:', ...lines, '', 'Run `kubepin <command> --help` for a command\'s options.', ''].join('\n');
}

/** The package's version: package.json is two levels up from lib/cli, three from dist/lib/cli. */
function packageVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'kubepin' && pkg.version) return pkg.version;
    } catch {
      // Not at this level.
    }
  }
  return 'unknown';
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  // Load only the command asked for: each pulls in its own dependencies.
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name]() : undefined;
  if (!command) {
    io.stderr.write(`kubepin: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    // One rule for every command: bad flags and PATHs that do not exist are usage errors.
    if (e instanceof UsageError || e instanceof (require('../manifests') as typeof import('../manifests')).ManifestReadError) {
      io.stderr.write(`kubepin ${name}: ${e.message}\nRun \`kubepin ${name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    if (e instanceof KubepinError) {
      io.stderr.write(`kubepin ${name}: ${e.message}\n`);
      return EXIT.findings;
    }
    throw e;
  }
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
