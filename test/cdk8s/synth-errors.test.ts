import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';
import { cdk8sSynth, offlineEnv, runPackedKubepin } from '../support/packed-cli';

/*
 * What a user sees when the app's images are wrong: the real `cdk8s synth` of cdk8s-cli and
 * `kubepin lock` (the compiled bin) running a small strict app, kubepin from the packed tarball.
 * The findings, alone: no compiled-source excerpt, no stack of kubepin's or cdk8s's frames.
 */
const INVALID = 'ghcr.io/Acme/web:1.0';

/** A stack frame of kubepin or of the cdk8s library (cdk8s-cli's own trailer names lib/util.js of cdk8s-cli). */
const INTERNAL_FRAME = /^[\s|]+at .*(kubepin|node_modules\/cdk8s\/lib|policy-findings)/m;

describe('an invalid image in a strict app prints the findings alone', () => {
  let work: string;
  let dir: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-synth-errors-'));
    dir = path.join(work, 'app');
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.symlinkSync(packedKubepin().dir, path.join(dir, 'node_modules', 'kubepin'));
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function writeApp(container: string): void {
    fs.writeFileSync(path.join(dir, 'main.js'), `const { App, Chart, ApiObject } = require('cdk8s');
const { ImagePolicy } = require('kubepin/cdk8s');
const app = new App();
new ImagePolicy(app, 'images', { strict: true });
const chart = new Chart(app, 'shop');
new ApiObject(chart, 'web', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [${container}] } });
app.synth();
`);
  }

  test('strict cdk8s synth: the finding with its fix, no source excerpt or stack; KUBEPIN_DEBUG=1 keeps the stack', () => {
    writeApp(`{ name: 'web', image: '${INVALID}' }`);
    const synth = cdk8sSynth(dir, offlineEnv(work));
    const output = `${synth.stdout}${synth.stderr}`;
    expect(synth.code).not.toBe(0);
    expect(output).toContain('kubepin image policy: 1 error(s) in chart shop:\n  [shop/web] error invalid-image Pod web spec.containers[0].image: invalid image reference "ghcr.io/Acme/web:1.0"');
    expect(output).toContain('Fix: use "ghcr.io/acme/web:1.0"');
    expect(output).not.toMatch(INTERNAL_FRAME);
    expect(output).not.toContain('throw sinks.fail');
    expect(output).not.toContain('ImagePolicyError:');

    const debug = cdk8sSynth(dir, offlineEnv(work, { KUBEPIN_DEBUG: '1' }));
    expect(`${debug.stdout}${debug.stderr}`).toMatch(INTERNAL_FRAME);
  }, 120000);

  test('a validation error of the policy (addValidation) prints without a stack too', () => {
    writeApp(`{ name: 'web', image: 'nginx:1.27.5' }`);
    fs.writeFileSync(path.join(dir, 'main.js'), fs.readFileSync(path.join(dir, 'main.js'), 'utf8').replace("{ strict: true }", "{ strict: true, pullPolicy: 'Sometimes' }"));
    const synth = cdk8sSynth(dir, offlineEnv(work));
    const output = `${synth.stdout}${synth.stderr}`;
    expect(synth.code).not.toBe(0);
    expect(output).toContain('Validation failed with the following errors:\n  [images] pullPolicy "Sometimes" is not one of Always, IfNotPresent, Never');
    expect(output).not.toMatch(INTERNAL_FRAME);
  }, 120000);

  test('app-mode kubepin lock: the findings alone, no generic fix; --debug shows the app\'s stack', () => {
    writeApp(`{ name: 'web', image: '${INVALID}' }`);
    const lock = runPackedKubepin(packedKubepin().dir, ['lock', '--no-docker-login'], { cwd: dir, env: offlineEnv(work) });
    expect(lock.code).toBe(1);
    expect(lock.stdout).toBe('');
    expect(lock.stderr).toBe([
      "kubepin lock: running `node main.js` (cdk8s.yaml) to learn its images stopped on its image policy's errors:",
      'kubepin image policy: 1 error(s) in chart shop:',
      '  [shop/web] error invalid-image Pod web spec.containers[0].image: invalid image reference "ghcr.io/Acme/web:1.0": repository name "Acme/web" must be lowercase. The kubelet reports InvalidImageName and never starts the container. Fix: use "ghcr.io/acme/web:1.0"',
      '(--debug shows the stack trace)',
      '',
    ].join('\n'));

    const debug = runPackedKubepin(packedKubepin().dir, ['lock', '--debug', '--no-docker-login'], { cwd: dir, env: offlineEnv(work) });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(INTERNAL_FRAME);
    expect(debug.stderr).toContain('Fix: make the app run');
  }, 120000);
});
