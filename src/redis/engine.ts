/**
 * redis/engine: the Redis protocol engine for standalone databases (Teleport's redis.Engine,
 * closing the gaps of reference §7). For each client session it:
 *
 *  1. gets upstream credentials for the session's database and db user, valid no longer than
 *     the session (CredentialProvider), and opens a TLS connection with them;
 *  2. authenticates (AUTH with injected credentials), selects the routed DB number after
 *     checking it against the roles, and — once per database — reads the server's command table
 *     (`COMMAND`), all in one round trip. When the connection is not authenticated yet (the
 *     client AUTHs itself, as with `user default off` and no injected password), the relay reads
 *     the table right after the client's first successful AUTH instead; until then, and only
 *     then, the session uses the built-in table. Nothing about it is logged per session;
 *  3. relays the session (relay.ts): every command checked against the roles by name and ACL
 *     category, audited with values redacted, forwarded byte for byte; replies forwarded byte
 *     for byte in request order, RESP2 and RESP3 alike.
 *
 * Databases in cluster mode (`?mode=cluster`) are served by cluster/engine.ts, which presents the
 * whole Redis Cluster to the client as one Redis.
 *
 * Errors the engine makes reach the client as `-ERR xport: <message>`; errors from Redis pass
 * through untouched. Must not import auth/ or cloud/: RBAC arrives as `Session.checker`,
 * credentials through the `CredentialProvider` in the config.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { credentialOptions, type CredentialProvider, type UpstreamCredentials } from '../db/credentials.js';
import type { Engine } from '../db/engine.js';
import type { Session, SessionAuditEvent } from '../db/session.js';
import { accessDenied, authRequired, badParameter, connectionProblem, isXError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ClusterEngine, type EngineSettings } from './cluster/engine.js';
import { FALLBACK_COMMANDS, FALLBACK_SOURCE } from './command-fallback.js';
import { CommandTable, parseCompactTable, serverVersion } from './commands.js';
import { DEFAULT_PROCESS_BUFFER_BYTES, DEFAULT_SESSION_BUFFER_BYTES, InputBudget } from './input-budget.js';
import { SessionRelay, type RelayCounters } from './relay.js';
import { command, error as errorReply, STREAMED_MAX_HELD_ARGS, type ReplyFrame, type ReplyScanner, type RequestParserOptions } from './resp/index.js';
import { decodeValue } from './resp/value.js';
import { authCommand, CredentialsRefused, isWrongPass, keepAuthenticated } from './reauth.js';
import { connectUpstream, DEFAULT_CONNECT_TIMEOUT_MS, runSetup, SecureContextCache } from './upstream.js';

/** RedisEngineLimits bound what one client may make the engine hold. */
export interface RedisEngineLimits extends Omit<RequestParserOptions, 'streamAbove'> {
  /**
   * Most bytes of one request a session holds before judging it (default 8 MiB): a larger
   * request is judged on its leading arguments and streamed to Redis (or discarded if denied).
   * In cluster mode, where a request is routed whole, a larger request ends the session.
   */
  sessionBufferBytes?: number;
  /**
   * Most client input all sessions together hold (default 128 MiB): past it, sessions judge
   * their partial requests at once and stop reading until the total falls.
   */
  processBufferBytes?: number;
  /**
   * Most upstream replies a client may have outstanding before the engine stops reading its
   * requests (pipelines deeper than this are simply slowed down). Default 10,000.
   */
  maxPendingReplies?: number;
}

/** RedisEngineConfig configures a {@link RedisEngine}. */
export interface RedisEngineConfig {
  /** Where upstream credentials come from (per database type). Required. */
  credentials: CredentialProvider;
  /** Where the engine logs (never secrets, never command values). Required. */
  log: Logger;
  /** Mask non-key arguments in audited command text (default true). AUTH passwords are always masked. */
  redactValues?: boolean;
  limits?: RedisEngineLimits;
  /** Bound on dial + TLS handshake + setup replies (default 15 s). */
  connectTimeoutMs?: number;
  clock?: Clock;
  /** Cluster mode: how old a cluster's topology may get before a session refreshes it (default 30 s). */
  topologyRefreshMs?: number;
}

