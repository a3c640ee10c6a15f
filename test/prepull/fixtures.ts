import * as fs from 'fs';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';

/** Real public digests, copied from the project's list of independently confirmed public digests. */
const PUBLIC = JSON.parse(fs.readFileSync(path.join(__dirname, 'public-digests.json'), 'utf8')) as { images: Array<{ image: string; digest: string }> };

/** A lock (in memory) holding the real public digests of busybox, pause, nginx, redis, postgres. */
export function publicLock(): ImageLock {
  const lock = ImageLock.empty(path.join(__dirname, 'never-written.lock.json'));
  for (const { image, digest } of PUBLIC.images) {
    lock.set(image, { digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  }
  return lock;
}

/** The digest the fixture holds for `image` (read by tests that check pinning). */
export function publicDigest(image: string): string {
  const found = PUBLIC.images.find((i) => i.image === image);
  if (!found) throw new Error(`no public digest for ${image} in the fixture`);
  return found.digest;
}

/** Validates `doc` against the kubernetes-models schema of its kind; throws with the schema errors. */
export function validateSchema(doc: any): void {
  const [group, version] = String(doc.apiVersion).includes('/') ? String(doc.apiVersion).split('/') : [undefined, doc.apiVersion];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`);
  new mod[doc.kind](doc).validate();
}
