/**
 * redis/cluster/relay: one client session against a Redis Cluster, presented to the client as
 * ONE Redis. Each request is checked against the session's roles and audited exactly as in
 * standalone mode (one `db.session.query` event per client command, fan-outs included), then:
 *
 *  - routed by its keys' slot to the master serving it (router.ts follows MOVED/ASK and retries
 *    TRYAGAIN/CLUSTERDOWN, so redirects never reach the client); keys in several slots →
 *    `-CROSSSLOT Keys in request don't hash to the same slot`, as Redis answers;
 *  - or served as rules.ts says: fanned out, split by slot, scanned (fan-out.ts); answered
 *    locally (local-answers.ts); a connection-state command on every node connection
 *    (connection-state.ts: AUTH, HELLO, RESET, SELECT, CLIENT REPLY…); a transaction
 *    (transaction.ts); pub/sub (subscriptions.ts); or refused
 *    (`-ERR xport: command not supported in cluster mode: <name>`).
 *
 * This file reads requests, dispatches them, and owns the session's lifecycle; replies are
 * returned in request order by reply-queue.ts although they come from several node connections.
 * Backpressure as in standalone mode (backpressure.ts): a client that does not read pauses every
 * node connection; a full node connection or too many pending replies pause the client.
 * Must not import auth/ or cloud/.
 */
import type { Duplex } from 'node:stream';
import type { Session, SessionAuditEvent } from '../../db/session.js';
import { commitAudit, emitAudit, queryEvent } from '../audit-event.js';
import { CLOSE_GRACE_MS, CLOSING, ClientPause, ClientWriter, endClient, HELD, TOO_MANY_PENDING, UPSTREAM_FULL } from '../backpressure.js';
import type { CommandTable, ResolvedCommand } from '../commands.js';
import { displayName } from '../display.js';
import type { InputBudget } from '../input-budget.js';
import type { Logger } from '../../util/log.js';
import type { RelayCounters } from '../relay.js';
import { DEFAULT_MAX_BUFFERED_BYTES, ROUTED_MAX_HELD_ARGS, error as errorReply, OK, RequestParser, RespProtocolError, type ReplyFrame, type Request, type RequestParserOptions } from '../resp/index.js';
import { ConnectionState } from './connection-state.js';
import { fanOut, randomKey, scan, split } from './fan-out.js';
import { parseSlot, pingEcho, virtualCluster } from './local-answers.js';
import type { NodeReply } from './merge.js';
import type { ClusterRelayContext } from './relay-context.js';
import { ReplyQueue } from './reply-queue.js';
import { DEFAULT_NODE, type ClusterRouter, type Target } from './router.js';
import { clusterRule, refusedName } from './rules.js';
import { commonSlot, CROSS_SLOT, NO_KEYS } from './slots.js';
import { ClusterSubscriptions } from './subscriptions.js';
import { ClusterTransaction } from './transaction.js';
import { hideNodeAddress, hideNodeConfig, virtualNodeId } from './virtual-node.js';
import { judgeCommand } from '../verdict.js';

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

/** CROSSSLOT_ERROR is Redis's own reply to keys in different slots. */
export const CROSSSLOT_ERROR = errorReply("CROSSSLOT Keys in request don't hash to the same slot");
const CROSSSLOT_TEXT = "CROSSSLOT Keys in request don't hash to the same slot";
const NO_KEY_POSITIONS: readonly number[] = Object.freeze([]);

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

/** ClusterRelay serves one session against a cluster; {@link run} resolves when it has ended. */
export class ClusterRelay {
  readonly #o: ClusterRelayOptions;
  readonly #client: Duplex;
  readonly #router: ClusterRouter;
  readonly #session: Session;
  readonly #parser: RequestParser;
  readonly #virtualId: string;
  readonly #replies = new ReplyQueue();
  readonly #pause: ClientPause;
  readonly #writer: ClientWriter;
  readonly #ctx: ClusterRelayContext;
  readonly #tx: ClusterTransaction;
  readonly #subs: ClusterSubscriptions;
  readonly #conn: ConnectionState;

  #held: Request | undefined;
  /** A request (AUTH, HELLO, a RESP2 subscription…) is waiting for its answer before the next may go. */
  #barrier = false;
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
  /** Bytes this session counts in the process budget. */
  #accounted = 0;

