import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VERIFY_RULES } from '../../lib/cli/verify-sarif';
import { packedKubepin } from '../support/packed';
import { offlineEnv, runPackedKubepin } from '../support/packed-cli';

/*
 * The SARIF file CI uploads, as the compiled bin of the packed tarball writes it for a
 * generated dist/: each result names its object (kind, namespace, name) as a logical location,
 * so it can be found when the file is not in the repository; the driver and every rule link to
 * kubepin's docs, and every rule has help text.
 */
const REPO = path.resolve(__dirname, '..', '..');

/** GitHub's anchors for the headings of a Markdown page. */
function headingAnchors(page: string): Set<string> {
  const text = fs.readFileSync(path.join(REPO, 'docs', page), 'utf8');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
}

describe('kubepin check --format sarif', () => {
  let work: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sarif-'));
    fs.mkdirSync(path.join(work, 'dist'));
    fs.writeFileSync(path.join(work, 'dist', 'shop.k8s.yaml'), [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: web, namespace: shop }', 'spec:', '  selector: { matchLabels: { app: web } }',
      '  template:', '    metadata: { labels: { app: web } }', '    spec:', '      containers:',
      '        - { name: web, image: "ghcr.io/Acme/web:1.0" }', '        - { name: side, image: "nginx:latest" }', '',
    ].join('\n'));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('results carry the object as a logical location; the driver an informationUri; each rule helpUri and help', () => {
    const run = runPackedKubepin(packedKubepin().dir, ['check', 'dist', '--format', 'sarif'], { cwd: work, env: offlineEnv(work) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const sarifRun = JSON.parse(run.stdout).runs[0];
    const { driver } = sarifRun.tool;
    expect(driver.informationUri).toMatch(/^https:\/\/\S+$/);
    for (const rule of driver.rules) {
      expect({ id: rule.id, helpUri: rule.helpUri }).toEqual({ id: rule.id, helpUri: expect.stringMatching(/^https:\/\/\S+\/docs\/check\.md#[\w-]+$/) });
      expect(rule.help.text.length).toBeGreaterThan(30);
      expect(rule.help.markdown).toContain(`\`${rule.id}\``);
      // The link lands on a section that exists.
      expect(headingAnchors('check.md')).toContain(rule.helpUri.split('#')[1]);
    }
    const invalid = sarifRun.results.find((r: { ruleId: string }) => r.ruleId === 'invalid-image');
    expect(invalid.locations[0].physicalLocation.artifactLocation.uri).toBe('dist/shop.k8s.yaml');
    expect(invalid.locations[0].logicalLocations).toEqual([{
      name: 'web',
      fullyQualifiedName: 'Deployment/shop/web#spec.template.spec.containers[0].image',
      kind: 'resource',
      properties: { kind: 'Deployment', namespace: 'shop', name: 'web', path: 'spec.template.spec.containers[0].image', apiVersion: 'apps/v1' },
    }]);
    expect(sarifRun.invocations).toEqual([{ executionSuccessful: true }]);
  });

  test('the rules of verify --format sarif link to sections that exist', () => {
    for (const [id, rule] of Object.entries(VERIFY_RULES)) {
      expect({ id, anchor: headingAnchors(rule.doc!.page).has(rule.doc!.anchor) }).toEqual({ id, anchor: true });
    }
  });

  test('docs/ci.md says where results show when dist/ is generated and not committed', () => {
    const ci = fs.readFileSync(path.join(REPO, 'docs', 'ci.md'), 'utf8');
    expect(ci).toContain('## Where the SARIF results show');
    expect(ci).toMatch(/not committed[\s\S]*Security → Code scanning[\s\S]*logical location/);
  });
});
