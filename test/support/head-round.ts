/**
 * The least a client can do to ask a registry for many manifests: one TLS connection with
 * HTTP/2, every HEAD sent at once with tokens fetched beforehand, nothing checked but the
 * status. bench:latency times it (in a child process of its own, see {@link startHeadRound}) as
 * the "round of requests" of its floor: the registries' own time to answer, which no client
 * can avoid, plus the connection set-up and one round trip.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as http2 from 'http2';
import * as path from 'path';

/** What one round asks. */
export interface HeadRoundSpec {
  /** `https://host:port`. */
  readonly origin: string;
  /** PEM CA file of the registry. */
  readonly caFile: string;
  /** Bearer token of each path (same order). */
  readonly tokens: readonly string[];
  /** Accept header sent. */
  readonly accept: string;
  /** Request paths (`/v2/<repo>/manifests/<tag>`). */
  readonly paths: readonly string[];
}

/** A round process, ready to go. */
export interface HeadRound {
  /** Runs the round; resolves with its milliseconds from connect to the last answer. */
  go(): Promise<number>;
}

/** Starts a round process for `spec` and waits until it is ready (code loaded, nothing sent). */
export function startHeadRound(spec: HeadRoundSpec): Promise<HeadRound> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', path.join(__dirname, '..', '..', 'scripts', 'ts-register.js')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => {
      resolve({
        go: () =>
          new Promise<number>((done, fail) => {
            child.once('message', (m: { ms?: number; error?: string }) => (m.error !== undefined ? fail(new Error(`HEAD round: ${m.error}`)) : done(m.ms!)));
            child.send({ go: true, spec });
          }),
      });
    });
  });
}

/** Every spec's round process started, then all run at once; wall time until all are answered. */
export async function headRounds(specs: readonly HeadRoundSpec[]): Promise<number> {
  const rounds = await Promise.all(specs.map((spec) => startHeadRound(spec)));
  const start = performance.now();
  await Promise.all(rounds.map((r) => r.go()));
  return performance.now() - start;
}

function round(spec: HeadRoundSpec): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const session = http2.connect(spec.origin, { ca: fs.readFileSync(spec.caFile) });
    session.on('error', reject);
    let left = spec.paths.length;
    let bad = 0;
    spec.paths.forEach((p, i) => {
      const stream = session.request({ ':method': 'HEAD', ':path': p, accept: spec.accept, authorization: `Bearer ${spec.tokens[i]}` }, { endStream: true });
      stream.on('response', (h) => {
        if (h[':status'] !== 200) bad++;
      });
      stream.on('error', reject);
      stream.resume();
      stream.on('close', () => {
        if (--left > 0) return;
        const ms = performance.now() - start;
        session.close();
        if (bad > 0) reject(new Error(`${bad} of ${spec.paths.length} HEADs were not answered 200`));
        else resolve(ms);
      });
    });
  });
}

if (require.main === module) {
  process.once('message', (m: { spec: HeadRoundSpec }) => {
    round(m.spec).then(
      (ms) => process.send!({ ms }, () => process.exit(0)),
      (e: Error) => process.send!({ error: e.message }, () => process.exit(1)),
    );
  });
  process.send!({ ready: true });
}
