import * as fs from 'fs';
import * as path from 'path';
import { checkFiles } from '../../../lib/check/files';
import { ManifestDocument, parseManifestText } from '../../../lib/core/manifests/manifests';

/*
 * YAML that kubectl (go-yaml) reads and the `yaml` package refuses, found by a survey of public
 * manifests: it must load, and findings must point at the right lines. Fixtures are trimmed from
 * the corpus files named in their header comments.
 */
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'manifests');
const fixture = (name: string) => path.join(FIXTURES, name);
const read = (name: string) => fs.readFileSync(fixture(name), 'utf8');

/** 1-based line of the first line of `text` containing `needle`, searching from line `after`. */
function lineContaining(text: string, needle: string, after = 1): number {
  const lines = text.split('\n');
  for (let i = after - 1; i < lines.length; i++) if (lines[i].includes(needle)) return i + 1;
  throw new Error(`${needle} not in the text`);
}

/** Every leaf's JSON path in an object. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, `${prefix}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

describe('multi-line quoted strings in flow sequences (argo-workflows examples/ci.yaml, sidecar.yaml)', () => {
  const text = read('argo-multiline-flow-args.yaml');

  test('the file loads, with the strings folded as YAML (and kubectl) fold them', () => {
    const { documents, problems } = parseManifestText(text, 'ci.yaml');
    expect(problems).toEqual([]);
    expect(documents.map((d) => d.object.kind)).toEqual(['Workflow', 'Pod']);
    const workflow = documents[0].object as { spec: { templates: Array<{ container?: { args: string[] } }> } };
    expect(workflow.spec.templates[1].container?.args).toEqual([' cd /src/hello && go build -v . ']);
    expect((documents[1].object as { spec: { containers: Array<{ args: string[] }> } }).spec.containers[0].args).toEqual([' echo $GREETING && sleep 1 ']);
  });

  test('lines come from the text where the position parser refuses the document', () => {
    const { documents } = parseManifestText(text, 'ci.yaml');
    const [workflow, pod] = documents;
    expect(workflow.line).toBe(lineContaining(text, 'apiVersion: argoproj.io'));
    expect(workflow.lineOf('spec.templates[1].container.image')).toBe(lineContaining(text, 'image: golang:1.8'));
    expect(workflow.lineOf('spec.templates[1].sidecars[0].image')).toBe(lineContaining(text, 'image: influxdb:1.2'));
    expect(workflow.lineOf('spec.templates[0].steps[1][0].name')).toBe(lineContaining(text, '- - name: test'));
    expect(workflow.lineOf('spec.templates[1].inputs.artifacts[0].name')).toBe(lineContaining(text, '- name: code'));
    expect(pod.line).toBe(lineContaining(text, 'apiVersion: v1'));
    // The container's own name, not the env entry's `name:` written before it.
    expect(pod.lineOf('spec.containers[0].name')).toBe(lineContaining(text, '- name: hello'));
    expect(pod.lineOf('spec.containers[0].image')).toBe(lineContaining(text, 'image: alpine:3.23'));
  });

  test('kubepin check reads the images instead of reporting the file unreadable', () => {
    const findings = checkFiles([fixture('argo-multiline-flow-args.yaml')]).findings;
    expect(findings.filter((f) => f.code === 'unreadable-manifest')).toEqual([]);
    const golang = findings.find((f) => f.image === 'golang:1.8');
    expect(golang).toMatchObject({ line: lineContaining(text, 'image: golang:1.8') });
  });
});

describe('a document only the position parser refuses (argo-workflows examples/secrets.yaml)', () => {
  test('findings carry the image line, not line 1', () => {
    const text = read('argo-single-quoted-flow-args.yaml');
    const [workflow] = parseManifestText(text, 'secrets.yaml').documents;
    expect(workflow.line).toBe(lineContaining(text, 'apiVersion:'));
    const finding = checkFiles([fixture('argo-single-quoted-flow-args.yaml')]).findings.find((f) => f.image === 'alpine:3.23');
    expect(finding).toMatchObject({ line: lineContaining(text, 'image: alpine:3.23'), path: 'spec.templates[0].container.image' });
  });

  test('a document that is not a Kubernetes object is reported at its first line', () => {
    const text = `kind: Pod\n---\n# notes\nmetadata:\n  name: x\nargs: ["\n  a &&\n  b\n"]\n`;
    expect(parseManifestText(text, 'm.yaml').problems).toEqual([
      { file: 'm.yaml', line: 1, message: expect.stringMatching(/document 1 is not a Kubernetes object/) },
      { file: 'm.yaml', line: 4, message: expect.stringMatching(/document 2 is not a Kubernetes object/) },
    ]);
  });
});

describe('the text search finds the lines the position parser finds', () => {
  // A key the `yaml` parser refuses, in place of one as long it reads, sends lineOf to the text search.
  const READ = 'zz: |\n  x &&\n  y\n  z\n';
  const REFUSED = 'zz: ["\n  x &&\n  y\n"]\n';
  const MANIFESTS = [
    read('argo-multiline-flow-args.yaml').replace(/args: \["[^\]]*\]/g, 'args: [a]'),
    `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: a }\n    spec:\n      containers:\n        - { name: c, image: "busybox:1.36.1" }\n  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: b\n    spec:\n      initContainers:\n      - name: init\n        image: busybox\n      containers:\n        - name: c\n          "image": redis:7\n          ports:\n          - {name: http, containerPort: 80}\n`,
    `# leading comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      volumes:\n      - name: data\n        emptyDir: {}\n      containers:\n      - env:\n        - name: A\n          value: "1"\n        name: web\n        image: nginx:1.27.5\n        volumeMounts:\n        - name: data\n          mountPath: /data\n      - name: side\n        image: envoy\n`,
  ];

  test.each(MANIFESTS.map((m, i) => [i, m]))('manifest %i: every leaf', (_i, clean) => {
    const withKey = (key: string) => (clean as string).split(/^---\n/m).map((d) => (/\S/.test(d.replace(/#.*/g, '')) ? d + key : d)).join('---\n');
    const parsed = parseManifestText(withKey(READ), 'clean.yaml');
    expect(parsed.problems).toEqual([]);
    const broken = parseManifestText(withKey(REFUSED), 'broken.yaml');
    expect(broken.problems).toEqual([]);
    expect(broken.documents).toHaveLength(parsed.documents.length);
    const lines = (docs: ManifestDocument[]) => docs.map((d, i) => [d.line, ...leafPaths(parsed.documents[i].object).map((p) => `${p}:${d.lineOf(p)}`)]);
    expect(lines(broken.documents)).toEqual(lines(parsed.documents));
  });
});

