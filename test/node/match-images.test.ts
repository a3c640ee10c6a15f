import * as path from 'path';
import { loadManifests } from '../../lib/core/manifests/manifests';
import { registryKeyMatches } from '../../lib/core/credentials/keyring';
import { NodeConfigError, computeMatchImages, imageLookupName, imagesOfObjects } from '../../lib/node';

const APP = path.join(__dirname, 'fixtures', 'app.yaml');
const appImages = (): string[] => imagesOfObjects(loadManifests([APP]).documents.map((d) => d.object));

/** Names the tests say no provider may reach unless assigned. */
const STRANGERS = [
  '123456789012.dkr.ecr.ap-south-1.amazonaws.com/team/api',
  '999999999999.dkr.ecr.eu-west-1.amazonaws.com/team/api',
  'dkr.ecr.eu-west-1.amazonaws.com/x',
  'acmepublic.azurecr.io/obs/exporter',
  'acmepublic.azurecr.io/jobs/report',
  'registry.internal.example.com/tools/uploader',
  'registry.internal.example.com:5001/tools/uploader',
  'docker.io/library/nginx',
  'ghcr.io/other/assets',
  'quay.io/acme/api',
];

describe('computeMatchImages on the test app', () => {
  it('finds every image of the app, image volumes and init containers included', () => {
    expect(appImages().map(imageLookupName).sort()).toEqual([
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/migrate',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/edge/proxy',
      'acmeprod.azurecr.io/obs/exporter',
      'acmestaging.azurecr.io/jobs/report',
      'docker.io/library/busybox',
      'ghcr.io/acme/assets',
      'registry.internal.example.com:5000/tools/uploader',
      'registry.k8s.io/pause',
    ]);
  });

  const cases: Array<{ registries: string[]; exclude?: string[]; expected: string[] }> = [
    // One glob reaches both ECR regions of the account; the account label stays literal.
    { registries: ['*.dkr.ecr.*.amazonaws.com'], expected: ['123456789012.dkr.ecr.*.amazonaws.com'] },
    // Excluding another region of the same account forces one pattern per used region.
    {
      registries: ['*.dkr.ecr.*.amazonaws.com'],
      exclude: ['123456789012.dkr.ecr.ap-south-1.amazonaws.com'],
      expected: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.us-east-1.amazonaws.com'],
    },
    // Exact hosts assigned: never widened to a glob, even though one would be shorter.
    {
      registries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.us-east-1.amazonaws.com'],
      expected: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.us-east-1.amazonaws.com'],
    },
    { registries: ['*.azurecr.io'], expected: ['*.azurecr.io'] },
    { registries: ['*.azurecr.io'], exclude: ['acmepublic.azurecr.io'], expected: ['acmeprod.azurecr.io', 'acmestaging.azurecr.io'] },
    { registries: ['acmeprod.azurecr.io'], expected: ['acmeprod.azurecr.io'] },
    // A path-scoped key keeps its path; the port is exact.
    { registries: ['https://ghcr.io/v2/acme'], expected: ['ghcr.io/acme'] },
    { registries: ['registry.internal.example.com:5000'], expected: ['registry.internal.example.com:5000'] },
    { registries: ['docker.io'], expected: ['docker.io'] },
  ];

  it.each(cases)('$registries exclude=$exclude → $expected', ({ registries, exclude, expected }) => {
    const images = appImages();
    const result = computeMatchImages({ images, registries, exclude });
    let checked = 0;
    expect(result.matchImages).toEqual(expected);
    expect(result.minimal).toBe(true);
    // Covers every assigned image of the app, by the kubelet's rule…
    const names = images.map(imageLookupName);
    for (const name of result.covered) expect(result.matchImages.some((m) => registryKeyMatches(m, name))).toBe(true);
    expect(result.covered.length).toBeGreaterThan(0);
    // …and nothing else: no other image of the app, nothing excluded, no stranger outside the assignment.
    for (const name of names.filter((n) => !result.covered.includes(n))) {
      expect(result.matchImages.filter((m) => registryKeyMatches(m, name))).toEqual([]);
    }
    for (const stranger of [...(exclude ?? []), ...STRANGERS]) {
      const assigned = registries.some((r) => registryKeyMatches(r.replace(/^https:\/\//, '').replace('/v2/', '/'), stranger));
      // Assigned and not excluded: within what the user gave this provider, so it may be matched.
      if (assigned && !(exclude ?? []).some((e) => registryKeyMatches(e, stranger))) continue;
      checked++;
      expect(result.matchImages.filter((m) => registryKeyMatches(m, stranger))).toEqual([]);
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('leaves an assigned image under an exclusion to no provider (issue 13 item 16: exclude is for public mirrors under a glob)', () => {
    const result = computeMatchImages({ images: ['ghcr.io/acme/api:1', 'ghcr.io/acme/web:1'], registries: ['ghcr.io'], exclude: ['ghcr.io/acme/api'] });
    expect(result.excluded).toEqual(['ghcr.io/acme/api']);
    expect(result.covered).toEqual(['ghcr.io/acme/web']);
    expect(result.matchImages).toEqual(['ghcr.io/acme/web']);
  });

  it('names an unparseable image and registry key', () => {
    expect(() => computeMatchImages({ images: ['Not An Image'], registries: ['ghcr.io'] })).toThrow(/"Not An Image" is not a valid image reference/);
    expect(() => computeMatchImages({ images: ['ghcr.io/a:1'], registries: ['   '] })).toThrow(/not a registry key the kubelet can parse/);
  });

  it('never reaches into an excluded registry through a path-scoped glob', () => {
    // `*.azurecr.io/team` would cover both with one pattern, but it also matches c.azurecr.io/team/….
    const r = computeMatchImages({ images: ['a.azurecr.io/team/x:1', 'b.azurecr.io/team/y:1'], registries: ['*.azurecr.io'], exclude: ['c.azurecr.io'] });
    expect(r.matchImages).toEqual(['a.azurecr.io', 'b.azurecr.io']);
    const open = computeMatchImages({ images: ['a.azurecr.io/team/x:1', 'b.azurecr.io/team/y:1'], registries: ['*.azurecr.io'], exclude: ['c.azurecr.io/other'] });
    expect(open.matchImages).toEqual(['*.azurecr.io/team']);
  });

  it('uses a path prefix when the host alone would reach an excluded repository', () => {
    const r = computeMatchImages({ images: ['ghcr.io/acme/api:1', 'ghcr.io/acme/web:1'], registries: ['ghcr.io'], exclude: ['ghcr.io/other/tool'] });
    expect(r.matchImages).toEqual(['ghcr.io/acme']);
  });
});

describe('computeMatchImages invariants on random assignments', () => {
  // Deterministic pseudo-random generator so failures reproduce.
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const labels = ['a', 'b', 'c'];
  const host = (): string => `${labels[rand(3)]}.${labels[rand(3)]}.example.com${rand(4) === 0 ? ':5000' : ''}`;
  const repo = (): string => `${['team', 'teamx', 'ops'][rand(3)]}/${['api', 'web'][rand(2)]}`;
  const keyOf = (): string => [`*.${labels[rand(3)]}.example.com`, `${labels[rand(3)]}.*.example.com`, `*.*.example.com`, host(), `${host()}/team`][rand(5)];

  it('covers the assigned images, nothing outside the assigned keys, and is no larger than one pattern per host', () => {
    let solved = 0;
    for (let round = 0; round < 150; round++) {
      const images = Array.from({ length: 1 + rand(6) }, () => `${host()}/${repo()}:1`);
      const registries = Array.from({ length: 1 + rand(2) }, keyOf);
      const probes = Array.from({ length: 40 }, () => `${host()}/${repo()}`);
      const exclude = probes.filter(() => rand(10) === 0).filter((p) => !images.some((i) => imageLookupName(i) === p));
      let result;
      try {
        result = computeMatchImages({ images, registries, exclude });
      } catch (e) {
        expect(e).toBeInstanceOf(NodeConfigError);
        continue;
      }
      solved++;
      for (const name of result.covered) expect(result.matchImages.some((m) => registryKeyMatches(m, name))).toBe(true);
      for (const probe of [...probes, ...images.map(imageLookupName)]) {
        const hit = result.matchImages.some((m) => registryKeyMatches(m, probe));
        if (hit) {
          expect(registries.some((k) => registryKeyMatches(k, probe))).toBe(true);
          expect(exclude.some((e) => registryKeyMatches(e, probe))).toBe(false);
          expect(result.notCovered).not.toContain(probe);
        }
      }
      expect(result.matchImages.length).toBeLessThanOrEqual(new Set(result.covered.map((n) => n.split('/')[0])).size + exclude.length);
    }
    expect(solved).toBeGreaterThan(100);
  });
});
