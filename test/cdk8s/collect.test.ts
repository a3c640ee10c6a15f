import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ImagePolicy } from '../../lib/cdk8s';
import { COLLECT_IMAGES_ENV, activeCollector, readCollectedImages } from '../../lib/image-collector';
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
});
