import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The real `helm` and `kustomize` the engine build puts beside Pulumi's engine
 * (scripts/install-pulumi-engine.sh). A missing tool fails the test with how to get it: never a skip.
 */
export function engineBinDir(): string {
  return process.env.KUBEPIN_ENGINE_BIN ?? path.join(process.env.KUBEPIN_ENGINE_HOME ?? path.join(os.homedir(), '.cache', 'kubepin-engine'), 'bin');
}

/** The engine build's helm. @throws when it is not built */
export function helmBinary(): string {
  const helm = path.join(engineBinDir(), 'helm');
  if (!fs.existsSync(helm)) throw new Error(`helm is not built at ${helm}, so the chart tests cannot run. Fix: bash scripts/install-pulumi-engine.sh (it builds helm beside Pulumi's engine)`);
  return helm;
}

/** The engine build's kustomize. @throws when it is not built */
export function kustomizeBinary(): string {
  const kustomize = path.join(engineBinDir(), 'kustomize');
  if (!fs.existsSync(kustomize)) throw new Error(`kustomize is not built at ${kustomize}, so the kustomize tests cannot run. Fix: bash scripts/install-pulumi-engine.sh (it builds kustomize beside Pulumi's engine)`);
  return kustomize;
}

/** A directory holding links to exactly `tools` (name → path): a PATH that has them and nothing else (no pulumi). */
export function toolsPath(tools: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-tools-'));
  for (const [name, target] of Object.entries(tools)) fs.symlinkSync(target, path.join(dir, name));
  return dir;
}
