import { execFileSync } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** Which of `packages` a fresh Node process has loaded after requiring `module` (from the sources). */
function loaded(module: string, packages: string[]): string[] {
  const script = `require(${JSON.stringify(path.join(ROOT, module))}); const keys = Object.keys(require.cache); process.stdout.write(JSON.stringify(${JSON.stringify(packages)}.filter((p) => keys.some((k) => k.includes('/node_modules/' + p + '/')))));`;
  return JSON.parse(execFileSync(process.execPath, ['-r', path.join(ROOT, 'scripts', 'ts-register.js'), '-e', script], { cwd: ROOT }).toString());
}

describe('start-up loads only what a command needs', () => {
  test('kubepin check does not load yaml before it reads a manifest (credential-provider-config no longer pulls it in)', () => {
    expect(loaded('lib/cli/check.ts', ['yaml'])).toEqual([]);
    // The walker itself can see a loaded package.
    expect(loaded('lib/core/manifests/manifests.ts', ['yaml']).length + loaded('lib/node/files.ts', ['yaml']).length).toBeGreaterThan(0);
  });
});
