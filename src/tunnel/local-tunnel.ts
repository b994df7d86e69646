/**
 * tunnel/local-tunnel: the client-side local RESP tunnel behind `xsh db connect` and
 * `xsh proxy db --tunnel`. It listens on a loopback port and pipes each accepted connection, as
 * plain bytes in both directions, to its own authenticated connection to the proxy. Because the
 * tunnel does the TLS, redis-cli and other clients connect with no certificates at all.
 *
 * The tunnel knows nothing about certificates, profiles or Redis commands: the caller's `dial`
 * opens one authenticated proxy connection (and is where a routed certificate gets renewed). The
 * only RESP it ever writes is the error a client receives when that dial fails.
 *
 * Must not import cli, service, proxy, auth or store; it needs only node:net, node:stream, util and
 * errors.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { connectionProblem, messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';

/** LocalTunnelOptions configures {@link startLocalTunnel}. */
export interface LocalTunnelOptions {
  /** Listen host; loopback by default, because anyone who reaches the port acts as the user. */
  host?: string;
  /** Listen port; 0 (the default) picks a free one. */
  port?: number;
  /** dial opens one authenticated connection to the proxy for one client connection. */
  dial: () => Promise<Duplex>;
  log?: Logger;
}

/** TunnelStats counts the tunnel's traffic since it started. */
export interface TunnelStats {
  /** Client connections accepted. */
  accepted: number;
  /** Client connections open now. */
  active: number;
  /** Client connections refused because the proxy could not be dialled. */
  dialFailures: number;
  /** Bytes read from clients (sent towards the proxy), closed connections plus open ones. */
  bytesFromClients: number;
  /** Bytes written to clients (received from the proxy). */
  bytesToClients: number;
}

/** LocalTunnel is a running tunnel. */
export interface LocalTunnel {
  /** address is where clients connect. */
  readonly address: { host: string; port: number };
  /** stats is a snapshot of the counters at the time it is read. */
  readonly stats: TunnelStats;
  /** close stops listening and ends every open connection; it resolves once the listener is closed. */
  close(): Promise<void>;
}

/** RESP_ERROR_PREFIX marks errors made by xport itself (ARCHITECTURE §6) rather than by Redis. */
const RESP_ERROR_PREFIX = '-ERR xport: ';

/** How long a client whose dial failed may keep its socket open after receiving the error. */
const FAILED_CLIENT_LINGER_MS = 5_000;

/**
 * respError encodes message as one RESP simple error. CR and LF would end the error line early and
 * let the rest be read as another reply, so they become spaces.
 */
export function respError(message: string): string {
  return `${RESP_ERROR_PREFIX}${message.replace(/[\r\n]+/g, ' ')}\r\n`;
}

/** startLocalTunnel starts listening and resolves once the port is bound. */
export async function startLocalTunnel(opts: LocalTunnelOptions): Promise<LocalTunnel> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log;
  const open = new Set<{ client: net.Socket; upstream?: Duplex }>();
  const totals = { accepted: 0, dialFailures: 0, bytesFromClients: 0, bytesToClients: 0 };
  let closing = false;

  // pauseOnConnect: nothing is read from a client until its proxy connection exists, so bytes a
  // client sends early wait in the kernel instead of in our memory. allowHalfOpen: a client that
  // shuts down its write side (`printf 'PING\r\n' | nc -N`) still gets its replies.
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    totals.accepted++;
    const conn: { client: net.Socket; upstream?: Duplex } = { client };
    open.add(conn);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      open.delete(conn);
      totals.bytesFromClients += client.bytesRead;
      totals.bytesToClients += client.bytesWritten;
      client.destroy();
      conn.upstream?.destroy();
    };
    // Errors before the pipes exist (a reset during the dial) must not crash the process.
    client.on('error', (err) => log?.debug('client connection failed', { error: err.message }));
    client.once('close', () => {
      if (!conn.upstream) finish();
    });

    opts.dial().then(
      (upstream) => {
        if (done || closing) {
          upstream.destroy();
          finish();
          return;
        }
        conn.upstream = upstream;
        let ended = 0;
        const onPipeEnd = (err?: Error | null) => {
          if (err) {
            log?.debug('tunnel connection ended with an error', { error: err.message });
            finish();
            return;
          }
          // Each direction closes on its own (half-close); the connection is over when both are.
          if (++ended === 2) finish();
        };
        pipeline(client, upstream, onPipeEnd);
        pipeline(upstream, client, onPipeEnd);
      },
      (err: unknown) => {
        totals.dialFailures++;
        log?.warn('cannot reach the database through the proxy', { error: messageOf(err) });
        if (done) return;
        // Tell the client why in its own protocol, so redis-cli prints the reason instead of a bare
        // "connection reset". Destroying right after the write could turn the close into a reset
        // (unread request bytes make the kernel send RST) and lose the error, so read and drop
        // what the client sent and wait for it to hang up, with a timer for clients that never do.
        client.end(respError(messageOf(err)));
        client.resume();
        const timer = setTimeout(finish, FAILED_CLIENT_LINGER_MS);
        timer.unref();
        client.once('close', () => clearTimeout(timer));
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, opts.port ?? 0));
    server.once('error', onError);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log?.warn('local tunnel listener failed', { error: err.message }));
  const bound = server.address() as net.AddressInfo;

  return {
    address: { host, port: bound.port },
    get stats(): TunnelStats {
      let fromClients = totals.bytesFromClients;
      let toClients = totals.bytesToClients;
      for (const c of open) {
        fromClients += c.client.bytesRead;
        toClients += c.client.bytesWritten;
      }
      return { accepted: totals.accepted, active: open.size, dialFailures: totals.dialFailures, bytesFromClients: fromClients, bytesToClients: toClients };
    },
    close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of [...open]) {
        c.client.destroy();
        c.upstream?.destroy();
      }
      return closed;
    },
  };
}

/** listenError explains why the tunnel could not bind its port. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return connectionProblem(`cannot start the local tunnel on ${where}: the port is already in use`, {
      hint: 'Choose another --port, or leave --port out to get a free port.',
    });
  }
  if (err.code === 'EACCES') {
    return connectionProblem(`cannot start the local tunnel on ${where}: permission denied`, {
      hint: 'Ports below 1024 need privileges; choose a port above 1024.',
    });
  }
  return connectionProblem(`cannot start the local tunnel on ${where}: ${err.message}`, { cause: err });
}
