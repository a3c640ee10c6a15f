import * as fs from 'fs';
import * as path from 'path';

/** Tools whose `login` writes a file kubepin reads (Docker's config, or containers-auth.json), in the order suggested. */
const LOGIN_TOOLS = ['docker', 'podman', 'skopeo', 'buildah'] as const;

const found = new Map<string, string | undefined>();

/**
 * The login command for `host` with a tool on this machine's PATH (`podman login ghcr.io` where
 * only podman is installed); `docker login` when none is found.
 */
export function loginCommand(host: string, env: NodeJS.ProcessEnv = process.env): string {
  const searchPath = env.PATH ?? '';
  if (!found.has(searchPath)) found.set(searchPath, LOGIN_TOOLS.find((tool) => onPath(tool, searchPath)));
  return `${found.get(searchPath) ?? 'docker'} login ${host}`;
}

function onPath(tool: string, searchPath: string): boolean {
  return searchPath.split(path.delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return fs.statSync(path.join(dir, tool)).isFile();
    } catch {
      return false;
    }
  });
}
