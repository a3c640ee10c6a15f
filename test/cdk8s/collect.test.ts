import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ImagePolicy } from '../../lib/cdk8s';
import * as fs from 'fs';
import { Deployment as PinnedDeployment, Image } from '../../lib/cdk8s/plus/27';
import { COLLECT_IMAGES_ENV, activeCollector, readCollectedImages, readImageRecords } from '../../lib/core/policy/collect-mode';
import { lockWith, tempDir, DIGESTS } from './helpers';

/*
 * Collect mode (`kubepin lock` running the app): a strict ImagePolicy records every image and fails
 * nothing for images missing from the lock; every other error still fails.
 */
describe('ImagePolicy in collect mode', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, 'images.jsonl');
    process.env[COLLECT_IMAGES_ENV] = file;
  });
  afterEach(() => {
    delete process.env[COLLECT_IMAGES_ENV];
    cleanup();
  });

  function app(images: string[]): App {
    const a = Testing.app();
    new ImagePolicy(a, 'ImagePolicy', { strict: true, lock: lockWith({ 'nginx:1.27.5': DIGESTS.nginx }) });
    const chart = new Chart(a, 'shop');
    images.forEach((image, i) => new kplus.Deployment(chart, `d${i}`, { containers: [{ image }] }));
    return a;
  }

  test('strict: images missing from the lock fail nothing and are recorded with their construct paths; locked ones are still pinned', () => {
    const a = app(['nginx:1.27.5', 'ghcr.io/acme/api:1.0', 'redis']);
    const docs = Testing.synth(Chart.of(a.node.findChild('shop')));
    const images = docs.flatMap((d) => d.spec?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image);
    expect(images).toEqual([`docker.io/library/nginx:1.27.5@${DIGESTS.nginx}`, 'ghcr.io/acme/api:1.0', 'redis']);
    activeCollector()!.flush();
    const recorded = readCollectedImages(file);
    expect(recorded.map((r) => [r.image, r.source])).toEqual([
      ['nginx:1.27.5', 'shop/d0/Resource'],
      ['ghcr.io/acme/api:1.0', 'shop/d1/Resource'],
      ['redis', 'shop/d2/Resource'],
    ]);
    expect(recorded[1]).toMatchObject({ object: expect.stringMatching(/^Deployment\/shop-d1-/), path: 'spec.template.spec.containers[0].image' });
  });

  test('an error that is not about the lock still fails synthesis', () => {
    const a = app(['ghcr.io/acme/api:1.0', 'Bad:Image']);
    expect(() => Testing.synth(Chart.of(a.node.findChild('shop')))).toThrow(/1 error\(s\)[\s\S]*invalid-image/);
    activeCollector()!.flush();
    expect(readCollectedImages(file).map((r) => r.image)).toEqual(['ghcr.io/acme/api:1.0']);
  });

  test('the pre-puller\'s default helper and pause images are recorded with their origin; the app\'s own busybox, pre-pulled too, with none', () => {
    const a = Testing.app();
    new ImagePolicy(a, 'ImagePolicy', { strict: true });
    const chart = new Chart(a, 'shop');
    new PinnedDeployment(chart, 'tools', { containers: [{ image: Image.of('busybox:1.36.1') }], prePull: true });
    Testing.synth(chart);
    activeCollector()!.flush();
    // The policy sees the pre-puller twice (as built, then pinned by the repository's lock): the origin holds for both.
    const recorded = readCollectedImages(file).map((r) => `${r.object.split('/')[0]} ${r.path} ${r.image.replace(/@sha256:[0-9a-f]{64}$/, '')} ${r.origin ?? '-'}`);
    expect([...new Set(recorded)].sort()).toEqual([
      'DaemonSet spec.template.spec.containers[0].image registry.k8s.io/pause:3.10 prepull-default-pause',
      'DaemonSet spec.template.spec.initContainers[0].image busybox:1.36.1 prepull-default-helper',
      'DaemonSet spec.template.spec.initContainers[0].image docker.io/library/busybox:1.36.1 prepull-default-helper',
      'DaemonSet spec.template.spec.initContainers[1].image busybox:1.36.1 -',
      'DaemonSet spec.template.spec.initContainers[1].image docker.io/library/busybox:1.36.1 -',
      'Deployment spec.template.spec.containers[0].image busybox:1.36.1 -',
    ]);
  });

  test('a record whose origin is not a string is a problem of its line', () => {
    fs.writeFileSync(file, '{"image":"busybox","object":"Pod/p","path":"spec.containers[0].image","origin":7}\n');
    expect(readImageRecords(file).problems).toEqual([{ line: 1, message: '"origin" must be a string when present, got number' }]);
  });
});