describe('lines of one document of several', () => {
  test('directives, end markers and comments around documents do not shift lines', () => {
    const text = '%YAML 1.1\n---\n# a Pod\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: c, image: nginx}\n...\n--- # the second\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  containers:\n  - name: c\n    image: redis\n';
    const { documents, problems } = parseManifestText(text, 'm.yaml');
    expect(problems).toEqual([]);
    expect(documents.map((d) => [d.line, d.lineOf('spec.containers[0].image'), d.lineOf('metadata.name')])).toEqual([[4, 9, 6], [12, 19, 15]]);
  });
});

describe('CR-only line endings (old Mac files), which go-yaml reads as line breaks', () => {
  const lf = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n    a: "x &&y"\nspec:\n  containers:\n  - name: a\n    image: busybox\n';

  test.each([
    ['CR', lf.replace(/\n/g, '\r')],
    ['CRLF', lf.replace(/\n/g, '\r\n')],
  ])('%s: the same objects and lines as with LF', (_name, text) => {
    const expected = parseManifestText(lf, 'lf.yaml');
    const { documents, problems } = parseManifestText(text, 'cr.yaml');
    expect(problems).toEqual([]);
    expect(documents.map((d) => d.object)).toEqual(expected.documents.map((d) => d.object));
    expect(documents[0].lineOf('spec.containers[0].image')).toBe(10);
    expect(documents[0].line).toBe(1);
  });
});

describe('aliases', () => {
  test('aliased collections that expand little are read directly, with their lines', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &labels {app: web}\n  annotations: *labels\nspec:\n  containers:\n  - &c\n    name: a\n    image: nginx:1.27.5\n    args: ["\n      a &&\n      b\n    "]\n';
    const { documents, problems } = parseManifestText(text, 'a.yaml');
    expect(problems).toEqual([]);
    expect((documents[0].object.metadata as { annotations: unknown }).annotations).toEqual({ app: 'web' });
    expect(documents[0].lineOf('spec.containers[0].image')).toBe(11);
  });

  test('an alias that refers to its own node is refused, not walked for ever', () => {
    const { documents, problems } = parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: loop\n  self: *m\n', 'loop.yaml');
    expect(documents).toEqual([]);
    expect(problems).toEqual([{ file: 'loop.yaml', line: 1, message: expect.stringMatching(/contains itself/) }]);
  });
});
