/**
 * redis/cluster/relay: one client session against a Redis Cluster, presented to the client as
 * ONE Redis. Each request is checked against the session's roles and audited exactly as in
 * standalone mode (one `db.session.query` event per client command, fan-outs included), then:
 *
 *  - routed by its keys' slot to the master serving it (router.ts follows MOVED/ASK and retries
 *    TRYAGAIN/CLUSTERDOWN, so redirects never reach the client); keys in several slots →
 *    `-CROSSSLOT Keys in request don't hash to the same slot`, as Redis answers;
 *  - or served as rules.ts says: fanned out to every master and merged (DBSIZE, KEYS, FLUSHALL,
 *    SCRIPT …, INFO), split by slot and merged in key order (MGET, MSET, DEL, UNLINK, EXISTS,
 *    TOUCH), scanned shard by shard behind one cursor (SCAN), answered locally (PING, ECHO,
 *    the virtual single-node CLUSTER view), or refused (`-ERR xport: command not supported in
 *    cluster mode: <name>`).
 *
 * Replies are forwarded byte for byte and returned in request order even though they come from
 * several node connections. Transactions run on the master of their slot (MULTI is answered at
 * once; the node is chosen by the first keyed command or WATCH). SUBSCRIBE and PSUBSCRIBE use one
 * dedicated subscriber connection (the cluster bus carries PUBLISH to every node); SSUBSCRIBE
 * uses a subscriber connection to the shard serving the channel's slot.
 *
 * Backpressure as in standalone mode: a client that does not read pauses every node
 * connection; a full node connection or too many pending replies pause the client.
 * Must not import auth/ or cloud/.
 */
import type { Duplex } from 'node:stream';
import type { Session, SessionAuditEvent } from '../../db/session.js';
import type { InputBudget } from '../input-budget.js';
import type { Logger } from '../../util/log.js';
import { formatAuth, formatHello, formatQuery } from '../audit-format.js';
import { commitAudit, emitAudit, queryEvent } from '../audit-event.js';
import { cstrEqualsIgnoreCase, type CommandTable, type ResolvedCommand } from '../commands.js';
import { displayArg, displayName } from '../display.js';
import { judgeCommand } from '../verdict.js';
import { PubSubState } from '../pubsub.js';
import type { RelayCounters } from '../relay.js';
import { bulk, command, DEFAULT_MAX_BUFFERED_BYTES, ROUTED_MAX_HELD_ARGS, error as errorReply, OK, push, RequestParser, RespProtocolError, type ReplyFrame, type Request, type RequestParserOptions } from '../resp/index.js';
import { decodeValue, frameHead, valueText } from '../resp/value.js';
import { aggregateInfo, infoReply, infoText } from './info.js';
import {
  aggregateElements,
  arrayReply,
  mergeAllOk,
  mergeAllTrue,
  mergeAnyOk,
  mergeConcat,
  mergeInKeyOrder,
  mergeMin,
  mergeSum,
  type NodeReply,
} from './merge.js';
import type { NodeLink } from './node-link.js';
import { DEFAULT_NODE, MAX_REDIRECTS, type ClusterRouter } from './router.js';
import { clusterRule, refusedName, type ClusterCommandRule, type ClusterMerge } from './rules.js';
import { decodeScanCursor, encodeScanCursor, MAX_SCAN_SHARDS } from './scan-cursor.js';
import { commonSlot, CROSS_SLOT, groupBySlot, keySlot, NO_KEYS, SLOT_COUNT, type SlotGroup } from './slots.js';
import { parseClusterError } from './redirect.js';
import {
  clusterInfoReply,
  clusterKeySlotReply,
  clusterMyIdReply,
  clusterNodesReply,
  clusterShardsReply,
  clusterSlotsReply,
  hideClusterMode,
  hideNodeAddress,
  hideNodeConfig,
  virtualNodeId,
} from './virtual-node.js';

/** ClusterRelayOptions is everything one cluster session relay needs. */
export interface ClusterRelayOptions {
  client: Duplex;
  router: ClusterRouter;
  session: Session;
  table: CommandTable;
  redactValues: boolean;
  parser: RequestParserOptions;
  maxPendingReplies: number;
  counters: RelayCounters;
  log: Logger;
  /**
   * tableWanted tells whether the engine still needs this database's command table; when it
   * does, the relay reads it (`COMMAND`, default node) right after the client's successful AUTH
   * and hands the reply to onTable, which returns the table this session should use from then on.
   */
  tableWanted?: () => boolean;
  onTable?: (reply: NodeReply) => CommandTable | undefined;
  /** The process-wide budget for held client input; shared by every session of the engine. */
  budget?: InputBudget;
  /** The agent authenticates the db user itself: the client's AUTH is answered OK locally. */
  localAuth?: boolean;
}

const COMMAND_TABLE = command(['COMMAND']);

/** CROSSSLOT_ERROR is Redis's own reply to keys in different slots. */
export const CROSSSLOT_ERROR = errorReply("CROSSSLOT Keys in request don't hash to the same slot");
const QUEUED = Buffer.from('+QUEUED\r\n');
const PONG = Buffer.from('+PONG\r\n');
const RESET_REPLY = Buffer.from('+RESET\r\n');
const MULTI = command(['MULTI']);
const DISCARD = command(['DISCARD']);
const UNWATCH = command(['UNWATCH']);
const EXECABORT = errorReply('EXECABORT Transaction discarded because of previous errors.');
const NO_KEY_POSITIONS: readonly number[] = Object.freeze([]);

// Reasons the client is paused (bits).
const UPSTREAM_FULL = 1;
const TOO_MANY_PENDING = 2;
const HELD = 4;
const CLOSING = 8;

const PERCENT = 0x25;
const STAR = 0x2a;
/** How long a closing session waits for replies still in flight. */
const CLOSE_GRACE_MS = 5_000;
/** Check the topology's age every this many routed commands. */
const STALE_CHECK_EVERY = 32;

/** Commands a RESP2 client may send while subscribed (as Redis allows). */
const SUBSCRIBED_ALLOWED: ReadonlySet<string> = new Set([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'ping',
  'quit',
  'reset',
]);

/** Handlings that cannot be queued inside MULTI on one node. */
const NOT_IN_MULTI: ReadonlySet<string> = new Set(['fan-out', 'scan', 'random-master', 'every-connection', 'pubsub', 'slot-argument']);

/** One reply owed to the client, in request order. */
class Entry {
  out: Buffer | Buffer[] | undefined = undefined;
  done = false;
  flushed = false;
  /** CLIENT REPLY OFF or SKIP was in force for its request: Redis would send nothing, so neither do we. */
  silent = false;
}

/** Subscriber connection state. */
interface Subscriber {
  link: NodeLink;
  state: PubSubState;
}

