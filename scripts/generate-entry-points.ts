/**
 * Writes what is generated from one source so it cannot drift:
 *
 * - `lib/cdk8s-plus-NN/`: kubepin's typed workloads (Deployment, StatefulSet, Pod and their props)
 *   for each cdk8s-plus major in devDependencies, copied from lib/cdk8s's cdk8s-plus-27 versions
 *   with only the module name changed (the shared logic stays in lib/cdk8s/typed-workload.ts).
 *   cdk8s-plus-27's subpath re-exports lib/cdk8s's classes, so there is one class per major.
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
/** The major lib/cdk8s is written against. */
const SOURCE_MAJOR = 27;
/** lib/cdk8s files copied per major; other lib/cdk8s imports point back to lib/cdk8s. */
const WORKLOAD_FILES = ['container-props', 'deployment', 'stateful-set', 'pod'];

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

function header(source?: string): string {
  return `// Generated${source ? ` from ${source}` : ''} by scripts/generate-entry-points.ts: do not edit; edit the\n// source, then run \`npm run generate\`.\n`;
}

function indexFile(major: number): string {
  const from = major === SOURCE_MAJOR ? '../cdk8s/' : './';
  return `${header()}/**
 * kubepin's cdk8s face for apps on cdk8s-plus-${major}: typed \`Deployment\`, \`StatefulSet\` and \`Pod\`
 * that are real cdk8s-plus-${major} constructs, and everything of \`kubepin/cdk8s\` that works with
 * any major (\`ImagePolicy\`, \`Image\`, \`RegistryPullSecret\`, pre-pullers, node credentials).
 *
 * @example
 * import { Deployment, Image, ImagePolicy } from 'kubepin/cdk8s-plus-${major}';
 */
export * from '../cdk8s/any-cdk8s-plus';
${WORKLOAD_FILES.map((f) => `export * from '${from}${f}';`).join('\n')}
`;
}

function workloadFile(file: string, major: number): string {
  const source = fs.readFileSync(path.join(ROOT, 'lib', 'cdk8s', `${file}.ts`), 'utf8');
  const body = source
    .replace(new RegExp(`'cdk8s-plus-${SOURCE_MAJOR}'`, 'g'), `'cdk8s-plus-${major}'`)
    .replace(/from '\.\/([\w-]+)'/g, (all, name: string) => (WORKLOAD_FILES.includes(name) ? all : `from '../cdk8s/${name}'`));
  return header(`lib/cdk8s/${file}.ts`) + body;
}

/** Every generated source file: path relative to the repository → content. */
export function generatedFiles(pkg: PackageJson): Map<string, string> {
  const files = new Map<string, string>();
  for (const major of cdk8sPlusMajors(pkg)) {
    const dir = `lib/cdk8s-plus-${major}`;
    files.set(`${dir}/index.ts`, indexFile(major));
    if (major === SOURCE_MAJOR) continue;
    for (const file of WORKLOAD_FILES) files.set(`${dir}/${file}.ts`, workloadFile(file, major));
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
    exports[`./cdk8s-plus-${major}`] = { types: `./dist/lib/cdk8s-plus-${major}/index.d.ts`, default: `./dist/lib/cdk8s-plus-${major}/index.js` };
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
