import { spawnSync } from 'child_process';
import * as path from 'path';

/** Output and exit code of one `kubepin …` child process. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const REPO = path.resolve(__dirname, '..', '..');
/** cdk8s-cli's bin, as `npx cdk8s` runs it. */
export const CDK8S_BIN = path.join(REPO, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');

/**
 * The environment of a user's shell, offline: every proxy points at a closed port, npm stays
 * offline, nothing of the developer's own config leaks in (HOME is `home`).
 */
export function offlineEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const closed = 'http://127.0.0.1:9';
  return {
    PATH: process.env.PATH,
    HOME: home,
    NODE_PATH: path.join(REPO, 'node_modules'),
    HTTP_PROXY: closed, HTTPS_PROXY: closed, http_proxy: closed, https_proxy: closed,
    npm_config_offline: 'true',
    CDK8S_CHECK_UPGRADE: 'false',
    ...extra,
  };
}

/** Runs `command args…` in `cwd` to its end (bounded), with `input` on standard input. */
export function runProcess(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): ProcessRun {
  const result = spawnSync(command, [...args], { cwd: options.cwd, encoding: 'utf8', timeout: 120000, env: options.env, input: options.input ?? '' });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? `${result.error ?? ''}` };
}

/** Runs the compiled bin of the packed package (`<pkg>/bin/kubepin.js`) as a user's `npx kubepin` does. */
export function runPackedKubepin(pkg: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): ProcessRun {
  return runProcess(process.execPath, [path.join(pkg, 'bin', 'kubepin.js'), ...args], options);
}

/** `npx cdk8s synth` in `cwd`. */
export function cdk8sSynth(cwd: string, env: NodeJS.ProcessEnv): ProcessRun {
  return runProcess(process.execPath, [CDK8S_BIN, 'synth', '--no-check-upgrade'], { cwd, env });
}
