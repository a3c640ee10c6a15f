import * as fs from 'fs';
import * as path from 'path';
import { runKubepin, tempProject } from '../support/registry-cli';

// kustomize's own wordpress example (test/fixtures/kustomize-wordpress/SOURCE.md).
const EXAMPLE = path.join(__dirname, '..', 'fixtures', 'kustomize-wordpress');

describe('kubepin check on a kustomize source tree', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempProject();
    fs.cpSync(EXAMPLE, path.join(dir, 'wordpress'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a file the kustomization lists as a patch is a note with the fix, not a Deployment with a missing image', async () => {
    const run = await runKubepin(['check', 'wordpress', '--format', 'json'], { cwd: dir });
    const findings = JSON.parse(run.stdout).findings as Array<{ code: string; severity: string; file?: string; message: string }>;
    expect(findings.filter((f) => f.code === 'invalid-image')).toEqual([]);
    const patch = findings.filter((f) => f.code === 'kustomize-patch');
    expect(patch).toHaveLength(1);
    expect(patch[0]).toMatchObject({ severity: 'info', file: path.join('wordpress', 'patch.yaml') });
    expect(patch[0].message).toContain(`listed as a patch in ${path.join('wordpress', 'kustomization.yaml')}`);
    expect(patch[0].message).toContain('kustomize build wordpress | kubepin check -');
    // The kustomizations themselves are kustomize's configuration, not "not a Kubernetes object".
    expect(findings.filter((f) => f.code === 'not-kubernetes')).toEqual([]);
    // Nothing else is said of the patch (its `debian` init image would be a latest-tag warning).
    expect(findings.filter((f) => f.file === path.join('wordpress', 'patch.yaml')).map((f) => f.code)).toEqual(['kustomize-patch']);
    expect(run.code).toBe(0);
  });

  test('without the kustomization, the same patch file is checked as a manifest (and fails)', async () => {
    fs.rmSync(path.join(dir, 'wordpress', 'kustomization.yaml'));
    const run = await runKubepin(['check', path.join('wordpress', 'patch.yaml')], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('container wordpress has no image');
  });
});
