import { PassThrough } from 'stream';
import { CliIo, main } from '../../lib/cli/main';

/** Output and exit code of one in-process `kubepin …` run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured streams; `stdin` is fed when given. */
export async function runCli(argv: string[], options: { cwd?: string; stdin?: string | Buffer; tty?: boolean } = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  if (options.tty) (stdout as unknown as { isTTY: boolean }).isTTY = true;
  stdin.end(options.stdin ?? '');
  const io: CliIo = { stdout, stderr, stdin, env: {}, cwd: options.cwd ?? process.cwd() };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
