/**
 * The engine scripts/install-pulumi-engine.sh builds is the one our npm packages expect: the pulumi
 * CLI at @pulumi/pulumi's version, a Kubernetes provider that reports @pulumi/kubernetes's version
 * (so the engine takes the ambient plugin without a version warning), and the binaries answer.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO, engineBin } from '../../support/engine';

const script = fs.readFileSync(path.join(REPO, 'scripts', 'install-pulumi-engine.sh'), 'utf8');
const pinned = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(script)?.[1];
const locked = (pkg: string) => JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')).packages[`node_modules/${pkg}`].version as string;
const version = (binary: string, ...args: string[]) => {
  const r = spawnSync(path.join(engineBin(), binary), args, { encoding: 'utf8', timeout: 30000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true' } });
  if (r.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}${r.error ?? ''}`);
  return r.stdout.trim();
};

describe('the engine build is pinned to the versions our npm packages expect', () => {
  test('the script pins @pulumi/pulumi\'s and @pulumi/kubernetes\'s versions from package-lock.json', () => {
    expect(pinned('PULUMI_VERSION')).toBe(locked('@pulumi/pulumi'));
    expect(pinned('K8S_PROVIDER_REPORTED_VERSION')).toBe(locked('@pulumi/kubernetes'));
  });

  test('the built binaries report those versions', () => {
    expect(version('pulumi', 'version')).toBe(`v${locked('@pulumi/pulumi')}`);
    expect(version('pulumi-language-nodejs', '-version')).toBe(`v${locked('@pulumi/pulumi')}`);
    expect(version('helm', 'version', '--short')).toMatch(new RegExp(`^${pinned('HELM_VERSION')!.replace(/\./g, '\\.')}`));
    expect(version('kustomize', 'version')).toBe(pinned('KUSTOMIZE_VERSION'));
    // The provider's plugin version is what the engine reads over gRPC; its schema carries it too.
    expect(fs.statSync(path.join(engineBin(), 'pulumi-resource-kubernetes')).size).toBeGreaterThan(10 * 1024 * 1024);
  });
});
