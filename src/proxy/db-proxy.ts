/**
 * proxy/db-proxy: the proxy's database front door (ALPN `xport-redis`). A user connection —
 * usually xsh's local tunnel — arrives with a user certificate routed to one database; the
 * proxy checks it, opens a stream to an agent serving that database and splices the two.
 *
 * The proxy does not speak Redis here: bytes pass through untouched, with backpressure both
 * ways. It forwards the user's raw certificate in the stream header because the agent verifies
 * it again itself (defence in depth: an agent never takes the proxy's word for who the user is).
 *
 * Imports pki, errors, util and proxy/listener (types); it reaches the tunnels only through the
 * small {@link DatabaseStreamOpener} interface. Must not import service or cli.
 */
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { accessDenied, authRequired, messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';
import { decodeIdentity, verifyCertificate } from '../pki/index.js';
import type { Identity } from '../pki/index.js';
import { Mux } from '../util/mux.js';
import type { ProtocolHandler } from './listener.js';

/** DatabaseStreamOpener is what the handler needs from the tunnels ({@link TunnelServer}). */
export interface DatabaseStreamOpener {
  openDatabaseStream(dbName: string, header: object): Promise<Duplex>;
}

/** DatabaseStreamHeader is the OPEN header of a user session's stream. */
export interface DatabaseStreamHeader {
  /** The user's certificate, DER, base64: the agent verifies it against the user CA. */
  cert: string;
  /** `address:port` of the user's connection, for the audit log. */
  clientAddr: string;
  [extra: string]: unknown;
}

/** DbProxyHandlerOptions configures {@link createDbProxyHandler}. */
export interface DbProxyHandlerOptions {
  tunnels: DatabaseStreamOpener;
  /** The cluster whose user certificates are accepted. */
  cluster: string;
  log: Logger;
  /**
   * onError writes err to the user in the protocol's own way (RESP: `-ERR xport: <message>`);
   * the handler ends the connection afterwards.
   */
  onError: (socket: Duplex, err: unknown) => void;
  /**
   * User CA certificate(s), PEM. When set, the user's certificate must chain to one of them,
   * not just to any CA the listener trusts (the listener also trusts the host CA).
   */
  userCaPem?: string | string[];
  /** headerFor adds fields to the stream header; `cert` and `clientAddr` are always ours. */
  headerFor?: (identity: Identity, socket: tls.TLSSocket) => Record<string, unknown>;
  /** Clock for the userCaPem check. */
  now?: () => Date;
}

const LOGIN_HINT = 'Run `xsh login`, then `xsh db login <name>`, and connect again.';

/** createDbProxyHandler returns the listener handler for ALPN `xport-redis`. */
export function createDbProxyHandler(opts: DbProxyHandlerOptions): ProtocolHandler {
  const { log } = opts;
  return (socket: tls.TLSSocket) => {
    const clientAddr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    // A client that half-closes (sends all its commands, then FIN) must still get every reply:
    // the listener's sockets end their writable side on FIN by default, which would cut them.
    socket.allowHalfOpen = true;
    // Until the splice owns the socket, an error (the user hung up) must not crash the proxy.
    socket.on('error', (err) => log.debug('database client connection error', { client_addr: clientAddr, err: err.message }));

    const refuse = (err: unknown) => {
      log.info('database connection refused', { client_addr: clientAddr, err: messageOf(err) });
      if (socket.destroyed) return;
      try {
        opts.onError(socket, err);
      } catch (writeErr) {
        log.debug('could not report the error to the client', { err: messageOf(writeErr) });
      }
      if (!socket.destroyed) socket.end();
    };

    let identity: Identity;
    let certDer: Buffer;
    try {
      ({ identity, certDer } = authenticate(socket, opts));
    } catch (err) {
      refuse(err);
      return;
    }
    const route = identity.route!;
    const header: DatabaseStreamHeader = {
      ...(opts.headerFor?.(identity, socket) ?? {}),
      cert: certDer.toString('base64'),
      clientAddr,
    };
    // Bytes the user sends meanwhile wait in the (paused) socket, under TCP backpressure.
    opts.tunnels.openDatabaseStream(route.database, header).then(
      (stream) => {
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        log.debug('database session started', { user: identity.user, database: route.database, client_addr: clientAddr });
        splice(socket, stream);
      },
      (err: unknown) => refuse(err),
    );
  };
}

/**
 * createDbMuxHandler returns the listener handler for ALPN `xport-redis-mux`: xsh's local tunnel
 * keeps ONE connection per routed certificate and opens a stream per client connection, so
 * sessions share one TLS connection (and its write batching) instead of one handshake each.
 * Every stream is still its own database session at the agent, which re-verifies the
 * certificate per stream. A connection whose certificate is refused answers each OPEN with the
 * reason, which xsh shows to the client as `-ERR xport: …`.
 */
export function createDbMuxHandler(opts: DbProxyHandlerOptions): ProtocolHandler {
  const { log } = opts;
  return (socket: tls.TLSSocket) => {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('error', (err) => log.debug('database tunnel connection error', { client_addr: remote, err: err.message }));
    let identity: Identity | undefined;
    let certDer: Buffer | undefined;
    let refusal: unknown;
    try {
      ({ identity, certDer } = authenticate(socket, opts));
    } catch (err) {
      refusal = err;
      log.info('database tunnel refused', { client_addr: remote, err: messageOf(err) });
    }
    const mux = new Mux(socket, { localIds: 'even', peerName: `xsh tunnel ${remote}` });
    const expires = identity && 'expires' in identity ? (identity as { expires: Date }).expires : undefined;
    mux.onStream(async (stream, header) => {
      if (refusal) throw refusal;
      if (expires && expires.getTime() <= (opts.now?.() ?? new Date()).getTime()) {
        throw authRequired('your certificate has expired', { hint: LOGIN_HINT });
      }
      const db = await opts.tunnels.openDatabaseStream(identity!.route!.database, {
        ...(opts.headerFor?.(identity!, socket) ?? {}),
        cert: certDer!.toString('base64'),
        // addr.remote is where the user's tunnel connected from, as the proxy saw it; the
        // tunnel's own loopback client address says nothing about who connected.
        clientAddr: remote,
      });
      if (stream.destroyed) {
        db.destroy();
        return;
      }
      splice(stream, db);
    });
  };
}

/** authenticate checks the user's certificate and returns its identity and DER bytes. */
function authenticate(socket: tls.TLSSocket, opts: DbProxyHandlerOptions): { identity: Identity; certDer: Buffer } {
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) throw authRequired('no client certificate was presented', { hint: LOGIN_HINT });
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown reason');
    if (code === 'CERT_HAS_EXPIRED') throw authRequired('your certificate has expired', { hint: LOGIN_HINT });
    throw accessDenied(`client certificate was not accepted: ${code}`, { hint: LOGIN_HINT });
  }
  let identity: Identity | undefined;
  if (opts.userCaPem !== undefined) {
    identity = verifyCertificate(raw, opts.userCaPem, { now: opts.now?.() ?? new Date(), usages: ['user'], cluster: opts.cluster });
  } else {
    identity = decodeIdentity(raw);
    if (!identity) throw accessDenied('client certificate carries no xport identity', { hint: LOGIN_HINT });
  }
  if (identity.usage !== 'user') throw accessDenied(`certificate is for ${identity.usage} use, not database access`, { hint: LOGIN_HINT });
  if (identity.cluster !== opts.cluster) {
    throw accessDenied(`certificate belongs to cluster "${identity.cluster}", not "${opts.cluster}"`, { hint: LOGIN_HINT });
  }
  if (!identity.route || identity.route.database === '') {
    throw accessDenied('certificate is not routed to a database; run xsh db login <name>', {
      hint: 'Run `xsh db login <name>` to get a certificate for one database.',
    });
  }
  return { identity, certDer: raw };
}

/**
 * splice pipes a and b into each other with backpressure. A clean end travels as a half-close;
 * an error or an abrupt close of either side destroys the other (resetting the stream at the
 * agent, or cutting the user's connection).
 */
function splice(socket: Duplex, stream: Duplex): void {
  socket.pipe(stream);
  stream.pipe(socket);
  socket.on('error', () => stream.destroy());
  stream.on('error', () => socket.destroy());
  // The user is gone: nothing more can be delivered, so the agent may drop the session now.
  socket.once('close', () => stream.destroy());
  stream.once('close', () => {
    if (stream.errored || !stream.readableEnded) socket.destroy();
  });
}
