import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { pushImage, sha256, startRegistry, TestRegistryDetails, MEDIA_TYPES } from '../support/registry';
import { testRequest } from '../support/registry-http';

const ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

// The harness itself: each setup starts, accepts pushes, and serves what was pushed
// (checked by GETting the manifest bytes and, independently, with skopeo).
describe.each([
  { auth: 'anonymous' as const, tls: false },
  { auth: 'basic' as const, tls: false },
  { auth: 'token' as const, tls: false },
  { auth: 'anonymous' as const, tls: true },
])('test registry auth=$auth tls=$tls', ({ auth, tls }) => {
  let registry: TestRegistryDetails;
  beforeAll(async () => {
    registry = await startRegistry({ auth, tls });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test('serves pushed images under the digests computed from the pushed bytes', async () => {
    const index = await pushImage(registry, 'team/app', '1.0');
    const list = await pushImage(registry, 'team/app', '1.0-list', { format: 'docker-list', platforms: ['linux/amd64', 'linux/arm/v7'] });
    const single = await pushImage(registry, 'team/app', '1.0-docker', { format: 'docker' });
    expect(Object.keys(index.platforms)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(Object.keys(list.platforms)).toEqual(['linux/amd64', 'linux/arm/v7']);
    expect(single.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    // skopeo gets the credentials in an auth file (not on its command line) and, for TLS, our CA.
    const authFile = path.join(registry.dir, 'skopeo-auth.json');
    fs.writeFileSync(authFile, JSON.stringify({ auths: registry.username ? { [registry.host]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } } : {} }), { mode: 0o600 });
    const certDir = path.join(registry.dir, 'skopeo-certs');
    fs.mkdirSync(certDir, { recursive: true });
    if (registry.caFile) fs.copyFileSync(registry.caFile, path.join(certDir, 'ca.crt'));
    const tlsArgs = registry.tls ? ['--cert-dir', certDir] : ['--tls-verify=false'];
    for (const [tag, pushed] of [['1.0', index], ['1.0-list', list], ['1.0-docker', single]] as const) {
      const args = ['inspect', '--raw', ...tlsArgs, '--authfile', authFile, `docker://${registry.host}/team/app:${tag}`];
      // Async: the token server runs in this process and must keep answering while skopeo runs.
      const { stdout: raw } = await promisify(execFile)('skopeo', args, { env: { PATH: process.env.PATH, HOME: registry.dir }, encoding: 'buffer', timeout: 20000 });
      expect(sha256(raw)).toBe(pushed.digest);
      expect(JSON.parse(raw.toString()).mediaType).toBe(pushed.mediaType);
    }
  });

  test('refuses unauthenticated manifest reads when auth is on', async () => {
    const res = await testRequest(`${registry.baseUrl}/v2/team/app/manifests/1.0`, { method: 'HEAD', headers: { Accept: ACCEPT }, caFile: registry.caFile });
    expect(res.status).toBe(auth === 'anonymous' ? 200 : 401);
  });
});
