import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/cli';

/*
 * `kubepin node-config validate FILE` on credential provider configs the kubelet refuses or
 * reads differently than written: each problem named with file, line, field and the kubelet's
 * behaviour; errors exit 1, warnings alone exit 0.
 */
const HEADER = 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n';
const provider = (matchImages: string[], name = 'ecr-credential-provider') =>
  `  - name: ${name}\n    matchImages: ${JSON.stringify(matchImages)}\n    defaultCacheDuration: 12h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n`;

describe('node-config validate on configs the kubelet refuses or reads otherwise', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-validate-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function validate(text: string): Promise<{ code: number; stderr: string }> {
    fs.writeFileSync(path.join(dir, 'config.yaml'), text);
    const run = await runCli(['node-config', 'validate', 'config.yaml'], { cwd: dir });
    return { code: run.code, stderr: run.stderr };
  }

  test('matchImages: "user@" is dropped (a warning, exit 0); an unclosed "[" host is refused (exit 1)', async () => {
    const userinfo = await validate(`${HEADER}providers:\n${provider(['bot@*.dkr.ecr.*.amazonaws.com'])}`);
    expect(userinfo.stderr).toContain('config.yaml:5: warning providers[0].matchImages[0]: "bot@*.dkr.ecr.*.amazonaws.com" has "user@" before the host; the kubelet drops it');
    expect(userinfo.code).toBe(0);
    const bracket = await validate(`${HEADER}providers:\n${provider(['[::1:5000/team'])}`);
    expect(bracket.stderr).toContain('config.yaml:5: error providers[0].matchImages[0]: "[::1:5000/team" has an unclosed "[" in the host; the kubelet refuses the config');
    expect(bracket.code).toBe(1);
    const port = await validate(`${HEADER}providers:\n${provider(['[::1]x5000'])}`);
    expect(port.stderr).toMatch(/has an invalid port "x5000"; the kubelet refuses the config/);
  });

  test('the shape: not a mapping, providers not a list, a provider not a mapping, a name not a string, none at all', async () => {
    expect((await validate('- just\n- a list\n')).stderr).toContain('config.yaml:1: error: a CredentialProviderConfig must be an object, got an array');
    const notList = await validate(`${HEADER}providers: ecr\n`);
    expect(notList.stderr).toMatch(/config\.yaml:3: error providers: must be a list, got string/);
    expect(notList.code).toBe(1);
    expect((await validate(`${HEADER}providers:\n  - ecr\n`)).stderr).toMatch(/config\.yaml:4: error providers\[0\]: must be an object, got string/);
    expect((await validate(`${HEADER}providers:\n${provider(['*.example.com'], '42')}`)).stderr).toMatch(/providers\[0\]\.name: must be a string, got number/);
    expect((await validate(`${HEADER}providers: []\n`)).stderr).toMatch(/error providers: at least one provider is required/);
  });

  test('the file: empty, two documents, or not YAML', async () => {
    const empty = await validate('# nothing here\n');
    expect(empty.stderr).toBe('config.yaml: error: the file is empty\n');
    expect(empty.code).toBe(1);
    const two = await validate(`${HEADER}providers:\n${provider(['*.example.com'])}---\n${HEADER}providers:\n${provider(['*.example.com'])}`);
    expect(two.stderr).toContain('the file holds more than one YAML document; the kubelet reads one CredentialProviderConfig per file');
    expect(two.code).toBe(1);
    const broken = await validate(`${HEADER}providers:\n  - name: [unclosed\n`);
    expect(broken.stderr).toMatch(/config\.yaml:\d+: error.*not valid YAML: /);
    expect(broken.code).toBe(1);
  });

  test('a FIFO is reported, not read (validate and check --node-config would block on it)', async () => {
    execFileSync('mkfifo', [path.join(dir, 'config.fifo')]);
    const validated = await runCli(['node-config', 'validate', 'config.fifo'], { cwd: dir });
    expect(validated.stderr).toBe('config.fifo: error: not a regular file (a FIFO); only regular files are read. Fix: remove it or point kubepin at the files themselves\n');
    expect(validated.code).toBe(1);
    fs.writeFileSync(path.join(dir, 'app.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: c, image: "ghcr.io/acme/api:1" }] }\n');
    const checked = await runCli(['check', 'app.yaml', '--node-config', 'config.fifo'], { cwd: dir });
    expect(checked.stderr).toContain('config.fifo: cannot read the node config.json (not a regular file (a FIFO)');
    expect(checked.code).toBe(2);
  });
});

