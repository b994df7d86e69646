/**
 * redis/cluster/router: one session's view of the cluster — a lazily opened connection per
 * node, commands routed by slot, and the cluster errors handled so the client never sees them:
 *
 *  - MOVED: the slot's owner is updated at once (and the shared topology refreshed in the
 *    background), and the command is sent to the new owner;
 *  - ASK: the command is sent once to the named node, preceded by ASKING;
 *  - TRYAGAIN / CLUSTERDOWN, and a node that cannot be reached before the command was written:
 *    retried with backoff (CLUSTERDOWN and unreachable nodes after a topology refresh), at most
 *    {@link MAX_RETRIES} times, then Redis's own error (or the connection error) is the reply;
 *  - at most {@link MAX_REDIRECTS} redirects per command;
 *  - a redirect to an address that is not a node of the discovered topology (after one
 *    refresh) is refused: a compromised node must not be able to steer the agent elsewhere.
 *
 * Every node connection is set up like the standalone upstream: the injected credentials'
 * AUTH, then the client's own AUTH once it has succeeded, HELLO 3 when the client speaks RESP3,
 * and the connection state the client set (CLIENT SETNAME…).
 *
 * Must not import auth/ or cloud/.
 */
import type { Logger } from '../../util/log.js';
import { replyLine } from '../display.js';
import { command, error as errorReply, type ReplyFrame, type ReplyScanner } from '../resp/index.js';
import { decodeValue } from '../resp/value.js';
import type { NodeReply } from './merge.js';
import { LinkError, NodeLink, type LinkWaiter, type OpenedConnection } from './node-link.js';
import { parseClusterError, type ClusterErrorReply, type ClusterRedirect } from './redirect.js';
import type { DatabaseTopology } from './topology-cache.js';
import { ClusterTopology, nodeAddress, parseAddress, TopologyError, type ClusterNode } from './topology.js';

/** DEFAULT_NODE targets the master serving slot 0 (keyless commands). */
export const DEFAULT_NODE = -1;
/** MAX_REDIRECTS bounds the MOVED/ASK redirects followed for one command. */
export const MAX_REDIRECTS = 16;
/** RETRY_DELAYS_MS are the waits before each retry of TRYAGAIN, CLUSTERDOWN or an unreachable node. */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([100, 200, 400, 800, 1000, 1000, 1000]);
/** MAX_RETRIES is how many times one command is retried. */
export const MAX_RETRIES = RETRY_DELAYS_MS.length;
/** RETRY_WINDOW_MS bounds the time spent retrying one command (an unreachable node may take the whole connect timeout). */
export const RETRY_WINDOW_MS = 10_000;

/** Target is where a call goes: a slot (≥ 0), {@link DEFAULT_NODE}, or a node address (no redirects followed). */
export type Target = number | string;

/** ClusterCounters count what the routers of one engine did about cluster errors. */
export interface ClusterCounters {
  /** MOVED redirects followed. */
  moved: number;
  /** ASK redirects followed. */
  ask: number;
  /** Commands retried after TRYAGAIN, CLUSTERDOWN or an unreachable node. */
  retries: number;
  /** Redirects refused because they named a node outside the topology. */
  refused: number;
}

/** newClusterCounters returns zeroed counters. */
export function newClusterCounters(): ClusterCounters {
  return { moved: 0, ask: 0, retries: 0, refused: 0 };
}

/** CallDone receives a call's final reply and the node that gave it. */
export type CallDone = (reply: NodeReply, address: string) => void;

/** ReplySlot is where {@link ClusterRouter.callInto} puts a call's final reply (a relay's owed reply). */
export interface ReplySlot {
  out: Buffer | Buffer[] | undefined;
  done: boolean;
}

/** CallOptions tune one call. */
export interface CallOptions {
  /** Retry TRYAGAIN, CLUSTERDOWN and unreachable nodes (default true; false inside transactions). */
  retry?: boolean;
}

/** DialResult is a connected node with the replies to its setup commands. */
export interface DialResult extends OpenedConnection {
  replies: ReplyFrame[];
}

