/**
 * Line coverage per folder of lib/ (its root counted as one folder, "."), from the json-summary
 * report jest writes:
 *
 *   npx jest --coverage --coverageReporters=json-summary
 *   node -r ./scripts/ts-register.js scripts/coverage-by-folder.ts [coverage/coverage-summary.json] [GOAL%]
 *
 * Prints a Markdown table, lowest first; exits 1 when a folder is under the goal (default 85).
 */
import * as fs from 'fs';
import * as path from 'path';

interface Counts { total: number; covered: number }
interface FileSummary { lines: Counts }

/** Lines total and covered per folder of `lib` (relative folder, "." for lib/ itself). */
export function linesByFolder(summary: Record<string, FileSummary>, lib: string): Map<string, Counts & { files: number }> {
  const out = new Map<string, Counts & { files: number }>();
  for (const [file, counts] of Object.entries(summary)) {
    if (file === 'total') continue;
    const rel = path.relative(lib, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    const folder = path.dirname(rel) === '.' ? '.' : rel.split(path.sep)[0];
    const row = out.get(folder) ?? { total: 0, covered: 0, files: 0 };
    row.total += counts.lines.total;
    row.covered += counts.lines.covered;
    row.files += 1;
    out.set(folder, row);
  }
  return out;
}

const percent = (c: Counts): number => (c.total === 0 ? 100 : (100 * c.covered) / c.total);

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const file = path.resolve(process.argv[2] ?? path.join(root, 'coverage', 'coverage-summary.json'));
  const goal = Number(process.argv[3] ?? 85);
  const summary = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, FileSummary>;
  const rows = [...linesByFolder(summary, path.join(root, 'lib'))].sort((a, b) => percent(a[1]) - percent(b[1]) || a[0].localeCompare(b[0]));
  console.log('| folder | files | lines | covered | % lines |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [folder, c] of rows) console.log(`| ${folder === '.' ? 'lib (root)' : `lib/${folder}`} | ${c.files} | ${c.total} | ${c.covered} | ${percent(c).toFixed(1)}${percent(c) < goal ? ' ✗' : ''} |`);
  const all = rows.reduce((a, [, c]) => ({ total: a.total + c.total, covered: a.covered + c.covered }), { total: 0, covered: 0 });
  console.log(`| all of lib/ | ${rows.reduce((n, [, c]) => n + c.files, 0)} | ${all.total} | ${all.covered} | ${percent(all).toFixed(1)} |`);
  process.exitCode = rows.some(([, c]) => percent(c) < goal) ? 1 : 0;
}