/**
 * holdWhole turns the engine's parser options into the cluster relay's: a request is routed (and
 * may be re-sent after a redirect) whole, so it is not streamed; instead the session's buffer
 * bound and {@link ROUTED_MAX_HELD_ARGS} cap the request, and a larger one ends the session with
 * a clear error.
 */
function holdWhole(opts: RequestParserOptions): RequestParserOptions {
  const { streamAbove, maxHeldArgs: _streamedArgs, ...rest } = opts;
  const held = { ...rest, maxHeldArgs: ROUTED_MAX_HELD_ARGS };
  if (streamAbove === undefined) return held;
  return { ...held, maxBufferedBytes: Math.min(rest.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES, streamAbove) };
}

const arityError = (name: string) => errorReply(`ERR wrong number of arguments for '${name}' command`);

/** ClusterRelay serves one session against a cluster; {@link run} resolves when it has ended. */
export class ClusterRelay {
  readonly #o: ClusterRelayOptions;
  readonly #client: Duplex;
  readonly #router: ClusterRouter;
  readonly #session: Session;
  readonly #parser: RequestParser;
  readonly #virtualId: string;
  #table: CommandTable;
  /** CLIENT REPLY state: kept by the relay (the nodes never see the command), as Redis keeps it. */
  #replyOff = false;
  #skipThis = false;
  #skipNext = false;
  #silent = false;

  #queue: Entry[] = [];
  #head = 0;
  #clientOut: Buffer[] = [];
  #resp3 = false;
  #held: Request | undefined;
  /** An every-connection command (AUTH, HELLO…) is waiting for the default node's answer. */
  #barrier = false;
  #clientPause = 0;
  #nodesPaused = false;
  #clientEnded = false;
  #quitting = false;
  #closing = false;
  #finished = false;
  #finishing = false;
  #routed = 0;
  #kickScheduled = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  // Transaction state.
  #inMulti = false;
  #dirty = false;
  #txSlot: number | undefined;
  #txAddress: string | undefined;
  #txMultiSent = false;
  #txWatched = false;
  #txBuffered: Buffer[] = [];

  // Pub/sub state.
  readonly #subs = new Map<string, Subscriber>();
  #globalSub: string | undefined;
  /** The latest pub/sub entry not yet written: messages arriving meanwhile follow its confirmations. */
  #subEntry: Entry | undefined;

  constructor(opts: ClusterRelayOptions) {
    this.#o = opts;
    this.#client = opts.client;
    this.#router = opts.router;
    this.#session = opts.session;
    this.#parser = new RequestParser(holdWhole(opts.parser));
    this.#table = opts.table;
    this.#virtualId = virtualNodeId(opts.session.database.name);
  }

  /** resp3 tells whether the client negotiated RESP3. */
  get resp3(): boolean {
    return this.#resp3;
  }

