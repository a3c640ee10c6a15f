import { parseManifestText } from '../../../lib/core/manifests/manifests';

const TEXT = `# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    built: 2024-01-01
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27.5
---
---
kind: NotKubernetes
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: { name: a }
    spec:
      containers:
        - { name: c, image: "busybox:1.36.1" }
  - apiVersion: v1
    kind: Pod
    metadata: { name: b }
    spec:
      containers:
        - name: c
          image: redis:7
`;

describe('parseManifestText', () => {
  test('objects, lines and JSON-path lines (fast path)', () => {
    const { documents, problems } = parseManifestText(TEXT, 'app.yaml');
    expect(documents.map((d) => [d.index, d.item, (d.object.metadata as any).name, d.line])).toEqual([
      [0, 0, 'web', 2], [3, 0, 'a', 21], [3, 1, 'b', 27],
    ]);
    expect(documents[0].lineOf('spec.template.spec.containers[0].image')).toBe(13);
    expect(documents[2].lineOf('spec.containers[0].image')).toBe(33);
    expect(problems).toEqual([{ file: 'app.yaml', line: 16, message: expect.stringMatching(/document 3 is not a Kubernetes object/) }]);
    // YAML 1.2 core schema, as Kubernetes reads it: a date stays a string.
    expect((documents[0].object.metadata as any).annotations.built).toBe('2024-01-01');
  });

  test('the full parser gives the same objects and lines when the text needs it (an anchor)', () => {
    const anchored = TEXT.replace('  name: web\n', '  name: &n web\n');
    const fast = parseManifestText(TEXT, 'app.yaml');
    const full = parseManifestText(anchored, 'app.yaml');
    expect(full.documents.map((d) => d.object)).toEqual(fast.documents.map((d) => d.object));
    expect(full.documents.map((d) => d.line)).toEqual(fast.documents.map((d) => d.line));
    expect(full.documents.map((d) => d.lineOf('spec.template.spec.containers[0].image'))).toEqual(fast.documents.map((d) => d.lineOf('spec.template.spec.containers[0].image')));
    expect(full.problems).toEqual(fast.problems);
  });

  test('an alias bomb is refused by the full parser, not expanded', () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) rows.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: lol }\ndata:\n${rows.map((r) => `  ${r}`).join('\n')}\n`;
    const { documents, problems } = parseManifestText(bomb, 'bomb.yaml');
    expect(documents).toEqual([]);
    expect(problems[0].message).toMatch(/cannot read document 1|alias/i);
  });

  test('broken YAML is reported with its line; the other documents are still read', () => {
    const { documents, problems } = parseManifestText('apiVersion: v1\nkind: Pod\nmetadata: { name: ok }\n---\nkind: [unclosed\n', 'bad.yaml');
    expect(documents.map((d) => (d.object.metadata as any).name)).toEqual(['ok']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'bad.yaml', message: expect.stringMatching(/not valid YAML/) });
    expect(problems[0].line).toBeGreaterThanOrEqual(5);
  });

  test('duplicate keys fall back to the full parser (the last value wins)', () => {
    const { documents } = parseManifestText('apiVersion: v1\nkind: Pod\nmetadata: { name: first }\nmetadata: { name: second }\n', 'dup.yaml');
    expect((documents[0].object.metadata as any).name).toBe('second');
  });
});
