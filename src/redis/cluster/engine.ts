/**
 * redis/cluster/engine: serves sessions of databases in cluster mode (`?mode=cluster`) for the
 * Redis engine. For each session it:
 *
 *  1. gets upstream credentials (CredentialProvider) valid no longer than the session, and
 *     connects to the database URI's node — or, when that node is down and the topology is
 *     already known, to another node of the cluster;
 *  2. in one round trip: AUTH with the injected credentials, COMMAND (once per database), and
 *     CLUSTER SHARDS (CLUSTER SLOTS on servers without it) when the shared topology is missing
 *     or older than the refresh interval. If the node wants the client's own AUTH first
 *     (NOAUTH), the topology is read right after the client authenticates;
 *  3. relays the session with a {@link ClusterRelay} over a {@link ClusterRouter} that opens one
 *     connection per node on demand, each authenticated exactly like the first.
 *
 * Errors reach the client as `-ERR xport: <message>`. Must not import auth/ or cloud/.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { credentialOptions, type CredentialProvider, type UpstreamCredentials } from '../../db/credentials.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { Session, SessionAuditEvent } from '../../db/session.js';
import { accessDenied, authRequired, badParameter, connectionProblem, isXError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { CommandTable, serverVersion } from '../commands.js';
import type { RelayCounters } from '../relay.js';
import { command, type ReplyFrame, type RequestParserOptions } from '../resp/index.js';
import { decodeValue } from '../resp/value.js';
import { authCommand, CredentialsRefused, isWrongPass, keepAuthenticated } from '../reauth.js';
import { connectUpstream, runSetup, type SecureContextCache } from '../upstream.js';
import type { InputBudget } from '../input-budget.js';
import { ClusterRelay } from './relay.js';
import { ClusterRouter, newClusterCounters, replyLine, type ClusterCounters, type DialResult } from './router.js';
import { TopologyCache, type DatabaseTopology } from './topology-cache.js';
import { ClusterTopology, nodeAddress } from './topology.js';

/** EngineSettings are the Redis engine's settings with defaults applied, shared by both modes. */
export interface EngineSettings {
  credentials: CredentialProvider;
  log: Logger;
  redactValues: boolean;
  parser: RequestParserOptions;
  /** The process-wide budget for held client input. */
  budget: InputBudget;
  maxPendingReplies: number;
  connectTimeoutMs: number;
  clock: Clock;
  /** How old a topology may get before a session refreshes it (default 30 s). */
  topologyRefreshMs?: number;
}

/** ClusterEngineConfig is what the Redis engine shares with its cluster sessions. */
export interface ClusterEngineConfig extends EngineSettings {
  /** The engine's TLS context cache (one context per credential, shared with standalone sessions). */
  contexts: SecureContextCache;
  /** The engine's counters. */
  counters: RelayCounters;
  /** The table used when a server will not describe its commands. */
  builtinTable: () => CommandTable;
  /** Writes an agent error to the client and ends it (the engine's sendError). */
  sendError: (client: Duplex, err: unknown) => void;
}

/** Prepared is a session's first node connection and what was read through it. */
interface Prepared {
  seed: { address: string; socket: TLSSocket; scanner: DialResult['scanner'] };
  creds: UpstreamCredentials;
  table: CommandTable;
  topology: DatabaseTopology;
}

const CLUSTER_SHARDS = command(['CLUSTER', 'SHARDS']);
const CLUSTER_SLOTS = command(['CLUSTER', 'SLOTS']);
const COMMAND = command(['COMMAND']);
const HELLO = command(['HELLO']);

function errorMessage(err: unknown): string {
  if (isXError(err) || err instanceof Error) return err.message;
  return String(err);
}

function ignoreError(): void {}

/** ClusterEngine serves cluster-mode sessions; one per Redis engine. */
export class ClusterEngine {
  readonly #cfg: ClusterEngineConfig;
  readonly #topologies: TopologyCache;
  /** Each database's command table, with the server version it was read from (when known). */
  readonly #tables = new Map<string, { version: string | undefined; table: CommandTable }>();
  readonly #loading = new Map<string, Promise<CommandTable | undefined>>();
  readonly #warned = new Set<string>();
  readonly #counters = newClusterCounters();

  constructor(cfg: ClusterEngineConfig) {
    this.#cfg = cfg;
    this.#topologies = new TopologyCache({ refreshMs: cfg.topologyRefreshMs, clock: cfg.clock });
  }

