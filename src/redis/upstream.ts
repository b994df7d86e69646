/**
 * redis/upstream: the agent's TLS connection to Redis for one session — dial with the injected
 * credentials (client certificate, CA, server name), then run the setup commands the session
 * needs before the client's first byte (AUTH, SELECT, COMMAND) and read their replies.
 *
 * TLS contexts are built once per distinct credential and reused: `tls.connect` with PEM strings
 * parses them on every call, which costs ~1.8 ms per connection on the target machine.
 *
 * Imports node:tls/net/crypto, errors, db (contracts) and redis/resp; must not import auth/ or
 * cloud/ (credentials arrive through the db/ CredentialProvider contract).
 */
import { createHash } from 'node:crypto';
import { connect as netConnect, isIP } from 'node:net';
import * as tls from 'node:tls';
import { connectionProblem } from '../errors.js';
import type { UpstreamCredentials } from '../db/credentials.js';
import type { DatabaseSpec } from '../db/database.js';
import { ReplyScanner, type ReplyFrame } from './resp/index.js';

/** DEFAULT_CONNECT_TIMEOUT_MS bounds the dial, the TLS handshake and the setup replies together. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

/** Entries kept by content; a busy agent has one per (database, db user) and cert lifetime. */
const MAX_CACHED_CONTEXTS = 256;

/**
 * SecureContextCache reuses `tls.SecureContext`s. Lookup is first by the credentials' `tls`
 * object (a provider that caches its credentials gets a hit with no hashing), then by a hash of
 * the PEMs, so equal credentials built twice still share a context.
 */
export class SecureContextCache {
  readonly #byObject = new WeakMap<object, tls.SecureContext>();
  readonly #byContent = new Map<string, { ctx: tls.SecureContext; expiresAt: number }>();
  #built = 0;
  /**
   * Resumable TLS sessions to each database, per client credential: a session may only be
   * resumed with the SecureContext (the client certificate) it was made with, so the key is that
   * context plus the target. A resumed handshake skips the key exchange and the certificate
   * checks' signatures (their verdicts travel in the session), the larger part of a new session's
   * cost in the agent; a stale ticket only costs a full handshake.
   */
  readonly #sessions = new WeakMap<tls.SecureContext, Map<string, Buffer>>();
  /** resumed counts upstream handshakes that resumed a session (tests and stats read it). */
  resumed = 0;

  /** built counts the contexts created so far (tests check reuse with it). */
  get built(): number {
    return this.#built;
  }

  /** session returns the last resumable session for this context and target, if any. */
  session(ctx: tls.SecureContext, target: string): Buffer | undefined {
    return this.#sessions.get(ctx)?.get(target);
  }

  /** rememberSession keeps a session (ticket) a verified handshake with ctx to target produced. */
  rememberSession(ctx: tls.SecureContext, target: string, session: Buffer): void {
    let m = this.#sessions.get(ctx);
    if (!m) this.#sessions.set(ctx, (m = new Map()));
    m.set(target, session);
  }

  /** get returns the context for these TLS settings, building it on first use. */
  get(settings: UpstreamCredentials['tls'], expiresAt?: Date, now = Date.now()): tls.SecureContext {
    const hit = this.#byObject.get(settings);
    if (hit !== undefined) return hit;
    const key = createHash('sha256')
      .update(settings.certPem ?? '')
      .update('\0')
      .update(settings.keyPem ?? '')
      .update('\0')
      .update(settings.caPem ?? '')
      .digest('base64');
    let entry = this.#byContent.get(key);
    if (entry === undefined) {
      const ctx = tls.createSecureContext({
        cert: settings.certPem,
        key: settings.keyPem,
        ca: settings.caPem,
        minVersion: 'TLSv1.2',
      });
      this.#built++;
      entry = { ctx, expiresAt: expiresAt?.getTime() ?? Infinity };
      this.#prune(now);
      this.#byContent.set(key, entry);
    } else {
      // Refresh recency: Map iteration order is insertion order, so this makes it an LRU.
      this.#byContent.delete(key);
      this.#byContent.set(key, entry);
    }
    this.#byObject.set(settings, entry.ctx);
    return entry.ctx;
  }

  #prune(now: number): void {
    for (const [k, e] of this.#byContent) if (e.expiresAt <= now) this.#byContent.delete(k);
    while (this.#byContent.size >= MAX_CACHED_CONTEXTS) {
      const oldest = this.#byContent.keys().next().value as string;
      this.#byContent.delete(oldest);
    }
  }
}

