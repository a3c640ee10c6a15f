import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliRun, runCli } from './cli';

/** Output and exit code of one in-process `kubepin …` run. */
export type KubepinRun = CliRun;

/**
 * Runs the CLI in-process with captured streams. The environment is empty unless given
 * (so the developer's own ~/.docker/config.json never leaks into a test) and HOME points
 * to the working directory.
 */
export function runKubepin(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; tty?: boolean }): Promise<KubepinRun> {
  const env = { HOME: options.cwd, PATH: process.env.PATH, ...(options.env ?? {}) };
  return runCli(argv, { cwd: options.cwd, env, ...(options.tty ? { tty: 'stderr' as const } : {}) });
}

/** A temp project dir; remove it with `fs.rmSync(dir, { recursive: true, force: true })`. */
export function tempProject(prefix = 'kubepin-cli-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A Deployment using `images` (containers `c0`, `c1`, …) as YAML. */
export function deploymentYaml(name: string, images: string[], initImages: string[] = []): string {
  const list = (prefix: string, xs: string[]): string => xs.map((image, i) => `        - name: ${prefix}${i}\n          image: ${JSON.stringify(image)}\n`).join('');
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: { app: ${name} }`,
    '    spec:',
    ...(initImages.length > 0 ? ['      initContainers:', list('init', initImages).trimEnd()] : []),
    '      containers:',
    list('c', images).trimEnd(),
    '',
  ].join('\n');
}

/** Writes `files` (relative name → text) under `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}
