import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { CliIo, main } from '../../lib/cli/main';

/** Output and exit code of one in-process `kubepin …` run. */
export interface KubepinRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI in-process with captured streams. The environment is empty unless given
 * (so the developer's own ~/.docker/config.json never leaks into a test) and HOME points
 * to the working directory.
 */
export async function runKubepin(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; tty?: boolean }): Promise<KubepinRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  if (options.tty) (stderr as unknown as { isTTY: boolean }).isTTY = true;
  stdin.end('');
  const env = { HOME: options.cwd, PATH: process.env.PATH, ...(options.env ?? {}) };
  const io: CliIo = { stdout, stderr, stdin, env, cwd: options.cwd };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
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
