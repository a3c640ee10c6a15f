/**
 * The OCI 1.1 referrers API in front of a real registry that lacks it (Debian's distribution
 * 2.8): every request is forwarded to the registry; a manifest PUT with a `subject` is recorded
 * as a referrer of that digest, and `GET /v2/<repo>/referrers/<digest>` answers the OCI index of
 * the recorded referrers (filtered by `artifactType`, with `OCI-Filters-Applied`), as
 * distribution 3 and the large registries do. Plain HTTP on 127.0.0.1, anonymous registries.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import type { TestRegistry } from './registry';

export interface ReferrersProxy extends TestRegistry {
  /** `GET …/referrers/…` requests answered. */
  readonly referrersRequests: string[];
}

export async function startReferrersProxy(upstream: TestRegistry): Promise<ReferrersProxy> {
  const referrers = new Map<string, Array<Record<string, unknown>>>();
  const referrersRequests: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const api = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (api && req.method === 'GET') {
        referrersRequests.push(url.pathname + url.search);
        const filter = url.searchParams.get('artifactType');
        const all = referrers.get(`${api[1]}@${api[2]}`) ?? [];
        const manifests = filter ? all.filter((d) => d.artifactType === filter) : all;
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', ...(filter ? { 'oci-filters-applied': 'artifactType' } : {}) });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
        return;
      }
      const put = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(url.pathname);
      const forward = http.request({ host: '127.0.0.1', port: Number(upstream.host.split(':')[1]), method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
        if (put && req.method === 'PUT' && up.statusCode === 201) record(put[1], body, String(req.headers['content-type'] ?? ''));
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  function record(repository: string, body: Buffer, mediaType: string): void {
    let manifest: Record<string, any>;
    try {
      manifest = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    const subject = manifest?.subject?.digest;
    if (typeof subject !== 'string') return;
    const key = `${repository}@${subject}`;
    const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
    const digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
    referrers.set(key, [...(referrers.get(key) ?? []).filter((d) => d.digest !== digest), { mediaType: manifest.mediaType ?? mediaType, digest, size: body.length, ...(artifactType ? { artifactType } : {}) }]);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    auth: 'anonymous',
    tls: false,
    referrersRequests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
