import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageLock, LockFileError } from '../../lib/core/lock/image-lock';
import { SignaturePolicy, SignaturePolicyError } from '../../lib/signatures/policy';
import { applyImagePolicy } from '../../lib/core/policy/engine';
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

  test('a keyless record names format, identity and issuer, in that order, and reads back byte for byte', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const lock = ImageLock.empty(file);
    // Given in another order: written in the one order.
    lock.set('ghcr.io/org/app:1', { digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json', signature: { issuer: 'https://token.actions.githubusercontent.com', identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', format: 'cosign' } });
    const text = lock.serialize();
    expect(text).toContain(`"signature": {\n        "format": "cosign",\n        "identity": "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",\n        "issuer": "https://token.actions.githubusercontent.com"\n      }`);
    fs.writeFileSync(file, text);
    expect(ImageLock.load(file).serialize()).toBe(text);
  });

  test('a malformed record is a clear error naming the entry', () => {
    const file = path.join(dir, 'kubepin.lock.json');
    const entry = { requested: 'ghcr.io/acme/api:1', reference: 'ghcr.io/acme/api:1', digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json' };
    const keyless = { format: 'cosign', identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
    for (const signature of [{ key: 'md5:abc', format: 'cosign' }, { key: `sha256:${'b'.repeat(64)}`, format: 'gpg' }, { key: `sha256:${'b'.repeat(64)}`, format: 'cosign', at: '2026-01-01' }, 'signed', { ...keyless, key: `sha256:${'b'.repeat(64)}` }, { ...keyless, issuer: '' }, { ...keyless, logIndex: 7 }, { format: 'cosign', identity: keyless.identity }]) {
      fs.writeFileSync(file, JSON.stringify({ version: 1, images: { 'ghcr.io/acme/api:1': { ...entry, signature } } }));
      expect(() => ImageLock.load(file)).toThrow(new LockFileError(`${file}: entry "ghcr.io/acme/api:1": "signature" must be { "key": "sha256:<64 hex>", "format": "cosign" | "sigstore-bundle" } or, for a keyless signer, { "format": …, "identity": "<certificate SAN>", "issuer": "<OIDC issuer>" }; run \`kubepin lock --update\` to record it again`));
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
    // Read as every file kubepin is pointed at: never its content in a message, never a FIFO.
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), 'root:x:0:0:root:/root:/bin/bash\n');
    expect(() => SignaturePolicy.forLockFile(lock.file)).toThrow(/kubepin\.config\.json:1:1: not valid JSON \(unexpected character at line 1, column 1\)\. Fix/);
    expect(() => SignaturePolicy.forLockFile(lock.file)).not.toThrow(/root:x/);
    fs.rmSync(path.join(dir, 'kubepin.config.json'));
    execFileSync('mkfifo', [path.join(dir, 'kubepin.config.json')]);
    expect(() => SignaturePolicy.forLockFile(lock.file)).toThrow(/not a regular file \(a FIFO\)/);
    fs.rmSync(path.join(dir, 'kubepin.config.json'));
    fs.writeFileSync(path.join(dir, 'release.pub'), generateKey('ed25519').publicPem);
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "imageLocations": [], "signatures": { "require": [ { "images": ["ghcr.io"], "keys": ["release.pub"] } ] } }');
    expect(SignaturePolicy.forLockFile(lock.file).requirementFor('ghcr.io/acme/api:1')?.keys[0].algorithm).toBe('ed25519');
    // A key no module reads is a mistake (a misspelled section), refused rather than ignored.
    fs.writeFileSync(path.join(dir, 'kubepin.config.json'), '{ "other": 1, "signatures": { "require": [] } }');
    expect(() => SignaturePolicy.forLockFile(lock.file)).toThrow(/kubepin\.config\.json: unknown field "other"; the fields are "signatures"/);
  });
});

describe('docs/signatures.md', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'signatures.md'), 'utf8');
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]);

  test('the configuration shown is one kubepin reads, with the matching it describes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sigdoc-'));
    try {
      const config = JSON.parse(blocks[0]);
      for (const requirement of config.signatures.require) {
        for (const key of requirement.keys ?? []) {
          fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
          fs.writeFileSync(path.join(dir, key), generateKey().publicPem);
        }
        const root = requirement.keyless?.trustedRoot;
        if (root) {
          fs.mkdirSync(path.dirname(path.join(dir, root)), { recursive: true });
          fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'signatures', 'public-good-trusted_root.json'), path.join(dir, root));
        }
      }
      const policy = SignaturePolicy.fromConfig(config.signatures, dir);
      expect(policy.requirementFor('ghcr.io/acme/api:1')?.where).toMatch(/require\[0\]$/);
      expect(policy.requirementFor('ghcr.io/acme/payments:1')?.keys).toHaveLength(2); // the longest pattern wins
      expect(policy.requirementFor('eu.registry.example.com/team/app:1')?.where).toMatch(/require\[1\]$/);
      expect(policy.requirementFor('ghcr.io/oss/app:1')?.keyless).toMatchObject([config.signatures.require[2].keyless]);
      expect(policy.requirementFor('registry.k8s.io/pause:3.10')?.keyless?.[0]).toMatchObject({ identity: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', trustedRoot: { source: 'sigstore/trusted_root.json' } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the trusted-root configuration shown is one kubepin reads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-sigdoc-'));
    try {
      const config = JSON.parse(blocks.find((b) => b.includes('"tlog": "required"'))!);
      fs.mkdirSync(path.join(dir, 'keys'));
      fs.mkdirSync(path.join(dir, 'sigstore'));
      fs.writeFileSync(path.join(dir, 'keys', 'acme.pub'), generateKey().publicPem);
      fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'signatures', 'public-good-trusted_root.json'), path.join(dir, config.signatures.trustedRoot));
      const requirement = SignaturePolicy.fromConfig(config.signatures, dir).requirementFor('GHCR.IO/acme/api:1');
      expect(requirement?.tlog).toBe('required');
      expect(requirement?.trustedRoot?.source).toBe('sigstore/trusted_root.json');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the lock entry shown is one kubepin reads', () => {
    const entry = JSON.parse(`{${blocks.find((b) => b.startsWith('"ghcr.io/acme/api:1.4"'))!.replace(/sha256:…/g, `sha256:${'c'.repeat(64)}`)}}`);
    const file = path.join(os.tmpdir(), `kubepin-sigdoc-${process.pid}.json`);
    try {
      fs.writeFileSync(file, JSON.stringify({ version: 1, images: entry }));
      expect(ImageLock.load(file).get('ghcr.io/acme/api:1.4')?.signature?.format).toBe('cosign');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
