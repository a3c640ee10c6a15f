import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { packedKubepin } from '../support/packed';

/** The parts of cdk8s-cli's ValidationContext this test reads (its package `exports` hide the typings from tsc's node resolution). */
interface Report {
  success: boolean;
  toString(): string;
  toJson(): {
    summary: { status: string };
    violations: Array<{ ruleName: string; recommendation: string; violatingConstructs: Array<{ resourceName: string; manifestPath: string; locations?: string[] }> }>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationContext } = require('cdk8s-cli/plugins') as { ValidationContext: new (manifests: string[], pkg: string, version: string, metadata: object, stdout: boolean) => { report: Report } };

// The plugin as shipped: from the unpacked tarball (global-setup.js), loading the compiled core
// it ships next to it (../dist/lib).
const shipped = path.join(packedKubepin().dir, 'validation-plugin');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KubepinValidation } = require(shipped);

function synthToFiles(build: (chart: Chart) => void): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-plugin-'));
  const app = new App({ outdir: dir });
  build(new Chart(app, 'app'));
  app.synth();
  return { dir, files: fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f)) };
}

describe('cdk8s validation plugin', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('reports every finding with the object name, manifest path and location, and fails on errors', async () => {
    const { dir, files } = synthToFiles((chart) => {
      new ApiObject(chart, 'web', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'Nginx:1.27' }, { name: 'tools', image: 'busybox', imagePullPolicy: 'Never' }] },
          },
        },
      });
    });
    dirs.push(dir);
    const context = new ValidationContext(files, 'kubepin-validation-plugin', '0.1.0', {}, false);
    await new KubepinValidation({}).validate(context);
    const json = context.report.toJson();
    expect(json.summary.status).toBe('failure');
    const rules = json.violations.map((v) => v.ruleName);
    expect(rules).toEqual(['kubepin/invalid-image [error]', 'kubepin/latest-tag [warning]', 'kubepin/never-without-prepull [error]']);
    const invalid = json.violations[0];
    expect(invalid.recommendation).toContain('Predicted kubelet state: InvalidImageName');
    expect(invalid.violatingConstructs[0]).toMatchObject({ resourceName: 'web', manifestPath: files[0] });
    expect(invalid.violatingConstructs[0].locations?.[0]).toMatch(/^spec\.template\.spec\.containers\[0\]\.image \(line \d+\)$/);
    expect(context.report.toString()).toContain('kubepin/never-without-prepull');
  });

  test('succeeds when only warnings are found, and failOn: warning tightens it', async () => {
    const { dir, files } = synthToFiles((chart) => {
      new ApiObject(chart, 'pod', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx:latest' }] },
      });
    });
    dirs.push(dir);
    const lenient = new ValidationContext(files, 'p', '0.1.0', {}, false);
    await new KubepinValidation().validate(lenient);
    expect(lenient.report.success).toBe(true);
    expect(lenient.report.toJson().violations).toHaveLength(1);
    const strict = new ValidationContext(files, 'p', '0.1.0', {}, false);
    await new KubepinValidation({ failOn: 'warning' }).validate(strict);
    expect(strict.report.success).toBe(false);
  });

  test('bad properties are refused with a clear message', () => {
    expect(() => new KubepinValidation({ failon: 'warning' })).toThrow(/unknown property "failon"/);
    expect(() => new KubepinValidation({ failOn: 'fatal' })).toThrow(/failOn must be one of error, warning, info/);
    expect(() => new KubepinValidation({ allowedRegistries: 'ghcr.io' })).toThrow(/allowedRegistries must be a list of strings/);
  });

  test('unreadable YAML in the output becomes a violation with file and line, not a crash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-plugin-'));
    dirs.push(dir);
    const file = path.join(dir, 'broken.k8s.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [a\n');
    const context = new ValidationContext([file], 'p', '0.1.0', {}, false);
    await new KubepinValidation().validate(context);
    const json = context.report.toJson();
    expect(json.summary.status).toBe('failure');
    expect(json.violations[0].ruleName).toBe('kubepin/unreadable-manifest [error]');
    expect(json.violations[0].violatingConstructs[0].manifestPath).toBe(file);
    expect(json.violations[0].violatingConstructs[0].locations?.[0]).toMatch(/^line \d+$/);
  });
});
