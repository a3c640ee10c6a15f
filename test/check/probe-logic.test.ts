import { CredentialKeyring } from '../../lib/core/credentials/keyring';
import { ImageReference } from '../../lib/core/names/image-reference';
import { checkManifests } from '../../lib/check';
import { ManifestAnswer, ManifestProber, ProbeCredential, probePlans } from '../../lib/check/probe';

// Unit tests of the kubelet's credential order with a scripted registry; the real-registry
// oracle matrix is in probe-oracle.test.ts.
function scripted(answers: (image: ImageReference, credential: ProbeCredential | undefined) => ManifestAnswer): { prober: ManifestProber; calls: Array<string | undefined> } {
  const calls: Array<string | undefined> = [];
  return {
    calls,
    prober: async (image, credential) => {
      calls.push(credential?.username);
      return answers(image, credential);
    },
  };
}

const secret = (name: string, registry: string, username: string) => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/dockerconfigjson',
  stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [registry]: { username, password: `${username}-pw` } } }) },
});
const pod = (image: string, secrets: string[] = []) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' },
  spec: { imagePullSecrets: secrets.map((name) => ({ name })), containers: [{ name: 'c', image }] },
});

describe('probePlans', () => {
  test('tries pod secrets most specific key first, stops at the first success', async () => {
    const { plans } = checkManifests([secret('wide', 'reg.example.com', 'wide'), secret('narrow', 'reg.example.com/team', 'narrow'), pod('reg.example.com/team/app:1', ['wide', 'narrow'])]);
    const { prober, calls } = scripted((_i, c) => (c?.username === 'wide' ? { outcome: 'found', digest: 'sha256:x' } : { outcome: 'unauthorized', status: 401 }));
    const { findings, probes } = await probePlans(plans, { prober });
    expect(calls).toEqual(['narrow', 'wide']);
    expect(findings).toEqual([]);
    expect(probes[0]).toMatchObject({ prediction: 'pulls', attempts: [{ source: 'narrow', outcome: 'unauthorized' }, { source: 'wide', outcome: 'found' }] });
  });

  test('no anonymous retry once a credential matched: a stale secret for an open registry fails the pull', async () => {
    const { plans } = checkManifests([secret('stale', 'reg.example.com', 'old'), pod('reg.example.com/app:1', ['stale'])]);
    const { prober, calls } = scripted((_i, c) => (c ? { outcome: 'unauthorized', status: 401 } : { outcome: 'found' }));
    const { findings, probes } = await probePlans(plans, { prober });
    expect(calls).toEqual(['old']);
    expect(findings[0]).toMatchObject({ code: 'pull-fails', severity: 'error', state: 'ErrImagePull' });
    expect(findings[0].message).toMatch(/does not retry anonymously.*ImagePullBackOff, retrying after 10s, 20s, 40s, 80s, 160s, then every 300s/);
    expect(probes[0].backoffSeconds).toEqual([10, 20, 40, 80, 160, 300]);
  });

  test('node config credentials come after pod secrets; anonymous only when nothing matched', async () => {
    const node = new CredentialKeyring().addEntry('/var/lib/kubelet/config.json', 'reg.example.com', { username: 'node', password: 'node-pw' });
    const { plans } = checkManifests([pod('reg.example.com/app:1'), { ...pod('other.example.com/app:1'), metadata: { name: 'q' } }]);
    const { prober, calls } = scripted(() => ({ outcome: 'found' }));
    const { probes } = await probePlans(plans, { prober, nodeCredentials: node });
    expect(calls).toEqual(['node', undefined]);
    expect(probes.map((p) => p.attempts[0].stage)).toEqual(['node-config', 'anonymous']);
  });

  test('404, unreachable and TLS failures are predicted with their cause; identical requests are made once', async () => {
    const { plans } = checkManifests([pod('reg.example.com/app:missing'), pod('down.example.com/app:1'), pod('tls.example.com/app:1'), pod('reg.example.com/app:missing')]);
    const { prober, calls } = scripted((i) => (i.registry === 'reg.example.com' ? { outcome: 'not-found', status: 404 }
      : i.registry === 'down.example.com' ? { outcome: 'unreachable', detail: 'ECONNREFUSED' } : { outcome: 'tls', detail: 'self-signed certificate' }));
    const { findings } = await probePlans(plans, { prober });
    expect(calls).toHaveLength(3);
    expect(findings.map((f) => f.code)).toEqual(['pull-fails', 'pull-fails', 'pull-fails', 'pull-fails']);
    expect(findings[0].message).toMatch(/^reg\.example\.com has no manifest for reg\.example\.com\/app:missing \(404 to an anonymous pull\): the tag "missing" does not exist in app\. The kubelet reports ErrImagePull, then ImagePullBackOff, retrying after .*\. Fix: push the image or correct the tag$/);
    expect(findings[1].message).toMatch(/^down\.example\.com is unreachable \(ECONNREFUSED\)/);
    expect(findings[2].message).toMatch(/^TLS with tls\.example\.com failed \(self-signed certificate\)/);
    expect(findings[3].message).toBe(findings[0].message);
  });

  test('cluster secrets and credential providers make the outcome unknown instead of guessed', async () => {
    const { plans } = checkManifests([pod('reg.example.com/app:1', ['in-cluster'])], { clusterSecrets: ['ns/in-cluster'] });
    const { prober, calls } = scripted(() => ({ outcome: 'unauthorized', status: 401 }));
    const { findings } = await probePlans(plans, { prober });
    expect(calls).toEqual([]);
    expect(findings[0]).toMatchObject({ code: 'pull-uncertain', severity: 'warning' });
    expect(findings[0].message).toMatch(/Secret in-cluster/);
  });

  test('a malformed secret fails every pull without asking the registry', async () => {
    const bad = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{"x.io":{"auth":"%%"}}}' } };
    const { plans } = checkManifests([bad, pod('nginx:1.27', ['bad'])]);
    const { prober, calls } = scripted(() => ({ outcome: 'found' }));
    const { findings } = await probePlans(plans, { prober });
    expect(calls).toEqual([]);
    expect(findings[0]).toMatchObject({ code: 'pull-fails', state: 'ErrImagePull' });
  });

  test('after a 404 the next credential is still tried (registries may hide private repositories)', async () => {
    const { plans } = checkManifests([secret('a', 'reg.example.com/team', 'a'), secret('b', 'reg.example.com', 'b'), pod('reg.example.com/team/app:1', ['a', 'b'])]);
    const { prober, calls } = scripted((_i, c) => (c?.username === 'b' ? { outcome: 'found' } : { outcome: 'not-found', status: 404 }));
    const { probes } = await probePlans(plans, { prober });
    expect(calls).toEqual(['a', 'b', undefined]);
    expect(probes[0]).toMatchObject({ prediction: 'pulls', anonymousPulls: false });
  });

  test('same-named Secrets in two namespaces are different credentials', async () => {
    const inNs = (ns: string, password: string) => ({ ...secret('reg', 'reg.example.com', 'bot'), metadata: { name: 'reg', namespace: ns }, stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'reg.example.com': { username: 'bot', password } } }) } });
    const podIn = (ns: string) => ({ ...pod('reg.example.com/app:1', ['reg']), metadata: { name: 'p', namespace: ns } });
    const { plans } = checkManifests([inNs('a', 'good'), inNs('b', 'bad'), podIn('a'), podIn('b')]);
    const { prober } = scripted((_i, c) => (c?.password === 'good' ? { outcome: 'found' } : { outcome: 'unauthorized', status: 401 }));
    const { probes } = await probePlans(plans, { prober });
    expect(probes.map((p) => p.prediction)).toEqual(['pulls', 'fails']);
  });

  test('no password in probes or findings', async () => {
    const { plans } = checkManifests([secret('s', 'reg.example.com', 'user'), pod('reg.example.com/app:1', ['s'])]);
    const { prober } = scripted(() => ({ outcome: 'forbidden', status: 403 }));
    const out = await probePlans(plans, { prober });
    expect(JSON.stringify(out)).not.toContain('user-pw');
  });
});
