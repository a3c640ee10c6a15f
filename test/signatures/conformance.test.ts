import * as fs from 'fs';
import * as path from 'path';
import { parsePublicKey } from '../../lib/signatures/keys';
import { parseTrustedRoot } from '../../lib/signatures/trusted-root';
import { verifyArtifactBundle } from '../../lib/signatures/artifact';
import type { BundleRequirement } from '../../lib/signatures/bundle';

/*
 * kubepin's verifier over the verification cases of the public sigstore-conformance suite
 * (test/fixtures/sigstore-conformance/README.md: source, commit, licence). Each directory is a
 * bundle with its expected verdict (a name ending in `_fail` must be refused), the artifact (or
 * the suite's a.txt), the identity and issuer (or the suite's defaults), a key for managed-key
 * cases, and a trusted root (or the public-good one: the trusted_root.json embedded in
 * @sigstore/tuf, pinned, no network). Verified as kubepin verifies: offline, a log entry and an
 * SCT required for keyless signatures, identities matched exactly.
 */
const SUITE = path.join(__dirname, '..', 'fixtures', 'sigstore-conformance', 'bundle-verify');
const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';


function publicGoodRoot(): string {
  const seeds = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('@sigstore/tuf')), '..', 'seeds.json'), 'utf8')) as Record<string, { targets: Record<string, string> }>;
  return Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8');
}

const cases = fs.readdirSync(SUITE, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('the sigstore-conformance verification cases', () => {
  const publicGood = parseTrustedRoot(publicGoodRoot(), 'public-good trusted_root.json (@sigstore/tuf seed)');
  const file = (dir: string, name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name)) : undefined);

  test('the suite is all here: every case has a bundle', () => {
    expect(cases.length).toBe(70);
    for (const c of cases) expect(fs.existsSync(path.join(SUITE, c, 'bundle.sigstore.json'))).toBe(true);
  });

  for (const name of cases) {
    const expectFail = name.endsWith('_fail');
    test(`${name}: ${expectFail ? 'refused' : 'verifies'}`, async () => {
      const dir = path.join(SUITE, name);
      const rootText = file(dir, 'trusted_root.json')?.toString('utf8');
      let root;
      try {
        root = rootText ? parseTrustedRoot(rootText, `${name}/trusted_root.json`) : publicGood;
      } catch (e) {
        // A trusted root kubepin refuses to load is a configuration error: the bundle is never trusted.
        expect(expectFail).toBe(true);
        return;
      }
      const keyFile = file(dir, 'key.pub');
      let key;
      try {
        key = keyFile && parsePublicKey(keyFile, `${name}/key.pub`);
      } catch (e) {
        // A key file kubepin cannot read is a configuration error, as above.
        expect(expectFail).toBe(true);
        return;
      }
      const requirement: BundleRequirement = key
        ? { keys: [key], where: name, tlog: 'required', trustedRoot: root }
        : { keys: [], where: name, keyless: [{ identity: file(dir, 'identity')?.toString('utf8').trim() ?? DEFAULT_IDENTITY, issuer: file(dir, 'issuer')?.toString('utf8').trim() ?? DEFAULT_ISSUER, trustedRoot: root, where: name }] };
      const artifact = file(dir, 'artifact') ?? fs.readFileSync(path.join(SUITE, 'a.txt'));
      const bundle = fs.readFileSync(path.join(dir, 'bundle.sigstore.json'));
      const noNetwork = () => Promise.reject(new Error('no public-good root over the network in tests'));
      let outcome: string;
      try {
        await verifyArtifactBundle(bundle, artifact, requirement, noNetwork);
        outcome = 'verified';
      } catch (e) {
        // Refusals are SignatureRejections (a reason, never a crash).
        expect((e as Error).constructor.name).toBe('SignatureRejection');
        outcome = `refused: ${(e as Error).message}`;
      }
      if (expectFail) expect(outcome).toMatch(/^refused: /);
      else expect(outcome).toBe('verified');
    });
  }
});
