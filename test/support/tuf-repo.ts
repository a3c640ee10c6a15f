/**
 * A TUF repository of our own on 127.0.0.1, as Sigstore's tuf-repo-cdn serves one: root,
 * timestamp, snapshot and targets metadata (TUF 1.0, no consistent snapshots), signed with
 * ed25519 keys over the canonical JSON, and `trusted_root.json` as its target. `publish` puts
 * out a new trusted root (new versions of targets, snapshot and timestamp); `tamper` serves
 * target bytes that do not match the signed hash.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { canonicalize } from '@tufjs/canonical-json';

export interface TufRepo {
  /** `http://127.0.0.1:<port>` (metadata at the root, targets under /targets). */
  readonly url: string;
  /** The trusted root.json (version 1) a client starts from. */
  readonly rootJson: string;
  /** Serves `trustedRoot` as the new trusted_root.json target. */
  publish(trustedRoot: string): void;
  /** Serves other bytes than the signed target. */
  tamper(bytes: string): void;
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function startTufRepo(trustedRoot: string): Promise<TufRepo> {
  const key = crypto.generateKeyPairSync('ed25519');
  const raw = key.publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('hex');
  const keyJson = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } };
  const keyid = crypto.createHash('sha256').update(canonicalize(keyJson)).digest('hex');
  const expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sign = (signed: Record<string, unknown>) => JSON.stringify({ signatures: [{ keyid, sig: crypto.sign(null, Buffer.from(canonicalize(signed)), key.privateKey).toString('hex') }], signed });
  const role = { keyids: [keyid], threshold: 1 };
  const rootJson = sign({ _type: 'root', spec_version: '1.0.31', version: 1, expires, consistent_snapshot: false, keys: { [keyid]: keyJson }, roles: { root: role, timestamp: role, snapshot: role, targets: role } });
  const files = new Map<string, string>([['/1.root.json', rootJson]]);
  let version = 0;
  const requests: string[] = [];
  const publish = (target: string) => {
    version++;
    const hash = crypto.createHash('sha256').update(target).digest('hex');
    files.set('/targets/trusted_root.json', target);
    files.set('/targets.json', sign({ _type: 'targets', spec_version: '1.0.31', version, expires, targets: { 'trusted_root.json': { length: Buffer.byteLength(target), hashes: { sha256: hash } } } }));
    files.set('/snapshot.json', sign({ _type: 'snapshot', spec_version: '1.0.31', version, expires, meta: { 'targets.json': { version } } }));
    files.set('/timestamp.json', sign({ _type: 'timestamp', spec_version: '1.0.31', version, expires, meta: { 'snapshot.json': { version } } }));
  };
  publish(trustedRoot);
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootJson,
    publish,
    tamper: (bytes) => files.set('/targets/trusted_root.json', bytes),
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