/** DEFAULT_MAX_PENDING_REPLIES is the default {@link RedisEngineLimits.maxPendingReplies}. */
export const DEFAULT_MAX_PENDING_REPLIES = 10_000;

/** RedisEngineStats is a snapshot of the engine's counters. */
export interface RedisEngineStats extends RelayCounters {
  /** Sessions being served now. */
  activeSessions: number;
  /** Client input held now by all sessions (counted against processBufferBytes). */
  inputBytes: number;
  /** The most client input held at once since the engine was made. */
  inputBytesPeak: number;
  /** Sessions started since the engine was made (including failed starts). */
  sessions: number;
}

type ResolvedConfig = EngineSettings;

/** withDefaults checks a config and fills the optional fields. */
function withDefaults(cfg: RedisEngineConfig): ResolvedConfig {
  if (cfg === undefined || cfg === null) throw badParameter('redis engine config: the config is missing');
  if (cfg.credentials === undefined) throw badParameter('redis engine config: credentials is missing');
  if (cfg.log === undefined) throw badParameter('redis engine config: log is missing');
  const {
    maxPendingReplies = DEFAULT_MAX_PENDING_REPLIES,
    sessionBufferBytes = DEFAULT_SESSION_BUFFER_BYTES,
    processBufferBytes = DEFAULT_PROCESS_BUFFER_BYTES,
    ...parserLimits
  } = cfg.limits ?? {};
  for (const [name, v] of [['maxPendingReplies', maxPendingReplies], ['sessionBufferBytes', sessionBufferBytes], ['processBufferBytes', processBufferBytes]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw badParameter(`redis engine config: ${name} must be a positive integer, got ${String(v)}`);
  }
  const parser: RequestParserOptions = { ...parserLimits, streamAbove: sessionBufferBytes, maxHeldArgs: STREAMED_MAX_HELD_ARGS };
  const connectTimeoutMs = cfg.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!(connectTimeoutMs > 0)) throw badParameter(`redis engine config: connectTimeoutMs must be positive, got ${String(connectTimeoutMs)}`);
  return {
    credentials: cfg.credentials,
    log: cfg.log,
    redactValues: cfg.redactValues ?? true,
    parser,
    budget: new InputBudget(processBufferBytes),
    maxPendingReplies,
    connectTimeoutMs,
    clock: cfg.clock ?? systemClock,
    topologyRefreshMs: cfg.topologyRefreshMs,
  };
}

let fallbackTable: CommandTable | undefined;

/** builtinCommandTable is the table captured from Redis 7.0, used when a server will not describe itself. */
export function builtinCommandTable(): CommandTable {
  fallbackTable ??= parseCompactTable(FALLBACK_COMMANDS);
  return fallbackTable;
}

/** errorMessage is the one-line text of an error for the wire. */
function errorMessage(err: unknown): string {
  if (isXError(err) || err instanceof Error) return err.message;
  return String(err);
}

/** Prepared is an upstream connection set up for a session. */
interface Prepared {
  socket: TLSSocket;
  /** The scanner that read the setup replies; it may hold bytes that came after them. */
  scanner: ReplyScanner;
  table: CommandTable;
  resetReplay: Buffer[];
  creds: UpstreamCredentials;
}

/**
 * RedisEngine serves Redis sessions for standalone databases. One instance serves every
 * session of an agent: it caches TLS contexts and each database's command table.
 */
