import * as fs from 'fs';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';

/*
 * docs/lock-freshness.md's Renovate configuration, as a user copies it: its regex managers must
 * find every digest of a real kubepin.lock.json (as the library writes it) and every tagged
 * Image.of('…') of the example apps and the README. Patterns are compiled the way Renovate does
 * (a JavaScript RegExp with the global flag over the whole file).
 */
const REPO = path.resolve(__dirname, '..', '..');

interface Manager { customType: string; managerFilePatterns: string[]; matchStrings: string[]; datasourceTemplate: string }

const config = (() => {
  const doc = fs.readFileSync(path.join(REPO, 'docs', 'lock-freshness.md'), 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/lock-freshness.md has no JSON block');
  return JSON.parse(block[1]) as { customManagers: Manager[]; packageRules: Array<Record<string, unknown>> };
})();

function fileRegex(pattern: string): RegExp {
  const m = /^\/(.*)\/$/.exec(pattern);
  if (!m) throw new Error(`managerFilePatterns entry ${pattern} is not /regex/`);
  return new RegExp(m[1]);
}

function managerFor(file: string): Manager {
  const found = config.customManagers.filter((m) => m.managerFilePatterns.some((p) => fileRegex(p).test(file)));
  expect(found).toHaveLength(1);
  return found[0];
}

function matches(manager: Manager, text: string): Array<Record<string, string>> {
  return manager.matchStrings.flatMap((s) => [...text.matchAll(new RegExp(s, 'g'))].map((m) => ({ ...m.groups })));
}

test('both managers are regex managers on the docker datasource; the lock gets digest updates only', () => {
  for (const m of config.customManagers) expect(m).toMatchObject({ customType: 'regex', datasourceTemplate: 'docker' });
  expect(managerFor('kubepin.lock.json')).not.toBe(managerFor('src/main.ts'));
  expect(managerFor('deploy/kubepin.lock.json')).toBe(managerFor('kubepin.lock.json'));
  expect(config.packageRules).toContainEqual(expect.objectContaining({ matchFileNames: ['**/kubepin.lock.json'], matchUpdateTypes: ['major', 'minor', 'patch'], enabled: false }));
});

test('the lock manager matches every entry of a lock kubepin writes: reference (name and tag) and digest', () => {
  const lock = ImageLock.load(path.join(REPO, 'kubepin.lock.json'));
  // Names Renovate must not cut short: a registry with a port, a deep path, an untagged image locked as :latest.
  const digest = `sha256:${'ab'.repeat(32)}`;
  for (const image of ['127.0.0.1:5000/acme/api:1.4.2', 'ghcr.io/acme/team/worker:2.0.1-rc.1', 'quay.io/acme/tool']) {
    lock.set(image, { digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  }
  const text = lock.serialize(); // the bytes `save()` writes
  const written = JSON.parse(text) as { images: Record<string, { reference: string; digest: string }> };
  const expected = Object.values(written.images).map((e) => {
    const colon = e.reference.lastIndexOf(':');
    return { depName: e.reference.slice(0, colon), currentValue: e.reference.slice(colon + 1), currentDigest: e.digest };
  });
  expect(expected.length).toBeGreaterThanOrEqual(8);
  expect(expected).toContainEqual({ depName: '127.0.0.1:5000/acme/api', currentValue: '1.4.2', currentDigest: digest });
  expect(expected).toContainEqual({ depName: 'quay.io/acme/tool', currentValue: 'latest', currentDigest: digest });
  const found = matches(managerFor('kubepin.lock.json'), text);
  expect(found.sort((a, b) => a.depName.localeCompare(b.depName))).toEqual(expected.sort((a, b) => a.depName.localeCompare(b.depName)));
});

test('the source manager finds every tagged Image.of(…) in the example apps and the README, and nothing else', () => {
  const sources = ['examples/cdk8s/main.ts', 'examples/pulumi/index.ts', 'README.md'].map((f) => fs.readFileSync(path.join(REPO, f), 'utf8'));
  const text = [...sources, "Image.of('nginx@sha256:" + 'cd'.repeat(32) + "'); Image.of(`127.0.0.1:5000/acme/api:1.4.2`); other('redis:7');"].join('\n');
  const expected = [...text.matchAll(/Image\.of\(['`]([^'`]+)['`]\)/g)].map((m) => m[1]).filter((image) => !image.includes('@')).map((image) => {
    const colon = image.lastIndexOf(':');
    return { depName: image.slice(0, colon), currentValue: image.slice(colon + 1) };
  });
  expect(expected.length).toBeGreaterThanOrEqual(10);
  expect(expected).toContainEqual({ depName: '127.0.0.1:5000/acme/api', currentValue: '1.4.2' });
  expect(matches(managerFor('examples/cdk8s/main.ts'), text)).toEqual(expected);
});
