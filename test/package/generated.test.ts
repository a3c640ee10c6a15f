import * as fs from 'fs';
import * as path from 'path';
import { cdk8sPlusMajors, generatedFiles, generatedPackageJson } from '../../scripts/generate-entry-points';

/*
 * What scripts/generate-entry-points.ts writes is committed; this fails when a source changed
 * without `npm run generate` (the per-major typed workloads, exports, typesVersions).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('lib/cdk8s-plus-NN are generated from lib/cdk8s for every cdk8s-plus major in devDependencies', () => {
  expect(cdk8sPlusMajors(pkg)).toEqual(expect.arrayContaining([27, 28, 32, 33]));
  const files = generatedFiles(pkg);
  for (const major of cdk8sPlusMajors(pkg)) expect(files.has(`lib/cdk8s-plus-${major}/index.ts`)).toBe(true);
  for (const [file, text] of files) {
    expect({ file, text: fs.existsSync(path.join(ROOT, file)) ? fs.readFileSync(path.join(ROOT, file), 'utf8') : undefined }).toEqual({ file, text });
  }
  expect(files.get('lib/cdk8s-plus-33/deployment.ts')).toContain("import * as kplus from 'cdk8s-plus-33';");
  expect(files.get('lib/cdk8s-plus-33/deployment.ts')).not.toContain('cdk8s-plus-27');
});

test('package.json: an export per major, and typesVersions covering every export with types (node10 resolution)', () => {
  expect(generatedPackageJson(pkg)).toEqual(pkg);
  expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './cdk8s', './pulumi', './cdk8s-plus-33']));
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
