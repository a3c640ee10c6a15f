import { Image } from '../../lib/core/policy/image';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { InvalidImageReferenceError } from '../../lib/core/names/image-reference';
import { KubepinUsageError } from '../../lib/util/errors';

const PAUSE = 'sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a';

describe('Image', () => {
  test('of() parses and normalizes like the kubelet', () => {
    const image = Image.of('nginx:1.27.5');
    expect(image.isValid).toBe(true);
    expect(image.reference.toString()).toBe('docker.io/library/nginx:1.27.5');
    expect(image.name).toBe('docker.io/library/nginx');
    expect(image.isPinned).toBe(false);
    expect(image.toString()).toBe('nginx:1.27.5');
    expect(Image.isImage(image)).toBe(true);
    expect(Image.isImage({ text: 'nginx' })).toBe(false);
  });

  test('of() keeps a grammar error for the caller to report; parse() throws it', () => {
    const image = Image.of('Ghcr.io/Acme/API:1');
    expect(image.isValid).toBe(false);
    expect(image.error).toBeInstanceOf(InvalidImageReferenceError);
    expect(() => image.reference).toThrow(InvalidImageReferenceError);
    expect(() => Image.parse('nginx:bad tag')).toThrow(/invalid image reference/);
    expect(() => Image.of(42 as unknown as string)).toThrow(KubepinUsageError);
  });

  test('fromDigest() builds a pinned reference and checks the digest', () => {
    const image = Image.fromDigest('registry.k8s.io/pause', PAUSE, { tag: '3.10' });
    expect(image.text).toBe(`registry.k8s.io/pause:3.10@${PAUSE}`);
    expect(image.isPinned).toBe(true);
    expect(() => Image.fromDigest('registry.k8s.io/pause', 'sha256:abc')).toThrow(InvalidImageReferenceError);
    expect(() => Image.fromDigest('registry.k8s.io/pause:3.10', PAUSE)).toThrow(/without tag or digest/);
  });

  test('pinned() takes the digest from a lock', () => {
    const lock = ImageLock.empty('/nonexistent/kubepin.lock.json');
    lock.set('registry.k8s.io/pause:3.10', { digest: PAUSE, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(Image.of('registry.k8s.io/pause:3.10').pinned(lock)).toBe(`registry.k8s.io/pause:3.10@${PAUSE}`);
    expect(Image.of('registry.k8s.io/pause:3.9').pinned(lock)).toBe('registry.k8s.io/pause:3.9');
  });
});
