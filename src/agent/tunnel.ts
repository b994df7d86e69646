/**
 * agent/tunnel: the agent's end of the reverse tunnel. The agent dials the proxy (ALPN
 * `xport-tunnel`, mutual TLS with its host certificate), says hello, sends heartbeats, and
 * serves the streams the proxy opens — one per user session. It needs only outbound access,
 * which is the point: an agent next to ElastiCache or in an Azure VNet is never dialled.
 *
 * When the connection drops it reconnects forever, with exponential backoff and jitter (so a
 * restarted proxy is not hit by every agent at once), until stop(). The TLS context is built
 * once and reused for every dial (platform-notes: passing PEMs to each connect costs ~1.8 ms).
 *
 * Imports mux/, proxy/listener (the ALPN names), proxy/tunnel-protocol, pki, errors and util;
 * must not import service or cli.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { connectionProblem, messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';
import { parseHostPort } from '../util/net.js';
import { decodeIdentity } from '../pki/index.js';
import { ALPN } from '../proxy/listener.js';
import { Mux } from '../mux/index.js';
import type { MuxOptions, MuxStats } from '../mux/index.js';
import { AGENT_STREAM_IDS, DEFAULT_HEARTBEAT_MS, MISSED_HEARTBEATS } from '../proxy/tunnel-protocol.js';
import type { DatabaseAdvert, HeartbeatMessage, HelloMessage } from '../proxy/tunnel-protocol.js';

/** TunnelAgentOptions configures a {@link TunnelAgent}. */
export interface TunnelAgentOptions {
  /** The proxy's `host:port`. */
  proxyAddr: string;
  /** The agent's host certificate and key, and the host CA that signed the proxy's certificate. */
  tls: { certPem: string; keyPem: string; caPem: string };
  hostId: string;
  version: string;
  /** The databases to advertise; called for the hello and every heartbeat. */
  databases: () => DatabaseAdvert[];
  /**
   * onStream serves one stream the proxy opened (one user session). Resolving accepts it, after
   * which the handler owns the stream; rejecting refuses it with the error's message and kind.
   */
  onStream: (stream: Duplex, header: unknown) => Promise<void>;
  /**
   * connect replaces the TLS dial with an already-connected stream: an agent in the proxy's own
   * process uses an in-memory pair (see TunnelServer.attachLocal), so its traffic is not
   * encrypted and decrypted twice inside one process.
   */
  connect?: () => Duplex;
  log: Logger;
  /** Heartbeat interval (5 s). */
  heartbeatMs?: number;
  /** Reconnect backoff bounds (250 ms → 15 s). */
  backoff?: { minMs: number; maxMs: number };
  /** Give up one dial attempt after this long (15 s). */
  connectTimeoutMs?: number;
  /** Options for the tunnel's mux. */
  mux?: Omit<MuxOptions, 'localIds' | 'peerName'>;
  /** Random source for the backoff jitter. */
  random?: () => number;
}

/** TunnelAgentEvents are the events a {@link TunnelAgent} emits. */
export interface TunnelAgentEvents {
  connected: [];
  disconnected: [err: Error | undefined];
  /** The tunnel closed because stop() was called (not a lost connection). */
  stopped: [];
}

/**
 * TunnelAgent keeps the agent's tunnel to the proxy up. Emits `connected` after each successful
 * hello and `disconnected` (with the reason) when a connection is lost; `stopped` when stop() closed it.
 */