/** RouterOptions configure a {@link ClusterRouter}. */
export interface RouterOptions {
  /** The session's already open first connection (the database URI's node), and its address. */
  seed: { address: string; conn: OpenedConnection };
  /** The shared topology of the database. */
  topology: DatabaseTopology;
  /** Dials a node and runs setup commands on it. */
  dial: (host: string, port: number, setup: Buffer[]) => Promise<DialResult>;
  /** Setup commands every new connection starts with (the injected credentials' AUTH), and their labels for errors. */
  injected: Array<{ label: string; cmd: Buffer }>;
  /** RESP3 push frames and replies nobody waits for on data connections. */
  onPush: (frame: ReplyFrame) => void;
  /** After replies were handed out (the relay writes to its client then). */
  onActivity: () => void;
  /** Called once the links that were full have drained. */
  onDrained: () => void;
  log: Logger;
  sessionId: string;
  /** Engine-wide counters (optional). */
  counters?: ClusterCounters;
}

const ASKING = command(['ASKING']);
const PING = command(['PING']);
const CLUSTER_SHARDS = command(['CLUSTER', 'SHARDS']);
const CLUSTER_SLOTS = command(['CLUSTER', 'SLOTS']);
const HELLO_3 = command(['HELLO', '3']);

/** localError makes an agent error reply for a call. */
function localError(message: string): NodeReply {
  return { raw: errorReply(`ERR xport: ${message}`), isError: true };
}

/** One routed command and its progress through redirects and retries. */
class Call implements LinkWaiter {
  redirects = 0;
  retries = 0;
  /** Frames still to skip before the reply (ASKING's +OK). */
  skip = 0;
  /** A one-shot address (ASK), used for the next send only. */
  askAddress: string | undefined;
  /** When the first retry was scheduled (ms since epoch), 0 before. */
  retryStarted = 0;

  constructor(
    readonly router: ClusterRouter,
    readonly bytes: Buffer,
    readonly target: Target,
    readonly retry: boolean,
    readonly done: CallDone | undefined,
    readonly slot: ReplySlot | undefined,
  ) {}

  /** finish hands over the final reply: into the slot (no callback needed), else to done. */
  finish(reply: NodeReply, from: string): void {
    const slot = this.slot;
    if (slot !== undefined) {
      slot.out = reply.raw;
      slot.done = true;
    } else this.done!(reply, from);
  }

  onFrame(frame: ReplyFrame, link: NodeLink): boolean {
    if (this.skip > 0) {
      this.skip--;
      return false;
    }
    if (frame.isError) {
      const ce = parseClusterError(frame.raw);
      if (ce !== undefined) {
        this.router.clusterError(this, ce, frame, link.address);
        return true;
      }
    }
    this.finish(frame, link.address);
    return true;
  }

  onFail(err: Error, written: boolean): void {
    this.router.linkFailed(this, err, written);
  }
}

/** A waiter for replies the agent reads itself (setup broadcasts, topology fetches). */
class Ask implements LinkWaiter {
  constructor(
    readonly resolve: (r: NodeReply) => void,
    readonly reject: (e: Error) => void,
  ) {}
  onFrame(frame: ReplyFrame): boolean {
    this.resolve(frame);
    return true;
  }
  onFail(err: Error): void {
    this.reject(err);
  }
}

/**
 * ClusterRouter routes one session's commands to cluster nodes. Calls are queued on node
 * connections; {@link flush} writes them (the relay calls it once per event).
 */
export class ClusterRouter {
  readonly #o: RouterOptions;
  readonly #links = new Map<string, NodeLink>();
  readonly #dirty = new Set<NodeLink>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #seedAddress: string;
  readonly #counters: ClusterCounters;
  #full = 0;
  #paused = false;
  #closed = false;
  /** The client's own AUTH, replayed on new connections once it succeeded. */
  authReplay: Buffer | undefined;
  /** Whether new connections get HELLO 3. */
  resp3 = false;
  /** Connection state the client set (CLIENT SETNAME…), replayed on new connections, by command. */
  readonly stateReplays = new Map<string, Buffer>();

