import * as fs from 'fs';
import * as path from 'path';
import { ImageReference, InvalidImageReferenceError, defaultPullPolicy } from '../../../lib';

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

const vectors: Vector[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'image-references.json'), 'utf8'));

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

  test.each([
    ['Nginx:Latest'], ['MyImage:1.0'], ['{IMAGE}'], ['<YOUR-CONTAINER>'], ['($APP_IMAGE)'], ['($operatorOpampBridgeImage)'],
    [`nginx@sha256:${'A'.repeat(64)}`], [`{X}@sha256:${'A'.repeat(64)}`], ['envoyproxy/envoy:v1.31 '], [' Nginx '],
  ])('a suggested spelling for %j is always a valid reference', (input) => {
    const error = parseError(input);
    expect(error.fix).toBeDefined();
    const suggestion = /^(?:remove the whitespace: )?use "(.*)"$/.exec(error.fix!)?.[1];
    if (suggestion !== undefined) expect(ImageReference.tryParse(suggestion)).toBeDefined();
    // A placeholder is never "fixed" by lowercasing it ("{IMAGE}" → "{image}" was suggested once).
    expect(error.fix).not.toMatch(/use "[{<($]/);
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

/** The error `ImageReference.parse(input)` throws. */
function parseError(input: string): InvalidImageReferenceError {
  try {
    ImageReference.parse(input);
  } catch (e) {
    if (e instanceof InvalidImageReferenceError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(input)} parsed`);
}

// Placeholder images found in public manifests (knative/serving, tektoncd/pipeline, argo-cd, argo-workflows,
// cert-manager, knative/docs, kubernetes/examples, opentelemetry-operator): named as what they are, with the
// tool that substitutes them, never respelled.
describe('placeholder images', () => {
  test.each([
    ['ko://knative.dev/serving/cmd/activator', 'ko-import-path', /is a ko import path \(Go package "knative\.dev\/serving\/cmd\/activator"\), not a registry reference/, /^run `ko resolve -f <file>`/],
    ['ko://github.com/tektoncd/pipeline/cmd/controller', 'ko-import-path', /ko import path/, /ko resolve -f/],
    ['quay.io/argoprojlabs/argocd-e2e-container:{{.Values.image.tag}}', 'unrendered-placeholder', /"\{\{\.Values\.image\.tag\}\}" is an unrendered Helm\/Go template action/, /helm template/],
    ['{{ .Values.global.hub }}/{{ .Values.global.proxy.image }}:{{ .Values.global.tag }}', 'unrendered-placeholder', /"\{\{ \.Values\.global\.hub \}\}" is an unrendered Helm\/Go template action/, /helm template/],
    ['{{inputs.parameters.image}}:{{inputs.parameters.tag}}', 'run-time-parameter', /"\{\{inputs\.parameters\.image\}\}" is an Argo Workflows parameter/, /substitutes it at run time.*argo submit -p/],
    ['$(params.BUILDER_IMAGE)', 'run-time-parameter', /"\$\(params\.BUILDER_IMAGE\)" is a Tekton variable/, /the pipeline substitutes it at run time/],
    ['$(params.image)', 'run-time-parameter', /Tekton variable/, /pipeline substitutes it/],
    ['${IMAGE}', 'unrendered-placeholder', /"\$\{IMAGE\}" is an unsubstituted shell\/envsubst variable/, /`IMAGE=… envsubst < <file>`/],
    ['${INSTRUMENTATION_JAVA_IMG}', 'unrendered-placeholder', /shell\/envsubst variable/, /INSTRUMENTATION_JAVA_IMG=… envsubst/],
    ['$IMAGE', 'unrendered-placeholder', /"\$IMAGE" is an unsubstituted shell\/envsubst variable/, /envsubst/],
    ['registry.example.com/app:${TAG}', 'unrendered-placeholder', /"\$\{TAG\}" is an unsubstituted shell\/envsubst variable/, /TAG=… envsubst/],
    ['$(IMAGE)', 'unrendered-placeholder', /"\$\(IMAGE\)" is an unsubstituted \$\(VAR\) reference.*never in image/, /substitute IMAGE before applying/],
    ['{IMAGE}', 'unrendered-placeholder', /"\{IMAGE\}" is an unfilled brace placeholder/, /replace "\{IMAGE\}" with the value/],
    ['docker.io/{username}/helloworld-go', 'unrendered-placeholder', /"\{username\}" is an unfilled brace placeholder/, /replace "\{username\}"/],
    ['<YOUR-CONTAINER>', 'unrendered-placeholder', /"<YOUR-CONTAINER>" is an angle-bracket placeholder/, /replace it with the image to run/],
    ['<image_url>', 'unrendered-placeholder', /angle-bracket placeholder/, /replace it/],
    ['($APP_IMAGE)', 'run-time-parameter', /expression in parentheses, as Kyverno Chainsaw tests write/, /chainsaw substitutes it at run time/],
    ['${{ env.IMAGE }}', 'unrendered-placeholder', /GitHub Actions expression/, /workflow step/],
    ['{{ image }}', 'unrendered-placeholder', /unrendered template expression \(Jinja/, /render the template first/],
    ['[[ annotation .ObjectMeta `sidecar.istio.io/proxyImage`  "docker.io/istio/proxyv2:1.1.0"  ]]', 'unrendered-placeholder', /Go template action with "\[\[ \]\]" delimiters/, /render the template first/],
  ])('%s', (input, rule, detail, fix) => {
    const error = parseError(input);
    expect(error.rule).toBe(rule);
    expect(error.isPlaceholder).toBe(true);
    // Where: the message names the image string, then what it is.
    expect(error.problem.startsWith(`invalid image reference ${JSON.stringify(input)}: `)).toBe(true);
    expect(error.problem).toMatch(detail);
    expect(error.fix).toMatch(fix);
    expect(error.message).toBe(`${error.problem}. Fix: ${error.fix}`);
    // No charset complaint and no respelling.
    expect(error.message).not.toMatch(/must be lowercase|may hold only|is not a valid host|Fix: use "/);
  });

  test('a typo is still a typo: placeholders are named only for text that does not parse', () => {
    expect(parseError('Nginx:1.27').rule).toBe('uppercase-repository');
    expect(parseError('foo.com:http/bar').rule).toBe('invalid-domain');
    expect(parseError('alpine:invalid!').rule).toBe('invalid-tag');
    expect(parseError('ko:/x').rule).toBe('invalid-domain');
  });

  test('stray whitespace is named, and the trimmed image suggested', () => {
    const error = parseError('envoyproxy/envoy:v1.31 ');
    expect(error.rule).toBe('invalid-tag');
    expect(error.message).toBe('invalid image reference "envoyproxy/envoy:v1.31 ": tag "v1.31 " may hold only letters, digits, "_", "." and "-", and must not start with "." or "-" (the image has leading or trailing whitespace). Fix: remove the whitespace: use "envoyproxy/envoy:v1.31"');
    expect(parseError(' nginx').fix).toBe('remove the whitespace: use "nginx"');
    expect(parseError(' Nginx ').fix).toBe('use "nginx"');
    expect(parseError(' {IMAGE} ').rule).toBe('unrendered-placeholder');
  });

  test('every error kind has a fix', () => {
    for (const input of ['', 'Nginx:1.27', 'nginx:-bad', 'nginx:', `nginx:${'a'.repeat(129)}`, `nginx@md5:${'a'.repeat(32)}`, 'nginx@sha256:abcd',
      `nginx@sha256:${'A'.repeat(64)}`, `nginx@sha256:${'g'.repeat(64)}`, 'nginx@x', 'a'.repeat(64), 'a'.repeat(300), 'x'.repeat(5000),
      'foo.com:http/bar', 'a/a/a/a/', 'a/b!c/d']) {
      expect([input.slice(0, 20), parseError(input).fix]).toEqual([input.slice(0, 20), expect.any(String)]);
    }
  });
});
