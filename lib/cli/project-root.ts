import * as fs from 'fs';
import * as path from 'path';

/** The kind of app a project directory holds, by the file that marks it. */
export type ProjectKind = 'cdk8s' | 'pulumi';

/** A project directory: where `cdk8s.yaml` or `Pulumi.yaml` is. */
export interface ProjectRoot {
  /** The directory, absolute. */
  readonly dir: string;
  /** Which file marks it. */
  readonly kind: ProjectKind;
}

/** The project marker of `dir` itself, if any (cdk8s.yaml first, as `kubepin lock` reads it). */
export function projectKindOf(dir: string): ProjectKind | undefined {
  if (fs.existsSync(path.join(dir, 'cdk8s.yaml'))) return 'cdk8s';
  if (fs.existsSync(path.join(dir, 'Pulumi.yaml'))) return 'pulumi';
  return undefined;
}

/**
 * The nearest directory at or above `cwd` with `cdk8s.yaml` or `Pulumi.yaml`, as git finds
 * `.git` and npm `package.json`. The walk stops at a repository's root (a `.git` entry) so a
 * project is never taken from outside the repository the user is in.
 */
export function findProjectRoot(cwd: string): ProjectRoot | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const kind = projectKindOf(dir);
    if (kind) return { dir, kind };
    if (fs.existsSync(path.join(dir, '.git')) || path.dirname(dir) === dir) return undefined;
  }
}

/** How the manifests are made again, for fixes: the command of the project's kind. */
export function synthStep(kind: ProjectKind | undefined): string {
  if (kind === 'cdk8s') return '`cdk8s synth`';
  if (kind === 'pulumi') return '`pulumi preview` or `pulumi up`';
  return 'the step that writes the manifests (e.g. `cdk8s synth`)';
}

/** "Write the manifests again with the lock", in the project's words (a Pulumi program is run, not synthesized), for fixes. */
export function againWithLock(kind: ProjectKind | undefined, current = false): string {
  const lock = `${current ? 'current ' : ''}lock`;
  return kind === 'pulumi' ? `run the program again with the ${lock} (${synthStep(kind)})` : `synthesize again with the ${lock} (${synthStep(kind)})`;
}
