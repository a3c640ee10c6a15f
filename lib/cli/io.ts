import * as os from 'os';
import { KubepinError } from '../util/errors';

/**
 * Exit codes every command uses: `empty` is a gate (`verify`, `check`) that found no manifests
 * at all (a failed synth leaves dist/ empty), unless `--allow-empty`.
 */
export const EXIT = { ok: 0, findings: 1, usage: 2, empty: 5 } as const;

/** The signals a command stops cleanly on (what it started is stopped, its temporary files removed). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A command stopped by a signal after tidying up; the CLI exits with the shell's status for it (128 + the signal number). */
export class CommandInterruptedError extends KubepinError {
  /** 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
  public readonly exitCode: number;

  constructor(
    /** The signal. */
    public readonly signal: (typeof STOP_SIGNALS)[number],
    message: string,
  ) {
    super(message);
    this.exitCode = 128 + os.constants.signals[signal];
  }
}

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

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
