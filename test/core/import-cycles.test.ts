import * as path from 'path';
import { cycles, folderGraph, importGraph } from '../../scripts/import-graph';

const LIB = path.join(__dirname, '..', '..', 'lib');

describe('import graph of lib/', () => {
  const graph = importGraph(LIB);

  test('the walker sees imports, lazy requires and cycles (so the checks below can fail)', () => {
    expect(graph.get(path.join(LIB, 'cli', 'check.ts'))).toContain(path.join(LIB, 'cli', 'options.ts'));
    // main loads each command lazily: still an edge.
    expect(graph.get(path.join(LIB, 'cli', 'main.ts'))).toContain(path.join(LIB, 'cli', 'check.ts'));
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
  });

  test('no cycle between files', () => {
    expect(cycles(graph).map((c) => c.map((f) => path.relative(LIB, f)).join(' → '))).toEqual([]);
  });

  test('the folder graph sees the folders of lib/, its root as "." (so the check below can fail)', () => {
    const folders = folderGraph(graph, LIB);
    expect(folders.get('.')).toEqual(expect.arrayContaining(['base', 'credentials', 'signatures']));
    expect(folders.get('registry')).toEqual(expect.arrayContaining(['.', 'base', 'signatures']));
  });

  test('no cycle between folders, lib/\'s root counted as one', () => {
    const folders = folderGraph(graph, LIB);
    expect(cycles(folders)).toEqual([]);
    // base/ is what every folder may import: it imports no other folder.
    expect(folders.get('base')).toEqual([]);
  });

  test('no face imports another face, and the core imports none', () => {
    const folders = folderGraph(graph, LIB);
    // (cdk8s-plus-NN/ are the cdk8s face's typed workloads per cdk8s-plus major.)
    const face = (f: string): string | undefined => (f === 'cli' ? 'cli' : f.startsWith('cdk8s') ? 'cdk8s' : f === 'pulumi' ? 'pulumi' : undefined);
    for (const [from, to] of folders) {
      const others = to.filter((f) => face(f) !== undefined && face(f) !== face(from));
      expect([from, others]).toEqual([from, []]);
    }
  });
});
