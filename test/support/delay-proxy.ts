/**
 * A TCP proxy on 127.0.0.1 that adds a round-trip time: every byte is held half the RTT in
 * each direction, and a new connection's first bytes wait one RTT more (the TCP handshake a
 * remote host costs). TLS passes through untouched, so ALPN and certificates are the target's.
 */
import * as net from 'net';

/** A running delay proxy. */
export interface DelayProxy {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** Milliseconds added per round trip; may be changed between runs. */
  rttMs: number;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Delays one direction of a connection, keeping order. */
class DelayedPipe {
  private readonly queue: Array<{ at: number; chunk: Buffer | null }> = [];
  private timer?: NodeJS.Timeout;
  constructor(private readonly to: net.Socket) {}

  push(at: number, chunk: Buffer | null): void {
    this.queue.push({ at, chunk });
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      while (this.queue.length > 0 && this.queue[0].at <= now) {
        const { chunk } = this.queue.shift()!;
        if (this.to.destroyed) continue;
        if (chunk) this.to.write(chunk);
        else this.to.end();
      }
      this.arm();
    }, Math.max(0, this.queue[0].at - Date.now()));
  }
}

/** Starts a proxy to `target` (`127.0.0.1:<port>`) adding `rttMs` per round trip. */
export async function startDelayProxy(target: string, rttMs: number): Promise<DelayProxy> {
  const [targetHost, targetPort] = target.split(':');
  const sockets = new Set<net.Socket>();
  const state = { rttMs, connections: 0 };
  const server = net.createServer((client) => {
    state.connections++;
    const rtt = state.rttMs;
    const readyAt = Date.now() + rtt;
    const upstream = net.connect(Number(targetPort), targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    const toUpstream = new DelayedPipe(upstream);
    const toClient = new DelayedPipe(client);
    client.on('data', (chunk: Buffer) => toUpstream.push(Math.max(Date.now(), readyAt) + rtt / 2, chunk));
    client.on('end', () => toUpstream.push(Math.max(Date.now(), readyAt) + rtt / 2, null));
    upstream.on('data', (chunk: Buffer) => toClient.push(Date.now() + rtt / 2, chunk));
    upstream.on('end', () => toClient.push(Date.now() + rtt / 2, null));
    const destroy = (): void => {
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, rtt / 2 + 20);
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', destroy);
    upstream.on('close', destroy);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    get rttMs() {
      return state.rttMs;
    },
    set rttMs(v: number) {
      state.rttMs = v;
    },
    get connections() {
      return state.connections;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
