import * as fs from 'fs';
import * as path from 'path';
import { printable, safeText } from '../../lib/util/printable';
import { spawnCli } from '../support/cli';
import { startRegistry, TestRegistryDetails } from '../support/registry';
import { tempProject } from '../support/registry-cli';

/*
 * Issue #24 item 4: what a manifest says (names, namespaces, file names, invalid image
 * references) reaches `kubepin lock`, `verify` and `check` text output escaped: no ESC sequence
 * reaches the terminal, no CR or LF forges a line, no bidi control reorders one, and no line
 * starts a GitHub Actions command. Real child processes, a real registry; JSON keeps the values.
 */
/** What must never reach text output raw: C0/C1 controls but the line break, DEL, bidi controls, line separators. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CLEAR = '\u001b[2J\u001b[H';
const FORGED = '\n::error file=app.js,line=1::forged\r';

function expectSafe(output: string): void {
  expect(output).not.toMatch(RAW);
  for (const line of output.split('\n')) {
    expect(line).not.toMatch(/^\s*::/);
    expect(line).not.toContain('##[');
  }
}

describe('manifest text in text output', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let name: string;
  const file = `app${CLEAR}\u202e.yaml`;

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    dir = tempProject('kubepin-escape-');
    name = `web${CLEAR}${FORGED}`;
    const deployment = (objectName: string, namespace: string, image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: objectName, namespace },
      spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image }] } } },
    });
    const docs = [
      // An image reference that is not one, carrying a forged annotation and a bidi override.
      deployment(name, `ns\u2066\u202e`, `nginx${CLEAR}${FORGED}\u202e##[error]old-style`),
      // A valid image the registry does not have: its failure names the object and file.
      deployment(`::warning::${name}`, 'default', `${registry.host}/missing/app:1`),
    ];
    fs.writeFileSync(path.join(dir, file), docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const kubepin = (args: string[]) => spawnCli(args, { cwd: dir }).done;

  test('kubepin check (text): every finding escaped, one line each; --format json keeps the values as they are', async () => {
    const text = await kubepin(['check', file, '--no-color']);
    expect(text.code).toBe(1);
    expectSafe(text.stdout + text.stderr);
    expect(text.stdout).toContain('Deployment ns\\u{2066}\\u{202e}/web\\u001b[2J\\u001b[H\\n::error file=app.js,line=1::forged\\r  (app\\u001b[2J\\u001b[H\\u{202e}.yaml)\n');
    const json = await kubepin(['check', file, '--format', 'json']);
    const objects = (JSON.parse(json.stdout).findings as Array<{ object: { name: string } }>).map((f) => f.object.name);
    expect(objects).toContain(name);
  });

  test('kubepin verify (text): findings, files and names escaped', async () => {
    const run = await kubepin(['verify', file]);
    expect(run.code).toBe(1);
    expectSafe(run.stdout + run.stderr);
    expect(run.stderr).toContain('error: app\\u001b[2J\\u001b[H\\u{202e}.yaml:1: Deployment/web\\u001b[2J\\u001b[H\\n::error file=app.js,line=1::forged\\r: invalid image reference "nginx\\u001b[2J\\u001b[H\\n::error file=app.js,line=1::forged\\r\\u{202e}\\u{23}#[error]old-style"');
  });

  test('kubepin lock (text): invalid references, registry failures and where they are used, escaped', async () => {
    const run = await kubepin(['lock', file, '--no-docker-login', '--insecure-registry', registry.host]);
    expect(run.code).toBe(1);
    expectSafe(run.stdout + run.stderr);
    expect(run.stderr).toContain('  used at app\\u001b[2J\\u001b[H\\u{202e}.yaml:3 (Deployment/::warning::web\\u001b[2J\\u001b[H\\n::error file=app.js,line=1::forged\\r, spec.template.spec.containers[0].image)\n');
  });

  test('a line break in a value (here a PATH argument) would start a line with a CI command: it is escaped, the message stays one line', async () => {
    const run = await kubepin(['check', `::error::x${FORGED}`]);
    expect(run.code).toBe(2);
    expectSafe(run.stderr);
    expect(run.stderr.split('\n')[0]).toBe(`kubepin check: ${dir}/::error::x\\n::error file=app.js,line=1::forged\\r: no such file or directory. Fix: synthesize first (e.g. \`cdk8s synth\`) or pass the directory that holds your manifests`);
  });

  test('printable and safeText: controls and bidi escaped, leading "::" and "##[" anywhere defused, kubepin\'s own line breaks kept', () => {
    expect(printable('a\u001bb\r\n\t\u0085\u202e\u2066\u200f\u061c\u2028')).toBe('a\\u001bb\\r\\n\\t\\u0085\\u{202e}\\u{2066}\\u{200f}\\u{61c}\\u{2028}');
    expect(printable('  ::error::x')).toBe('  \\u{3a}:error::x');
    expect(printable('a ##[error]b')).toBe('a \\u{23}#[error]b');
    expect(printable('plain: value/with:colons ü 日本')).toBe('plain: value/with:colons ü 日本');
    expect(safeText`${'::'}error\n  ${':'}:x\n`).toBe('\\u{3a}:error\n  \\u{3a}:x\n');
  });
});
