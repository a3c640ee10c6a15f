import { landingPlatforms, platformFindings, platformOffered } from '../../../lib/core/policy/platforms';
import { indexPlatforms } from '../../../lib/registry/index-platforms';
import { LockEntry } from '../../../lib/core/lock/image-lock';

const entry = (offeredPlatforms?: string[]): LockEntry => ({
  requested: 'app:1', reference: 'docker.io/library/app:1', digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json', ...(offeredPlatforms ? { offeredPlatforms } : {}),
});
const term = (...matchExpressions: object[]) => ({ matchExpressions });
const affinity = (...nodeSelectorTerms: object[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } });
const pod = { kind: 'Deployment', name: 'web' };

describe('which platforms an image runs on, and where a pod lands', () => {
  test('a node platform without a variant is served by a manifest with one; a variant must match', () => {
    expect(platformOffered(['linux/arm64/v8'], 'linux/arm64')).toBe(true);
    expect(platformOffered(['linux/arm/v6'], 'linux/arm/v7')).toBe(false);
    expect(platformOffered(['linux/amd64'], 'windows/amd64')).toBe(false);
  });

  test('nodeSelector, In / NotIn affinity, OR-ed terms and os', () => {
    expect(landingPlatforms({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, undefined)).toMatchObject({ pinned: true, platforms: ['linux/arm64'] });
    expect(landingPlatforms({ affinity: affinity(term({ key: 'kubernetes.io/arch', operator: 'NotIn', values: ['arm64'] })) }, ['linux/amd64', 'linux/arm64'])).toMatchObject({ pinned: true, platforms: ['linux/amd64'] });
    // A second term without an arch requirement lets the pod land anywhere: not pinned.
    expect(landingPlatforms({ affinity: affinity(term({ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }), term({ key: 'pool', operator: 'In', values: ['x'] })) }, ['linux/amd64', 'linux/arm64'])).toMatchObject({ pinned: false, platforms: ['linux/amd64', 'linux/arm64'] });
    expect(landingPlatforms({ nodeSelector: { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64' } }, undefined).platforms).toEqual(['windows/amd64']);
    expect(landingPlatforms({ nodeSelector: { pool: 'gpu' } }, ['linux/amd64'])).toMatchObject({ pinned: false, platforms: ['linux/amd64'] });
  });

  test('findings: an error when pinned, a warning when free to land on a cluster platform, nothing when the image\'s platforms are unknown', () => {
    const arm = { nodeSelector: { 'kubernetes.io/arch': 'arm64' } };
    expect(platformFindings(pod, arm, [{ path: 'p', image: 'app:1', entry: entry(['linux/amd64']) }], undefined).map((f) => [f.code, f.severity])).toEqual([['platform-not-found', 'error']]);
    expect(platformFindings(pod, arm, [{ path: 'p', image: 'app:1', entry: entry(['linux/amd64', 'linux/arm64/v8']) }], undefined)).toEqual([]);
    expect(platformFindings(pod, {}, [{ path: 'p', image: 'app:1', entry: entry(['linux/amd64']) }], ['linux/amd64', 'linux/arm64']).map((f) => [f.code, f.severity])).toEqual([['platform-not-covered', 'warning']]);
    expect(platformFindings(pod, {}, [{ path: 'p', image: 'app:1', entry: entry(['linux/amd64']) }], undefined)).toEqual([]);
    expect(platformFindings(pod, arm, [{ path: 'p', image: 'app:1', entry: entry() }], ['linux/amd64'])).toEqual([]);
  });

  test('an index\'s platforms leave out attestation manifests and malformed entries, sorted', () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const body = Buffer.from(JSON.stringify({
      manifests: [
        { digest: d('b'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { digest: d('c'), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        { digest: d('e'), platform: { os: 'linux', architecture: 'amd64' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        { digest: d('a'), platform: { os: 'linux', architecture: 'amd64' } },
        { digest: 'sha256:short', platform: { os: 'linux', architecture: 's390x' } },
      ],
    }));
    expect([...indexPlatforms(body)]).toEqual([['linux/amd64', d('a')], ['linux/arm64/v8', d('b')]]);
  });
});
