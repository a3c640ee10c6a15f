import { spawn } from 'child_process';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');

/** How a `kubepin` child process ended. */
export interface CliProcessRun {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it (`SIGKILL` when it outlived `killAfterMs`). */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `kubepin argv…` as a real child process (the sources through scripts/ts-register.js, as
 * bin/kubepin.js runs the build), so an unhandled rejection or a leftover timer shows as what
 * a user sees: a dead process with a stack, or one that does not exit. The environment is
 * empty but PATH and HOME (the working directory); the child is killed after `killAfterMs`.
 */
export function runKubepinProcess(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; killAfterMs?: number }): Promise<CliProcessRun> {
  const main = JSON.stringify(path.join(REPO, 'lib', 'cli', 'main'));
  // bin/kubepin.js's handling of main(): a rejection is an internal error (exit 70), never silent.
  const code = `const m = require(${main}); m.main(process.argv.slice(1), m.processIo()).then((c) => { process.exitCode = c; }, (e) => { process.stderr.write('kubepin: internal error: ' + (e && e.stack) + '\\n'); process.exitCode = 70; })`;
  const child = spawn(process.execPath, ['-r', path.join(REPO, 'scripts', 'ts-register.js'), '-e', code, ...argv], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: options.cwd, ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 30000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exit, signal) => {
      clearTimeout(killer);
      resolve({ code: exit, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
