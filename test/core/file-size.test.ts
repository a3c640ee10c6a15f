import * as fs from 'fs';
import * as path from 'path';

// Issue #16's acceptance: no file of lib/ grows into a grab-bag (at most 450 lines each).
const LIB = path.join(__dirname, '..', '..', 'lib');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('no file in lib/ is over 450 lines', () => {
  const files = tsFiles(LIB);
  expect(files.length).toBeGreaterThan(100);
  const long = files
    .map((f) => ({ file: path.relative(LIB, f), lines: fs.readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > 450);
  expect(long).toEqual([]);
});