  /** pendingReplies counts the replies owed to the client. */
  get pendingReplies(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * reauthenticate has the router send the agent's fresh AUTH on every node connection (replies
   * swallowed); false, sending nothing, inside MULTI or while closing. See redis/reauth.ts.
   */
  reauthenticate(auth: Buffer, done: (ok: boolean, error?: string) => void): boolean {
    if (this.#finished || this.#closing || this.#inMulti) return false;
    this.#router.reauthenticate(auth, done);
    return true;
  }

  /** onActivity is what the router calls after handing out replies: write what is ready. */
  readonly onActivity = (): void => {
    this.#afterEvent();
  };

  /** onPush forwards a RESP3 push frame from a data connection. */
  readonly onPush = (frame: ReplyFrame): void => {
    this.#outOfBand(frame.raw);
  };

  /** onDrained resumes the client once full node connections have drained. */
  readonly onDrained = (): void => {
    this.#unpauseClient(UPSTREAM_FULL);
  };

  /** run serves the session until the client closes, a fatal error, or signal aborts. */
  run(signal: AbortSignal): Promise<void> {
    const done = new Promise<void>((r) => (this.#resolve = r));
    this.#signal = signal;
    const client = this.#client;
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('error', this.#onClientError);
    client.on('close', this.#onClientClose);
    signal.addEventListener('abort', this.#onAbort, { once: true });
    if (signal.aborted || client.destroyed) {
      this.#finish(true);
      return done;
    }
    client.resume();
    return done;
  }

  // ─── Request path ──────────────────────────────────────────────────────────────────────────

  readonly #onClientData = (chunk: Buffer): void => {
    if (this.#closing) return;
    this.#parser.push(chunk);
    this.#drainRequests();
    this.#account();
    this.#afterEvent();
  };

  /** Bytes this session counts in the process budget. */
  #accounted = 0;

  /**
   * account updates this session's share of the process budget. A request is routed whole, so
   * it cannot be streamed: a session still growing a partial request while all sessions together
   * hold more than the budget ends with a clear error rather than grow the process further.
   */
  #account(): void {
    const budget = this.#o.budget;
    if (budget === undefined) return;
    const now = this.#finished ? 0 : this.#parser.bufferedBytes;
    budget.adjust(now - this.#accounted);
    this.#accounted = now;
    if (budget.exceeded && now > 0 && this.#parser.inProgress && !this.#closing && !this.#finished) {
      this.#closeWith(
        `ERR xport: the agent holds more client input than db_service.limits.process_buffer_bytes (${budget.limit} bytes); this request of more than ${now} bytes was refused, retry it later or send smaller requests`,
        'process input budget spent; closing the session',
      );
    }
  }

  #drainRequests(): void {
    try {
      while (!this.#closing && !this.#finished) {
        if (this.pendingReplies >= this.#o.maxPendingReplies) {
          this.#pauseClient(TOO_MANY_PENDING);
          break;
        }
        let req = this.#held;
        if (req !== undefined) this.#held = undefined;
        else {
          req = this.#parser.next();
          if (req === undefined) break;
        }
        this.#silent = this.#replyOff || this.#skipThis;
        if (!this.#handle(req)) {
          this.#held = req;
          this.#pauseClient(HELD);
          break;
        }
        // Redis's SKIP silences exactly one command: the one after CLIENT REPLY SKIP.
        this.#skipThis = this.#skipNext;
        this.#skipNext = false;
        this.#o.counters.commands++;
      }
    } catch (err) {
      // Redis's own answer for the same bytes (or xport's, for a bound of its own).
      if (err instanceof RespProtocolError) this.#closeWith(err.reply, 'client sent invalid RESP; closing the session', err);
      else this.#closeWith('ERR xport: internal error', 'internal error while handling a request; closing the session', err);
    }
  }

  /** handle serves one request; false (having done nothing) when it must wait. */
  #handle(req: Request): boolean {
    if (this.#barrier) return false;
    const name = req.name;
    if (!this.#resp3 && !SUBSCRIBED_ALLOWED.has(name) && this.#subscribed()) {
      const msg = `ERR Can't execute '${displayName(name)}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
      this.#audit(req, name, NO_KEY_POSITIONS, false, false, msg);
      this.#local(errorReply(msg));
      return true;
    }
    switch (name) {
      case 'auth':
        this.#handleAuth(req);
        return true;
      case 'hello':
        this.#handleHello(req);
        return true;
      case 'quit':
        this.#audit(req, name, NO_KEY_POSITIONS, false, true);
        this.#local(OK);
        this.#quitting = true;
        this.#closing = true;
        this.#pauseClient(CLOSING);
        return true;
      case 'reset':
        return this.#handleReset(req);
      case 'ping':
      case 'echo':
        // Always allowed (clients probe connections with them); inside MULTI they are queued like any command.
        if (!this.#inMulti) {
          this.#audit(req, name, NO_KEY_POSITIONS, false, true);
          this.#local(this.#pingEcho(req));
          return true;
        }
    }
    // One verdict for both relays: the command Redis will run, and every db it selects.
    const { cmd, keys, denied, deniedFor } = judgeCommand(this.#table, name, req.args, this.#session.checker);
    const rule = clusterRule(cmd.name);
    // SELECT, MOVE or SWAPDB to another db: refused either way; the cluster's reason is the one to act on.
    if (denied !== undefined && !(deniedFor === 'db' && (rule?.handling === 'unsupported' || cmd.name === 'select'))) {
      this.#reject(req, cmd, keys, denied);
      return true;
    }
    if (rule?.handling === 'unsupported') {
      this.#reject(req, cmd, keys, `command not supported in cluster mode: ${displayName(refusedName(rule, cmd.name))}`);
      return true;
    }
    if (cmd.name === 'select') return this.#select(req, cmd, keys);
    if (cmd.name === 'client|reply') return this.#clientReply(req, cmd);
    if (this.#silent && rule?.handling === 'pubsub') {
      this.#reject(req, cmd, keys, `${displayName(cmd.name)} is not supported while CLIENT REPLY is OFF or SKIP`);
      return true;
    }
    if (this.#inMulti || rule?.handling === 'transaction') return this.#transaction(req, cmd, keys, rule);
    switch (rule?.handling) {
      case 'local':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#local(this.#virtualCluster(req, cmd));
        return true;
      case 'fan-out':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#fanOut(req, cmd, rule);
        return true;
      case 'split-by-slot':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#split(req, cmd, keys, rule.merge!);
        return true;
      case 'scan':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#scan(req);
        return true;
      case 'random-master':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#randomKey(req);
        return true;
      case 'every-connection':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#everyConnection(req.raw, (reply, addr) => {
          this.#router.stateReplays.set(cmd.name, Buffer.from(req.raw));
          this.#router.broadcast(Buffer.from(req.raw), addr);
          return reply.raw;
        });
        return true;
      case 'slot-argument': {
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        const s = parseSlot(req.args[2]);
        this.#forward(req.raw, s ?? DEFAULT_NODE);
        return true;
      }
      case 'pubsub':
        return this.#pubsub(req, cmd, keys);
    }
    if (cmd.name === 'client|list' || cmd.name === 'client|info' || cmd.name === 'config|get') {
      // The default node answers, but nothing in the answer may name it (its laddr, its ports,
      // its files): the cluster is one virtual node.
      this.#audit(req, cmd.name, keys, cmd.subcommand, true);
      const entry = this.#entry();
      const hide = cmd.name === 'config|get' ? hideNodeConfig : hideNodeAddress;
      this.#router.call(req.raw, DEFAULT_NODE, (reply) => this.#complete(entry, reply.isError ? reply.raw : hide(reply.raw)));
      return true;
    }
    return this.#routeByKeys(req, cmd, keys);
  }

  #routeByKeys(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const slot = commonSlot(req.args, keys);
    if (slot === CROSS_SLOT) {
      this.#crossSlot(req, cmd, keys);
      return true;
    }
    this.#audit(req, cmd.name, keys, cmd.subcommand, true);
    if ((++this.#routed & (STALE_CHECK_EVERY - 1)) === 0) this.#router.refreshIfStale();
    this.#forward(req.raw, slot === NO_KEYS ? DEFAULT_NODE : slot);
    return true;
  }

  /** forward sends a request to its slot's master (or the default node) and owes the client its reply. */
  #forward(raw: Buffer, target: number | string): void {
    const entry = this.#entry();
    this.#router.call(raw, target, (reply) => this.#complete(entry, reply.raw));
  }

  /**
   * forwardTx sends a transaction command to the transaction's node without retries: a retried
   * EXEC after CLUSTERDOWN would meet a transaction Redis already discarded.
   */
  #forwardTx(raw: Buffer, address: string): void {
    const entry = this.#entry();
    this.#router.call(raw, address, (reply) => this.#complete(entry, reply.raw), { retry: false });
  }

  #crossSlot(req: Request, cmd: ResolvedCommand, keys: readonly number[]): void {
    this.#audit(req, cmd.name, keys, cmd.subcommand, false, 'CROSSSLOT Keys in request don\'t hash to the same slot');
    if (this.#inMulti) this.#dirty = true;
    this.#local(CROSSSLOT_ERROR);
  }

  // ─── Local answers ─────────────────────────────────────────────────────────────────────────

  #pingEcho(req: Request): Buffer {
    const args = req.args;
    if (req.name === 'echo') return args.length === 2 ? bulk(args[1]!, this.#resp3) : arityError('echo');
    if (args.length > 2) return arityError('ping');
    if (!this.#resp3 && this.#subscribed()) {
      // A subscribed RESP2 connection answers PING with a message-shaped array, as Redis does.
      return arrayReply([bulk('pong', false), bulk(args[1] ?? Buffer.alloc(0), false)]);
    }
    return args.length === 2 ? bulk(args[1]!, this.#resp3) : PONG;
  }

  #select(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const arg = req.args[1];
    if (req.args.length !== 2 || arg === undefined) {
      this.#audit(req, cmd.name, keys, false, true);
      this.#local(arityError('select'));
      return true;
    }
    if (arg.toString('latin1') !== '0') {
      this.#reject(req, cmd, keys, `command not supported in cluster mode: select ${displayArg(arg)} (a cluster has only db 0)`);
      return true;
    }
    try {
      this.#session.checker.checkDbName('0');
    } catch {
      this.#reject(req, cmd, keys, 'access denied to db 0');
      return true;
    }
    this.#audit(req, cmd.name, keys, false, true);
    if (this.#inMulti) {
      this.#txCommand(req.raw);
      return true;
    }
    this.#local(OK);
    return true;
  }

  /** virtualCluster answers the CLUSTER commands the agent emulates (a single virtual node). */
  #virtualCluster(req: Request, cmd: ResolvedCommand): Buffer {
    const r3 = this.#resp3;
    switch (cmd.name) {
      case 'cluster|keyslot':
        return req.args.length === 3 ? clusterKeySlotReply(keySlot(req.args[2]!)) : arityError('cluster|keyslot');
      case 'cluster|info':
        return clusterInfoReply(this.#router.topology?.assignedSlots ?? 0, r3);
      case 'cluster|slots':
        return clusterSlotsReply(this.#virtualId, r3);
      case 'cluster|shards':
        return clusterShardsReply(this.#virtualId, r3);
      case 'cluster|nodes':
        return clusterNodesReply(this.#virtualId, r3);
      case 'cluster|myid':
      case 'cluster|myshardid':
        return clusterMyIdReply(this.#virtualId, r3);
      default:
        return errorReply(`ERR xport: command not supported in cluster mode: ${displayName(cmd.name)}`);
    }
  }

  // ─── AUTH, HELLO and other connection state ─────────────────────────────────────────────────

  #handleAuth(req: Request): void {
    const args = req.args;
    const text = formatAuth(args);
    let problem: string | undefined;
    if (this.#inMulti) problem = 'auth is not supported inside MULTI in cluster mode';
    else if (args.length < 2) problem = "wrong number of arguments for 'auth' command";
    else if (args.length > 3) problem = 'syntax error';
    else if (args.length === 2) {
      if (this.#session.dbUser !== 'default') {
        // Say how: AUTH with the routed user's name (or reconnect routed to default).
        problem = `failed to authenticate as the default user. Please provide the db username when connecting to Redis: this session is routed to db user "${this.#session.dbUser}"; send AUTH ${this.#session.dbUser} <password>`;
      }
    } else problem = this.#checkAuthUser(args[1]!);
    this.#emitAudit({ type: 'db.session.query', success: problem === undefined, command: 'auth', keys: [], query: text, ...(problem ? { error: problem } : {}) });
    if (problem !== undefined) {
      this.#denied(problem);
      return;
    }
    if (this.#o.localAuth) {
      // The agent's own AUTH (IAM token, managed password) is in force; the client's password would only fail.
      this.#local(OK);
      return;
    }
    const replay = Buffer.from(req.raw);
    this.#everyConnection(req.raw, (reply, addr) => {
      this.#router.authReplay = replay;
      this.#router.broadcast(replay, addr);
      this.#afterAuth();
      return reply.raw;
    });
  }

  #handleHello(req: Request): void {
    const args = req.args;
    const text = formatHello(args, this.#o.redactValues);
    let problem: string | undefined;
    let auth: Buffer | undefined;
    let setname: Buffer | undefined;
    if (this.#inMulti) problem = 'hello is not supported inside MULTI';
    for (let i = 2; problem === undefined && i < args.length; ) {
      // Redis compares HELLO's options as C strings (`AUTH\0` is AUTH): so must the check.
      const opt = args[i]!;
      if (cstrEqualsIgnoreCase(opt, 'auth')) {
        if (i + 2 >= args.length) problem = 'syntax error';
        else {
          problem = this.#checkAuthUser(args[i + 1]!);
          auth = command(['AUTH', args[i + 1]!, args[i + 2]!]);
        }
        i += 3;
      } else if (cstrEqualsIgnoreCase(opt, 'setname')) {
        if (i + 1 < args.length) setname = command(['CLIENT', 'SETNAME', args[i + 1]!]);
        i += 2;
      } else {
        i++;
      }
    }
    this.#emitAudit({ type: 'db.session.query', success: problem === undefined, command: 'hello', keys: [], query: text, ...(problem ? { error: problem } : {}) });
    if (problem !== undefined) {
      this.#denied(problem);
      return;
    }
    const raw = Buffer.from(req.raw);
    this.#everyConnection(req.raw, (reply, addr) => {
      // The reply's type says which protocol is now in force: a map in RESP3, an array in RESP2.
      const t = reply.raw[0];
      if (t === PERCENT) this.#resp3 = true;
      else if (t === STAR) this.#resp3 = false;
      this.#router.resp3 = this.#resp3;
      if (auth !== undefined) this.#router.authReplay = auth;
      if (setname !== undefined) this.#router.stateReplays.set('client|setname', setname);
      this.#router.broadcast(raw, addr);
      if (auth !== undefined) this.#afterAuth();
      return hideClusterMode(reply.raw);
    });
  }

  /** afterAuth fetches the topology if the session could not read it before the client authenticated. */
  #afterAuth(): void {
    if (this.#router.topology === undefined) void this.#router.refresh().then(() => this.#kick());
    // Read once per database, now that the connection is authenticated as the client's db user.
    if (this.#o.tableWanted?.() === true) {
      this.#router.call(COMMAND_TABLE, DEFAULT_NODE, (reply) => {
        const table = this.#o.onTable?.(reply);
        if (table !== undefined) this.#table = table;
      });
      if (this.#auditCommitted()) this.#router.flush();
    }
  }

