/** Issue #13 items 13 and 14: pull policies Helm leaves empty, Lists, unrendered templates. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyImagePolicy } from '../../../lib/core/policy/engine';
import { checkFiles } from '../../../lib/check/files';

const pod = (container: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ name: 'c', ...container }] } });

function checkYaml(text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-policy-'));
  try {
    fs.writeFileSync(path.join(dir, 'app.yaml'), text);
    return checkFiles([dir]).findings;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('item 13: imagePullPolicy "" or null is defaulted by the API server, not rejected', () => {
  test.each([[''], [null]])('applyImagePolicy fills %p with the default policy and reports no invalid-pull-policy', (value) => {
    const { objects, findings } = applyImagePolicy([pod({ image: 'nginx:1.27', imagePullPolicy: value }), pod({ image: 'nginx:latest', imagePullPolicy: value })]);
    expect(findings.filter((f) => f.code === 'invalid-pull-policy')).toEqual([]);
    const policies = objects.map((o) => ((o.spec as { containers: Array<{ imagePullPolicy: unknown }> }).containers[0].imagePullPolicy));
    expect(policies).toEqual(['IfNotPresent', 'Always']);
  });

  test('kubepin check on what `helm template` writes for an unset value: no error, latest still predicted as Always', () => {
    const findings = checkYaml(['apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  containers:', '  - name: a', '    image: nginx:1.27', '    imagePullPolicy: ""', '  - name: b', '    image: nginx:1.27', '    imagePullPolicy:', ''].join('\n'));
    expect(findings.filter((f) => f.code === 'invalid-pull-policy')).toEqual([]);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  test('a real bad value is still an error (control)', () => {
    expect(applyImagePolicy([pod({ image: 'nginx:1.27', imagePullPolicy: 'always' })]).findings.map((f) => f.code)).toContain('invalid-pull-policy');
  });
});

describe('item 14: Lists and unrendered templates', () => {
  test('applyImagePolicy([List]) returns the List, its items pinned in place', () => {
    const list = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [pod({ image: 'nginx:1.27' }), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }] };
    const { objects } = applyImagePolicy([list]);
    expect(objects).toHaveLength(1);
    expect(objects[0].kind).toBe('List');
    expect(objects[0].metadata).toEqual({ resourceVersion: '' });
    const items = objects[0].items as Array<Record<string, unknown>>;
    expect(items[1]).toEqual(list.items[1]);
    expect((items[0].spec as { containers: Array<Record<string, unknown>> }).containers[0]).toEqual({ name: 'c', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' });
    // The input is not changed.
    expect((list.items[0] as ReturnType<typeof pod>).spec.containers[0]).toEqual({ name: 'c', image: 'nginx:1.27' });
  });

  test('image: {{ .Values.image }} is one unrendered-template finding, not also "has no image"', () => {
    const findings = checkYaml(['apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  containers:', '  - name: c', '    image: {{ .Values.image }}', ''].join('\n'));
    expect(findings.map((f) => f.code)).toEqual(['unreadable-manifest']);
    expect(findings[0].message).toMatch(/unrendered Helm template/);
  });
});
