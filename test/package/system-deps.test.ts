import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/*
 * scripts/install-system-deps.sh, which `npm test` (pretest) and .ci/run run first. On a machine
 * without the Debian parts it must stop at once with the exact command, not leave fifty suites
 * to fail; the test points its checks at an empty root and forbids installing to see that.
 */
const REPO = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(REPO, 'scripts', 'install-system-deps.sh');

function runScript(env: Record<string, string>) {
  const result = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 30000, env: { PATH: process.env.PATH, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('npm test and .ci/run both run it', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  expect(pkg.scripts.pretest).toBe('bash scripts/install-system-deps.sh');
  expect(fs.readFileSync(path.join(REPO, '.ci', 'run'), 'utf8')).toMatch(/^bash scripts\/install-system-deps\.sh$/m);
});

test('with everything missing and no way to install, it fails at once with the exact apt-get command', () => {
  const result = runScript({ KUBEPIN_SYSTEM_ROOT: '/nonexistent-kubepin-root', KUBEPIN_SYSTEM_DEPS_NO_INSTALL: '1' });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('apt-get update && apt-get install -y --no-install-recommends docker-registry skopeo podman runc busybox-static openssl curl');
});

test('on this machine (the tests need the parts) it passes and prints nothing', () => {
  const result = runScript({ KUBEPIN_SYSTEM_DEPS_NO_INSTALL: '1' });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});
