/**
 * proxy/tunnel-server: the proxy's end of the agents' reverse tunnels (ALPN `xport-tunnel`).
 *
 * Agents dial in (the proxy never dials agents, ARCHITECTURE §1); each authenticated connection
 * becomes a {@link Mux}. The registry keeps one connection per host id — a reconnecting agent
 * replaces its old one — with the databases from its hello and heartbeats, and drops an agent
 * after {@link MISSED_HEARTBEATS} missed heartbeats or when its connection closes. A user session
 * becomes one stream opened on a healthy agent serving the database, chosen at random (load
 * spreading), failing over to the others when one refuses, times out or is gone.
 *
 * Imports mux/, proxy/tunnel-protocol, pki, errors and util; must not import service or cli.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { accessDenied, connectionProblem, isXError, messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';
import { sourceKey } from '../util/net.js';
import { SourceLimiter } from '../util/rate-limit.js';
import { decodeIdentity, verifyCertificate } from '../pki/index.js';
import type { Identity } from '../pki/index.js';
import { Mux } from '../mux/index.js';
import type { MuxOptions, MuxStats } from '../mux/index.js';
import {
  DEFAULT_HEARTBEAT_MS,
  MISSED_HEARTBEATS,
  PROXY_STREAM_IDS,
  parseAdverts,
  parseHello,
} from './tunnel-protocol.js';
import type { AdvertHealth, DatabaseAdvert } from './tunnel-protocol.js';

/** TunnelServerOptions configures a {@link TunnelServer}. */
export interface TunnelServerOptions {
  /** The cluster whose host certificates are accepted. */
  cluster: string;
  log: Logger;
  /**
   * Host CA certificate(s), PEM. When set, an agent's certificate must chain to one of them,
   * not just to any CA the listener trusts (the listener also trusts the user CA).
   */
  hostCaPem?: string | string[];
  /** The heartbeat interval assumed for agents whose hello does not state one (5 s). */
  heartbeatMs?: number;
  /** How long a new connection may take to send its hello (10 s). */
  helloTimeoutMs?: number;
  /** How long one agent may take to accept a stream before the next is tried (10 s). */
  openTimeoutMs?: number;
  /** Options for each agent's mux (stream window, bounds). */
  mux?: Omit<MuxOptions, 'localIds' | 'peerName'>;
  /** Random source for picking agents (tests may make it deterministic). */
  random?: () => number;
  /** Clock for heartbeat deadlines, in ms. */
  now?: () => number;
  /**
   * onStreamOpening is told before a stream is offered to an agent, with the stream's header;
   * the function it returns is called with `ended` when the proxy has sent its last byte on the
   * stream (the user will send nothing more) and with `closed` when the stream closes or the
   * agent refuses it. The auth service uses it to know which sessions each agent serves now.
   */
  onStreamOpening?: (hostId: string, header: object) => (how: 'ended' | 'closed') => void;
}

/** AgentInfo describes one connected agent. */
export interface AgentInfo {
  hostId: string;
  version: string;
  /** `address:port` the agent connected from. */
  remoteAddr: string;
  connectedAt: Date;
  lastSeen: Date;
  databases: DatabaseAdvert[];
}

/** DatabaseListing is one database as the proxy sees it, merged over the agents serving it. */
export interface DatabaseListing {
  spec: DatabaseAdvert;
  /** Host ids of the healthy agents serving it, sorted. */
  agents: string[];
  /** The latest heartbeat among those agents. */
  lastSeen: Date;
  /** Healthy when any agent's last check of the database succeeded, else the freshest failure. */
  health?: AdvertHealth;
}

/** TunnelServerEvents are the events a {@link TunnelServer} emits (for logs and status). */
export interface TunnelServerEvents {
  'agent-connected': [agent: AgentInfo];
  'agent-disconnected': [agent: AgentInfo, reason: string];
}

/**
 * LocalStreamOpener hands a database stream straight to an agent in this process: it resolves
 * with the proxy's end once the agent accepted the session (undefined: not ready, use the mux),
 * and rejects as the agent refused.
 */
export type LocalStreamOpener = (header: object) => Promise<Duplex | undefined>;

