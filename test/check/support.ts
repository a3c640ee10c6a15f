import { CliRun, runCli as runInProcess } from '../support/cli';

export type { CliRun } from '../support/cli';

/** Runs the CLI in-process with captured streams and an empty environment; `tty` makes stdout a terminal. */
export function runCli(argv: string[], options: { cwd?: string; stdin?: string | Buffer; tty?: boolean } = {}): Promise<CliRun> {
  return runInProcess(argv, { cwd: options.cwd, stdin: options.stdin, ...(options.tty ? { tty: 'stdout' as const } : {}) });
}
