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
import type { CredentialProvider, UpstreamCredentials } from '../db/credentials.js';
import type { Engine } from '../db/engine.js';
import type { Session } from '../db/session.js';
import { badParameter } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { endClient } from './backpressure.js';
import { ClusterEngine, type EngineSettings } from './cluster/engine.js';
import { FALLBACK_COMMANDS } from './command-fallback.js';
import { parseCompactTable, type CommandTable } from './commands.js';
import { errorMessage, replyLine } from './display.js';
import { DEFAULT_PROCESS_BUFFER_BYTES, DEFAULT_SESSION_BUFFER_BYTES, InputBudget } from './input-budget.js';
import { SessionRelay, type RelayCounters } from './relay.js';
import { command, error as errorReply, STREAMED_MAX_HELD_ARGS, type ReplyScanner, type RequestParserOptions } from './resp/index.js';
import { authCommand } from './reauth.js';
import { checkNotExpired, checkRoutedDb, CommandTableCache, retryRefused, serveSession, sessionCredentials, setUpConnection } from './session-setup.js';
import { connectUpstream, DEFAULT_CONNECT_TIMEOUT_MS, SecureContextCache } from './upstream.js';

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
  readonly #tables: CommandTableCache;
  readonly #counters: RelayCounters = { commands: 0, denied: 0, upstreamPauses: 0, clientPauses: 0 };
  readonly #cluster: ClusterEngine;
  #active = 0;
  #sessions = 0;

  constructor(cfg: RedisEngineConfig) {
    this.#cfg = withDefaults(cfg);
    const c = this.#cfg;
    this.#tables = new CommandTableCache(c.log);
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
    return this.#tables.get(database);
  }

  /** commandTableVersion is the server (`redis 7.0.15`) the cached table of a database was read from, if known. */
  commandTableVersion(database: string): string | undefined {
    return this.#tables.version(database);
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
    // Hold the client's first bytes until the upstream is ready. A reset while we dial must not
    // become an unhandled 'error' event (the relay installs its own handler later).
    client.pause();
    client.on('error', ignoreError);
    try {
      if (session.database.mode === 'cluster') {
        await this.#cluster.handle(client, session, signal);
        return;
      }
      const cfg = this.#cfg;
      const database = session.database.name;
      await serveSession<Prepared>({
        client,
        session,
        signal,
        credentials: cfg.credentials,
        log: cfg.log,
        clock: cfg.clock,
        prepare: () => retryRefused(cfg.credentials, session, () => this.#prepare(session, signal)),
        sendError: (c, err) => this.sendError(c, err),
        relay: (prepared) =>
          new SessionRelay({
            client,
            upstream: prepared.socket,
            scanner: prepared.scanner,
            session,
            table: prepared.table,
            redactValues: cfg.redactValues,
            parser: cfg.parser,
            maxPendingReplies: cfg.maxPendingReplies,
            resetReplay: prepared.resetReplay,
            counters: this.#counters,
            log: cfg.log,
            tableWanted: () => !this.#tables.has(database),
            onTable: (reply) => this.#tables.parse(database, reply),
            budget: cfg.budget,
            ...(prepared.creds.localAuth ? { localAuth: true } : {}),
          }),
      });
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
    // A client that never reads must not keep the socket forever.
    endClient(client, false, errorReply(`ERR xport: ${errorMessage(err)}`));
  }

  /** prepare opens, authenticates and sets up the upstream connection for a session. */
  async #prepare(session: Session, signal: AbortSignal): Promise<Prepared> {
    const db = session.database;
    checkNotExpired(session, this.#cfg.clock);
    checkRoutedDb(session, false);
    const creds = await sessionCredentials(this.#cfg.credentials, session, signal);
    // Decide whether this session reads the command table; concurrent first sessions wait for one.
    const claim = this.#tables.claim(db.name);
    let table = claim.cached?.table;
    let socket: TLSSocket | undefined;
    try {
      socket = await connectUpstream(db, creds, { contexts: this.#contexts, timeoutMs: this.#cfg.connectTimeoutMs, signal });
      // Until the relay takes over, an error (reset by the server) must not go unhandled.
      socket.on('error', ignoreError);
      const resetReplay: Buffer[] = [];
      if (creds.password !== undefined) resetReplay.push(authCommand(creds));
      const early = [];
      if (session.dbName !== undefined) {
        const select = command(['SELECT', session.dbName]);
        early.push({ kind: 'select', cmd: select });
        resetReplay.push(select);
      }
      const setup = await setUpConnection(socket, { creds, tables: this.#tables, claim, early, timeoutMs: this.#cfg.connectTimeoutMs, signal });
      const selected = setup.replies.get('select');
      if (selected?.isError) throw badParameter(`failed to select db ${session.dbName}: ${replyLine(selected.raw)}`);
      table = setup.table;
      claim.settle(table);
      if (table === undefined && claim.waitFor !== undefined) table = await claim.waitFor;
      return { socket, scanner: setup.scanner, table: table ?? builtinCommandTable(), resetReplay, creds };
    } catch (err) {
      socket?.destroy();
      throw err;
    } finally {
      claim.settle(table);
    }
  }
}

function ignoreError(): void {}
