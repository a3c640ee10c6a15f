import * as fs from 'fs';
import * as path from 'path';
import { packageVersion } from './version';

/** kubepin's page on the npm registry: where a user who has only the package lands. */
export const NPM_PAGE = 'https://www.npmjs.com/package/kubepin';

let repository: string | null | undefined;

/** The GitHub repository of kubepin's package.json (`repository`), as `https://github.com/OWNER/NAME`, if it has one. */
function githubRepository(): string | undefined {
  if (repository === undefined) {
    repository = null;
    for (const candidate of [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
      try {
        const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: unknown; repository?: unknown };
        if (pkg.name !== 'kubepin') continue;
        const raw = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository as { url?: unknown } | undefined)?.url;
        const m = typeof raw === 'string' ? /github\.com[/:]([\w.-]+\/[\w.-]+?)(?:\.git)?\/?$/.exec(raw) ?? /^github:([\w.-]+\/[\w.-]+)$/.exec(raw) ?? /^([\w.-]+\/[\w.-]+)$/.exec(raw) : null;
        repository = m ? `https://github.com/${m[1]}` : null;
        break;
      } catch {
        // Not at this level.
      }
    }
  }
  return repository ?? undefined;
}

/** Where kubepin is described: its repository when package.json names one, else its npm page. */
export function informationUrl(): string {
  return githubRepository() ?? NPM_PAGE;
}

/**
 * An absolute URL of `docs/<page>` (at `anchor`): in the repository when package.json names one,
 * else the file of this version of the published package on unpkg (which serves any npm package's files).
 */
export function docsUrl(page: string, anchor?: string): string {
  const repo = githubRepository();
  const base = repo ? `${repo}/blob/main/docs/${page}` : `https://unpkg.com/kubepin@${packageVersion() ?? 'latest'}/docs/${page}`;
  return anchor ? `${base}#${anchor}` : base;
}
