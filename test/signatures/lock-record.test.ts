import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageLock, LockFileError } from '../../lib/lock';
import { SignaturePolicy, SignaturePolicyError } from '../../lib/signatures/policy';
import { applyImagePolicy } from '../../lib/policy';
import { generateKey } from '../support/signatures';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('the signature record in the lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sigrecord-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('is written after the other fields, read back unchanged, and saving again rewrites the same bytes', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const lock = ImageLock.empty(file);
    lock.set('ghcr.io/acme/api:1', { digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json', signature: { key: `sha256:${'b'.repeat(64)}`, format: 'sigstore-bundle' } });
    lock.save();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(`"mediaType": "application/vnd.oci.image.index.v1+json",\n      "signature": {\n        "key": "sha256:${'b'.repeat(64)}",\n        "format": "sigstore-bundle"\n      }`);
    const again = ImageLock.load(file);
    expect(again.get('ghcr.io/acme/api:1')?.signature).toEqual({ key: `sha256:${'b'.repeat(64)}`, format: 'sigstore-bundle' });
    expect(again.serialize()).toBe(text);
  });

  test('a malformed record is a clear error naming the entry', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const entry = { requested: 'ghcr.io/acme/api:1', reference: 'ghcr.io/acme/api:1', digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json' };
    for (const signature of [{ key: 'md5:abc', format: 'cosign' }, { key: `sha256:${'b'.repeat(64)}`, format: 'gpg' }, { key: `sha256:${'b'.repeat(64)}`, format: 'cosign', at: '2026-01-01' }, 'signed']) {
      fs.writeFileSync(file, JSON.stringify({ version: 1, images: { 'ghcr.io/acme/api:1': { ...entry, signature } } }));
      expect(() => ImageLock.load(file)).toThrow(new LockFileError(`${file}: entry "ghcr.io/acme/api:1": "signature" must be { "key": "sha256:<64 hex>", "format": "cosign" | "sigstore-bundle" }; run \`kubepin lock --update\` to record it again`));
    }
  });

  test('a broken kubepin.config.json fails the policy with the file named, not silently', () => {
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "signatures": { "require": [ { "images": ["ghcr.io"], "keys": ["nope.pub"] } ] } }');
    const lock = ImageLock.empty(path.join(dir, 'kubepin.lock.json'));
    expect(() => applyImagePolicy([], { lock })).toThrow(/kubepin\.config\.json: signatures\.require\[0\]\.keys\[0\]: cannot read .*nope\.pub: no such file/);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "signatures": { "requires": [] } }');
    expect(() => SignaturePolicy.forLockFile(lock.file)).toThrow(SignaturePolicyError);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "signatures": ');
    expect(() => SignaturePolicy.forLockFile(lock.file)).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(dir, 'release.pub'), generateKey('ed25519').publicPem);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "other": 1, "signatures": { "require": [ { "images": ["ghcr.io"], "keys": ["release.pub"] } ] } }');
    expect(SignaturePolicy.forLockFile(lock.file).requirementFor('ghcr.io/acme/api:1')?.keys[0].algorithm).toBe('ed25519');
  });
});
