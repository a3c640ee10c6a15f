import * as fs from 'fs';
import * as path from 'path';
import { loadManifests } from '../../lib/core/manifests/manifests';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { RegistryClient } from '../../lib/registry';
import { collectImages, resolveIntoLock } from '../../lib/registry/lock-images';
import { pushImage, startRegistry } from '../support/registry';
import { deploymentYaml, tempProject, writeFiles } from '../support/registry-cli';

describe('collecting the images of manifests', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempProject('kubepin-files-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('collecting file by file gives what collecting everything at once gives', () => {
    writeFiles(dir, {
      'a.yaml': deploymentYaml('a', ['nginx:1.27', 'Bad:Ref'], ['busybox@sha256:' + 'a'.repeat(64)]),
      'b.yaml': deploymentYaml('b', ['docker.io/library/nginx:1.27', 'ghcr.io/acme/api:2@sha256:' + 'b'.repeat(64)]),
    });
    const all = collectImages(loadManifests([dir]).documents);
    const merged = collectImages(loadManifests([path.join(dir, 'a.yaml')]).documents);
    collectImages(loadManifests([path.join(dir, 'b.yaml')]).documents, merged);
    expect(merged).toEqual(all);
    expect([...all.tagged.keys()]).toEqual(['docker.io/library/nginx:1.27', 'ghcr.io/acme/api:2']);
    expect(all.tagged.get('docker.io/library/nginx:1.27')!.map((l) => `${path.basename(l.file)}:${l.line}`)).toEqual(['a.yaml:17', 'b.yaml:14']);
    expect(all.invalid.map((i) => i.location.image)).toEqual(['Bad:Ref']);
  });
});

test('resolveIntoLock records successes, returns failures, and skips what the lock has', async () => {
  const registry = await startRegistry();
  const client = new RegistryClient({ retries: 0 });
  try {
    const pushed = await pushImage(registry, 'lib/app', '1');
    const lock = ImageLock.empty('/nonexistent/kubepin.lock.json');
    const refs = [`${registry.host}/lib/app:1`, `${registry.host}/lib/app:missing`];
    const outcomes = await resolveIntoLock(client, lock, refs);
    expect(outcomes.map((o) => o.status)).toEqual(['resolved', 'failed']);
    expect(lock.get(refs[0])?.digest).toBe(pushed.digest);
    expect(lock.get(refs[1])).toBeUndefined();
    await registry.settle();
    registry.resetCounters();
    const again = await resolveIntoLock(client, lock, [refs[0]]);
    expect(again).toEqual([]); // already locked: no lookup at all
    expect((await resolveIntoLock(client, lock, [refs[0]], { update: true })).map((o) => o.status)).toEqual(['resolved']);
  } finally {
    client.close();
    await registry.stop();
  }
});