export class TunnelAgent extends EventEmitter<TunnelAgentEvents> {
  readonly #opts: TunnelAgentOptions;
  readonly #log: Logger;
  readonly #host: string;
  readonly #port: number;
  readonly #heartbeatMs: number;
  readonly #backoff: { minMs: number; maxMs: number };
  #context: tls.SecureContext;
  #started = false;
  #stopped = false;
  #attempt = 0;
  #socket: tls.TLSSocket | undefined;
  #mux: Mux | undefined;
  #connectedAt = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(opts: TunnelAgentOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.log;
    const { host, port } = parseHostPort(opts.proxyAddr, 3080, 'proxy_server');
    this.#host = host;
    this.#port = port;
    this.#heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#backoff = opts.backoff ?? { minMs: 250, maxMs: 15_000 };
    this.#context = this.#secureContext(opts.tls.certPem, opts.tls.keyPem);
  }

  /** connected tells whether the tunnel is up and the hello was sent. */
  get connected(): boolean {
    return this.#mux !== undefined && !this.#mux.closed;
  }

  /** stats returns the current tunnel's mux counters, if connected. */
  stats(): MuxStats | undefined {
    return this.#mux?.stats();
  }

  /** start dials the proxy and keeps the tunnel up until {@link TunnelAgent.stop}. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#dial();
  }

  /**
   * updateCertificate swaps the agent's certificate (renewal); the current tunnel stays up and
   * the next dial uses the new one.
   */
  updateCertificate(certPem: string, keyPem: string): void {
    this.#context = this.#secureContext(certPem, keyPem);
  }

  /** stop closes the tunnel and stops reconnecting. It resolves once the connection is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    const socket = this.#socket;
    if (this.#mux) this.#mux.close();
    else socket?.destroy();
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        // The proxy normally closes its side at once; do not wait for a peer that does not.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 2_000).unref();
      });
    }
  }

  #secureContext(certPem: string, keyPem: string): tls.SecureContext {
    return tls.createSecureContext({ cert: certPem, key: keyPem, ca: this.#opts.tls.caPem, minVersion: 'TLSv1.2' });
  }

  #dial(): void {
    if (this.#stopped) return;
    if (this.#opts.connect) {
      this.#onConnected(this.#opts.connect());
      return;
    }
    const addr = this.#opts.proxyAddr;
    let settled = false;
    const socket = tls.connect({
      host: this.#host,
      port: this.#port,
      secureContext: this.#context,
      ALPNProtocols: [ALPN.tunnel],
      ...(isIP(this.#host) ? {} : { servername: this.#host }),
    });
    this.#socket = socket;
    const timeoutMs = this.#opts.connectTimeoutMs ?? 15_000;
    const timer = setTimeout(() => socket.destroy(connectionProblem(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      this.#socket = undefined;
      if (this.#stopped) return;
      const delay = this.#nextDelay();
      this.#log.warn('cannot connect to the proxy', { proxy: addr, err: describeDialError(err), retry_in_ms: delay });
      this.#retry = setTimeout(() => this.#dial(), delay);
    };
    socket.once('error', fail);
    socket.once('close', () => fail(connectionProblem('connection closed during the handshake')));
    socket.once('secureConnect', () => {
      if (settled) return;
      if (socket.alpnProtocol !== ALPN.tunnel) {
        return fail(connectionProblem(`the proxy does not accept agent tunnels (it answered ALPN ${JSON.stringify(socket.alpnProtocol)})`));
      }
      const identity = (() => {
        try {
          return decodeIdentity(socket.getPeerCertificate().raw);
        } catch {
          return undefined;
        }
      })();
      if (identity?.usage !== 'host') {
        return fail(connectionProblem('the proxy presented a certificate that is not a host certificate'));
      }
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      this.#onConnected(socket);
    });
  }

  #onConnected(socket: Duplex): void {
    if (socket instanceof tls.TLSSocket) socket.setNoDelay(true);
    const mux = new Mux(socket, {
      ...this.#opts.mux,
      localIds: AGENT_STREAM_IDS,
      peerName: `proxy ${this.#opts.proxyAddr}`,
      // A proxy that vanished without closing the TCP connection is found by silence.
      keepAliveMs: this.#heartbeatMs,
      idleTimeoutMs: MISSED_HEARTBEATS * this.#heartbeatMs,
    });
    this.#mux = mux;
    this.#connectedAt = Date.now();
    mux.onStream((stream, header) => this.#opts.onStream(stream, header));
    mux.on('close', (err?: Error) => this.#onDisconnected(mux, err));
    const hello: HelloMessage = {
      type: 'hello',
      hostId: this.#opts.hostId,
      version: this.#opts.version,
      databases: this.#databases(),
      heartbeatMs: this.#heartbeatMs,
    };
    this.#sendControl(mux, hello);
    this.#heartbeat = setInterval(() => {
      const beat: HeartbeatMessage = { type: 'heartbeat', databases: this.#databases() };
      this.#sendControl(mux, beat);
    }, this.#heartbeatMs);
    this.#heartbeat.unref();
    // Debug only: owners log 'connected' / 'disconnected' themselves, with their own context.
    this.#log.debug('tunnel to the proxy is up', { proxy: this.#opts.proxyAddr });
    this.emit('connected');
  }

  #onDisconnected(mux: Mux, err: Error | undefined): void {
    if (this.#mux !== mux) return;
    this.#mux = undefined;
    this.#socket = undefined;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    // A connection that stayed up for a while was healthy: start the backoff over. One that
    // the proxy dropped at once (say, it rejects our certificate) keeps growing the delay.
    if (Date.now() - this.#connectedAt >= 2 * this.#heartbeatMs) this.#attempt = 0;
    // A tunnel closed by stop() was not lost: owners hear 'stopped', so a clean shutdown does not
    // log "lost the proxy connection; reconnecting".
    if (this.#stopped) {
      this.emit('stopped');
      return;
    }
    this.emit('disconnected', err);
    const delay = this.#nextDelay();
    this.#log.debug('tunnel to the proxy is down; reconnecting', { proxy: this.#opts.proxyAddr, err: err ? messageOf(err) : undefined, retry_in_ms: delay });
    this.#retry = setTimeout(() => this.#dial(), delay);
  }

  #sendControl(mux: Mux, msg: HelloMessage | HeartbeatMessage): void {
    try {
      mux.sendControl(msg);
    } catch (err) {
      // Too many databases for one message: say so, and stay connected with none rather than
      // crash the agent or loop on reconnects.
      this.#log.error('cannot advertise the databases', { err: messageOf(err) });
      mux.sendControl({ ...msg, databases: [] });
    }
  }

  #databases(): DatabaseAdvert[] {
    try {
      return this.#opts.databases();
    } catch (err) {
      this.#log.warn('could not list the databases to advertise', { err: messageOf(err) });
      return [];
    }
  }

  /** #nextDelay is min·2^attempt capped at max, with "equal jitter" (half fixed, half random). */
  #nextDelay(): number {
    const { minMs, maxMs } = this.#backoff;
    const base = Math.min(maxMs, minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const random = this.#opts.random ?? Math.random;
    return Math.round(base / 2 + random() * (base / 2));
  }
}

const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** describeDialError turns TLS failure codes into sentences an operator can act on. */
function describeDialError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
    return `the proxy does not accept agent tunnels (it does not speak ALPN "${ALPN.tunnel}"); check db_service.proxy_server`;
  }
  if (UNTRUSTED_CODES.has(code)) return `the proxy's certificate is not trusted (${code}): it was not issued by this cluster's host CA`;
  if (code === 'CERT_HAS_EXPIRED') return "the proxy's certificate has expired";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the proxy's certificate does not name this address: ${err.message}`;
  return err.message;
}
