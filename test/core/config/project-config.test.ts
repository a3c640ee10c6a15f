import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_CONFIG_SECTIONS, loadProjectConfig } from '../../../lib/core/config/project-config';

const LIB = path.join(__dirname, '..', '..', '..', 'lib');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('kubepin.config.json\'s sections', () => {
  test('every section a module reads (config.data.<section>) is a known key, and every known key is read somewhere', () => {
    const read = new Set(sources(LIB).flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(/config[?!]?\.data\??\.([A-Za-z]+)/g)].map((m) => m[1])));
    expect([...read].sort()).toEqual([...PROJECT_CONFIG_SECTIONS].sort());
  });

  test('a file with every section is accepted; one more key is refused naming the file and the nearest key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sections-'));
    try {
      const file = path.join(dir, 'kubepin.config.json');
      fs.writeFileSync(file, JSON.stringify(Object.fromEntries(PROJECT_CONFIG_SECTIONS.map((k) => [k, {}]))));
      expect(Object.keys(loadProjectConfig(file)!.data).sort()).toEqual([...PROJECT_CONFIG_SECTIONS].sort());
      fs.writeFileSync(file, JSON.stringify({ mirror: {} }));
      expect(() => loadProjectConfig(file)).toThrow(/kubepin\.config\.json: unknown field "mirror" \(did you mean "mirrors"\?\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
