import * as fs from 'fs';
import * as path from 'path';

/** Imports of each TypeScript file under `root`: `import`/`export … from` (type-only ones included) and `require` (lazy ones too). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) graph.set(full, importsOf(full));
    }
  };
  walk(root);
  return graph;
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out = new Set<string>();
  // `import type` counts too: a type cycle is still a cycle a reader has to hold in their head.
  const statement = /^(?:import|export)\s+([^;]*?)\s+from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm;
  for (const m of text.matchAll(statement)) {
    const target = resolve(path.dirname(file), m[2] ?? m[3]);
    if (target) out.add(target);
  }
  for (const m of text.matchAll(/\brequire\('(\.[^']+)'\)/g)) {
    const target = resolve(path.dirname(file), m[1]);
    if (target) out.add(target);
  }
  return [...out];
}

function resolve(dir: string, spec: string): string | undefined {
  const base = path.resolve(dir, spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** Every cycle (as a list of nodes, first repeated at the end) in `graph`, one per strongly connected component. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

/** The folder graph: folder A → folder B when a file in A imports one in B (files directly in `root` form the folder "."). */
export function folderGraph(graph: Map<string, string[]>, root: string): Map<string, string[]> {
  const folder = (file: string): string => path.relative(root, path.dirname(file)) || '.';
  const out = new Map<string, Set<string>>();
  for (const [file, imports] of graph) {
    // A barrel (index.ts) re-exports its folder and others: it is the package's surface, not a layer.
    if (path.basename(file) === 'index.ts') continue;
    const from = folder(file);
    if (!out.has(from)) out.set(from, new Set());
    for (const target of imports) if (folder(target) !== from && path.basename(target) !== 'index.ts') out.get(from)!.add(folder(target));
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? 'lib');
  const graph = importGraph(root);
  const rel = (c: string[]) => c.map((f) => path.relative(root, f) || '.').join(' → ');
  const fileCycles = cycles(graph);
  const dirCycles = cycles(folderGraph(graph, root));
  for (const c of fileCycles) console.log(`file cycle: ${rel(c)}`);
  for (const c of dirCycles) console.log(`folder cycle: ${c.join(' → ')}`);
  process.exitCode = fileCycles.length + dirCycles.length > 0 ? 1 : 0;
}
