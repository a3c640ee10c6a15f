// Child process for the torn-write test: saves two different 2000-entry locks alternately,
// forever, until killed. Sends both serialized texts to the parent before the first save.
import { ImageLock } from '../../lib/core/lock/image-lock';
import { sha256 } from './registry';

const file = process.argv[2];
const locks = [0, 1].map((version) => {
  const lock = ImageLock.empty(file);
  for (let i = 0; i < 2000; i++) {
    lock.set(`registry.example:5000/team/app-${i}:1.${i}`, {
      digest: sha256(`${version}-${i}`),
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
  }
  return lock;
});
locks[0].save();
// The loop blocks the event loop, so start it only once the message has been written.
process.send!(locks.map((l) => l.serialize()), () => {
  for (let i = 1; ; i++) locks[i % 2].save();
});
