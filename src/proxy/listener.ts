/**
 * proxy/listener: the proxy's ONE public TLS port, routed by ALPN.
 *
 * `http/1.1` (and clients that offer no ALPN) go to the web API; `xport-redis` to the database
 * proxy; `xport-tunnel` to the agents' reverse tunnels. Client certificates are requested but not
 * required at the TLS layer: the web API's login routes are anonymous, everything else checks
 * `socket.authorized` and the identity in the certificate. Must not import service or cli.
 *
 * The port is public, so the listener bounds what a stranger can hold: a connection must finish
 * its TLS handshake within `handshakeTimeoutMs` (Node's own `handshakeTimeout` only reports the
 * timeout and leaves the socket open, so the listener closes it itself), and connections without
 * a verified client certificate are capped per source address (new ones refused) and in total
 * (the oldest dropped), so a flood of anonymous connections can neither use up the file
 * descriptors that database sessions need nor keep new clients from connecting.
 */
import tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { connectionProblem } from '../errors.js';
import type { Logger } from '../util/log.js';
import { parseHostPort, sourceKey } from '../util/net.js';

/** ALPN protocol names xport speaks on its public port. */
export const ALPN = {
  http: 'http/1.1',
  redis: 'xport-redis',
  /** Many database sessions of one routed certificate over one connection (xsh's local tunnel). */
  redisMux: 'xport-redis-mux',
  tunnel: 'xport-tunnel',
} as const;

/** ProtocolHandler takes over one verified-or-not TLS socket for its protocol. */
export type ProtocolHandler = (socket: tls.TLSSocket) => void;

/** ListenerOptions configures {@link startListener}. */
export interface ListenerOptions {
  listenAddr: string;
  /** Server certificate chain (leaf then host CA) and key, PEM. */
  certChainPem: string;
  keyPem: string;
  /** CAs whose client certificates are accepted (user CA; host CA for agents). */
  clientCaPems: string[];
  handlers: Partial<Record<(typeof ALPN)[keyof typeof ALPN], ProtocolHandler>>;
  log: Logger;
  /** Connection limits; see {@link ListenerLimits} for the defaults. */
  limits?: Partial<ListenerLimits>;
}

/** ListenerLimits bound what connections without a verified certificate can hold. */
export interface ListenerLimits {
  /** A connection must finish its TLS handshake (from its first byte on) within this time. */
  handshakeTimeoutMs: number;
  /**
   * Most connections without a verified client certificate, in total; past it the oldest of them
   * is dropped to make room for the new one.
   */
  maxAnonymousConnections: number;
  /** Most connections without a verified client certificate from one source address. */
  maxAnonymousPerSource: number;
}

/** DEFAULT_LISTENER_LIMITS fit a 1 GiB host with the usual 1,024 file descriptors. */
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  handshakeTimeoutMs: 10_000,
  maxAnonymousConnections: 512,
  maxAnonymousPerSource: 128,
};

/** ListenerStats counts connections for status and tests. */
export interface ListenerStats {
  /** Connections open now, verified or not. */
  open: number;
  /** Of those, connections without a verified client certificate. */
  anonymous: number;
  /** Connections refused because their source address held its whole share, since start. */
  refusedByCap: number;
  /** Oldest anonymous connections dropped to make room under the total cap, since start. */
  evicted: number;
  /** Connections closed because the handshake took too long, since start. */
  handshakeTimeouts: number;
}

/** Listener is a running public port. */
export interface Listener {
  address: { host: string; port: number };
  close(): Promise<void>;
  /** updateCertificate swaps the server certificate (renewal) for new connections. */
  updateCertificate(certChainPem: string, keyPem: string): void;
  stats(): ListenerStats;
}

/**
 * startListener binds the public port. A port in use is a clear connection-problem error naming
 * the address.
 */
