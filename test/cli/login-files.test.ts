import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configuredMirrors, machineLoginFiles } from '../../lib/cli/registry-options';

describe('the login files kubepin reads, in containers-auth.json(5)\'s order', () => {
  test('primary (REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR), then $XDG_CONFIG_HOME (default ~/.config), then Docker\'s', () => {
    expect(machineLoginFiles({ HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' })).toEqual(['/run/user/1/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json']);
    expect(machineLoginFiles({ HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1', REGISTRY_AUTH_FILE: '/ci/auth.json', XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/d' }))
      .toEqual(['/ci/auth.json', '/cfg/containers/auth.json', '/d/config.json']);
    expect(machineLoginFiles({ HOME: '/h' })).toEqual(['/h/.config/containers/auth.json', '/h/.docker/config.json']);
  });

  test('kubepin.config.json\'s mirrors: read, and refused when malformed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-mirrors-'));
    try {
      const file = path.join(dir, 'kubepin.config.json');
      fs.writeFileSync(file, JSON.stringify({ mirrors: { 'docker.io': 'mirror.example:5000' } }));
      expect(configuredMirrors(file)).toEqual({ 'docker.io': 'mirror.example:5000' });
      fs.writeFileSync(file, JSON.stringify({ mirrors: ['docker.io=mirror.example:5000'] }));
      expect(() => configuredMirrors(file)).toThrow(/mirrors must be an object mapping a registry to its mirror/);
      fs.writeFileSync(file, JSON.stringify({ mirrors: { 'docker.io': 5000 } }));
      expect(() => configuredMirrors(file)).toThrow(/mirrors\.docker\.io: the mirror must be a host\[:port\] string/);
      expect(configuredMirrors(path.join(dir, 'missing.json'))).toEqual({});
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
