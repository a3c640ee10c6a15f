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

  test('no cycle between the faces and subsystems (cli, cdk8s, pulumi, check, node, prepull)', () => {
    const layered = new Set(['cli', 'cdk8s', 'pulumi', 'check', 'node', 'prepull']);
    const folders = folderGraph(graph, LIB);
    const through = cycles(folders).filter((c) => c.some((f) => layered.has(f)));
    expect(through).toEqual([]);
    // No face imports another face, and the core imports none.
    // (cdk8s-plus-NN/ are the cdk8s face's typed workloads per cdk8s-plus major.)
    const face = (f: string): string | undefined => (f === 'cli' ? 'cli' : f.startsWith('cdk8s') ? 'cdk8s' : f === 'pulumi' ? 'pulumi' : undefined);
    for (const [from, to] of folders) {
      const others = to.filter((f) => face(f) !== undefined && face(f) !== face(from));
      expect([from, others]).toEqual([from, []]);
    }
  });
});
