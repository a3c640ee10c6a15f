/**
 * Start-up cost: how long `require` of each package entry and `kubepin <command> --help` take
 * in a fresh Node process, for this tree and for a baseline git revision, compiled the same way
 * (swc, CommonJS) into temporary directories. Prints medians and the ratio against the baseline.
 *
 *   npm run bench:startup -- [BASELINE_REV] [RUNS]    (default: the merge base with main, 7 runs)
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { transformSync } from '@swc/core';

const ROOT = path.join(__dirname, '..');
const ENTRIES = ['.', 'registry', 'check', 'node', 'prepull', 'cdk8s', 'pulumi'];
const COMMANDS = ['lock', 'verify', 'check', 'node-config'];

function compileTree(files: Map<string, string>, out: string): void {
  for (const [rel, text] of files) {
    const target = path.join(out, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const code = rel.endsWith('.ts') ? transformSync(text, { filename: rel, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }).code : text;
    fs.writeFileSync(target, code);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'));
}

function filesAt(rev: string | undefined): Map<string, string> {
  const files = new Map<string, string>();
  if (rev === undefined) {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) files.set(rel, fs.readFileSync(path.join(ROOT, rel), 'utf8'));
      }
    };
    walk('lib');
  } else {
    const list = execFileSync('git', ['ls-tree', '-r', '--name-only', rev, 'lib'], { cwd: ROOT }).toString().split('\n').filter((f) => f.endsWith('.ts') || f.endsWith('.json'));
    for (const f of list) files.set(f, execFileSync('git', ['show', `${rev}:${f}`], { cwd: ROOT, maxBuffer: 64 << 20 }).toString());
  }
  files.set('package.json', fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return files;
}

function timeOnce(dir: string, script: string): number | undefined {
  const r = spawnSync(process.execPath, ['-e', `const t=process.hrtime.bigint();${script};process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`], { cwd: dir, encoding: 'utf8' });
  const ms = Number(r.stdout.trim().split('\n').pop());
  return r.status === 0 && Number.isFinite(ms) ? ms : undefined;
}

function median(dir: string, script: string, runs: number): number | undefined {
  const times = Array.from({ length: runs }, () => timeOnce(dir, script)).filter((t): t is number => t !== undefined);
  if (times.length === 0) return undefined;
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function main(): void {
  const base = process.argv[2] ?? execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: ROOT }).toString().trim();
  const runs = Number(process.argv[3] ?? 7);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-bench-startup-'));
  try {
    const before = path.join(tmp, 'before');
    const after = path.join(tmp, 'after');
    compileTree(filesAt(base), before);
    compileTree(filesAt(undefined), after);
    const cases: Array<[string, string]> = [
      ...ENTRIES.map((e): [string, string] => [`require('kubepin${e === '.' ? '' : `/${e}`}')`, `require('./lib${e === '.' ? '' : `/${e}`}')`]),
      ...COMMANDS.map((c): [string, string] => [`kubepin ${c} --help`, `const {PassThrough}=require('stream');const s=new PassThrough();s.resume();require('./lib/cli/main').main(['${c}','--help'],{stdout:s,stderr:s,stdin:s,env:{},cwd:'.'})`]),
    ];
    console.log(`start-up, median of ${runs} fresh processes (ms); before = ${base.slice(0, 12)}, after = this tree`);
    console.log(`| what | before | after | after/before |\n| --- | ---: | ---: | ---: |`);
    for (const [label, script] of cases) {
      const b = fs.existsSync(path.join(before, 'lib', ...label.replace(/^require\('kubepin\/?|'\)$/g, '').split('/').filter((x) => x && !x.startsWith('kubepin ')))) || !label.startsWith('require') ? median(before, script, runs) : undefined;
      const a = median(after, script, runs);
      const fmt = (n: number | undefined) => (n === undefined ? 'n/a' : n.toFixed(1));
      console.log(`| \`${label}\` | ${fmt(b)} | ${fmt(a)} | ${a !== undefined && b !== undefined ? (a / b).toFixed(2) : 'n/a'} |`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
