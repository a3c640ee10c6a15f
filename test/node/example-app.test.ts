import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import { parse } from 'yaml';
import { buildShopApp } from '../../examples/cdk8s/main';
import { NodeCredentialConfig } from '../../lib/cdk8s/node-credential-config';
import { registryKeyMatches } from '../../lib/core/credentials/keyring';
import { loadManifests } from '../../lib/core/manifests/manifests';
import { imageLookupName, imagesOfObjects, nodeKeyring, validateCredentialProviderConfig } from '../../lib/node';

// The example finds kubepin.lock.json from the working directory (the repository root).
const ROOT = path.join(__dirname, '..', '..');

describe('node credentials for the example app (examples/cdk8s)', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-example-node-'));
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const app = buildShopApp(new App({ outdir }));
      // A Docker Hub mirror plugin serves the official images only, never another Hub namespace.
      new NodeCredentialConfig(app, 'NodeCredentials', {
        credentialProviders: [{ name: 'hub-mirror-credential-provider', registries: ['docker.io'], defaultCacheDuration: '1h' }],
        exclude: ['docker.io/bitnami', 'docker.io/acme'],
      });
      app.synth();
    } finally {
      process.chdir(cwd);
    }
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('covers every Docker Hub image of the synthesized example and nothing the test lists', () => {
    const images = imagesOfObjects(loadManifests([outdir]).documents.map((d) => d.object));
    expect(images.length).toBeGreaterThanOrEqual(4);
    const config = parse(fs.readFileSync(path.join(outdir, 'node', 'credential-provider-config.yaml'), 'utf8'));
    expect(validateCredentialProviderConfig(config)).toEqual([]);
    const matchImages: string[] = config.providers[0].matchImages;
    expect(matchImages).toEqual(['docker.io/library']);
    const names = images.map(imageLookupName);
    for (const name of names.filter((n) => n.startsWith('docker.io/'))) expect(matchImages.some((m) => registryKeyMatches(m, name))).toBe(true);
    for (const name of [...names.filter((n) => !n.startsWith('docker.io/')), 'docker.io/bitnami/redis', 'docker.io/acme/shop', 'registry.k8s.io/pause', 'index.docker.io/library/nginx', 'ghcr.io/library/nginx']) {
      expect(matchImages.filter((m) => registryKeyMatches(m, name))).toEqual([]);
    }
    const keyring = nodeKeyring({ credentialProviderConfig: path.join(outdir, 'node', 'credential-provider-config.yaml') });
    for (const image of images.filter((i) => imageLookupName(i).startsWith('docker.io/library/'))) {
      expect(keyring.lookup(image)).toEqual([{ stage: 'credential-provider', source: 'hub-mirror-credential-provider', key: 'docker.io/library' }]);
    }
  });
});
