import * as fs from 'fs';
import * as path from 'path';
import { cdk8sPlusMajors, generatedFiles, generatedPackageJson } from '../../scripts/generate-entry-points';

/*
 * What scripts/generate-entry-points.ts writes is committed; this fails when a source changed
 * without `npm run generate` (the per-major entry points, exports, typesVersions).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('lib/cdk8s/plus/NN.ts are copied from lib/cdk8s/plus/27.ts for every other cdk8s-plus major in devDependencies', () => {
  expect(cdk8sPlusMajors(pkg)).toEqual(expect.arrayContaining([25, 27, 28, 32, 33]));
  const files = generatedFiles(pkg);
  expect([...files.keys()].sort()).toEqual(cdk8sPlusMajors(pkg).filter((major) => major !== 27).map((major) => `lib/cdk8s/plus/${major}.ts`).sort());
  for (const [file, text] of files) {
    expect({ file, text: fs.existsSync(path.join(ROOT, file)) ? fs.readFileSync(path.join(ROOT, file), 'utf8') : undefined }).toEqual({ file, text });
  }
  // Nothing else in lib/cdk8s/plus/ (a major dropped from devDependencies leaves no stale entry point behind).
  const others = fs.readdirSync(path.join(ROOT, 'lib', 'cdk8s', 'plus')).map((f) => `lib/cdk8s/plus/${f}`).filter((f) => !files.has(f));
  expect(others.sort()).toEqual(['lib/cdk8s/plus/27.ts', 'lib/cdk8s/plus/typed-workload.ts']);
  const plus33 = files.get('lib/cdk8s/plus/33.ts')!;
  expect(plus33).toContain("import * as kplus from 'cdk8s-plus-33';");
  expect(plus33).toContain('export class Deployment extends withTypedImages<typeof kplus.Deployment, DeploymentProps>(kplus.Deployment) {}');
  expect(plus33).not.toMatch(/cdk8s-plus-(?!33)\d/);
});

test('package.json: an export per major, and typesVersions covering every export with types (node10 resolution)', () => {
  expect(generatedPackageJson(pkg)).toEqual(pkg);
  expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './cdk8s', './pulumi', './cdk8s-plus-33']));
  expect(pkg.exports['./cdk8s-plus-33']).toEqual({ types: './dist/lib/cdk8s/plus/33.d.ts', default: './dist/lib/cdk8s/plus/33.js' });
  const mapped = pkg.typesVersions['*'];
  for (const [key, value] of Object.entries(pkg.exports as Record<string, { types?: string } | string>)) {
    if (key === '.' || typeof value === 'string') continue;
    expect(mapped[key.slice(2)]).toEqual([value.types]);
  }
});

test('peerDependencies name every cdk8s-plus major from 25 to 33, optional', () => {
  for (let major = 25; major <= 33; major++) {
    expect(pkg.peerDependencies[`cdk8s-plus-${major}`]).toBeDefined();
    expect(pkg.peerDependenciesMeta[`cdk8s-plus-${major}`]).toEqual({ optional: true });
  }
});