export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { host, port } = parseHostPort(opts.listenAddr, 3080, 'listen_addr');
  const protocols = Object.keys(opts.handlers);
  const limits: ListenerLimits = { ...DEFAULT_LISTENER_LIMITS, ...opts.limits };
  const server = tls.createServer({
    cert: opts.certChainPem,
    key: opts.keyPem,
    ca: opts.clientCaPems,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    ALPNProtocols: protocols,
    // Node reports a handshake timeout but leaves the socket open; our own timer below closes it.
    handshakeTimeout: limits.handshakeTimeoutMs,
  });
  const sockets = new Set<tls.TLSSocket>();
  // Raw connections too: in TLS 1.3 the client finishes its handshake first, so a connection
  // still mid-handshake at close() would otherwise complete later and keep close() waiting.
  const raw = new Set<Socket>();
  // Anonymous (not yet verified) connections, oldest first, with their source address; and their
  // count per source, an entry dropped at zero (so at most maxAnonymousConnections entries).
  const anonymous = new Map<Socket, string>();
  const anonBySource = new Map<string, number>();
  const counters = { refusedByCap: 0, evicted: 0, handshakeTimeouts: 0 };
  const release = (s: Socket) => {
    const source = anonymous.get(s);
    if (source === undefined) return;
    anonymous.delete(s);
    const n = (anonBySource.get(source) ?? 1) - 1;
    if (n <= 0) anonBySource.delete(source);
    else anonBySource.set(source, n);
  };
  const handshakeTimers = new WeakMap<Socket, NodeJS.Timeout>();
  // Raw sockets by peer address, to find a TLS socket's raw one should Node stop exposing `_parent`.
  const byPeer = new Map<string, Socket>();
  const peerKey = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) => `${s.remoteAddress ?? '?'}|${s.remotePort ?? '?'}`;
  server.on('connection', (s: Socket) => {
    // IPv6 counts per /64: one host usually owns a whole one.
    const source = sourceKey(s.remoteAddress);
    const perSource = anonBySource.get(source) ?? 0;
    if (perSource >= limits.maxAnonymousPerSource) {
      // One address holding its whole share gets no more: only that address pays.
      counters.refusedByCap++;
      opts.log.debug('connection refused: too many anonymous connections from this address', { client_addr: source });
      // Nothing has been read yet: a reset frees the descriptor at once, without TIME_WAIT here.
      s.resetAndDestroy();
      return;
    }
    if (anonymous.size >= limits.maxAnonymousConnections) {
      // Full: make room by dropping the oldest anonymous connection rather than refusing this
      // one, so connections from many addresses cannot lock out clients that are about to
      // present a certificate (their handshake takes milliseconds; a squatter's takes forever).
      const [oldest, oldestSource] = anonymous.entries().next().value as [Socket, string];
      counters.evicted++;
      opts.log.debug('anonymous connection dropped to make room', { client_addr: oldestSource });
      release(oldest);
      oldest.destroy();
    }
    anonymous.set(s, source);
    anonBySource.set(source, perSource + 1);
    raw.add(s);
    const key = peerKey(s);
    byPeer.set(key, s);
    const timer = setTimeout(() => {
      if (s.destroyed) return;
      counters.handshakeTimeouts++;
      opts.log.debug('TLS handshake timed out', { client_addr: source });
      s.destroy();
    }, limits.handshakeTimeoutMs);
    timer.unref();
    handshakeTimers.set(s, timer);
    s.once('close', () => {
      clearTimeout(timer);
      raw.delete(s);
      if (byPeer.get(key) === s) byPeer.delete(key);
      release(s);
    });
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const parent = (socket as unknown as { _parent?: Socket })._parent ?? byPeer.get(peerKey(socket));
    if (parent) {
      clearTimeout(handshakeTimers.get(parent));
      // A verified certificate (user or host CA) makes the connection someone's: it no longer
      // counts against the anonymous caps. The handlers still check what the certificate allows.
      if (socket.authorized) release(parent);
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const proto = (socket.alpnProtocol || ALPN.http) as keyof typeof opts.handlers;
    const handler = opts.handlers[proto];
    if (!handler) {
      socket.destroy();
      return;
    }
    handler(socket);
  });
  server.on('tlsClientError', (err, socket) => {
    if ((err as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT') counters.handshakeTimeouts++;
    opts.log.debug('TLS handshake failed', { err: err.message });
    // Node leaves the socket open after a failed or timed-out handshake: close it here.
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(connectionProblem(`cannot listen on ${opts.listenAddr}: the address is already in use`, {
          hint: 'Stop the process using that port, or set proxy_service.listen_addr to another one.',
        }));
      } else if (err.code === 'EACCES') {
        reject(connectionProblem(`cannot listen on ${opts.listenAddr}: permission denied`, {
          hint: 'Use a port above 1024 or run with the needed privilege.',
        }));
      } else reject(connectionProblem(`cannot listen on ${opts.listenAddr}: ${err.message}`, { cause: err }));
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    stats: () => ({ open: raw.size, anonymous: anonymous.size, ...counters }),
    updateCertificate(certChainPem, keyPem) {
      server.setSecureContext({ cert: certChainPem, key: keyPem, ca: opts.clientCaPems });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        for (const s of raw) s.destroy();
      }),
  };
}
