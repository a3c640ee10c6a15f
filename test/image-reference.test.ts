import * as fs from 'fs';
import * as path from 'path';
import { ImageReference, InvalidImageReferenceError, defaultPullPolicy } from '../lib';

interface Vector {
  input: string;
  valid: boolean;
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
  normalized?: string;
  defaultPullPolicy: string;
}

const vectors: Vector[] = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'image-references.json'), 'utf8'));

describe('upstream image reference vectors', () => {
  test('the fixture is the full upstream set', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(150);
  });

  test.each(vectors.map((v) => [v.input.length > 60 ? `${v.input.slice(0, 60)}…` : v.input, v] as const))('%s', (_name, v) => {
    expect(defaultPullPolicy(v.input)).toBe(v.defaultPullPolicy);
    if (!v.valid) {
      expect(() => ImageReference.parse(v.input)).toThrow(InvalidImageReferenceError);
      return;
    }
    const ref = ImageReference.parse(v.input);
    expect(ref.registry).toBe(v.registry);
    expect(ref.repository).toBe(v.repository);
    expect(ref.tag).toBe(v.tag);
    expect(ref.digest).toBe(v.digest);
    expect(ref.toString()).toBe(v.normalized);
    // The normalized form is a fixed point of the parser.
    expect(ImageReference.parse(ref.toString()).toString()).toBe(v.normalized);
  });
});

describe('ImageReference', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  test('familiar form strips docker.io and library/', () => {
    expect(ImageReference.parse('nginx:1.25').familiar).toBe('nginx:1.25');
    expect(ImageReference.parse('docker.io/bitnami/redis:7').familiar).toBe('bitnami/redis:7');
    expect(ImageReference.parse('docker.io/library/foo/bar').familiar).toBe('library/foo/bar');
    expect(ImageReference.parse('ghcr.io/acme/api:1.4').familiar).toBe('ghcr.io/acme/api:1.4');
  });

  test('withDigest keeps the tag and validates the digest', () => {
    const ref = ImageReference.parse('ghcr.io/acme/api:1.4');
    expect(ref.withDigest(digest).toString()).toBe(`ghcr.io/acme/api:1.4@${digest}`);
    expect(ref.withDigest(digest).withoutTag().toString()).toBe(`ghcr.io/acme/api@${digest}`);
    expect(() => ref.withDigest('sha256:abc')).toThrow(/needs exactly 64/);
    expect(ref.isPinned).toBe(false);
    expect(ref.withDigest(digest).isPinned).toBe(true);
  });

  test.each([
    ['', 'empty', /image is empty/],
    ['Foo/FarB', 'uppercase-repository', /must be lowercase/],
    ['nginx:-bad', 'invalid-tag', /tag "-bad"/],
    [`nginx:${'a'.repeat(129)}`, 'tag-too-long', /129 characters long; the limit is 128/],
    [`nginx@md5:${'a'.repeat(32)}`, 'unsupported-digest-algorithm', /"md5" is not supported/],
    ['nginx@sha256:abcd', 'digest-length', /needs exactly 64/],
    [`nginx@sha256:${'A'.repeat(64)}`, 'digest-uppercase-hex', /must be lowercase/],
    ['a'.repeat(64), 'image-id', /image ID/],
    [`${'a'.repeat(300)}`, 'name-too-long', /limit is 255/],
    ['x'.repeat(5000), 'input-too-long', /5000 characters long/],
    ['foo.com:http/bar', 'invalid-domain', /not a valid host/],
    ['a/a/a/a/', 'invalid-path', /empty component/],
  ])('rejects %j with rule %s', (input, rule, message) => {
    let error: unknown;
    try {
      ImageReference.parse(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidImageReferenceError);
    expect((error as InvalidImageReferenceError).rule).toBe(rule);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('invalid image reference');
  });

  test.each([
    ['Nginx:Latest', 'nginx:Latest'],
    ['docker/Docker:V1', 'docker/docker:V1'],
    ['ghcr.io/Acme/API@sha256:' + 'a'.repeat(64), 'ghcr.io/acme/api@sha256:' + 'a'.repeat(64)],
    ['localhost:5000/App:1', 'localhost:5000/app:1'],
  ])('the uppercase fix for %s suggests %s (tags keep their case)', (input, suggestion) => {
    expect(() => ImageReference.parse(input)).toThrow(`Fix: use "${suggestion}"`);
    expect(ImageReference.parse(suggestion).toString()).toBeTruthy();
  });

  test('a non-string is a typed error', () => {
    expect(() => ImageReference.parse(42 as unknown as string)).toThrow(InvalidImageReferenceError);
    expect(() => ImageReference.parse(undefined as unknown as string)).toThrow(/expected a string, got undefined/);
  });
});

describe('defaultPullPolicy', () => {
  test.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:LATEST', 'IfNotPresent'],
    [`nginx@sha256:${'b'.repeat(64)}`, 'IfNotPresent'],
    [`nginx:latest@sha256:${'b'.repeat(64)}`, 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['Not Valid', 'IfNotPresent'],
  ])('%s → %s', (image, policy) => {
    expect(defaultPullPolicy(image)).toBe(policy);
  });
});
