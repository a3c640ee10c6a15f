import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerConfigCredentials } from '../../lib/registry';
import { runKubepin } from '../support/registry-cli';

/*
 * The developer's Docker config ($DOCKER_CONFIG/config.json) as kubepin lock reads it: missing is
 * no credentials; anything but a regular file (a FIFO would block, a device never ends) is a
 * clear error before any registry is asked.
 */
describe('the Docker config kubepin lock reads', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-docker-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('missing: no credentials, no error', () => {
    expect(() => DockerConfigCredentials.fromEnvironment({ DOCKER_CONFIG: path.join(dir, 'none') })).not.toThrow();
  });

  test('a FIFO where config.json should be: kubepin lock stops with the file and why, without blocking', async () => {
    const config = path.join(dir, 'fifo');
    fs.mkdirSync(config);
    execFileSync('mkfifo', [path.join(config, 'config.json')]);
    fs.writeFileSync(path.join(dir, 'app.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: c, image: "127.0.0.1:9/acme/api:1" }] }\n');
    const run = await runKubepin(['lock', 'app.yaml'], { cwd: dir, env: { DOCKER_CONFIG: config } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path.join(config, 'config.json')}: cannot read the Docker config: not a regular file (a FIFO)`);
    expect(fs.existsSync(path.join(dir, 'kubepin.lock.json'))).toBe(false);
  });
});
