import { RegistryError } from '../../lib/core/findings/registry-error';
import { indexPlatforms, platformDigests, platformMatch } from '../../lib/registry/index-platforms';

/*
 * One reading of an index for every caller (issue #26's leftover): `kubepin lock --platform`, the
 * cluster's platforms, liveness and `verify --remote`'s signed-index check all read platforms with
 * indexPlatforms and match them with platformMatch.
 */
const d = (c: string): string => `sha256:${c.repeat(64)}`;
const index = (manifests: unknown[]): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));

describe('platform digests of an index', () => {
  const body = index([
    { digest: d('a'), platform: { os: 'Linux', architecture: 'AMD64' } },
    { digest: d('b'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { digest: d('c'), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { digest: d('e'), platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { digest: d('f'), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
  ]);

  test('case aside, a node platform without a variant is served by the one with a variant, the same way everywhere', () => {
    expect(platformDigests(body, ['linux/amd64', 'LINUX/ARM64', 'linux/arm/v7'], 'reg.test', 'reg.test/app:1')).toEqual({ 'linux/amd64': d('a'), 'LINUX/ARM64': d('b'), 'linux/arm/v7': d('c') });
    // Without a variant: the first in order (as the lock's cluster platforms pick), not the index's order.
    expect(platformDigests(body, ['linux/arm'], 'reg.test', 'reg.test/app:1')).toEqual({ 'linux/arm': d('e') });
    const offered = indexPlatforms(body);
    expect(platformMatch(offered, 'linux/arm')).toBe('linux/arm/v6');
    expect(platformMatch(offered, 'linux/arm64/v8')).toBe('linux/arm64/v8');
    expect(platformMatch(offered, 'linux/arm64/v9')).toBeUndefined();
    expect(platformMatch(offered, 'unknown/unknown')).toBeUndefined();
  });

  test('an exact entry without a variant is preferred over one with a variant', () => {
    const both = index([
      { digest: d('b'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: d('a'), platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    expect(platformDigests(both, ['linux/arm64'], 'reg.test', 'x')).toEqual({ 'linux/arm64': d('a') });
  });

  test('a missing platform is platform-not-found naming what the index offers, attestations left out', () => {
    let error: unknown;
    try {
      platformDigests(body, ['linux/s390x'], 'reg.test', 'reg.test/app:1');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe('platform-not-found');
    expect((error as RegistryError).message).toBe('reg.test/app:1: the index has no linux/s390x manifest (it has linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8)');
  });
});
