import { RegistryClient } from '../../lib/registry';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { pushImage, startRegistry, TestRegistryDetails } from '../support/registry';

const MANIFEST = /\/manifests\//;
const INDEX = 'application/vnd.oci.image.index.v1+json';

describe('item 9: error messages are size-capped whatever the registry sends', () => {
  let registry: TestRegistryDetails;
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    await pushImage(registry, 'big/app', '1.0');
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test('a 19,000-entry index without the asked platform: a short message naming a few platforms and counting the rest (here: entries whose platform cannot be read)', async () => {
    const manifests = Array.from({ length: 19_000 }, (_, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: 1, platform: { os: 'linux', architecture: `arch${i}\u001b[2K` } }));
    proxy.add({ method: 'HEAD', path: MANIFEST, fault: { kind: 'status', status: 200, headers: {} } });
    proxy.add({ method: 'GET', path: MANIFEST, fault: { kind: 'status', status: 200, headers: { 'content-type': INDEX }, body: JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }) } });
    const client = new RegistryClient({ retries: 0, timeoutMs: 5000 });
    try {
      const error = await client.resolve(`${proxy.host}/big/app:1.0`, { platforms: ['linux/s390x'] }).then(() => undefined, (e: Error) => e);
      // Platforms with control characters are not platforms (indexPlatforms, the one reading of an index): counted, never echoed.
      expect(error?.message).toMatch(/no linux\/s390x manifest \(it has none; 19000 entries name no platform of the form os\/arch\[\/variant\]\)$/);
      expect(error!.message.length).toBeLessThan(2000);
      // eslint-disable-next-line no-control-regex
      expect(error!.message).not.toMatch(/[\u0000-\u001f]/);
    } finally {
      client.close();
    }
  });
});
