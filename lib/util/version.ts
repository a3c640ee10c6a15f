import * as fs from 'fs';
import * as path from 'path';

let cached: string | null | undefined;

/**
 * kubepin's own version, from its package.json: two levels up from lib/util/ in the sources, three
 * from dist/lib/util in the built package. `undefined` when neither is kubepin's package.json
 * (e.g. the sources copied elsewhere). Read once per process.
 */
export function packageVersion(): string | undefined {
  if (cached === undefined) {
    cached = null;
    for (const candidate of [path.join(__dirname, '..', '..', 'package.json'), path.join(__dirname, '..', '..', '..', 'package.json')]) {
      try {
        const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'kubepin' && typeof pkg.version === 'string') {
          cached = pkg.version;
          break;
        }
      } catch {
        // Not at this level.
      }
    }
  }
  return cached ?? undefined;
}
