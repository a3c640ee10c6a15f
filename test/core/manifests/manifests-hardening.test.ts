import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadManifests, parseManifestText } from '../../../lib/core/manifests/manifests';
import { checkFiles } from '../../../lib/check/files';
import { runCli } from '../../support/cli';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-hardening-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const POD = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: "nginx:1.27.5"}\n';

function objects(text: string): unknown[] {
  const result = parseManifestText(text, 'm.yaml');
  expect(result.problems).toEqual([]);
  return result.documents.map((d) => d.object);
}

describe('item 7: no crash on large or looping input', () => {
  test('150,000 documents in one file load without overflowing the stack', () => {
    const file = path.join(dir, 'many.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n'.repeat(150_000));
    const loaded = loadManifests([file]);
    expect(loaded.documents).toHaveLength(150_000);
  });

  test('a symlink pointing at its own directory is skipped as a problem, not EISDIR', () => {
    fs.writeFileSync(path.join(dir, 'pod.yaml'), POD);
    fs.symlinkSync('.', path.join(dir, 'self.yaml'));
    fs.symlinkSync('.', path.join(dir, 'loop'));
    const loaded = loadManifests([dir]);
    expect(loaded.documents).toHaveLength(1);
    expect(loaded.problems).toEqual([expect.objectContaining({ file: path.join(dir, 'self.yaml'), message: expect.stringMatching(/not a regular file \(a directory\)/) })]);
  });

  test('kubepin verify on a directory holding a self-symlink ends with a finding, not an internal error', async () => {
    fs.writeFileSync(path.join(dir, 'pod.yaml'), POD);
    fs.symlinkSync('.', path.join(dir, 'self.yaml'));
    const run = await runCli(['check', dir]);
    expect(run.code).not.toBe(70);
    expect(run.stderr + run.stdout).not.toMatch(/internal error|EISDIR/);
    expect(run.stdout + run.stderr).toMatch(/self\.yaml/);
  });
});

describe('item 8: only regular files are read, capped by bytes read', () => {
  test('a FIFO with a manifest name is reported, never opened for a blocking read', () => {
    fs.writeFileSync(path.join(dir, 'pod.yaml'), POD);
    execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')]);
    const loaded = loadManifests([dir]);
    expect(loaded.documents).toHaveLength(1);
    expect(loaded.problems).toEqual([expect.objectContaining({ message: expect.stringMatching(/not a regular file \(a FIFO\)/) })]);
  });

  test('a symlink to /dev/zero is refused without reading it', () => {
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.yaml'));
    const before = process.memoryUsage().rss;
    const result = checkFiles([dir]);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(result.findings).toEqual([expect.objectContaining({ code: 'unreadable-manifest', message: expect.stringMatching(/not a regular file \(a device\)/) })]);
  });

  test('the size cap counts bytes read', () => {
    const file = path.join(dir, 'big.yaml');
    fs.writeFileSync(file, POD + '#'.repeat(2000));
    const { readManifestFile } = jest.requireActual('../../../lib/core/manifests/manifests') as typeof import('../../../lib/core/manifests/manifests');
    expect(readManifestFile(file, 1000)).toEqual({ problem: expect.stringMatching(/larger than 1000 bytes/) });
    expect(typeof readManifestFile(file, 10_000)).toBe('string');
  });
});

describe('item 11: YAML 1.1 scalars as kubectl reads them', () => {
  const text = (body: string) => `apiVersion: v1\nkind: ConfigMap\n${body}`;
  test.each([
    ['fast parser', ''],
    ['positional parser', 'anchor: &a x\n'],
  ])('%s: octal, booleans, underscores, hex, binary', (_name, extra) => {
    const [object] = objects(text(`${extra}spec:\n  defaultMode: 0400\n  zero: 0\n  a: yes\n  b: off\n  c: On\n  d: n\n  e: 1_000\n  f: 0x1F\n  g: 0b101\n  h: 08\n  i: "0400"\n  j: 'yes'\n  k: 1:30\n  l: 2001-12-14\n  m: ~\n  exp: 1e3\n  o: .5\n  p: +12\n  q: -0o17\n`));
    expect((object as { spec: unknown }).spec).toEqual({
      defaultMode: 256, zero: 0, a: true, b: false, c: true, d: false, e: 1000, f: 31, g: 5, h: 8,
      i: '0400', j: 'yes', k: '1:30', l: '2001-12-14', m: null, exp: 1000, o: 0.5, p: 12, q: -15,
    });
  });

  test('keys are resolved too (on: becomes "true", as sigs.k8s.io/yaml writes it)', () => {
    const [object] = objects(text('data:\n  on: 1\n  "on": 2\n'));
    expect((object as { data: unknown }).data).toEqual({ true: 1, on: 2 });
  });
});

describe('item 12: merge keys', () => {
  test.each([
    ['alias (positional parser)', 'base: &base\n  name: web\n  image: nginx:1.27.5\n', '<<: *base'],
    ['inline map (fast parser)', '', '<<: {name: web, image: "nginx:1.27.5"}'],
  ])('%s: a container written with <<: has its image', (_name, anchors, merge) => {
    const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n${anchors.replace(/^/gm, '    ').trimEnd()}\n${anchors ? '' : '    x: y\n'}spec:\n  containers:\n  - ${merge}\n    imagePullPolicy: IfNotPresent\n`;
    const [object] = objects(text);
    expect((object as { spec: { containers: unknown[] } }).spec.containers[0]).toEqual({ name: 'web', image: 'nginx:1.27.5', imagePullPolicy: 'IfNotPresent' });
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, text);
    expect(checkFiles([file]).findings.filter((f) => /has no image/.test(f.message))).toEqual([]);
  });
});

describe('item 14: JSON streams and warnings', () => {
  test('several JSON objects back to back are several documents, with their lines', () => {
    const text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}\n\n{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "c"}}\n';
    const result = parseManifestText(text, 'm.json');
    expect(result.problems).toEqual([]);
    expect(result.documents.map((d) => [(d.object.metadata as { name: string }).name, d.index, d.line])).toEqual([['a', 0, 1], ['b', 1, 1], ['c', 2, 3]]);
    expect(result.documents[2].lineOf('metadata.name')).toBe(4);
  });

  test('the yaml library prints no warning for collection keys', () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      parseManifestText('apiVersion: v1\nkind: Pod\na: &x 1\nspec:\n  containers:\n  - name: c\n    image: {{ .Values.image }}\n', 'm.yaml');
      expect(spy).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      warn.mockRestore();
    }
  });
});
