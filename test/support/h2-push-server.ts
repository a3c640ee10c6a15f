/**
 * A hostile HTTP/2 server written frame by frame (Node's own server will not push to a client
 * that disabled push): it pushes streams whatever the client's SETTINGS say, each pushed body
 * longer than its content-length, then answers the request itself with a manifest digest.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { makeServerCertificate } from './registry';

/** Options of {@link startPushingHttp2}. */
export interface PushingHttp2Options {
  /** Streams pushed before each answer (many makes a push flood). @default 1 */
  readonly pushes?: number;
}

/** A running pushing server on 127.0.0.1. */
export interface PushingHttp2 {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** PEM path of the CA that signed the server's certificate. */
  readonly caFile: string;
  /** The digest every answer carries (of an empty OCI index). */
  readonly digest: string;
  /** SETTINGS_ENABLE_PUSH as each connection's client announced it (`undefined`: not sent, i.e. 1). */
  readonly enablePush: Array<number | undefined>;
  /** GOAWAY error codes clients sent (1 is PROTOCOL_ERROR). */
  readonly goaways: number[];
  /** Request streams (HEADERS frames from clients) answered. */
  requests: number;
  stop(): Promise<void>;
}

const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** Starts the server. */
export async function startPushingHttp2(options: PushingHttp2Options = {}): Promise<PushingHttp2> {
  const pushes = options.pushes ?? 1;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-h2push-'));
  const caFile = makeServerCertificate(dir);
  const body = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] });
  const digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
  const sockets = new Set<tls.TLSSocket>();
  const state: PushingHttp2 = { host: '', caFile, digest, enablePush: [], goaways: [], requests: 0, stop: async () => undefined };

  const server = tls.createServer({ key: fs.readFileSync(path.join(dir, 'server.key')), cert: fs.readFileSync(path.join(dir, 'server.pem')), ALPNProtocols: ['h2'] }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const send = (type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): void => {
      const header = Buffer.alloc(9);
      header.writeUIntBE(payload.length, 0, 3);
      header[3] = type;
      header[4] = flags;
      header.writeUInt32BE(stream, 5);
      if (!socket.destroyed) socket.write(Buffer.concat([header, payload]));
    };
    send(FRAME.SETTINGS, 0, 0);
    let buffer = Buffer.alloc(0);
    let prefaceSeen = false;
    let nextPromised = 2;
    const connection = state.enablePush.push(undefined) - 1;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!prefaceSeen) {
        if (buffer.length < PREFACE.length) return;
        buffer = buffer.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) return;
        const [type, flags] = [buffer[3], buffer[4]];
        const stream = buffer.readUInt32BE(5) & 0x7fffffff;
        const payload = buffer.subarray(9, 9 + length);
        buffer = buffer.subarray(9 + length);
        if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) {
          for (let at = 0; at + 6 <= payload.length; at += 6) if (payload.readUInt16BE(at) === 0x2) state.enablePush[connection] = payload.readUInt32BE(at + 2);
          send(FRAME.SETTINGS, FLAG.ACK, 0);
        } else if (type === FRAME.PING && !(flags & FLAG.ACK)) {
          send(FRAME.PING, FLAG.ACK, 0, payload);
        } else if (type === FRAME.GOAWAY) {
          state.goaways.push(payload.readUInt32BE(4));
          socket.end();
        } else if (type === FRAME.HEADERS && flags & FLAG.END_HEADERS) {
          state.requests++;
          for (let i = 0; i < pushes; i++) {
            const promised = nextPromised;
            nextPromised += 2;
            const promise = Buffer.alloc(4);
            promise.writeUInt32BE(promised);
            // :method GET, :scheme https, :path / (static table), :authority by indexed name.
            send(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, stream, Buffer.concat([promise, Buffer.from([0x82, 0x87, 0x84]), literal(1, state.host)]));
            send(FRAME.HEADERS, FLAG.END_HEADERS, promised, Buffer.concat([Buffer.from([0x88]), literal('content-length', '4')]));
            send(FRAME.DATA, FLAG.END_STREAM, promised, Buffer.alloc(64, 'x'));
          }
          // :status 200 and the manifest's headers, no body (every request gets the same answer).
          send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, Buffer.concat([Buffer.from([0x88]), literal('content-type', INDEX), literal('docker-content-digest', digest)]));
        }
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  });
}

/** HPACK "literal header field without indexing": a new name, or (a number) a static-table name index. */
function literal(name: string | number, value: string): Buffer {
  const head = typeof name === 'number' ? integer(name, 4, 0x00) : Buffer.concat([Buffer.from([0x00]), text(name)]);
  return Buffer.concat([head, text(value)]);
}

function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return Buffer.concat([integer(bytes.length, 7, 0x00), bytes]);
}

/** HPACK integer with an N-bit prefix. */
function integer(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) + 128);
  out.push(value);
  return Buffer.from(out);
}