interface AgentConn {
  hostId: string;
  version: string;
  remoteAddr: string;
  mux: Mux;
  /** Opens a database stream without the mux: only an agent in this same process has it. */
  local?: LocalStreamOpener;
  connectedAt: number;
  lastSeen: number;
  deadlineMs: number;
  databases: DatabaseAdvert[];
}

const FAILOVER_HINT = 'Check that a db_service agent serving it is running and connected to this proxy; `xsh db ls` lists what is available.';

/**
 * TunnelServer accepts agents' tunnels and opens database streams on them. Listen to
 * `agent-connected` / `agent-disconnected` for logging.
 */
export class TunnelServer extends EventEmitter<TunnelServerEvents> {
  readonly #opts: TunnelServerOptions;
  readonly #log: Logger;
  readonly #rejectLog = new SourceLimiter({ perSource: 5, global: 100, windowMs: 60_000 });
  readonly #agents = new Map<string, AgentConn>();
  /** Connections that have not said hello yet, and registered ones: closed by close(). */
  readonly #muxes = new Set<Mux>();
  readonly #heartbeatMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(opts: TunnelServerOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.log;
    this.#heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#sweep = setInterval(() => this.#sweepDead(), Math.max(5, Math.floor(this.#heartbeatMs / 2)));
    this.#sweep.unref();
  }

  /**
   * handleSocket takes over an agent's TLS connection (the listener's handler for ALPN
   * `xport-tunnel`). A connection without a valid host certificate of this cluster is dropped
   * with a log line.
   */
  handleSocket(socket: tls.TLSSocket): void {
    const remoteAddr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#closed) {
      socket.destroy();
      return;
    }
    let identity: Identity;
    try {
      identity = this.#authenticate(socket);
    } catch (err) {
      // Anyone can knock on the public port: at most a few lines a minute per address.
      const v = this.#rejectLog.take(sourceKey(socket.remoteAddress));
      if (v.allowed) this.#log.warn('agent tunnel rejected', { remote_addr: remoteAddr, err: messageOf(err), ...(v.suppressed ? { suppressed: v.suppressed } : {}) });
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.#attach(socket, identity, remoteAddr);
  }

  /**
   * attachLocal takes over the proxy end of an in-memory connection from an agent running in
   * this same process, whose host identity the caller issued itself: no TLS, no certificate
   * check, the same mux and registry as a remote agent.
   */
  attachLocal(socket: Duplex, identity: Identity, local?: LocalStreamOpener): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#attach(socket, identity, 'in-process', local);
  }

  #attach(socket: Duplex, identity: Identity, remoteAddr: string, local?: LocalStreamOpener): void {
    const certHostId = identity.hostId ?? identity.user;
    const mux = new Mux(socket, { ...this.#opts.mux, localIds: PROXY_STREAM_IDS, peerName: `agent ${certHostId}` });
    this.#muxes.add(mux);
    let agent: AgentConn | undefined;
    const helloTimeoutMs = this.#opts.helloTimeoutMs ?? 10_000;
    const helloTimer = setTimeout(() => mux.close(connectionProblem(`agent ${certHostId} sent no hello within ${helloTimeoutMs} ms`)), helloTimeoutMs);
    helloTimer.unref();

    mux.onControl((msg) => {
      if (!agent) {
        const hello = parseHello(msg);
        if (typeof hello === 'string') return mux.close(connectionProblem(`agent ${certHostId} sent a bad hello: ${hello}`));
        if (hello.hostId !== certHostId) {
          return mux.close(accessDenied(`agent says it is "${hello.hostId}" but its certificate is for "${certHostId}"`));
        }
        clearTimeout(helloTimer);
        for (const p of hello.problems) this.#log.warn('agent advertised an invalid database', { host_id: certHostId, problem: p });
        const now = this.#now();
        agent = {
          hostId: hello.hostId,
          version: hello.version,
          remoteAddr,
          mux,
          ...(local ? { local } : {}),
          connectedAt: now,
          lastSeen: now,
          deadlineMs: MISSED_HEARTBEATS * (hello.heartbeatMs ?? this.#heartbeatMs),
          databases: hello.databases,
        };
        this.#register(agent);
        return;
      }
      agent.lastSeen = this.#now();
      if (msg.type === 'heartbeat') {
        const adverts = parseAdverts(msg.databases);
        if (typeof adverts === 'string') {
          this.#log.warn('agent sent a bad heartbeat', { host_id: agent.hostId, problem: adverts });
          return;
        }
        agent.databases = adverts.databases;
      } else {
        // Newer agents may send messages this proxy does not know; ignoring them keeps mixed
        // versions working during an upgrade.
        this.#log.debug('ignoring unknown control message from agent', { host_id: agent.hostId, type: String(msg.type) });
      }
    });

    mux.on('close', (err?: Error) => {
      clearTimeout(helloTimer);
      this.#muxes.delete(mux);
      if (agent && this.#agents.get(agent.hostId) === agent) {
        this.#agents.delete(agent.hostId);
        this.emit('agent-disconnected', this.#info(agent), err ? messageOf(err) : 'closed');
      } else if (!agent && err) {
        this.#log.debug('agent tunnel closed before hello', { remote_addr: remoteAddr, err: messageOf(err) });
      }
    });
  }

  /** agents lists the registered agents. */
  agents(): AgentInfo[] {
    return [...this.#agents.values()].map((a) => this.#info(a));
  }

  /** agentStats returns the mux counters of one agent's connection, if it is connected. */
  agentStats(hostId: string): MuxStats | undefined {
    return this.#agents.get(hostId)?.mux.stats();
  }

  /** listDatabases lists every database served by a healthy agent, merged by name, sorted. */
  listDatabases(): DatabaseListing[] {
    const byName = new Map<string, { spec: DatabaseAdvert; agents: string[]; lastSeen: number; specSeen: number; health?: AdvertHealth }>();
    for (const a of this.#agents.values()) {
      if (!this.#healthy(a)) continue;
      for (const db of a.databases) {
        const entry = byName.get(db.name);
        if (!entry) {
          byName.set(db.name, { spec: db, agents: [a.hostId], lastSeen: a.lastSeen, specSeen: a.lastSeen, ...(db.health ? { health: db.health } : {}) });
          continue;
        }
        entry.agents.push(a.hostId);
        // Agents may briefly disagree (a config rollout): show the freshest description.
        if (a.lastSeen > entry.specSeen) {
          entry.spec = db;
          entry.specSeen = a.lastSeen;
        }
        entry.lastSeen = Math.max(entry.lastSeen, a.lastSeen);
        // One agent that reaches the database is enough for sessions to work (the proxy fails over).
        if (db.health && (!entry.health || (!entry.health.ok && (db.health.ok || db.health.checked > entry.health.checked)))) entry.health = db.health;
      }
    }
    return [...byName.values()]
      .sort((x, y) => (x.spec.name < y.spec.name ? -1 : x.spec.name > y.spec.name ? 1 : 0))
      .map((e) => ({ spec: e.spec, agents: e.agents.sort(), lastSeen: new Date(e.lastSeen), ...(e.health ? { health: e.health } : {}) }));
  }

  /**
   * openDatabaseStream opens a stream to an agent serving dbName, sending header (plus
   * `database: dbName`) in the OPEN frame. Agents are tried in random order; a refusal, a
   * timeout or a dead connection moves on to the next, except a refusal of the user
   * (access-denied, auth-required), which every agent would repeat. With no agent left it throws
   * a connection-problem XError naming the database.
   */
  async openDatabaseStream(dbName: string, header: object): Promise<Duplex> {
    const candidates = this.#shuffle([...this.#agents.values()].filter((a) => this.#healthy(a) && a.databases.some((d) => d.name === dbName)));
    if (candidates.length === 0) {
      throw connectionProblem(`database "${dbName}" is not available: no agent is serving it`, { hint: FAILOVER_HINT });
    }
    const timeoutMs = this.#opts.openTimeoutMs ?? 10_000;
    let lastErr: unknown;
    for (const agent of candidates) {
      if (agent.mux.closed) continue;
      // Before the OPEN frame: the agent may ask the auth service about the session at once.
      const release = this.#opts.onStreamOpening?.(agent.hostId, header);
      try {
        // An agent in this process takes the stream directly: no framing, credit or flush turn
        // per chunk on either side (the mux over the in-memory pair stays for its control
        // messages). Measured in bench/RESULTS.md.
        const stream =
          (agent.local && (await agent.local({ ...header, database: dbName }))) ||
          (await agent.mux.openStream({ ...header, database: dbName }, { timeoutMs }));
        if (release) {
          if (stream.destroyed) release('closed');
          else {
            stream.once('finish', () => release('ended'));
            stream.once('close', () => release('closed'));
          }
        }
        return stream;
      } catch (err) {
        release?.('closed');
        if (isXError(err) && (err.kind === 'access-denied' || err.kind === 'auth-required')) throw err;
        lastErr = err;
        this.#log.warn('agent could not open a database stream', { host_id: agent.hostId, database: dbName, err: messageOf(err) });
      }
    }
    const who = candidates.length === 1 ? `its agent ${candidates[0]!.hostId}` : `all ${candidates.length} agents serving it`;
    throw connectionProblem(`database "${dbName}" is not available: ${who} failed: ${lastErr === undefined ? 'disconnected' : messageOf(lastErr)}`, {
      cause: lastErr,
      hint: FAILOVER_HINT,
    });
  }

  /** close drops every agent connection and refuses new ones. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const mux of [...this.#muxes]) mux.close(connectionProblem('the proxy is shutting down'));
    this.#muxes.clear();
    this.#agents.clear();
  }

  #authenticate(socket: tls.TLSSocket): Identity {
    if (!socket.authorized) {
      throw accessDenied(`agent certificate was not accepted: ${String(socket.authorizationError ?? 'no certificate')}`);
    }
    const raw = socket.getPeerCertificate()?.raw;
    if (!raw) throw accessDenied('agent presented no certificate');
    let identity: Identity | undefined;
    if (this.#opts.hostCaPem !== undefined) {
      identity = verifyCertificate(raw, this.#opts.hostCaPem, { now: new Date(this.#now()), usages: ['host'], cluster: this.#opts.cluster });
    } else {
      identity = decodeIdentity(raw);
      if (!identity) throw accessDenied('agent certificate carries no xport identity');
    }
    if (identity.usage !== 'host') throw accessDenied(`certificate is for ${identity.usage} use, not host`);
    if (identity.cluster !== this.#opts.cluster) {
      throw accessDenied(`certificate belongs to cluster "${identity.cluster}", not "${this.#opts.cluster}"`);
    }
    return identity;
  }

  #register(agent: AgentConn): void {
    const old = this.#agents.get(agent.hostId);
    this.#agents.set(agent.hostId, agent);
    if (old) {
      // Delete first so the old connection's close handler leaves the new entry alone.
      this.emit('agent-disconnected', this.#info(old), 'replaced by a new connection from the same agent');
      old.mux.close(connectionProblem(`agent ${agent.hostId} reconnected; closing its previous tunnel`));
    }
    this.emit('agent-connected', this.#info(agent));
  }

  #healthy(a: AgentConn): boolean {
    return !a.mux.closed && this.#now() - a.lastSeen <= a.deadlineMs;
  }

  #sweepDead(): void {
    for (const a of [...this.#agents.values()]) {
      if (this.#healthy(a)) continue;
      this.#agents.delete(a.hostId);
      const reason = `missed ${MISSED_HEARTBEATS} heartbeats (nothing for ${this.#now() - a.lastSeen} ms)`;
      this.emit('agent-disconnected', this.#info(a), reason);
      a.mux.close(connectionProblem(`agent ${a.hostId} ${reason}`));
    }
  }

  #shuffle<T>(list: T[]): T[] {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }

  #info(a: AgentConn): AgentInfo {
    return {
      hostId: a.hostId,
      version: a.version,
      remoteAddr: a.remoteAddr,
      connectedAt: new Date(a.connectedAt),
      lastSeen: new Date(a.lastSeen),
      databases: a.databases.map((d) => ({ ...d, labels: { ...d.labels } })),
    };
  }
}