/** ConnectOptions tune {@link connectUpstream}. */
export interface ConnectOptions {
  contexts: SecureContextCache;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** TLS errors that mean the other end does not speak TLS at all. */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|record layer failure|http request/i;

function notTlsError(db: DatabaseSpec, why = `${db.host}:${db.port} does not speak TLS`): Error {
  return connectionProblem(`failed to connect to the target database: ${why}; if it has no in-transit encryption, set tls: { mode: disabled } on the database (traffic is then unencrypted)`, {
    hint: 'xport talks TLS to Redis. If this endpoint really is plaintext (no in-transit encryption), set tls: { mode: disabled } on the database; traffic to it is then unencrypted.',
  });
}

function targetError(reason: string): Error {
  return connectionProblem(`failed to connect to the target database: ${reason}`, {
    hint: 'Make sure the database is reachable from the agent and that its TLS settings (CA, server name, client certificate) match the database configuration.',
  });
}

/**
 * connectUpstream dials db over TLS with creds and resolves once the handshake is done. Every
 * failure (refused, timeout, handshake, cancelled) is a connection-problem error whose message
 * starts with `failed to connect to the target database:`.
 */
export function connectUpstream(db: DatabaseSpec, creds: UpstreamCredentials, opts: ConnectOptions): Promise<tls.TLSSocket> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(targetError('the session was cancelled'));
      return;
    }
    let secureContext: tls.SecureContext;
    try {
      secureContext = opts.contexts.get(creds.tls, creds.expiresAt);
    } catch (err) {
      reject(targetError(`invalid TLS credentials: ${(err as Error).message}`));
      return;
    }
    if (db.tls.mode === 'disabled') {
      connectPlain(db, timeoutMs, opts.signal).then(resolve, reject);
      return;
    }
    const name = creds.tls.serverName ?? db.tls.serverName ?? db.host;
    const checkName = creds.tls.checkServerName;
    const target = `${db.host}|${db.port}|${name}|${checkName ? 1 : 0}|${creds.tls.rejectUnauthorized ? 1 : 0}`;
    const cached = opts.contexts.session(secureContext, target);
    const socket = tls.connect({
      host: db.host,
      port: db.port,
      secureContext,
      ...(cached ? { session: cached } : {}),
      // SNI must be a host name (RFC 6066); an IP address is still checked against the certificate below.
      servername: isIP(name) === 0 ? name : undefined,
      rejectUnauthorized: creds.tls.rejectUnauthorized,
      checkServerIdentity: checkName ? (_host, cert) => tls.checkServerIdentity(name, cert) : () => undefined,
    });
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('secureConnect', onConnect);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        resolve(socket);
      }
    };
    const onConnect = () => {
      if (socket.isSessionReused()) opts.contexts.resumed++;
      finish();
    };
    const onError = (err: Error) => finish(NOT_TLS.test(err.message) ? notTlsError(db) : targetError(err.message));
    const onClose = () => finish(targetError('the connection was closed during the TLS handshake'));
    const onAbort = () => finish(targetError('the session was cancelled'));
    // A plaintext Redis never answers a ClientHello (it waits for a line end): a TCP connection
    // without a TLS handshake most likely means an endpoint without in-transit encryption.
    let tcpUp = false;
    socket.once('connect', () => (tcpUp = true));
    const timer = setTimeout(
      () => finish(tcpUp ? notTlsError(db, `no TLS handshake with ${db.host}:${db.port} within ${timeoutMs} ms (the TCP connection was accepted)`) : targetError(`no TLS connection to ${db.host}:${db.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('session', (s: Buffer) => {
      // A ticket is kept only from a handshake that passed every check (the session carries it).
      if (socket.authorized || !creds.tls.rejectUnauthorized) opts.contexts.rememberSession(secureContext, target, s);
    });
    socket.once('secureConnect', onConnect);
    socket.once('error', onError);
    socket.once('close', onClose);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * connectPlain dials a database whose config says `tls: { mode: disabled }`. The socket is typed
 * as a TLSSocket for the engines, which use only its net.Socket side.
 */
function connectPlain(db: DatabaseSpec, timeoutMs: number, signal?: AbortSignal): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: db.host, port: db.port });
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
        return;
      }
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      resolve(socket as tls.TLSSocket);
    };
    const onConnect = () => finish();
    const onError = (err: Error) => finish(targetError(err.message));
    const onAbort = () => finish(targetError('the session was cancelled'));
    const timer = setTimeout(() => finish(targetError(`no connection to ${db.host}:${db.port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** SetupResult is what the setup commands returned, in order, and the scanner holding any later bytes. */
export interface SetupResult {
  replies: ReplyFrame[];
  scanner: ReplyScanner;
}

/**
 * runSetup writes commands (already encoded) in one write and reads exactly one reply for each.
 * The socket is left paused with no listeners, ready for the session. Failures before the last
 * reply are connection problems (`failed to connect to the target database: …`): a mutual-TLS
 * rejection by the server surfaces here, on the first read.
 */
export function runSetup(socket: tls.TLSSocket, commands: readonly Buffer[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SetupResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const scanner = new ReplyScanner();
  const replies: ReplyFrame[] = [];
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
        return;
      }
      socket.pause();
      resolve({ replies, scanner });
    };
    const onData = (chunk: Buffer) => {
      scanner.push(chunk);
      try {
        while (replies.length < commands.length) {
          const f = scanner.next();
          if (f === undefined) break;
          if (!f.push) replies.push(f);
        }
      } catch (err) {
        finish(targetError((err as Error).message));
        return;
      }
      if (replies.length === commands.length) finish();
    };
    const onError = (err: Error) => finish(targetError(err.message));
    const onClose = () => finish(targetError('the database closed the connection'));
    const onAbort = () => finish(targetError('the session was cancelled'));
    const timer = setTimeout(() => finish(targetError(`no reply from the database within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (commands.length === 0) {
      finish();
      return;
    }
    socket.write(commands.length === 1 ? commands[0]! : Buffer.concat(commands as Buffer[]));
  });
}
