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
import type { CredentialProvider, UpstreamCredentials } from '../../db/credentials.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { Session } from '../../db/session.js';
import { accessDenied, badParameter, connectionProblem } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { CommandTable } from '../commands.js';
import { errorMessage, replyLine } from '../display.js';
import type { RelayCounters } from '../relay.js';
import { command, type ReplyFrame, type RequestParserOptions } from '../resp/index.js';
import { decodeValue } from '../resp/value.js';
import { authCommand, CredentialsRefused, isWrongPass } from '../reauth.js';
import { checkNotExpired, checkRoutedDb, CommandTableCache, retryRefused, serveSession, sessionCredentials, setUpConnection } from '../session-setup.js';
import { connectUpstream, runSetup, type SecureContextCache } from '../upstream.js';
import type { InputBudget } from '../input-budget.js';
import { ClusterRelay } from './relay.js';
import { ClusterRouter, newClusterCounters, type ClusterCounters, type DialResult } from './router.js';
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

function ignoreError(): void {}

/** ClusterEngine serves cluster-mode sessions; one per Redis engine. */
export class ClusterEngine {
  readonly #cfg: ClusterEngineConfig;
  readonly #topologies: TopologyCache;
  /** Each database's command table, with the server version it was read from (when known). */
  readonly #tables: CommandTableCache;
  readonly #counters = newClusterCounters();

  constructor(cfg: ClusterEngineConfig) {
    this.#cfg = cfg;
    this.#topologies = new TopologyCache({ refreshMs: cfg.topologyRefreshMs, clock: cfg.clock });
    this.#tables = new CommandTableCache(cfg.log);
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
    return this.#tables.get(database);
  }

  /** commandTableVersion is the server (`redis 7.0.15`) the cached table of a database was read from, if known. */
  commandTableVersion(database: string): string | undefined {
    return this.#tables.version(database);
  }

  /** handle serves one cluster session (the client is paused); it resolves when the session has ended. */
  async handle(client: Duplex, session: Session, signal: AbortSignal): Promise<void> {
    const cfg = this.#cfg;
    const log = cfg.log;
    const database = session.database.name;
    let router: ClusterRouter | undefined;
    await serveSession<Prepared>({
      client,
      session,
      signal,
      credentials: cfg.credentials,
      log,
      clock: cfg.clock,
      prepare: () => retryRefused(cfg.credentials, session, () => this.#prepare(session, signal)),
      sendError: cfg.sendError,
      relay: (prepared) => {
        let relay: ClusterRelay | undefined;
        router = new ClusterRouter({
          seed: { address: prepared.seed.address, conn: { socket: prepared.seed.socket, scanner: prepared.seed.scanner } },
          topology: prepared.topology,
          // Every node connection gets credentials of its own, fetched when it is dialled: a node
          // opened hours into a session must not reuse a token that has expired since.
          dial: (host, port, setup) => retryRefused(cfg.credentials, session, () => this.#dialOnce(session, host, port, setup, signal)),
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
          redactValues: cfg.redactValues,
          parser: cfg.parser,
          maxPendingReplies: cfg.maxPendingReplies,
          counters: cfg.counters,
          log,
          tableWanted: () => !this.#tables.has(database),
          onTable: (reply) => this.#tables.parse(database, reply),
          budget: cfg.budget,
          ...(prepared.creds.localAuth ? { localAuth: true } : {}),
        });
        return relay;
      },
      cleanup: () => router?.close(),
    });
  }

  /**
   * dialOnce connects to one node with freshly fetched credentials, authenticates with them and
   * runs the router's setup commands, in one round trip (retried once after WRONGPASS by the caller).
   */
  async #dialOnce(session: Session, host: string, port: number, setup: Buffer[], signal: AbortSignal): Promise<DialResult> {
    const creds = await sessionCredentials(this.#cfg.credentials, session, signal);
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

  async #prepare(session: Session, signal: AbortSignal): Promise<Prepared> {
    const db = session.database;
    checkNotExpired(session, this.#cfg.clock);
    checkRoutedDb(session, true);
    const creds = await sessionCredentials(this.#cfg.credentials, session, signal);
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

    const claim = this.#tables.claim(db.name);
    let table = claim.cached?.table;
    try {
      const late = topology.stale ? [{ kind: 'shards', cmd: CLUSTER_SHARDS }] : [];
      const setup = await setUpConnection(socket, { creds, tables: this.#tables, claim, late, timeoutMs: this.#cfg.connectTimeoutMs, signal });
      table = setup.table;
      let scanner = setup.scanner;
      const shardsReply = setup.replies.get('shards');
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
      claim.settle(table);
      if (table === undefined && claim.waitFor !== undefined) table = await claim.waitFor;
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
      claim.settle(table);
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
}