  /** topology returns the shared topology of a database (tests and diagnostics). */
  topology(db: DatabaseSpec): DatabaseTopology {
    return this.#topologies.for(db);
  }

  /** stats returns a snapshot of the cluster counters (redirects followed, retries, refusals). */
  stats(): ClusterCounters {
    return { ...this.#counters };
  }

  /** commandTable returns the command table cached for a database, if one was read from it. */
  commandTable(database: string): CommandTable | undefined {
    return this.#tables.get(database)?.table;
  }

  /** commandTableVersion is the server (`redis 7.0.15`) the cached table of a database was read from, if known. */
  commandTableVersion(database: string): string | undefined {
    return this.#tables.get(database)?.version;
  }

  /** handle serves one cluster session (the client is paused); it resolves when the session has ended. */
  async handle(client: Duplex, session: Session, signal: AbortSignal): Promise<void> {
    const log = this.#cfg.log;
    let prepared: Prepared;
    try {
      prepared = await this.#prepareRetryingRefused(session, signal);
    } catch (err) {
      this.#emit(session, { type: 'db.session.start', success: false, error: errorMessage(err) });
      log.info('database session failed to start', { session: session.id, database: session.database.name, error: errorMessage(err) });
      this.#cfg.sendError(client, err);
      return;
    }
    this.#emit(session, { type: 'db.session.start', success: true });
    let relay: ClusterRelay | undefined;
    const router = new ClusterRouter({
      seed: { address: prepared.seed.address, conn: { socket: prepared.seed.socket, scanner: prepared.seed.scanner } },
      topology: prepared.topology,
      // Every node connection gets credentials of its own, fetched when it is dialled: a node
      // opened hours into a session must not reuse a token that has expired since.
      dial: (host, port, setup) => this.#dial(session, host, port, setup, signal),
      injected: [],
      onPush: (f) => relay?.onPush(f),
      onActivity: () => relay?.onActivity(),
      onDrained: () => relay?.onDrained(),
      log,
      sessionId: session.id,
      counters: this.#counters,
    });
    relay = new ClusterRelay({
      client,
      router,
      session,
      table: prepared.table,
      redactValues: this.#cfg.redactValues,
      parser: this.#cfg.parser,
      maxPendingReplies: this.#cfg.maxPendingReplies,
      counters: this.#cfg.counters,
      log,
      tableWanted: () => !this.#tables.has(session.database.name),
      onTable: (reply) => this.#parseTable(session.database.name, reply),
      budget: this.#cfg.budget,
      ...(prepared.creds.localAuth ? { localAuth: true } : {}),
    });
    const live = relay;
    const stopReauth = keepAuthenticated({
      db: session.database,
      dbUser: session.dbUser,
      options: credentialOptions(session, signal),
      credentials: this.#cfg.credentials,
      first: prepared.creds,
      apply: (auth, done) => live.reauthenticate(auth, done),
      clock: this.#cfg.clock,
      log,
      sessionId: session.id,
      signal,
    });
    try {
      await relay.run(signal);
    } finally {
      stopReauth();
      router.close();
      this.#emit(session, { type: 'db.session.end', success: true });
    }
  }

  #emit(session: Session, ev: SessionAuditEvent): void {
    try {
      session.audit.emit(ev);
    } catch (err) {
      this.#cfg.log.warn('audit sink threw; event dropped', { session: session.id, error: errorMessage(err) });
    }
  }

