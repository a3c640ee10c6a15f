import * as fs from 'fs';
import * as path from 'path';

/** Where the docs are read when the package cannot be found on disk (a bundled copy of kubepin). */
export const DOCS_URL = 'https://github.com/kubepin/kubepin/blob/main/docs';

let root: string | null | undefined;

/** The directory of kubepin's package.json (the repository, or node_modules/kubepin), null when not found. */
function packageRoot(): string | null {
  if (root !== undefined) return root;
  root = null;
  // lib/base/docs.ts in the repository, dist/lib/base/docs.js in the package.
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'kubepin') {
        root = dir;
        break;
      }
    } catch {
      // No package.json here: look one level up.
    }
  }
  return root;
}

/**
 * Where a user opens the kubepin doc `name` (`signatures.md`): the file shipped in the package
 * (package.json "files" has docs/), relative to `cwd` when inside it
 * (`node_modules/kubepin/docs/signatures.md` in a project), else absolute; its URL when the
 * package directory is not on disk.
 */
export function docPath(name: string, cwd: string = process.cwd()): string {
  const dir = packageRoot();
  if (dir === null || !fs.existsSync(path.join(dir, 'docs', name))) return `${DOCS_URL}/${name}`;
  const file = path.join(dir, 'docs', name);
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
