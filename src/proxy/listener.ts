/**
 * proxy/listener: the proxy's ONE public TLS port, routed by ALPN.
 *
 * `http/1.1` (and clients that offer no ALPN) go to the web API; `xport-redis` to the database
 * proxy; `xport-tunnel` to the agents' reverse tunnels. Client certificates are requested but not
 * required at the TLS layer: the web API's login routes are anonymous, everything else checks
 * `socket.authorized` and the identity in the certificate. Must not import service or cli.
 */
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { connectionProblem } from '../errors.js';
import type { Logger } from '../util/log.js';
import { parseHostPort } from '../util/net.js';

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
  /** Drop a connection that has not finished its handshake in this time. */
  handshakeTimeoutMs?: number;
}

/** Listener is a running public port. */
export interface Listener {
  address: { host: string; port: number };
  close(): Promise<void>;
  /** updateCertificate swaps the server certificate (renewal) for new connections. */
  updateCertificate(certChainPem: string, keyPem: string): void;
}

/**
 * startListener binds the public port. A port in use is a clear connection-problem error naming
 * the address.
 */
export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { host, port } = parseHostPort(opts.listenAddr, 3080, 'listen_addr');
  const protocols = Object.keys(opts.handlers);
  const server = tls.createServer({
    cert: opts.certChainPem,
    key: opts.keyPem,
    ca: opts.clientCaPems,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    ALPNProtocols: protocols,
    handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
  });
  const sockets = new Set<tls.TLSSocket>();
  // Raw connections too: in TLS 1.3 the client finishes its handshake first, so a connection
  // still mid-handshake at close() would otherwise complete later and keep close() waiting.
  const raw = new Set<import('node:net').Socket>();
  server.on('connection', (s: import('node:net').Socket) => {
    raw.add(s);
    s.once('close', () => raw.delete(s));
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
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
  server.on('tlsClientError', (err) => opts.log.debug('TLS handshake failed', { err: err.message }));
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
