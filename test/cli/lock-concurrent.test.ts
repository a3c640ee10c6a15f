import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PushClient, pushImage, PushedImage, startRegistry, TestRegistryDetails } from '../support/registry';
import { deploymentYaml, tempProject, writeFiles } from '../support/registry-cli';

/*
 * Two `kubepin lock` processes on one lock file, at once, each with 1,000 images of its own:
 * the lock ends with all 2,000 entries (each save merges under the O_EXCL lock file), five
 * times in a row. Real processes, a real registry.
 */
const REPO = path.resolve(__dirname, '..', '..');
const IMAGES_PER_RUN = 1000;
const ROUNDS = 5;

describe('concurrent kubepin lock runs', () => {
  let registry: TestRegistryDetails;
  let dir: string;
  let image: PushedImage;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'bulk/app', 'seed', { format: 'oci' });
    // 2,000 tags of one manifest: tagging is a manifest PUT of the same bytes.
    const res = await fetch(`${registry.baseUrl}/v2/bulk/app/manifests/seed`, { headers: { Accept: image.mediaType } });
    const body = Buffer.from(await res.arrayBuffer());
    const client = new PushClient(registry, 'bulk/app');
    const tags = Array.from({ length: 2 * IMAGES_PER_RUN }, (_, i) => `t${i}`);
    for (let i = 0; i < tags.length; i += 50) await Promise.all(tags.slice(i, i + 50).map((tag) => client.putManifest(tag, body, image.mediaType)));
  }, 120000);

  afterAll(async () => {
    await registry?.stop();
  });

  beforeEach(() => {
    dir = tempProject('kubepin-concurrent-');
    // 100 Deployments of 10 containers per run: tags t0…t999 for one, t1000…t1999 for the other.
    for (const [name, offset] of [['a', 0], ['b', IMAGES_PER_RUN]] as const) {
      const docs: string[] = [];
      for (let d = 0; d < IMAGES_PER_RUN / 10; d++) {
        docs.push(deploymentYaml(`${name}${d}`, Array.from({ length: 10 }, (_, c) => `${registry.host}/bulk/app:t${offset + d * 10 + c}`)));
      }
      writeFiles(dir, { [`${name}.yaml`]: docs.join('---\n') });
    }
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function lock(manifest: string): Promise<{ code: number | null; output: string }> {
    const code = `require(${JSON.stringify(path.join(REPO, 'lib', 'cli', 'main'))}).main(process.argv.slice(1), require(${JSON.stringify(path.join(REPO, 'lib', 'cli', 'main'))}).processIo()).then((c) => { process.exitCode = c; })`;
    const child = spawn(process.execPath, ['-r', path.join(REPO, 'scripts', 'ts-register.js'), '-e', code, 'lock', manifest, '--no-docker-login'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    return new Promise((resolve) => child.on('close', (c) => resolve({ code: c, output: Buffer.concat(chunks).toString('utf8') })));
  }

  test(`two runs at once keep all ${2 * IMAGES_PER_RUN} entries, ${ROUNDS} times in a row`, async () => {
    const file = path.join(dir, 'kubepin.lock.json');
    for (let round = 0; round < ROUNDS; round++) {
      fs.rmSync(file, { force: true });
      const [a, b] = await Promise.all([lock('a.yaml'), lock('b.yaml')]);
      expect(a).toEqual({ code: 0, output: expect.stringContaining(`${IMAGES_PER_RUN} resolved (${IMAGES_PER_RUN} new, 0 changed)`) });
      expect(b).toEqual({ code: 0, output: expect.stringContaining(`${IMAGES_PER_RUN} resolved (${IMAGES_PER_RUN} new, 0 changed)`) });
      const entries = JSON.parse(fs.readFileSync(file, 'utf8')).images as Record<string, { digest: string }>;
      expect(Object.keys(entries)).toHaveLength(2 * IMAGES_PER_RUN);
      for (let i = 0; i < 2 * IMAGES_PER_RUN; i++) expect(entries[`${registry.host}/bulk/app:t${i}`]?.digest).toBe(image.digest);
      // The lock file and temporary files are gone.
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('.kubepin.lock.json') || f.startsWith('kubepin.lock.json.'))).toEqual([]);
    }
  }, 240000);
});