  /** checkAuthUser returns why `AUTH <user> …` must be refused, if it must. */
  #checkAuthUser(userArg: Buffer): string | undefined {
    const user = userArg.toString('utf8');
    // Byte for byte, as Redis looks users up: a lossy decoding must not make two names one.
    let ok = userArg.equals(Buffer.from(this.#session.dbUser, 'utf8'));
    if (ok) {
      try {
        this.#session.checker.checkDbUser(user);
      } catch {
        ok = false;
      }
    }
    // Say how to get a session routed to that user: the route is chosen when connecting, not by AUTH.
    return ok
      ? undefined
      : `failed to authenticate as ${displayArg(userArg)} user. Please provide a correct db username when connecting to Redis: ` +
          `this session is routed to db user "${this.#session.dbUser}"; reconnect with xsh db connect ${this.#session.database.name} --db-user=${displayArg(userArg)}`;
  }

  /**
   * everyConnection sends a connection-state command to the default node and holds the requests
   * behind it until it answers (a node connection opened meanwhile must get the new state); on
   * success, onSuccess applies it to the other connections and returns the client's reply.
   */
  #everyConnection(raw: Buffer, onSuccess: (reply: NodeReply, address: string) => Buffer): void {
    const entry = this.#entry();
    this.#barrier = true;
    this.#router.call(raw, DEFAULT_NODE, (reply, addr) => {
      this.#barrier = false;
      this.#complete(entry, reply.isError ? reply.raw : onSuccess(reply, addr));
      this.#unpauseClient(HELD);
    });
  }

  #handleReset(req: Request): boolean {
    if (this.pendingReplies > 0) return false;
    // RESET turns CLIENT REPLY back ON before it answers.
    this.#replyOff = this.#skipThis = this.#skipNext = this.#silent = false;
    this.#audit(req, 'reset', NO_KEY_POSITIONS, false, true);
    // Fresh node connections are exactly what RESET promises: the injected credentials only,
    // RESP2, no subscriptions, no transaction, no client name.
    this.#router.closeLinks();
    for (const s of this.#subs.values()) s.link.close();
    this.#subs.clear();
    this.#globalSub = undefined;
    this.#subEntry = undefined;
    this.#router.authReplay = undefined;
    this.#router.resp3 = false;
    this.#router.stateReplays.clear();
    this.#resp3 = false;
    this.#resetTx();
    this.#local(RESET_REPLY);
    return true;
  }

  // ─── Fan-out, split, scan ──────────────────────────────────────────────────────────────────

  #fanOut(req: Request, cmd: ResolvedCommand, rule: ClusterCommandRule): void {
    const entry = this.#entry();
    const merge = rule.merge!;
    this.#withTopology(() => {
      const targets = cmd.name === 'wait' ? this.#waitTargets() : this.#router.shardTargets();
      this.#router.callEach(req.raw, targets, (replies) => this.#complete(entry, mergeReplies(merge, replies, cmd.name)));
    });
  }

  /** waitTargets are the nodes WAIT must ask: every open data connection (the default node if none). */
  #waitTargets(): string[] {
    const open = this.#router.openAddresses().filter((a) => this.#router.topology?.node(a)?.role !== 'replica');
    return open.length > 0 ? open : [this.#router.defaultAddress()];
  }

  /** withTopology runs fn once a topology is known (fetching it if needed; fn runs anyway on failure). */
  #withTopology(fn: () => void): void {
    if (this.#router.topology !== undefined) {
      fn();
      return;
    }
    void this.#router.refresh().then(() => {
      if (this.#finished) return;
      fn();
      this.#kick();
    });
  }

  #split(req: Request, cmd: ResolvedCommand, keys: readonly number[], merge: ClusterMerge): void {
    const args = req.args;
    const pairs = cmd.name === 'mset';
    // Malformed calls go to one node so Redis answers them with its own error.
    if (args.length < 2 || (pairs && (args.length < 3 || (args.length - 1) % 2 !== 0)) || keys.length === 0) {
      this.#forward(req.raw, DEFAULT_NODE);
      return;
    }
    const keyArgs = keys.map((i) => args[i]!);
    const groups = groupBySlot(keyArgs);
    if (groups.length === 1) {
      this.#forward(req.raw, groups[0]!.slot);
      return;
    }
    const entry = this.#entry();
    const replies = new Array<NodeReply>(groups.length);
    let left = groups.length;
    groups.forEach((g: SlotGroup, gi) => {
      const sub: Buffer[] = [args[0]!];
      for (const k of g.indexes) {
        sub.push(args[keys[k]!]!);
        if (pairs) sub.push(args[keys[k]! + 1]!);
      }
      this.#router.call(command(sub), g.slot, (reply) => {
        replies[gi] = reply;
        if (--left > 0) return;
        let out: Buffer;
        if (merge === 'key-order') out = mergeInKeyOrder(replies, groups, keys.length, cmd.name);
        else out = mergeReplies(merge, replies, cmd.name);
        this.#complete(entry, out);
      });
    });
  }

  #scan(req: Request): void {
    const args = req.args;
    if (args.length < 2) {
      this.#forward(req.raw, DEFAULT_NODE);
      return;
    }
    const pos = decodeScanCursor(args[1]!.toString('latin1'));
    const entry = this.#entry();
    this.#withTopology(() => {
      const shards = this.#router.shardTargets();
      if (pos === undefined || pos.shard >= shards.length || shards.length > MAX_SCAN_SHARDS) {
        this.#complete(entry, errorReply('ERR invalid cursor'));
        return;
      }
      const nodeArgs = [...args];
      nodeArgs[1] = Buffer.from(pos.nodeCursor.toString());
      this.#router.call(command(nodeArgs), shards[pos.shard]!, (reply) => {
        this.#complete(entry, scanReply(reply, pos.shard, shards.length));
      });
    });
  }

  #randomKey(req: Request): void {
    const entry = this.#entry();
    this.#withTopology(() => {
      const order = shuffle(this.#router.shardTargets());
      const next = (i: number): void => {
        this.#router.call(req.raw, order[i]!, (reply) => {
          // A nil answer only means that master is empty: ask another one.
          if (!reply.isError && isNil(reply.raw) && i + 1 < order.length) next(i + 1);
          else this.#complete(entry, reply.raw);
        });
        if (i > 0) this.#router.flush();
      };
      next(0);
    });
  }

  // ─── Transactions ──────────────────────────────────────────────────────────────────────────

  #transaction(req: Request, cmd: ResolvedCommand, keys: readonly number[], rule: ClusterCommandRule | undefined): boolean {
    const name = cmd.name;
    switch (name) {
      case 'multi':
        this.#audit(req, name, keys, false, true);
        if (this.#inMulti) {
          this.#local(errorReply('ERR MULTI calls can not be nested'));
          return true;
        }
        this.#inMulti = true;
        this.#dirty = false;
        this.#local(OK);
        return true;
      case 'exec':
        return this.#exec(req, cmd);
      case 'discard':
        this.#audit(req, name, keys, false, true);
        if (!this.#inMulti) {
          this.#local(errorReply('ERR DISCARD without MULTI'));
          return true;
        }
        if (this.#txMultiSent) this.#forwardTx(req.raw, this.#txAddress!);
        else {
          if (this.#txWatched) this.#router.call(UNWATCH, this.#txAddress!, () => {}, { retry: false });
          this.#local(OK);
        }
        this.#resetTx();
        return true;
      case 'watch':
        if (this.#inMulti) {
          this.#audit(req, name, keys, false, true);
          this.#local(errorReply('ERR WATCH inside MULTI is not allowed'));
          return true;
        }
        return this.#watch(req, cmd, keys);
      case 'unwatch':
        this.#audit(req, name, keys, false, true);
        if (this.#inMulti) {
          this.#txCommand(req.raw);
          return true;
        }
        if (this.#txWatched) this.#forwardTx(req.raw, this.#txAddress!);
        else this.#local(OK);
        this.#resetTx();
        return true;
    }
    // A command inside MULTI.
    if (rule !== undefined && NOT_IN_MULTI.has(rule.handling)) {
      this.#reject(req, cmd, keys, `${displayName(name)} is not supported inside MULTI in cluster mode`);
      return true;
    }
    if (rule?.handling === 'local' && name !== 'ping' && name !== 'echo') {
      this.#reject(req, cmd, keys, `${displayName(name)} is not supported inside MULTI in cluster mode`);
      return true;
    }
    const slot = commonSlot(req.args, keys);
    if (slot === CROSS_SLOT || (slot !== NO_KEYS && this.#txSlot !== undefined && slot !== this.#txSlot)) {
      this.#crossSlot(req, cmd, keys);
      return true;
    }
    this.#audit(req, name, keys, cmd.subcommand, true);
    if (slot !== NO_KEYS && this.#txSlot === undefined) {
      this.#txSlot = slot;
      this.#txAddress = this.#router.addressForSlot(slot);
    }
    this.#txCommand(req.raw);
    return true;
  }

  #watch(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const slot = commonSlot(req.args, keys);
    if (slot === CROSS_SLOT || (slot !== NO_KEYS && this.#txSlot !== undefined && slot !== this.#txSlot)) {
      this.#crossSlot(req, cmd, keys);
      return true;
    }
    this.#audit(req, cmd.name, keys, false, true);
    if (slot === NO_KEYS) {
      this.#forward(req.raw, DEFAULT_NODE); // Redis answers the arity error
      return true;
    }
    this.#txSlot = slot;
    this.#txAddress = this.#router.addressForSlot(slot);
    this.#txWatched = true;
    this.#forwardTx(req.raw, this.#txAddress);
    return true;
  }

  /** txCommand queues a command inside MULTI: on the transaction's node once known, else locally. */
  #txCommand(raw: Buffer): void {
    const addr = this.#txAddress;
    if (addr === undefined) {
      this.#txBuffered.push(Buffer.from(raw));
      this.#local(QUEUED);
      return;
    }
    this.#txBegin(addr);
    this.#forwardTx(raw, addr);
  }

  /** txBegin sends MULTI and the commands queued before the node was known (their +QUEUED were answered locally). */
  #txBegin(addr: string): void {
    if (this.#txMultiSent) return;
    this.#txMultiSent = true;
    const ignore = () => {};
    this.#router.call(MULTI, addr, ignore, { retry: false });
    // A queue-time error makes Redis abort the EXEC, which is what the client then sees.
    for (const b of this.#txBuffered) this.#router.call(b, addr, ignore, { retry: false });
    this.#txBuffered = [];
  }

  #exec(req: Request, cmd: ResolvedCommand): boolean {
    if (!this.#inMulti) {
      this.#audit(req, cmd.name, NO_KEY_POSITIONS, false, true);
      this.#local(errorReply('ERR EXEC without MULTI'));
      return true;
    }
    if (this.#dirty) {
      this.#emitAudit({
        type: 'db.session.query',
        success: false,
        error: 'EXECABORT Transaction discarded because of previous errors.',
        command: cmd.name,
        keys: [],
        query: formatQuery(req.args, NO_KEY_POSITIONS, this.#o.redactValues),
      });
      if (this.#txMultiSent) this.#router.call(DISCARD, this.#txAddress!, () => {}, { retry: false });
      else if (this.#txWatched) this.#router.call(UNWATCH, this.#txAddress!, () => {}, { retry: false });
      this.#local(EXECABORT);
      this.#resetTx();
      return true;
    }
    this.#audit(req, cmd.name, NO_KEY_POSITIONS, false, true);
    const addr = this.#txAddress ?? this.#router.defaultAddress();
    this.#txBegin(addr);
    this.#forwardTx(req.raw, addr);
    this.#resetTx();
    return true;
  }

  #resetTx(): void {
    this.#inMulti = this.#dirty = this.#txMultiSent = this.#txWatched = false;
    this.#txSlot = this.#txAddress = undefined;
    this.#txBuffered = [];
  }

  // ─── Pub/sub ───────────────────────────────────────────────────────────────────────────────

  #subscribed(): boolean {
    if (this.#subs.size === 0) return false;
    for (const s of this.#subs.values()) if (s.state.subscribed) return true;
    return false;
  }

  #shardCount(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.state.counts.shardChannels;
    return n;
  }

  #pubsub(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const name = cmd.name;
    const argCount = req.args.length - 1;
    if (name === 'ssubscribe' || name === 'sunsubscribe') {
      const slot = commonSlot(req.args, keys);
      if (slot === CROSS_SLOT) {
        this.#crossSlot(req, cmd, keys);
        return true;
      }
      this.#audit(req, name, keys, false, true);
      if (slot !== NO_KEYS) {
        this.#subRequest(req.raw, name, argCount, [this.#router.addressForSlot(slot)], slot);
        return true;
      }
      if (name === 'ssubscribe') {
        this.#forward(req.raw, DEFAULT_NODE); // Redis answers the arity error
        return true;
      }
      // SUNSUBSCRIBE with no channels: every shard connection holding some.
      const holders = [...this.#subs.entries()].filter(([, s]) => s.state.counts.shardChannels > 0).map(([a]) => a);
      this.#subRequest(req.raw, name, 0, holders.length > 0 ? holders : [this.#globalSubAddress()], undefined);
      return true;
    }
    this.#audit(req, name, keys, false, true);
    this.#subRequest(req.raw, name, argCount, [this.#globalSubAddress()], undefined);
    return true;
  }

  #globalSubAddress(): string {
    this.#globalSub ??= this.#router.defaultAddress();
    return this.#globalSub;
  }

  #subscriber(address: string): Subscriber {
    let s = this.#subs.get(address);
    if (s === undefined || s.link.state === 'closed') {
      const link = this.#router.openLink(address, {
        onOutOfBand: (frame, l) => this.#subOutOfBand(frame, l),
        onClose: (l) => this.#subClosed(l),
      });
      s = { link, state: new PubSubState() };
      this.#subs.set(address, s);
    }
    return s;
  }

  /**
   * subRequest sends a (P|S)(UN)SUBSCRIBE to subscriber connections and collects every
   * confirmation (and any message in between) into one reply entry. A MOVED answer to a
   * sharded command is followed to the slot's new owner.
   */
  #subRequest(raw: Buffer, name: string, argCount: number, addresses: string[], slot: number | undefined): void {
    const entry = this.#entry();
    this.#subEntry = entry;
    // Confirmations and any message arriving meanwhile share one list, in arrival order.
    const parts: Buffer[] = [];
    entry.out = parts;
    let left = addresses.length;
    // The next command waits for the confirmations, as a single Redis would have run this first:
    // in RESP2, whether the connection is subscribed decides how it is answered; for sharded
    // channels, the counts are totals over several shard connections and must be taken in order.
    const hold = !this.#resp3 || name === 'ssubscribe' || name === 'sunsubscribe';
    if (hold) this.#barrier = true;
    const finishOne = () => {
      if (--left > 0) return;
      entry.done = true;
      if (hold) {
        this.#barrier = false;
        this.#unpauseClient(HELD);
      }
    };
    const sendTo = (address: string, redirects: number) => {
      const sub = this.#subscriber(address);
      const handler = sub.state.handler(name, argCount, () => {});
      let first = true;
      this.#router.send(sub.link, raw, {
        onFrame: (frame) => {
          if (first && frame.isError && slot !== undefined) {
            const ce = parseClusterError(frame.raw);
            if (ce !== undefined && 'slot' in ce) {
              first = false;
              if (ce.kind === 'moved' && redirects < MAX_REDIRECTS && this.#router.topology?.knows(`${ce.host}:${ce.port}`) === true) {
                sendTo(`${ce.host}:${ce.port}`, redirects + 1);
                void this.#router.refresh();
              } else {
                parts.push(errorReply(`ERR xport: slot ${ce.slot} is moving; retry the subscription`));
                finishOne();
              }
              return true;
            }
          }
          first = false;
          const got: Buffer[] = [];
          const complete = handler(frame, (b) => got.push(b));
          for (const b of got) parts.push(this.#shardCountFixed(b, name));
          if (complete) finishOne();
          return complete;
        },
        onFail: (err) => {
          parts.push(errorReply(`ERR xport: ${err.message}`));
          finishOne();
          this.#kick();
        },
      });
    };
    for (const a of addresses) sendTo(a, 0);
  }

  /**
   * shardCountFixed rewrites the count of an SSUBSCRIBE/SUNSUBSCRIBE confirmation to the
   * session's total over all shard connections, which is what one Redis would report.
   */
  #shardCountFixed(b: Buffer, name: string): Buffer {
    if (name !== 'ssubscribe' && name !== 'sunsubscribe') return b;
    const v = decodeValue(b);
    if (!Array.isArray(v) || v.length !== 3 || typeof v[2] !== 'number') return b;
    const kind = valueText(v[0]);
    if (kind !== 'ssubscribe' && kind !== 'sunsubscribe') return b;
    const total = this.#shardCount();
    if (v[2] === total) return b;
    const channel = Buffer.isBuffer(v[1]) ? v[1] : null;
    return push([kind, channel, total], b[0] === 0x3e);
  }

  /** subOutOfBand forwards a message (or a server-initiated unsubscribe) from a subscriber connection. */
  #subOutOfBand(frame: ReplyFrame, link: NodeLink): void {
    const head = frameHead(frame.raw);
    const kind = valueText(head?.first)?.toLowerCase();
    let bytes = frame.raw;
    if (kind === 'sunsubscribe') {
      // The slot moved away and the node dropped the subscription: keep the counts right.
      const sub = this.#subs.get(link.address);
      sub?.state.handler('sunsubscribe', 1, () => {})(frame, () => {});
      bytes = this.#shardCountFixed(bytes, 'sunsubscribe');
    }
    this.#outOfBand(bytes);
  }

  #subClosed(link: NodeLink): void {
    const sub = this.#subs.get(link.address);
    if (sub?.link !== link) return;
    this.#subs.delete(link.address);
    if (this.#globalSub === link.address) this.#globalSub = undefined;
    if (sub.state.subscribed && !this.#finished && !this.#closing) {
      // The subscriptions are gone with the connection: end the session so the client resubscribes.
      this.#closeWith('ERR xport: the connection to the database was lost', 'subscriber connection to a cluster node lost; closing the session');
    }
  }

  /** outOfBand writes a frame that answers no request: after the pending pub/sub entry's frames, else at once. */
  #outOfBand(bytes: Buffer): void {
    const e = this.#subEntry;
    if (e !== undefined && !e.flushed) {
      if (e.out === undefined) e.out = [bytes];
      else if (Array.isArray(e.out)) e.out.push(bytes);
      else e.out = [e.out, bytes];
      return;
    }
    this.#clientOut.push(bytes);
  }

  // ─── Replies to the client ─────────────────────────────────────────────────────────────────

  #entry(): Entry {
    const e = new Entry();
    e.silent = this.#silent;
    this.#queue.push(e);
    return e;
  }

  /**
   * clientReply applies CLIENT REPLY ON|OFF|SKIP in the relay, which makes every reply the client
   * gets: ON answers +OK and ends OFF and SKIP, OFF and SKIP answer nothing, SKIP silences the
   * next command only; other forms get Redis's own errors. Options compare as strcasecmp does.
   */
  #clientReply(req: Request, cmd: ResolvedCommand): boolean {
    if (this.#inMulti) {
      this.#reject(req, cmd, NO_KEY_POSITIONS, 'client reply is not supported inside MULTI');
      return true;
    }
    this.#audit(req, cmd.name, NO_KEY_POSITIONS, true, true);
    const mode = req.args.length === 3 ? req.args[2]! : undefined;
    if (mode === undefined) this.#local(errorReply("ERR wrong number of arguments for 'client|reply' command"));
    else if (cstrEqualsIgnoreCase(mode, 'on')) {
      this.#replyOff = this.#skipThis = this.#skipNext = this.#silent = false;
      this.#local(OK);
    } else if (cstrEqualsIgnoreCase(mode, 'off')) this.#replyOff = true;
    else if (cstrEqualsIgnoreCase(mode, 'skip')) {
      if (!this.#replyOff) this.#skipNext = true;
    } else this.#local(errorReply('ERR syntax error'));
    return true;
  }

  #local(bytes: Buffer): void {
    if (this.#silent) return;
    if (this.#head === this.#queue.length) {
      this.#clientOut.push(bytes);
      return;
    }
    const e = this.#entry();
    e.out = bytes;
    e.done = true;
  }

  #complete(entry: Entry, bytes: Buffer): void {
    entry.out = bytes;
    entry.done = true;
  }

  #denied(problem: string): void {
    this.#o.counters.denied++;
    if (this.#inMulti) this.#dirty = true;
    this.#local(errorReply(`ERR xport: ${problem}`));
  }

  #reject(req: Request, cmd: ResolvedCommand, keys: readonly number[], message: string): void {
    this.#audit(req, cmd.name, keys, cmd.subcommand, false, message);
    this.#denied(message);
  }

  #audit(req: Request, name: string, keys: readonly number[], subcommand: boolean, success: boolean, error?: string): void {
    this.#emitAudit(queryEvent(req.args, name, keys, subcommand, this.#o.redactValues, success, error));
  }

  #emitAudit(ev: SessionAuditEvent): void {
    emitAudit(this.#session, this.#o.log, ev);
  }

  /** kick schedules an afterEvent for work that completed outside an I/O callback (timers, promises). */
  #kick(): void {
    if (this.#kickScheduled || this.#finished) return;
    this.#kickScheduled = true;
    queueMicrotask(() => {
      this.#kickScheduled = false;
      this.#afterEvent();
    });
  }

  /**
   * auditCommitted writes the audit events of the commands queued so far to the log; when it
   * cannot, nothing queued reaches Redis and the session ends with the reason.
   */
  #auditCommitted(): boolean {
    const refused = commitAudit(this.#session);
    if (refused === undefined) return true;
    this.#client.write(refused);
    this.#finish(false);
    return false;
  }

  /** afterEvent writes queued commands and ready replies and acts on what changed. */
  #afterEvent(): void {
    if (this.#finished || !this.#auditCommitted()) return;
    if (!this.#router.flush()) this.#pauseClient(UPSTREAM_FULL);
    const q = this.#queue;
    let h = this.#head;
    const out = this.#clientOut;
    while (h < q.length) {
      const e = q[h]!;
      if (!e.done) break;
      e.flushed = true;
      const o = e.silent ? undefined : e.out;
      if (Array.isArray(o)) for (const b of o) out.push(b);
      else if (o !== undefined) out.push(o);
      q[h] = undefined as unknown as Entry;
      h++;
    }
    if (h === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (h >= 1024 && h * 2 >= q.length) {
      this.#queue = q.slice(h);
      this.#head = 0;
    } else this.#head = h;
    if (this.#subEntry?.flushed === true) this.#subEntry = undefined;
    if (out.length > 0) {
      this.#clientOut = [];
      this.#writeClient(out);
    }
    const pending = this.pendingReplies;
    if (this.#finishing) return;
    if (this.#quitting && pending === 0) {
      this.#finish(false);
      return;
    }
    if (this.#closing) return;
    if (this.#clientPause & TOO_MANY_PENDING && pending <= this.#o.maxPendingReplies >> 1) this.#unpauseClient(TOO_MANY_PENDING);
    if (this.#held !== undefined && !this.#barrier && (this.#held.name !== 'reset' || pending === 0)) this.#unpauseClient(HELD);
    if (this.#clientEnded && pending === 0 && this.#held === undefined) this.#finish(false);
  }

  #writeClient(bufs: Buffer[]): void {
    const client = this.#client;
    if (client.destroyed || client.writableEnded) return;
    let ok: boolean;
    if (bufs.length === 1) ok = client.write(bufs[0]!);
    else {
      let total = 0;
      for (const b of bufs) total += b.length;
      if (total <= 64 * 1024) ok = client.write(Buffer.concat(bufs, total));
      else {
        client.cork();
        ok = true;
        for (const b of bufs) ok = client.write(b);
        client.uncork();
      }
    }
    if (!ok && !this.#nodesPaused) {
      this.#nodesPaused = true;
      this.#router.pauseReading();
      this.#o.counters.upstreamPauses++;
      client.once('drain', () => {
        this.#nodesPaused = false;
        if (!this.#finished) this.#router.resumeReading();
      });
    }
  }

  #pauseClient(reason: number): void {
    if (this.#clientPause === 0) {
      this.#client.pause();
      this.#o.counters.clientPauses++;
    }
    this.#clientPause |= reason;
  }

  #unpauseClient(reason: number): void {
    if ((this.#clientPause & reason) === 0) return;
    this.#clientPause &= ~reason;
    if (this.#clientPause !== 0 || this.#finished) return;
    this.#client.resume();
    this.#drainRequests();
    this.#kick();
  }

  /** closeWith answers a final error after the replies in flight, then ends the session. */
  #closeWith(reply: string | Buffer, logMessage: string, err?: unknown): void {
    this.#o.log.debug(logMessage, { session: this.#session.id, error: (err as Error | undefined)?.message });
    this.#local(typeof reply === 'string' ? errorReply(reply) : reply);
    this.#quitting = true;
    this.#closing = true;
    this.#pauseClient(CLOSING);
    this.#graceTimer = setTimeout(() => this.#finish(false), CLOSE_GRACE_MS);
    this.#graceTimer.unref?.();
    this.#kick();
  }

  // ─── Lifecycle ─────────────────────────────────────────────────────────────────────────────

  readonly #onClientEnd = (): void => {
    this.#clientEnded = true;
    if (this.pendingReplies === 0 && this.#held === undefined) this.#finish(false);
  };

  readonly #onClientError = (err: Error): void => {
    this.#o.log.debug('client connection error', { session: this.#session.id, error: err.message });
    this.#finish(true);
  };

  readonly #onClientClose = (): void => {
    this.#finish(true);
    this.#resolve?.();
  };

  readonly #onAbort = (): void => {
    this.#finish(true);
  };

  #finish(hard: boolean): void {
    if (this.#finished || this.#finishing) return;
    this.#finishing = true;
    // Whatever is ready goes out first.
    if (!hard) this.#afterEvent();
    this.#finished = true;
    this.#account();
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#router.close();
    for (const s of this.#subs.values()) s.link.close();
    this.#subs.clear();
    const client = this.#client;
    client.off('data', this.#onClientData);
    if (hard || client.destroyed) {
      client.destroy();
    } else {
      client.end();
      const t = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
      t.unref?.();
      client.once('close', () => clearTimeout(t));
    }
    if (client.destroyed) this.#resolve?.();
  }
}

// ─── Helpers ───────────────────────────────────────────────────────────────────────────────────

/** parseSlot reads a slot number argument; undefined when it is not one. */
function parseSlot(arg: Buffer | undefined): number | undefined {
  if (arg === undefined || arg.length > 5) return undefined;
  const s = arg.toString('latin1');
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n < SLOT_COUNT ? n : undefined;
}

/** mergeReplies applies a merge rule to fan-out replies (in shard order). */
export function mergeReplies(merge: ClusterMerge, replies: readonly NodeReply[], what: string): Buffer {
  switch (merge) {
    case 'sum':
      return mergeSum(replies, what);
    case 'concat':
      return mergeConcat(replies, what);
    case 'all-ok':
      return mergeAllOk(replies);
    case 'any-ok':
      return mergeAnyOk(replies);
    case 'all-true':
      return mergeAllTrue(replies, what);
    case 'min':
      return mergeMin(replies, what);
    case 'info':
      return mergeInfo(replies);
    case 'key-order':
      return mergeAllOk(replies);
  }
}

function mergeInfo(replies: readonly NodeReply[]): Buffer {
  const err = replies.find((r) => r.isError);
  if (err !== undefined) return err.raw;
  const texts = replies.map((r) => infoText(r.raw));
  if (texts.some((t) => t === undefined)) return replies[0]!.raw;
  return infoReply(aggregateInfo(texts as string[]), replies[0]!.raw[0] === 0x3d);
}

/**
 * scanReply turns one master's SCAN reply into the cluster-wide one: its keys, and a cursor
 * that continues on this shard, moves to the next, or is 0 after the last.
 */
export function scanReply(reply: NodeReply, shard: number, shards: number): Buffer {
  if (reply.isError) return reply.raw;
  const els = aggregateElements(reply.raw);
  const cursorText = els === undefined || els.length !== 2 ? undefined : valueText(decodeValue(els[0]!));
  if (els === undefined || cursorText === undefined || !/^\d+$/.test(cursorText)) {
    return errorReply('ERR xport: unexpected reply from a cluster node to scan');
  }
  const nodeCursor = BigInt(cursorText);
  let next: string;
  if (nodeCursor !== 0n) next = encodeScanCursor({ shard, nodeCursor });
  else if (shard + 1 < shards) next = encodeScanCursor({ shard: shard + 1, nodeCursor: 0n });
  else next = '0';
  return Buffer.concat([Buffer.from('*2\r\n'), bulk(next, false), els[1]!]);
}

function isNil(raw: Buffer): boolean {
  return (raw[0] === 0x24 && raw[1] === 0x2d) || raw[0] === 0x5f || (raw[0] === 0x2a && raw[1] === 0x2d);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
