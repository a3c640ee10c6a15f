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

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
