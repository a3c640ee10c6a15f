import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
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

/** A `kubepin …` child process and its end. */
export interface CliChild {
  /** The process: send it signals. */
  readonly child: ChildProcess;
  /** Resolves when it has exited and its output is read. */
  readonly done: Promise<CliRun & { signal: NodeJS.Signals | null }>;
}

const REPO = path.resolve(__dirname, '..', '..');
/** What bin/kubepin.js does, on the TypeScript sources: exit code from main, 70 for an internal error. */
const CHILD_MAIN = `
const { main, processIo } = require(${JSON.stringify(path.join(REPO, 'lib', 'cli', 'main'))});
main(process.argv.slice(1), processIo()).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write('kubepin: internal error: ' + (err && err.stack ? err.stack : err) + '\\n'); process.exitCode = 70; },
);`;

/**
 * Runs `kubepin argv…` as a real child process (the sources, compiled as the jest transform does),
 * for what only a process shows: signals, exit statuses, hangs, memory. The environment is
 * exactly `options.env` plus PATH, and HOME is the working directory unless given.
 */
export function spawnCli(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): CliChild {
  const child = spawn(process.execPath, ['-r', path.join(REPO, 'scripts', 'ts-register.js'), '-e', CHILD_MAIN, ...argv], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: options.cwd, ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const done = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  return { child, done };
}
