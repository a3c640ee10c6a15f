/**
 * Writes what is generated from one source so it cannot drift:
 *
 * - `lib/cdk8s/plus/NN.ts`: the entry point `kubepin/cdk8s-plus-NN` for each cdk8s-plus major in
 *   devDependencies (typed props over that major's, and `withTypedImages` applied to its
 *   Deployment, StatefulSet and Pod), copied from lib/cdk8s/plus/27.ts with only the module name
 *   changed. The logic is in lib/cdk8s/plus/typed-workload.ts, written once for every major.
 * - package.json `exports` entries `./cdk8s-plus-NN`, and `typesVersions` mapping every entry
 *   of `exports` for TypeScript's node10 resolution (`module: CommonJS`, which ignores
 *   `exports`): `exports` stays the source of truth.
 *
 *   node -r ./scripts/ts-register.js scripts/generate-entry-points.ts          # write
 *   node -r ./scripts/ts-register.js scripts/generate-entry-points.ts --check  # exit 1 if stale
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

interface PackageJson {
  devDependencies?: Record<string, string>;
  exports: Record<string, string | { types?: string; default?: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
  [key: string]: unknown;
}

/** cdk8s-plus majors kubepin is built and tested against: its devDependencies. */
export function cdk8sPlusMajors(pkg: PackageJson): number[] {
  return Object.keys(pkg.devDependencies ?? {})
    .map((name) => /^cdk8s-plus-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The major lib/cdk8s/plus/NN.ts are copied from (`kubepin/cdk8s` re-exports its classes). */
const SOURCE_MAJOR = 27;
/** Where the entry point of cdk8s-plus-`major` is, relative to the repository (lib/…) or the package (./dist/lib/…). */
const ENTRY_POINT = (major: number) => `lib/cdk8s/plus/${major}`;

/** Every generated source file: path relative to the repository → content. */
export function generatedFiles(pkg: PackageJson): Map<string, string> {
  const source = fs.readFileSync(path.join(ROOT, `${ENTRY_POINT(SOURCE_MAJOR)}.ts`), 'utf8').replace(/^(\/\/.*\n)+/, '');
  const files = new Map<string, string>();
  for (const major of cdk8sPlusMajors(pkg)) {
    if (major === SOURCE_MAJOR) continue;
    const header = `// Generated from ${ENTRY_POINT(SOURCE_MAJOR)}.ts by scripts/generate-entry-points.ts: do not edit; edit the\n// source, then run \`npm run generate\`.\n`;
    files.set(`${ENTRY_POINT(major)}.ts`, header + source.replace(new RegExp(`cdk8s-plus-${SOURCE_MAJOR}\\b`, 'g'), `cdk8s-plus-${major}`));
  }
  return files;
}

/** package.json with the generated `exports` entries and `typesVersions`, other fields untouched. */
export function generatedPackageJson(pkg: PackageJson): PackageJson {
  const exports: PackageJson['exports'] = {};
  for (const [key, value] of Object.entries(pkg.exports)) {
    if (!/^\.\/cdk8s-plus-\d+$/.test(key)) exports[key] = value;
  }
  for (const major of cdk8sPlusMajors(pkg)) {
    exports[`./cdk8s-plus-${major}`] = { types: `./dist/${ENTRY_POINT(major)}.d.ts`, default: `./dist/${ENTRY_POINT(major)}.js` };
  }
  // Keep ./package.json last, as people expect it.
  const ordered: PackageJson['exports'] = {};
  for (const key of Object.keys(exports).sort((a, b) => Number(a === './package.json') - Number(b === './package.json'))) ordered[key] = exports[key];
  const typesVersions: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(ordered)) {
    if (key === '.' || typeof value !== 'object' || !value.types) continue;
    typesVersions[key.replace(/^\.\//, '')] = [value.types];
  }
  // typesVersions right after exports, which it mirrors.
  const out = {} as PackageJson;
  for (const [key, value] of Object.entries(pkg)) {
    if (key === 'typesVersions') continue;
    out[key] = key === 'exports' ? ordered : value;
    if (key === 'exports') out.typesVersions = { '*': typesVersions };
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  const pkgPath = path.join(ROOT, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as PackageJson;
  const wanted = new Map(generatedFiles(pkg));
  wanted.set('package.json', `${JSON.stringify(generatedPackageJson(pkg), null, 2)}\n`);
  const stale = [...wanted].filter(([file, text]) => !fs.existsSync(path.join(ROOT, file)) || fs.readFileSync(path.join(ROOT, file), 'utf8') !== text).map(([file]) => file);
  if (check) {
    if (stale.length > 0) {
      process.stderr.write(`generated files are stale: ${stale.join(', ')}. Fix: npm run generate\n`);
      process.exitCode = 1;
    }
    return;
  }
  for (const file of stale) {
    fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
    fs.writeFileSync(path.join(ROOT, file), wanted.get(file)!);
    process.stdout.write(`wrote ${file}\n`);
  }
}

if (require.main === module) main();