  constructor(opts: ClusterRelayOptions) {
    this.#o = opts;
    this.#client = opts.client;
    this.#router = opts.router;
    this.#session = opts.session;
    this.#parser = new RequestParser(holdWhole(opts.parser));
    this.#virtualId = virtualNodeId(opts.session.database.name);
    this.#pause = new ClientPause(opts.client, opts.counters);
    this.#writer = new ClientWriter(
      opts.client,
      opts.counters,
      () => this.#router.pauseReading(),
      () => {
        if (!this.#finished) this.#router.resumeReading();
      },
    );
    // The relay as its parts see it: made once per session.
    const relay = this;
    this.#ctx = {
      router: opts.router,
      replies: this.#replies,
      redactValues: opts.redactValues,
      get resp3() {
        return relay.#conn.resp3;
      },
      get finished() {
        return relay.#finished;
      },
      get closing() {
        return relay.#closing;
      },
      audit: (req, name, keys, subcommand, success, error) => this.#audit(req, name, keys, subcommand, success, error),
      emitAudit: (ev) => this.#emitAudit(ev),
      denied: (problem) => this.#denied(problem),
      reject: (req, cmd, keys, message) => this.#reject(req, cmd, keys, message),
      crossSlot: (req, cmd, keys) => this.#crossSlot(req, cmd, keys),
      forward: (raw, target) => this.#forward(raw, target),
      forwardTx: (raw, address) => this.#forwardTx(raw, address),
      hold: () => {
        this.#barrier = true;
      },
      release: () => {
        this.#barrier = false;
        this.#unpauseClient(HELD);
      },
      kick: () => this.#kick(),
      closeWith: (reply, logMessage, err) => this.#closeWith(reply, logMessage, err),
    };
    this.#tx = new ClusterTransaction(this.#ctx);
    this.#subs = new ClusterSubscriptions(this.#ctx);
    this.#conn = new ConnectionState(this.#ctx, {
      session: opts.session,
      table: opts.table,
      tx: this.#tx,
      subs: this.#subs,
      localAuth: opts.localAuth === true,
      tableWanted: opts.tableWanted,
      onTable: opts.onTable,
      auditCommitted: () => this.#auditCommitted(),
    });
  }

  /** resp3 tells whether the client negotiated RESP3. */
  get resp3(): boolean {
    return this.#conn.resp3;
  }

  /** pendingReplies counts the replies owed to the client. */
  get pendingReplies(): number {
    return this.#replies.pending;
  }

  /**
   * reauthenticate has the router send the agent's fresh AUTH on every node connection (replies
   * swallowed); false, sending nothing, inside MULTI or while closing. See redis/reauth.ts.
   */
  reauthenticate(auth: Buffer, done: (ok: boolean, error?: string) => void): boolean {
    if (this.#finished || this.#closing || this.#tx.inMulti) return false;
    this.#router.reauthenticate(auth, done);
    return true;
  }

  /** onActivity is what the router calls after handing out replies: write what is ready. */
  readonly onActivity = (): void => {
    this.#afterEvent();
  };

  /** onPush forwards a RESP3 push frame from a data connection. */
  readonly onPush = (frame: ReplyFrame): void => {
    this.#replies.outOfBand(frame.raw);
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
        if (this.#replies.pending >= this.#o.maxPendingReplies) {
          this.#pauseClient(TOO_MANY_PENDING);
          break;
        }
        let req = this.#held;
        if (req !== undefined) this.#held = undefined;
        else {
          req = this.#parser.next();
          if (req === undefined) break;
        }
        this.#replies.silent = this.#conn.silentNow();
        if (!this.#handle(req)) {
          this.#held = req;
          this.#pauseClient(HELD);
          break;
        }
        this.#conn.handled();
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
    const conn = this.#conn;
    if (!conn.resp3 && !SUBSCRIBED_ALLOWED.has(name) && this.#subs.subscribed) {
      const msg = `ERR Can't execute '${displayName(name)}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
      this.#audit(req, name, NO_KEY_POSITIONS, false, false, msg);
      this.#replies.local(errorReply(msg));
      return true;
    }
    switch (name) {
      case 'auth':
        conn.auth(req);
        return true;
      case 'hello':
        conn.hello(req);
        return true;
      case 'quit':
        this.#audit(req, name, NO_KEY_POSITIONS, false, true);
        this.#replies.local(OK);
        this.#quitting = true;
        this.#closing = true;
        this.#pauseClient(CLOSING);
        return true;
      case 'reset':
        if (this.#replies.pending > 0) return false;
        conn.reset(req);
        return true;
      case 'ping':
      case 'echo':
        // Always allowed (clients probe connections with them); inside MULTI they are queued like any command.
        if (!this.#tx.inMulti) {
          this.#audit(req, name, NO_KEY_POSITIONS, false, true);
          this.#replies.local(pingEcho(req, conn.resp3, this.#subs.subscribed));
          return true;
        }
    }
    // One verdict for both relays: the command Redis will run, and every db it selects.
    const { cmd, keys, denied, deniedFor } = judgeCommand(conn.table, name, req.args, this.#session.checker);
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
    if (cmd.name === 'select') return conn.select(req, cmd, keys);
    if (cmd.name === 'client|reply') return conn.clientReply(req, cmd);
    if (this.#replies.silent && rule?.handling === 'pubsub') {
      this.#reject(req, cmd, keys, `${displayName(cmd.name)} is not supported while CLIENT REPLY is OFF or SKIP`);
      return true;
    }
    if (this.#tx.inMulti || rule?.handling === 'transaction') return this.#tx.handle(req, cmd, keys, rule);
    const ctx = this.#ctx;
    switch (rule?.handling) {
      case 'local':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#replies.local(virtualCluster(req, cmd, this.#virtualId, this.#router.topology?.assignedSlots ?? 0, conn.resp3));
        return true;
      case 'fan-out':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        fanOut(ctx, req, cmd, rule);
        return true;
      case 'split-by-slot':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        split(ctx, req, cmd, keys, rule.merge!);
        return true;
      case 'scan':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        scan(ctx, req);
        return true;
      case 'random-master':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        randomKey(ctx, req);
        return true;
      case 'every-connection':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        conn.everyConnection(req.raw, (reply, addr) => {
          this.#router.stateReplays.set(cmd.name, Buffer.from(req.raw));
          this.#router.broadcast(Buffer.from(req.raw), addr);
          return reply.raw;
        });
        return true;
      case 'slot-argument':
        this.#audit(req, cmd.name, keys, cmd.subcommand, true);
        this.#forward(req.raw, parseSlot(req.args[2]) ?? DEFAULT_NODE);
        return true;
      case 'pubsub':
        return this.#subs.handle(req, cmd, keys);
    }
    if (cmd.name === 'client|list' || cmd.name === 'client|info' || cmd.name === 'config|get') {
      // The default node answers, but nothing in the answer may name it (its laddr, its ports,
      // its files): the cluster is one virtual node.
      this.#audit(req, cmd.name, keys, cmd.subcommand, true);
      const entry = this.#replies.entry();
      const hide = cmd.name === 'config|get' ? hideNodeConfig : hideNodeAddress;
      this.#router.call(req.raw, DEFAULT_NODE, (reply) => this.#replies.complete(entry, reply.isError ? reply.raw : hide(reply.raw)));
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
  #forward(raw: Buffer, target: Target): void {
    this.#router.callInto(raw, target, this.#replies.entry());
  }

  /**
   * forwardTx sends a transaction command to the transaction's node without retries: a retried
   * EXEC after CLUSTERDOWN would meet a transaction Redis already discarded.
   */
  #forwardTx(raw: Buffer, address: string): void {
    this.#router.callInto(raw, address, this.#replies.entry(), false);
  }

  #crossSlot(req: Request, cmd: ResolvedCommand, keys: readonly number[]): void {
    this.#audit(req, cmd.name, keys, cmd.subcommand, false, CROSSSLOT_TEXT);
    this.#tx.failed();
    this.#replies.local(CROSSSLOT_ERROR);
  }

  #denied(problem: string): void {
    this.#o.counters.denied++;
    this.#tx.failed();
    this.#replies.local(errorReply(`ERR xport: ${problem}`));
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

  // ─── Writing ───────────────────────────────────────────────────────────────────────────────

  /** kick schedules an afterEvent for work that completed outside an I/O callback (timers, promises). */
  #kick(): void {
    if (this.#kickScheduled || this.#finished) return;
    this.#kickScheduled = true;
    queueMicrotask(this.#kicked);
  }

  readonly #kicked = (): void => {
    this.#kickScheduled = false;
    this.#afterEvent();
  };

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
    const out = this.#replies.take();
    if (out !== undefined) this.#writer.write(out);
    const pending = this.#replies.pending;
    if (this.#finishing) return;
    if (this.#quitting && pending === 0) {
      this.#finish(false);
      return;
    }
    if (this.#closing) return;
    if (this.#pause.has(TOO_MANY_PENDING) && pending <= this.#o.maxPendingReplies >> 1) this.#unpauseClient(TOO_MANY_PENDING);
    if (this.#held !== undefined && !this.#barrier && (this.#held.name !== 'reset' || pending === 0)) this.#unpauseClient(HELD);
    if (this.#clientEnded && pending === 0 && this.#held === undefined) this.#finish(false);
  }

  #pauseClient(reason: number): void {
    this.#pause.pause(reason);
  }

  #unpauseClient(reason: number): void {
    if (!this.#pause.unpause(reason, this.#finished)) return;
    this.#drainRequests();
    this.#kick();
  }

  /** closeWith answers a final error after the replies in flight, then ends the session. */
  #closeWith(reply: string | Buffer, logMessage: string, err?: unknown): void {
    this.#o.log.debug(logMessage, { session: this.#session.id, error: (err as Error | undefined)?.message });
    this.#replies.local(typeof reply === 'string' ? errorReply(reply) : reply);
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
    if (this.#replies.pending === 0 && this.#held === undefined) this.#finish(false);
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
    this.#subs.closeAll();
    const client = this.#client;
    client.off('data', this.#onClientData);
    endClient(client, hard);
    if (client.destroyed) this.#resolve?.();
  }
}