export class RedisEngine implements Engine {
  readonly #cfg: ResolvedConfig;
  readonly #contexts = new SecureContextCache();
  /** Each database's command table, with the server version it was read from (when known). */
  readonly #tables = new Map<string, { version: string | undefined; table: CommandTable }>();
  readonly #loading = new Map<string, Promise<CommandTable | undefined>>();
  /** Databases whose table could not be read for a reason other than authentication (warned once). */
  readonly #warned = new Set<string>();
  readonly #counters: RelayCounters = { commands: 0, denied: 0, upstreamPauses: 0, clientPauses: 0 };
  readonly #cluster: ClusterEngine;
  #active = 0;
  #sessions = 0;

  constructor(cfg: RedisEngineConfig) {
    this.#cfg = withDefaults(cfg);
    const c = this.#cfg;
    this.#cluster = new ClusterEngine({
      ...c,
      contexts: this.#contexts,
      counters: this.#counters,
      builtinTable: builtinCommandTable,
      sendError: (client, err) => this.sendError(client, err),
    });
  }

  /** cluster is the part of the engine serving databases in cluster mode (topology, tables). */
  get cluster(): ClusterEngine {
    return this.#cluster;
  }

  /** stats returns a snapshot of the engine's counters. */
  stats(): RedisEngineStats {
    const budget = this.#cfg.budget;
    return { ...this.#counters, activeSessions: this.#active, sessions: this.#sessions, inputBytes: budget.used, inputBytesPeak: budget.peak };
  }

  /** commandTable returns the command table cached for a database, if one was read from it. */
  commandTable(database: string): CommandTable | undefined {
    return this.#tables.get(database)?.table;
  }

  /** commandTableVersion is the server (`redis 7.0.15`) the cached table of a database was read from, if known. */
  commandTableVersion(database: string): string | undefined {
    return this.#tables.get(database)?.version;
  }

  /** secureContextsBuilt counts the TLS contexts built (each distinct credential builds one). */
  get secureContextsBuilt(): number {
    return this.#contexts.built;
  }

  /** tlsSessionsResumed counts upstream TLS handshakes that resumed an earlier session. */
  get tlsSessionsResumed(): number {
    return this.#contexts.resumed;
  }

  /** handle serves one client session; it resolves when the session has ended. */
  async handle(client: Duplex, session: Session, signal: AbortSignal): Promise<void> {
    this.#active++;
    this.#sessions++;
    const log = this.#cfg.log;
    // Hold the client's first bytes until the upstream is ready. A reset while we dial must not
    // become an unhandled 'error' event (the relay installs its own handler later).
    client.pause();
    client.on('error', ignoreError);
    try {
      if (session.database.mode === 'cluster') {
        await this.#cluster.handle(client, session, signal);
        return;
      }
      let prepared: Prepared;
      try {
        prepared = await this.#prepareRetryingRefused(session, signal);
      } catch (err) {
        this.#emit(session, { type: 'db.session.start', success: false, error: errorMessage(err) });
        log.info('database session failed to start', { session: session.id, database: session.database.name, error: errorMessage(err) });
        this.sendError(client, err);
        return;
      }
      this.#emit(session, { type: 'db.session.start', success: true });
      const relay = new SessionRelay({
        client,
        upstream: prepared.socket,
        scanner: prepared.scanner,
        session,
        table: prepared.table,
        redactValues: this.#cfg.redactValues,
        parser: this.#cfg.parser,
        maxPendingReplies: this.#cfg.maxPendingReplies,
        resetReplay: prepared.resetReplay,
        counters: this.#counters,
        log,
        tableWanted: () => !this.#tables.has(session.database.name),
        onTable: (reply) => this.#parseTable(session.database.name, reply),
        budget: this.#cfg.budget,
        ...(prepared.creds.localAuth ? { localAuth: true } : {}),
      });
      const stopReauth = keepAuthenticated({
        db: session.database,
        dbUser: session.dbUser,
        options: credentialOptions(session, signal),
        credentials: this.#cfg.credentials,
        first: prepared.creds,
        apply: (auth, done) => relay.reauthenticate(auth, done),
        clock: this.#cfg.clock,
        log,
        sessionId: session.id,
        signal,
      });
      try {
        await relay.run(signal);
      } finally {
        stopReauth();
        this.#emit(session, { type: 'db.session.end', success: true });
      }
    } finally {
      client.off('error', ignoreError);
      this.#active--;
    }
  }

  /** sendError writes `-ERR xport: <message>` (line breaks collapsed) and ends the client. */
  sendError(client: Duplex, err: unknown): void {
    if (client.destroyed || client.writableEnded) return;
    // The client may already be gone (EPIPE); that is no reason to crash.
    if (client.listenerCount('error') === 0) client.on('error', ignoreError);
    client.end(errorReply(`ERR xport: ${errorMessage(err)}`));
    // A client that never reads must not keep the socket forever.
    const t = setTimeout(() => client.destroy(), 5_000);
    t.unref?.();
    client.once('close', () => clearTimeout(t));
  }

  #emit(session: Session, ev: SessionAuditEvent): void {
    try {
      session.audit.emit(ev);
    } catch (err) {
      this.#cfg.log.warn('audit sink threw; event dropped', { session: session.id, error: errorMessage(err) });
    }
  }

  /**
   * prepareRetryingRefused is prepare, once more with fresh credentials when Redis refused the
   * first ones (WRONGPASS: a key or managed-user password rotated since the provider cached it).
   */
  async #prepareRetryingRefused(session: Session, signal: AbortSignal): Promise<Prepared> {
    try {
      return await this.#prepare(session, signal);
    } catch (err) {
      if (!(err instanceof CredentialsRefused)) throw err;
      this.#cfg.credentials.invalidate?.(session.database, session.dbUser);
      try {
        return await this.#prepare(session, signal);
      } catch (again) {
        throw again instanceof CredentialsRefused ? again.cause : again;
      }
    }
  }

  /** prepare opens, authenticates and sets up the upstream connection for a session. */
  async #prepare(session: Session, signal: AbortSignal): Promise<Prepared> {
    const db = session.database;
    if (session.expires.getTime() <= this.#cfg.clock.now().getTime()) {
      throw authRequired('the session has expired', { hint: 'Log in again (xsh login) and reconnect.' });
    }
    if (session.dbName !== undefined) {
      try {
        session.checker.checkDbName(session.dbName);
      } catch (err) {
        throw accessDenied(`access denied to db ${session.dbName}`, { cause: err });
      }
    }
    let creds: UpstreamCredentials;
    try {
      creds = await this.#cfg.credentials.credentials(db, session.dbUser, credentialOptions(session, signal));
    } catch (err) {
      if (isXError(err)) throw err;
      throw connectionProblem(`failed to get credentials for the target database: ${errorMessage(err)}`, { cause: err });
    }

    // Decide whether this session reads the command table; concurrent first sessions wait for one.
    const cached = this.#tables.get(db.name);
    let table = cached?.table;
    let waitFor: Promise<CommandTable | undefined> | undefined;
    let settle: ((t: CommandTable | undefined) => void) | undefined;
    if (table === undefined) {
      waitFor = this.#loading.get(db.name);
      if (waitFor === undefined) {
        const p = new Promise<CommandTable | undefined>((r) => (settle = r));
        this.#loading.set(db.name, p);
      }
    }
    let socket: TLSSocket | undefined;
    let version: string | undefined;
    try {
      socket = await connectUpstream(db, creds, { contexts: this.#contexts, timeoutMs: this.#cfg.connectTimeoutMs, signal });
      // Until the relay takes over, an error (reset by the server) must not go unhandled.
      socket.on('error', ignoreError);
      const steps: Array<{ kind: 'auth' | 'select' | 'version' | 'command' | 'ping'; cmd: Buffer }> = [];
      const resetReplay: Buffer[] = [];
      if (creds.password !== undefined) {
        const auth = authCommand(creds);
        steps.push({ kind: 'auth', cmd: auth });
        resetReplay.push(auth);
      }
      if (session.dbName !== undefined) {
        const select = command(['SELECT', session.dbName]);
        steps.push({ kind: 'select', cmd: select });
        resetReplay.push(select);
      }
      // The server's name and version (HELLO without arguments changes nothing): a table is kept per
      // database and version, so an upgraded server is described anew. Only once authenticated.
      if (creds.password !== undefined) steps.push({ kind: 'version', cmd: HELLO });
      if (settle !== undefined) steps.push({ kind: 'command', cmd: COMMAND });
      // One round trip proves the server accepted our certificate before the client is told all is well.
      if (steps.length === 0) steps.push({ kind: 'ping', cmd: command(['PING']) });
      const setup = await runSetup(
        socket,
        steps.map((s) => s.cmd),
        { timeoutMs: this.#cfg.connectTimeoutMs, signal },
      );
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        const reply = setup.replies[i]!;
        if (step.kind === 'auth' && reply.isError) {
          const denied = accessDenied(`failed to authenticate to the target database as "${creds.username ?? 'default'}": ${replyText(reply)}`, {
            hint: 'Check the credentials configured for this database and db user.',
          });
          throw isWrongPass(reply.raw) ? new CredentialsRefused(denied.message, denied) : denied;
        }
        if (step.kind === 'select' && reply.isError) {
          throw badParameter(`failed to select db ${session.dbName}: ${replyText(reply)}`);
        }
        if (step.kind === 'version') version = serverVersion(reply);
        if (step.kind === 'command') table = this.#parseTable(db.name, reply, version);
      }
      let scanner = setup.scanner;
      if (cached !== undefined && version !== undefined && cached.version !== version) {
        // The server changed under the cached table (an upgrade, a restart with other modules): read it again, once.
        const again = await runSetup(socket, [COMMAND], { timeoutMs: this.#cfg.connectTimeoutMs, signal });
        scanner = again.scanner;
        table = this.#parseTable(db.name, again.replies[0]!, version) ?? table;
      }
      settle?.(table);
      if (table === undefined && waitFor !== undefined) table = await waitFor;
      return { socket, scanner, table: table ?? builtinCommandTable(), resetReplay, creds };
    } catch (err) {
      socket?.destroy();
      throw err;
    } finally {
      if (settle !== undefined) {
        settle(table);
        this.#loading.delete(db.name);
      }
    }
  }

  /**
   * parseTable reads a COMMAND reply and caches it for the database; on failure the session uses
   * the built-in table. A reply that only says the connection is not authenticated yet (NOAUTH)
   * is expected — the relay reads the table after the client's AUTH — and is not worth a
   * warning; any other failure is warned about once per database, never per session.
   */
  #parseTable(database: string, reply: ReplyFrame, version?: string): CommandTable | undefined {
    if (reply.isError && /^[-!]NOAUTH\b/.test(reply.raw.toString('latin1', 0, 16))) {
      this.#cfg.log.debug('the command table will be read after the client authenticates', { database });
      return undefined;
    }
    try {
      const table = CommandTable.parse(decodeValue(reply.raw));
      if (table.size === 0) throw new Error('the server described no commands');
      this.#tables.set(database, { version, table });
      this.#warned.delete(database);
      return table;
    } catch (err) {
      const log = this.#cfg.log;
      const fields = { database, error: errorMessage(err) };
      const message = `could not read the command table of the database; using the built-in table from ${FALLBACK_SOURCE}`;
      if (this.#warned.has(database)) log.debug(message, fields);
      else {
        this.#warned.add(database);
        log.warn(message, fields);
      }
      return undefined;
    }
  }
}

function ignoreError(): void {}

const HELLO = command(['HELLO']);
const COMMAND = command(['COMMAND']);


/** replyText is the text of an error reply without its CRLF (Redis's message, passed on as is). */
function replyText(reply: ReplyFrame): string {
  const s = reply.raw.toString('utf8');
  return s.replace(/^[-!]/, '').replace(/\r\n$/, '').replace(/[\r\n]+/g, ' ');
}
