/**
 * proxy/db-proxy: the proxy's database front door (ALPN `xport-redis`). A user connection —
 * usually xsh's local tunnel — arrives with a user certificate routed to one database; the
 * proxy checks it, opens a stream to an agent serving that database and splices the two.
 *
 * The proxy does not speak Redis here: bytes pass through untouched, with backpressure both
 * ways. It forwards the user's raw certificate in the stream header because the agent verifies
 * it again itself (defence in depth: an agent never takes the proxy's word for who the user is).
 *
 * A refused certificate (none, expired, foreign CA, wrong usage, no route) is audited as
 * `db.connection.refused`, rate-limited per source address so a flood cannot flood the log.
 *
 * Imports pki, errors, util and proxy/listener (types); it reaches the tunnels only through the
 * small {@link DatabaseStreamOpener} interface. Must not import service or cli.
 */
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { accessDenied, authRequired, badParameter, messageOf } from '../errors.js';
import { escapeControl } from '../util/escape.js';
import { sourceKey } from '../util/net.js';
import type { Logger } from '../util/log.js';
import { SourceLimiter } from '../util/rate-limit.js';
import { decodeIdentity, verifyCertificate } from '../pki/index.js';
import type { Identity } from '../pki/index.js';
import { Mux } from '../mux/index.js';
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
  /** audit receives `db.connection.refused` events (already rate-limited per source). */
  audit?: (event: { type: string; [field: string]: unknown }) => void;
  /** A tunnel connection (ALPN `xport-redis-mux`) must open its first stream within this time (30 s). */
  idleTimeoutMs?: number;
}

/** REFUSAL_AUDIT_LIMITS bound `db.connection.refused` events: per source and in total, per minute. */
const REFUSAL_AUDIT_LIMITS = { perSource: 20, global: 200, windowMs: 60_000 };
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Longest `ip:port` text: a full IPv6 address in brackets and a 5-digit port. */
const MAX_CLIENT_ADDR = 64;

/**
 * parseReportedClientAddr validates the client address xsh reports in a tunnel stream's header:
 * `ip:port` (IPv6 in brackets) or `local`. Anything else is refused, quoted escaped and cut short.
 */
export function parseReportedClientAddr(v: unknown): string {
  if (v === undefined) return 'local';
  if (typeof v === 'string' && v.length <= MAX_CLIENT_ADDR) {
    if (v === 'local') return v;
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(v);
    if (m) {
      const host = m[1] ?? m[2]!;
      const port = Number(m[3]);
      const family = isIP(host);
      if (port >= 1 && port <= 65535 && ((m[1] !== undefined && family === 6) || (m[2] !== undefined && family === 4))) return v;
    }
  }
  const shown = typeof v === 'string' ? JSON.stringify(escapeControl(v.slice(0, MAX_CLIENT_ADDR))) : typeof v;
  throw badParameter(`the stream header's clientAddr must be ip:port, got ${shown}`);
}

/**
 * refusalAuditor logs and audits (`db.connection.refused`) each refused certificate, within
 * REFUSAL_AUDIT_LIMITS per source: a flood of refusals floods neither the log nor the audit.
 */
function refusalAuditor(opts: DbProxyHandlerOptions): (socket: tls.TLSSocket, alpn: string, err: unknown) => void {
  const limiter = new SourceLimiter(REFUSAL_AUDIT_LIMITS);
  return (socket, alpn, err) => {
    const addr = socket.remoteAddress ?? '?';
    const v = limiter.take(sourceKey(addr));
    if (!v.allowed) return;
    opts.log.info(alpn === 'xport-redis-mux' ? 'database tunnel refused' : 'database connection refused', {
      client_addr: `${addr}:${socket.remotePort ?? '?'}`,
      err: messageOf(err),
      ...(v.suppressed > 0 ? { suppressed: v.suppressed } : {}),
    });
    if (!opts.audit) return;
    // Only a verified identity names a user; a certificate from a foreign CA could claim anyone.
    const verified = socket.authorized ? decodeIdentity(socket.getPeerCertificate()?.raw ?? Buffer.alloc(0)) : undefined;
    opts.audit({
      type: 'db.connection.refused',
      success: false,
      ...(verified?.user ? { user: verified.user } : {}),
      alpn,
      error: messageOf(err),
      'addr.remote': `${addr}:${socket.remotePort ?? '?'}`,
      ...(v.suppressed > 0 ? { suppressed: v.suppressed } : {}),
    });
  };
}

const LOGIN_HINT = 'Run `xsh login`, then `xsh db login <name>`, and connect again.';

/** createDbProxyHandler returns the listener handler for ALPN `xport-redis`. */
export function createDbProxyHandler(opts: DbProxyHandlerOptions): ProtocolHandler {
  const { log } = opts;
  const auditRefusal = refusalAuditor(opts);
  return (socket: tls.TLSSocket) => {
    const clientAddr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    // A client that half-closes (sends all its commands, then FIN) must still get every reply:
    // the listener's sockets end their writable side on FIN by default, which would cut them.
    socket.allowHalfOpen = true;
    // Until the splice owns the socket, an error (the user hung up) must not crash the proxy.
    socket.on('error', (err) => log.debug('database client connection error', { client_addr: clientAddr, err: err.message }));

    const refuse = (err: unknown, logged = false) => {
      if (!logged) log.info('database connection refused', { client_addr: clientAddr, err: messageOf(err) });
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
      auditRefusal(socket, 'xport-redis', err);
      refuse(err, true);
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
  const auditRefusal = refusalAuditor(opts);
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
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
      auditRefusal(socket, 'xport-redis-mux', err);
    }
    const mux = new Mux(socket, { localIds: 'even', peerName: `xsh tunnel ${remote}` });
    // xsh dials when a client connects and opens a stream at once: a connection that opens none
    // is idle, and a refused one only exists to report its refusal, so both end after idleMs.
    let opened = false;
    const idle = setTimeout(() => {
      if (refusal || !opened) socket.destroy();
    }, idleMs);
    idle.unref();
    socket.once('close', () => clearTimeout(idle));
    const expires = identity && 'expires' in identity ? (identity as { expires: Date }).expires : undefined;
    mux.onStream(async (stream, header) => {
      opened = true;
      if (refusal) throw refusal;
      if (expires && expires.getTime() <= (opts.now?.() ?? new Date()).getTime()) {
        throw authRequired('your certificate has expired', { hint: LOGIN_HINT });
      }
      // The address xsh reports is checked (bounded, ip:port) so a bad header refuses the stream, but
      // addr.remote is what the proxy itself saw: the tunnel's loopback address says nothing of who connected.
      parseReportedClientAddr((header as { clientAddr?: unknown } | null)?.clientAddr);
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
