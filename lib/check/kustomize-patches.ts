import * as path from 'path';
import { readRegularFile } from '../util/fs/read-regular-file';
import { isObject } from '../core/objects/pod-templates';

/** The names kustomize reads a kustomization from. */
const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/** True for a kustomization file (`kustomization.yaml`): kustomize's configuration, not a manifest. */
export function isKustomizationFile(file: string): boolean {
  return KUSTOMIZATION_NAMES.has(path.basename(file));
}

/**
 * The files the kustomizations among `files` list as patches (`patchesStrategicMerge`,
 * `patches[].path`, `patchesJson6902[].path`), each mapped to the kustomization that lists it.
 * A patch is a partial object kustomize merges into a resource (a container with a name and no
 * image is normal there), so `kubepin check` does not check it as a manifest of its own.
 * @see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/
 */
export function kustomizePatchFiles(files: readonly string[], cwd: string): Map<string, string> {
  const patches = new Map<string, string>();
  for (const file of files) {
    if (!isKustomizationFile(file)) continue;
    const absolute = path.resolve(cwd, file);
    const text = readRegularFile(absolute, 1024 * 1024);
    if (typeof text !== 'string') continue;
    let data: unknown;
    try {
      // Loaded only when a kustomization is among the files: `kubepin check` starts without yaml.
      data = (require('yaml') as typeof import('yaml')).parse(text);
    } catch {
      continue; // The loader reports the unreadable file itself.
    }
    if (!isObject(data)) continue;
    const listed = [
      ...(Array.isArray(data.patchesStrategicMerge) ? data.patchesStrategicMerge : []),
      ...[data.patches, data.patchesJson6902].flatMap((list) => (Array.isArray(list) ? list.map((p) => (isObject(p) ? p.path : undefined)) : [])),
    ];
    const dir = path.dirname(absolute);
    for (const entry of listed) {
      // Inline patches (a YAML text) are not files.
      if (typeof entry === 'string' && entry !== '' && !entry.includes('\n')) patches.set(path.resolve(dir, entry), file);
    }
  }
  return patches;
}