  constructor(opts: RouterOptions) {
    this.#o = opts;
    this.#seedAddress = opts.seed.address;
    this.#counters = opts.counters ?? newClusterCounters();
    const seed = this.#newLink(opts.seed.address, false, () => Promise.resolve(opts.seed.conn));
    this.#links.set(opts.seed.address, seed);
  }

  /** topology is the shared topology, when one is known. */
  get topology(): ClusterTopology | undefined {
    return this.#o.topology.current;
  }

  /** defaultAddress is the node keyless commands go to: the master serving slot 0 (the seed until the topology is known). */
  defaultAddress(): string {
    return this.topology?.masterForSlot(0)?.address ?? this.#seedAddress;
  }

  /** addressForSlot is the master serving a slot (the default node when unknown). */
  addressForSlot(slot: number): string {
    return this.topology?.masterForSlot(slot)?.address ?? this.defaultAddress();
  }

  /**
   * shardTargets names each shard's master by the lowest slot the shard serves, in shard order
   * ({@link DEFAULT_NODE} alone while the topology is unknown). Routing by slot rather than by
   * address means a retry after a failover reaches the shard's new master.
   */
  shardTargets(): Target[] {
    const t = this.topology;
    return t === undefined ? [DEFAULT_NODE] : t.shards.map((s) => s.ranges[0]![0]);
  }

