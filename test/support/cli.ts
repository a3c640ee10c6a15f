import { PassThrough } from 'stream';
import { CliIo, main } from '../../lib/cli/main';

/** Output and exit code of one in-process `kubepin …` run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run the CLI in-process. */
export interface CliRunOptions {
  /** Working directory. @default process.cwd() */
  readonly cwd?: string;
  /** The whole environment the command sees. @default empty (a developer's own config never leaks in) */
  readonly env?: NodeJS.ProcessEnv;
  /** Fed to standard input. @default empty */
  readonly stdin?: string | Buffer;
  /** Which stream claims to be a terminal. @default neither */
  readonly tty?: 'stdout' | 'stderr';
}

/** Runs `kubepin argv…` in-process with captured streams. */
export async function runCli(argv: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  if (options.tty) ((options.tty === 'stdout' ? stdout : stderr) as unknown as { isTTY: boolean }).isTTY = true;
  stdin.end(options.stdin ?? '');
  const io: CliIo = { stdout, stderr, stdin, env: options.env ?? {}, cwd: options.cwd ?? process.cwd() };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
