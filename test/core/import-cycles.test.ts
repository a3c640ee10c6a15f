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

  test('the walker counts type-only imports (a type cycle is still a cycle)', () => {
    // http2-sessions.ts imports only types from http-answer.ts.
    expect(graph.get(path.join(LIB, 'registry', 'http2-sessions.ts'))).toContain(path.join(LIB, 'registry', 'http-answer.ts'));
  });

  test('the folder graph sees the folders of lib/, core/ areas one by one (so the checks below can fail)', () => {
    const folders = folderGraph(graph, LIB);
    expect(folders.get('core/policy')).toEqual(expect.arrayContaining(['core/credentials', 'core/findings', 'util', 'signatures']));
    expect(folders.get('registry')).toEqual(expect.arrayContaining(['core/findings', 'util', 'signatures']));
  });

  test('no cycle between folders, each core/ area counted as one', () => {
    expect(cycles(folderGraph(graph, LIB))).toEqual([]);
  });

  test('util/ imports nothing of kubepin; core/ imports only util/ (and core/)', () => {
    const folders = folderGraph(graph, LIB);
    const within = (f: string, top: string): boolean => f === top || f.startsWith(`${top}/`);
    for (const [from, to] of folders) {
      if (within(from, 'util')) expect([from, to.filter((f) => !within(f, 'util'))]).toEqual([from, []]);
      // The one exception: the policy engine loads signatures/policy lazily for a lock file's signature records.
      if (within(from, 'core')) expect([from, to.filter((f) => !within(f, 'util') && !within(f, 'core') && !(from === 'core/policy' && f === 'signatures'))]).toEqual([from, []]);
    }
    const engine = graph.get(path.join(LIB, 'core', 'policy', 'engine.ts'))!.filter((f) => !within(path.relative(LIB, f), 'core') && !within(path.relative(LIB, f), 'util'));
    expect(engine.map((f) => path.relative(LIB, f))).toEqual([path.join('signatures', 'policy.ts')]);
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