  /** openAddresses lists the nodes this session has a data connection to (not closed). */
  openAddresses(): string[] {
    return [...this.#links.values()].filter((l) => l.state !== 'closed').map((l) => l.address);
  }

  /** call routes one encoded command; done gets the final reply. */
  call(bytes: Buffer, target: Target, done: CallDone, opts?: CallOptions): void {
    this.#dispatch(new Call(this, bytes, target, opts?.retry ?? true, done, undefined));
  }

  /**
   * callInto routes one encoded command and puts its final reply's bytes into slot (marking it
   * done): the relay's forwarding path, with no callback made per command.
   */
  callInto(bytes: Buffer, target: Target, slot: ReplySlot, retry = true): void {
    this.#dispatch(new Call(this, bytes, target, retry, undefined, slot));
  }

  /**
   * callEach sends one command to each target and hands over all replies, in target order,
   * once the last has arrived.
   */
  callEach(bytes: Buffer, targets: readonly Target[], done: (replies: NodeReply[]) => void): void {
    const replies = new Array<NodeReply>(targets.length);
    let left = targets.length;
    if (left === 0) {
      queueMicrotask(() => done(replies));
      return;
    }
    targets.forEach((target, i) =>
      this.call(bytes, target, (r) => {
        replies[i] = r;
        if (--left === 0) done(replies);
      }),
    );
  }

  /**
   * broadcast sends a state command (AUTH, HELLO, CLIENT SETNAME) to every open data connection
   * except one; a connection that refuses it is closed (it reopens with the replays).
   */
  broadcast(bytes: Buffer, except: string): void {
    if (this.#closed) return;
    for (const link of this.#links.values()) {
      if (link.address === except || link.state === 'closed') continue;
      this.#send(
        link,
        bytes,
        new Ask(
          (r) => {
            if (r.isError) link.close('closed: it refused the session state the client set');
          },
          () => {},
        ),
      );
    }
  }

  /**
   * reauthenticate sends the agent's fresh AUTH to every open data connection and reports once
   * all have answered (ok when every one accepted). A connection that refuses is closed: it
   * reopens on demand, dialled with fresh credentials. Subscriber connections are left alone
   * (RESP2 refuses AUTH there). See redis/reauth.ts.
   */
  reauthenticate(auth: Buffer, done: (ok: boolean, error?: string) => void): void {
    const links = [...this.#links.values()].filter((l) => l.state !== 'closed');
    let left = links.length;
    let firstError: string | undefined;
    if (left === 0) {
      queueMicrotask(() => done(true));
      return;
    }
    const one = (link: NodeLink, error?: string) => {
      if (error !== undefined) {
        firstError ??= error;
        link.close('closed: it refused the fresh credentials');
      }
      if (--left === 0) done(firstError === undefined, firstError);
    };
    for (const link of links) {
      this.#send(
        link,
        auth,
        new Ask(
          (r) => one(link, r.isError ? replyLine(r.raw) : undefined),
          () => one(link), // the connection ended: a new one is dialled with fresh credentials
        ),
      );
    }
    this.flush();
  }

  /** flush writes every queued command; false when a node's buffer is full ({@link RouterOptions.onDrained} follows). */
  flush(): boolean {
    if (this.#dirty.size === 0) return true;
    let ok = true;
    for (const link of this.#dirty) {
      if (!link.flush()) {
        ok = false;
        this.#full++;
        link.onDrain(() => {
          if (--this.#full === 0) this.#o.onDrained();
        });
      }
    }
    this.#dirty.clear();
    return ok;
  }

  /** pauseReading stops reading replies from every node (the client is not reading). */
  pauseReading(): void {
    this.#paused = true;
    for (const l of this.#links.values()) l.pauseReading();
  }

  /** resumeReading resumes reading replies. */
  resumeReading(): void {
    this.#paused = false;
    for (const l of this.#links.values()) l.resumeReading();
  }

  /** closeLinks closes every data connection (RESET); new ones open on demand. */
  closeLinks(): void {
    for (const l of [...this.#links.values()]) l.close();
    this.#links.clear();
  }

  /** close ends everything: connections and retry timers. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.closeLinks();
  }

  /**
   * openLink opens an extra connection to a node (a pub/sub subscriber connection), set up like
   * the data connections.
   */
  openLink(address: string, opts: { onOutOfBand: (frame: ReplyFrame, link: NodeLink) => void; onClose: (link: NodeLink, err: Error) => void }): NodeLink {
    return this.#newLink(address, true, () => this.#open(address), opts);
  }

  /** send queues bytes with a waiter on a link and marks it for the next flush. */
  send(link: NodeLink, bytes: Buffer, waiter: LinkWaiter): void {
    this.#send(link, bytes, waiter);
  }

  /**
   * refresh fetches the topology through this session's connections, sharing a fetch already in
   * flight for the database. Resolves undefined when it fails (the reason is logged).
   */
  async refresh(): Promise<ClusterTopology | undefined> {
    try {
      return await this.#o.topology.refresh(() => this.#fetchTopology());
    } catch (err) {
      this.#o.log.debug('cluster topology refresh failed', { session: this.#o.sessionId, error: (err as Error).message });
      return undefined;
    }
  }

  /** refreshIfStale starts a background refresh when the shared topology is older than the interval. */
  refreshIfStale(): void {
    const t = this.#o.topology;
    if (t.stale && !t.refreshing && t.current !== undefined) void this.refresh();
  }

  // ─── Calls ──────────────────────────────────────────────────────────────────────────────────

  #dispatch(call: Call): void {
    if (this.#closed) return;
    let addr: string;
    if (call.askAddress !== undefined) {
      addr = call.askAddress;
      call.askAddress = undefined;
      call.skip = 1;
      this.#send(this.#link(addr), Buffer.concat([ASKING, call.bytes]), call);
      return;
    }
    if (typeof call.target === 'string') addr = call.target;
    else if (call.target === DEFAULT_NODE) addr = this.defaultAddress();
    else addr = this.addressForSlot(call.target);
    this.#send(this.#link(addr), call.bytes, call);
  }

  #send(link: NodeLink, bytes: Buffer, waiter: LinkWaiter): void {
    link.send(bytes, waiter);
    this.#dirty.add(link);
  }

  /** clusterError handles a MOVED, ASK, TRYAGAIN or CLUSTERDOWN reply to a call (called by the call). */
  clusterError(call: Call, err: ClusterErrorReply, frame: ReplyFrame, from: string): void {
    if (!('slot' in err)) {
      const ce = err;
      if (!this.#mayRetry(call)) {
        call.finish(frame, from);
        return;
      }
      this.#retryLater(call, ce.kind === 'clusterdown');
      return;
    }
    const ce: ClusterRedirect = err;
    if (typeof call.target === 'string') {
      // Fixed-node calls (fan-out, transactions) are never moved: say so instead of leaking the redirect.
      if (ce.kind === 'moved') this.#o.topology.moved(ce.slot, this.#redirectAddress(ce.host, ce.port, from));
      void this.refresh();
      call.finish(localError(`slot ${ce.slot} ${ce.kind === 'moved' ? 'moved to another node' : 'is being migrated'} during the command; retry it`), from);
      return;
    }
    if (++call.redirects > MAX_REDIRECTS) {
      call.finish(localError(`too many cluster redirects for one command (more than ${MAX_REDIRECTS})`), from);
      return;
    }
    const addr = this.#redirectAddress(ce.host, ce.port, from);
    const follow = () => {
      if (ce.kind === 'moved') this.#counters.moved++;
      else this.#counters.ask++;
      if (ce.kind === 'moved') {
        this.#o.topology.moved(ce.slot, addr);
        void this.refresh();
        if (this.addressForSlot(ce.slot) !== addr) {
          // The topology does not take the owner (not a master there yet): go to it directly this once.
          call.askAddress = undefined;
          this.#send(this.#link(addr), call.bytes, call);
          return;
        }
      } else {
        call.askAddress = addr;
      }
      this.#dispatch(call);
    };
    if (this.topology?.knows(addr) === true) {
      follow();
      return;
    }
    // Not a node we know: refresh once, then follow only if the cluster itself names it.
    void this.refresh().then((t) => {
      if (this.#closed) return;
      if (t?.knows(addr) === true) follow();
      else {
        this.#counters.refused++;
        this.#o.log.warn('refused a cluster redirect to a node outside the topology', { session: this.#o.sessionId, node: from, target: addr });
        call.finish(localError(`redirect to unknown node ${addr} refused`), from);
      }
      this.#o.onActivity();
    });
  }

  /** linkFailed handles a call whose node connection ended before its reply (called by the call). */
  linkFailed(call: Call, err: Error, written: boolean): void {
    const addr = err instanceof LinkError ? err.address : this.defaultAddress();
    if (!written && this.#mayRetry(call)) {
      this.#retryLater(call, true);
      return;
    }
    call.finish(localError(err.message), addr);
    this.#o.onActivity();
  }

  #mayRetry(call: Call): boolean {
    if (!call.retry || this.#closed || call.retries >= MAX_RETRIES) return false;
    return call.retryStarted === 0 || Date.now() - call.retryStarted < RETRY_WINDOW_MS;
  }

  #retryLater(call: Call, refresh: boolean): void {
    if (call.retryStarted === 0) call.retryStarted = Date.now();
    const delay = RETRY_DELAYS_MS[call.retries] ?? 1000;
    call.retries++;
    this.#counters.retries++;
    if (refresh) void this.refresh();
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#closed) return;
      this.#dispatch(call);
      this.flush();
      this.#o.onActivity();
    }, delay);
    t.unref?.();
    this.#timers.add(t);
  }

  /** redirectAddress resolves a redirect's address: an empty host means the node that answered. */
  #redirectAddress(host: string, port: number, from: string): string {
    return nodeAddress(host === '' ? (parseAddress(from)?.host ?? host) : host, port);
  }

  // ─── Connections ────────────────────────────────────────────────────────────────────────────

  #link(address: string): NodeLink {
    let l = this.#links.get(address);
    if (l === undefined || l.state === 'closed') {
      l = this.#newLink(address, false, () => this.#open(address));
      this.#links.set(address, l);
    }
    return l;
  }

  #newLink(
    address: string,
    subscriber: boolean,
    open: () => Promise<OpenedConnection>,
    sub?: { onOutOfBand: (frame: ReplyFrame, link: NodeLink) => void; onClose: (link: NodeLink, err: Error) => void },
  ): NodeLink {
    const link = new NodeLink({
      address,
      subscriber,
      open,
      onOutOfBand:
        sub?.onOutOfBand ??
        ((frame) => {
          if (frame.push) this.#o.onPush(frame);
          else this.#o.log.warn('a cluster node sent a reply nobody asked for; dropped', { session: this.#o.sessionId, node: address });
        }),
      onClose: (l, err) => {
        if (this.#links.get(address) === l) this.#links.delete(address);
        this.#dirty.delete(l);
        this.#o.log.debug('cluster node connection closed', { session: this.#o.sessionId, node: address, reason: err.message });
        sub?.onClose(l, err);
      },
      onActivity: this.#o.onActivity,
    });
    if (this.#paused) link.pauseReading();
    return link;
  }

  /** setupCommands are what a new connection runs before its first command. */
  #setupCommands(): Array<{ label: string; cmd: Buffer }> {
    const steps = [...this.#o.injected];
    if (this.authReplay !== undefined) steps.push({ label: 'AUTH', cmd: this.authReplay });
    if (this.resp3) steps.push({ label: 'HELLO 3', cmd: HELLO_3 });
    for (const [name, cmd] of this.stateReplays) steps.push({ label: name.replace('|', ' ').toUpperCase(), cmd });
    // One round trip proves the node accepted our certificate before a command is written; any
    // answer will do (NOAUTH included: the client has not authenticated yet).
    if (steps.length === 0) steps.push({ label: 'PING', cmd: PING });
    return steps;
  }

  async #open(address: string): Promise<OpenedConnection> {
    const node: ClusterNode | undefined = this.topology?.node(address);
    const parsed = node ?? parseAddress(address);
    if (parsed === undefined) throw new LinkError(`invalid node address ${address}`, address);
    const steps = this.#setupCommands();
    let r: DialResult;
    try {
      r = await this.#o.dial(parsed.host, parsed.port, steps.map((s) => s.cmd));
    } catch (err) {
      throw new LinkError(`node ${address}: ${(err as Error).message}`, address);
    }
    for (let i = 0; i < steps.length; i++) {
      const reply = r.replies[i];
      if (reply !== undefined && reply.isError && steps[i]!.cmd !== PING) {
        r.socket.destroy();
        throw new LinkError(`node ${address} refused ${steps[i]!.label}: ${replyLine(reply.raw)}`, address);
      }
    }
    return { socket: r.socket, scanner: r.scanner as ReplyScanner };
  }

  // ─── Topology ───────────────────────────────────────────────────────────────────────────────

  /** ask sends one command to a node and resolves with its reply (no redirects followed). */
  #ask(address: string, bytes: Buffer): Promise<NodeReply> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new LinkError('the session has ended', address));
        return;
      }
      this.#send(this.#link(address), bytes, new Ask(resolve, reject));
      this.flush();
    });
  }

  async #fetchTopology(): Promise<ClusterTopology> {
    const candidates: string[] = [];
    const add = (a: string | undefined) => {
      if (a !== undefined && !candidates.includes(a)) candidates.push(a);
    };
    add(this.defaultAddress());
    for (const l of this.#links.values()) if (l.state === 'open') add(l.address);
    for (const n of this.topology?.nodes ?? []) add(n.address);
    add(this.#seedAddress);
    let lastErr: Error | undefined;
    for (const addr of candidates) {
      const host = parseAddress(addr)?.host ?? addr;
      let reply: NodeReply;
      try {
        reply = await this.#ask(addr, CLUSTER_SHARDS);
        if (reply.isError && /^-ERR (unknown subcommand|Unknown subcommand)/i.test(reply.raw.toString('latin1', 0, 40))) {
          reply = await this.#ask(addr, CLUSTER_SLOTS);
          if (!reply.isError) return ClusterTopology.parseSlots(decodeValue(reply.raw), host);
        }
      } catch (err) {
        lastErr = err as Error; // unreachable: try the next node
        continue;
      }
      if (reply.isError) throw new TopologyError(replyLine(reply.raw));
      return ClusterTopology.parseShards(decodeValue(reply.raw), host);
    }
    throw lastErr ?? new TopologyError('no cluster node could be reached');
  }
}