  /** credentialsFor asks the provider for credentials valid no longer than the session. */
  async #credentialsFor(session: Session, signal: AbortSignal): Promise<UpstreamCredentials> {
    try {
      return await this.#cfg.credentials.credentials(session.database, session.dbUser, credentialOptions(session, signal));
    } catch (err) {
      if (isXError(err)) throw err;
      throw connectionProblem(`failed to get credentials for the target database: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * dial connects to one node with freshly fetched credentials, authenticates with them and runs
   * the router's setup commands, in one round trip. Refused credentials (WRONGPASS after a
   * rotation) are dropped from the provider's cache and the dial is tried once more.
   */
  async #dial(session: Session, host: string, port: number, setup: Buffer[], signal: AbortSignal): Promise<DialResult> {
    try {
      return await this.#dialOnce(session, host, port, setup, signal);
    } catch (err) {
      if (!(err instanceof CredentialsRefused)) throw err;
      this.#cfg.credentials.invalidate?.(session.database, session.dbUser);
      try {
        return await this.#dialOnce(session, host, port, setup, signal);
      } catch (again) {
        throw again instanceof CredentialsRefused ? again.cause : again;
      }
    }
  }

  async #dialOnce(session: Session, host: string, port: number, setup: Buffer[], signal: AbortSignal): Promise<DialResult> {
    const creds = await this.#credentialsFor(session, signal);
    const socket = await connectUpstream({ ...session.database, host, port }, creds, {
      contexts: this.#cfg.contexts,
      timeoutMs: this.#cfg.connectTimeoutMs,
      signal,
    });
    socket.on('error', ignoreError);
    const withAuth = creds.password !== undefined;
    const r = await runSetup(socket, withAuth ? [authCommand(creds), ...setup] : setup, { timeoutMs: this.#cfg.connectTimeoutMs, signal });
    if (withAuth) {
      const auth = r.replies.shift()!;
      if (auth.isError) {
        socket.destroy();
        const err = new Error(`refused AUTH: ${replyLine(auth.raw)}`);
        throw isWrongPass(auth.raw) ? new CredentialsRefused(err.message, err) : err;
      }
    }
    return { socket, scanner: r.scanner, replies: r.replies };
  }

  /** prepareRetryingRefused is prepare, once more with fresh credentials after a WRONGPASS. */
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

  async #prepare(session: Session, signal: AbortSignal): Promise<Prepared> {
    const db = session.database;
    if (session.expires.getTime() <= this.#cfg.clock.now().getTime()) {
      throw authRequired('the session has expired', { hint: 'Log in again (xsh login) and reconnect.' });
    }
    if (session.dbName !== undefined) {
      if (session.dbName !== '0') {
        throw badParameter(`database ${db.name} is a Redis Cluster, which has only db 0; cannot select db ${session.dbName}`, {
          hint: 'Connect without a db name (or with 0).',
        });
      }
      try {
        session.checker.checkDbName('0');
      } catch (err) {
        throw accessDenied('access denied to db 0', { cause: err });
      }
    }
    const creds = await this.#credentialsFor(session, signal);
    const topology = this.#topologies.for(db);

    // The URI's node first; if it is down and the cluster is known, any other node will do.
    const candidates: Array<{ host: string; port: number }> = [{ host: db.host, port: db.port }];
    for (const n of topology.current?.nodes ?? []) {
      if (!candidates.some((c) => c.host === n.host && c.port === n.port)) candidates.push({ host: n.host, port: n.port });
    }
    let socket: TLSSocket | undefined;
    let seed = candidates[0]!;
    let firstErr: unknown;
    for (const c of candidates) {
      try {
        socket = await connectUpstream({ ...db, host: c.host, port: c.port }, creds, { contexts: this.#cfg.contexts, timeoutMs: this.#cfg.connectTimeoutMs, signal });
        seed = c;
        break;
      } catch (err) {
        firstErr ??= err;
        if (signal.aborted) break;
      }
    }
    if (socket === undefined) throw firstErr;
    socket.on('error', ignoreError);

    const cached = this.#tables.get(db.name);
    let table = cached?.table;
    let version: string | undefined;
    let waitFor: Promise<CommandTable | undefined> | undefined;
    let settle: ((t: CommandTable | undefined) => void) | undefined;
    if (table === undefined) {
      waitFor = this.#loading.get(db.name);
      if (waitFor === undefined) this.#loading.set(db.name, new Promise((r) => (settle = r)));
    }
    try {
      const steps: Array<{ kind: 'auth' | 'version' | 'command' | 'shards' | 'ping'; cmd: Buffer }> = [];
      if (creds.password !== undefined) steps.push({ kind: 'auth', cmd: authCommand(creds) });
      // The server's name and version: a table is kept per database and version (see engine.ts).
      if (creds.password !== undefined) steps.push({ kind: 'version', cmd: HELLO });
      if (settle !== undefined) steps.push({ kind: 'command', cmd: COMMAND });
      if (topology.stale) steps.push({ kind: 'shards', cmd: CLUSTER_SHARDS });
      if (steps.length === 0) steps.push({ kind: 'ping', cmd: command(['PING']) });
      const setup = await runSetup(
        socket,
        steps.map((s) => s.cmd),
        { timeoutMs: this.#cfg.connectTimeoutMs, signal },
      );
      let shardsReply: ReplyFrame | undefined;
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        const reply = setup.replies[i]!;
        if (step.kind === 'auth' && reply.isError) {
          const denied = accessDenied(`failed to authenticate to the target database as "${creds.username ?? 'default'}": ${replyLine(reply.raw)}`, {
            hint: 'Check the credentials configured for this database and db user.',
          });
          throw isWrongPass(reply.raw) ? new CredentialsRefused(denied.message, denied) : denied;
        }
        if (step.kind === 'version') version = serverVersion(reply);
        if (step.kind === 'command') table = this.#parseTable(db.name, reply, version);
        if (step.kind === 'shards') shardsReply = reply;
      }
      let scanner = setup.scanner;
      if (cached !== undefined && version !== undefined && cached.version !== version) {
        // The server changed under the cached table: read it again, once.
        const again = await runSetup(socket, [COMMAND], { timeoutMs: this.#cfg.connectTimeoutMs, signal });
        scanner = again.scanner;
        table = this.#parseTable(db.name, again.replies[0]!, version) ?? table;
      }
      if (shardsReply !== undefined) {
        let reply = shardsReply;
        let parse = ClusterTopology.parseShards;
        if (reply.isError && /^-ERR unknown subcommand/i.test(reply.raw.toString('latin1', 0, 40))) {
          // Redis < 7: CLUSTER SLOTS. The setup scanner may hold nothing more; a second round trip is fine.
          const again = await runSetup(socket, [CLUSTER_SLOTS], { timeoutMs: this.#cfg.connectTimeoutMs, signal });
          reply = again.replies[0]!;
          scanner = again.scanner;
          parse = ClusterTopology.parseSlots;
        }
        this.#useTopology(db, topology, reply, parse, seed.host);
      }
      settle?.(table);
      if (table === undefined && waitFor !== undefined) table = await waitFor;
      return {
        seed: { address: nodeAddress(seed.host, seed.port), socket, scanner },
        creds,
        table: table ?? this.#cfg.builtinTable(),
        topology,
      };
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      if (settle !== undefined) {
        settle(table);
        this.#loading.delete(db.name);
      }
    }
  }

  /** useTopology stores a topology read at session start, or explains why the database cannot be served. */
  #useTopology(
    db: DatabaseSpec,
    topology: DatabaseTopology,
    reply: ReplyFrame,
    parse: (v: ReturnType<typeof decodeValue>, seedHost: string) => ClusterTopology,
    seedHost: string,
  ): void {
    if (reply.isError) {
      const text = replyLine(reply.raw);
      if (/^NOAUTH/.test(text)) return; // read after the client's own AUTH
      if (/cluster support disabled/i.test(text)) {
        throw badParameter(`database ${db.name} is not a Redis Cluster: ${text}`, {
          hint: 'Remove ?mode=cluster from the database URI, or point it at a node of a Redis Cluster.',
        });
      }
      if (topology.current !== undefined) return; // another session's topology will do
      throw accessDenied(`failed to read the topology of the Redis Cluster: ${text}`, {
        hint: 'Allow the db user CLUSTER SHARDS and CLUSTER SLOTS in the Redis ACL (+cluster|shards +cluster|slots).',
      });
    }
    try {
      topology.set(parse(decodeValue(reply.raw), seedHost));
    } catch (err) {
      if (topology.current !== undefined) return;
      throw connectionProblem(`failed to read the topology of the Redis Cluster: ${errorMessage(err)}`);
    }
  }

  /**
   * parseTable reads a COMMAND reply and caches it; on failure the session uses the built-in
   * table. NOAUTH (the client authenticates itself) is expected and not warned about; any other
   * failure is warned about once per database, never per session.
   */
  #parseTable(database: string, reply: { raw: Buffer; isError: boolean }, version?: string): CommandTable | undefined {
    if (reply.isError && /^[-!]NOAUTH\b/.test(reply.raw.toString('latin1', 0, 16))) return undefined;
    try {
      const table = CommandTable.parse(decodeValue(reply.raw));
      if (table.size === 0) throw new Error('the server described no commands');
      this.#tables.set(database, { version, table });
      return table;
    } catch (err) {
      const fields = { database, error: errorMessage(err) };
      if (this.#warned.has(database)) this.#cfg.log.debug('could not read the command table of the database; using the built-in table', fields);
      else {
        this.#warned.add(database);
        this.#cfg.log.warn('could not read the command table of the database; using the built-in table', fields);
      }
      return undefined;
    }
  }
}
