/**
 * redis/relay: one client session after the upstream connection is ready — read requests,
 * check each against the session's roles, audit it, forward the allowed ones byte for byte, and
 * return every reply in request order (see reply-orderer.ts).
 *
 * What the relay handles itself:
 *  - AUTH and HELLO … AUTH: only as the session's db user (the certificate's route).
 *  - every request is judged by verdict.ts: the command Redis will run (names resolved as Redis
 *    resolves them, malformed names refused), and every db it selects (SELECT, MOVE, SWAPDB,
 *    MIGRATE, COPY … DB, last option wins) against the roles' db_names.
 *  - MULTI/EXEC: a command denied inside MULTI makes EXEC abort (sent upstream as DISCARD), as
 *    Redis does when a queued command fails.
 *  - pub/sub: SUBSCRIBE and friends are sent when no reply is in flight, so their confirmations
 *    start at a frame boundary; a subscribed RESP2 connection is read frame by frame so that
 *    messages are forwarded as they come and never taken for replies. Denials in that state are
 *    slotted in order like any other reply (more precise than writing them whenever nothing is
 *    in flight).
 *  - RESET: forwarded, then the session's AUTH and SELECT are replayed (replies swallowed) so a
 *    client cannot shed the routed db user or db number.
 *  - MONITOR: after its +OK every upstream byte passes straight through.
 *  - CLIENT REPLY OFF|ON|SKIP: kept by the relay, never sent to Redis (whose ACLs might refuse it,
 *    and a refusal of OFF would be indistinguishable from success). Redis answers every request as
 *    usual; the relay drops the replies the client asked not to get, its own denials included.
 *  - SYNC, PSYNC: refused, since they turn the connection into a replication stream.
 *  - the command table: when setup could not read it (the client authenticates itself), it is
 *    read once, right after the client's first successful AUTH, on this connection.
 *
 * Large requests: a request bigger than the session's buffer (`parser.streamAbove`) is judged on
 * its head — the name and the arguments that arrived whole before the bound — and then streamed:
 * an allowed one is forwarded as its bytes come in, a denied one is discarded as they come in and
 * its denial is answered when it has ended, in order. Commands whose checks need every argument
 * (db numbers, AUTH, pub/sub, transactions…) are refused when that large.
 *
 * Backpressure: a client that does not read pauses the upstream socket; an upstream that does
 * not read, too many replies pending, or the process-wide input budget spent pauses the client.
 * Must not import auth/ or cloud/.
 */
import type { Duplex } from 'node:stream';
import type { Session, SessionAuditEvent } from '../db/session.js';
import type { Logger } from '../util/log.js';
import { formatAuth, formatHello } from './audit-format.js';
import { authEvent, commitAudit, emitAudit, execAbortEvent, EXECABORT_TEXT, queryEvent } from './audit-event.js';
import { authProblem, checkHello } from './auth-guard.js';
import { BUDGET, CLOSE_GRACE_MS, CLOSING, ClientPause, ClientWriter, endClient, HELD, TOO_MANY_PENDING, UPSTREAM_FULL, writeBatch, type PauseCounters } from './backpressure.js';
import { ClientReplyMode } from './client-reply.js';
import type { CommandTable, ResolvedCommand } from './commands.js';
import { displayName } from './display.js';
import type { InputBudget } from './input-budget.js';
import { PubSubState, PUBSUB_COMMANDS } from './pubsub.js';
import { ReplyOrderer, type FrameHandler } from './reply-orderer.js';
import { judgeCommand } from './verdict.js';
import {
  coalesceSlices,
  command,
  error as errorReply,
  RequestParser,
  RespProtocolError,
  type ReplyFrame,
  type ReplyScanner,
  type Request,
  type RequestParserOptions,
} from './resp/index.js';

/** RelayCounters are engine-wide counters the relays increment. */
export interface RelayCounters extends PauseCounters {
  commands: number;
  denied: number;
}

/** RelayOptions is everything one relay needs. */
export interface RelayOptions {
  client: Duplex;
  upstream: Duplex;
  /** The scanner used during setup; it may already hold upstream bytes. */
  scanner: ReplyScanner;
  session: Session;
  table: CommandTable;
  redactValues: boolean;
  parser: RequestParserOptions;
  maxPendingReplies: number;
  /** Encoded commands replayed after RESET (the session's AUTH and SELECT), in order. */
  resetReplay: readonly Buffer[];
  counters: RelayCounters;
  log: Logger;
  /**
   * tableWanted tells whether the engine still needs this database's command table; when it
   * does, the relay reads it (`COMMAND`) right after the client's first successful AUTH and hands
   * the reply to onTable, which returns the table this session should use from then on.
   */
  tableWanted?: () => boolean;
  onTable?: (reply: ReplyFrame) => CommandTable | undefined;
  /** The process-wide budget for held client input; shared by every session of the engine. */
  budget?: InputBudget;
  /** The agent authenticates the db user itself: the client's AUTH is answered OK locally. */
  localAuth?: boolean;
}

/** How often a session paused by the process budget re-counts what it holds. */
const BUDGET_RECOUNT_MS = 50;

// What happens to the rest of a streamed request.
const STREAM_FORWARD = 1;
const STREAM_DISCARD = 2;

/**
 * Commands refused when streamed: their checks or their handling need arguments that may not
 * have arrived (db numbers, AUTH users, channel counts), or they change the session's state.
 */
const NEEDS_ALL_ARGS: ReadonlySet<string> = new Set([
  'auth', 'hello', 'reset', 'select', 'move', 'swapdb', 'copy', 'migrate', 'multi', 'exec', 'discard',
  'watch', 'monitor', 'client', 'sync', 'psync', 'replconf', 'quit',
  ...PUBSUB_COMMANDS,
]);
const EMPTY = Buffer.alloc(0);

const PLUS = 0x2b;
const PERCENT = 0x25;
const STAR = 0x2a;

const DISCARD = command(['DISCARD']);
const OK = Buffer.from('+OK\r\n');
const COMMAND = command(['COMMAND']);
const EXECABORT = errorReply(EXECABORT_TEXT);
const NO_KEYS: readonly number[] = Object.freeze([]);

/** isAuth tells whether an encoded command is an AUTH (the engine's setup AUTH is always `*2`/`*3` then `$4 AUTH`). */
function isAuth(cmd: Buffer): boolean {
  return cmd.length > 12 && cmd.toString('latin1', 4, 12).toUpperCase() === '$4\r\nAUTH';
}

/**
 * SessionRelay serves one session; {@link SessionRelay.run} resolves when both sides are closed.
 */
export class SessionRelay {
  readonly #o: RelayOptions;
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  readonly #session: Session;
  readonly #parser: RequestParser;
  readonly #orderer: ReplyOrderer;
  readonly #pubsub = new PubSubState();
  readonly #isMessage = (f: Parameters<PubSubState['isMessage']>[0]) => this.#pubsub.isMessage(f);

  #upOut: Buffer[] = [];
  #resp3 = false;
  #inMulti = false;
  #dirty = false;
  #held: Request | undefined;
  #table: CommandTable;
  /** CLIENT REPLY state, as Redis keeps it for this connection. */
  readonly #replyMode = new ClientReplyMode();
  /** True while handling a request whose reply Redis will not send (OFF, or SKIP's target). */
  #silent = false;
  readonly #pause: ClientPause;
  readonly #writer: ClientWriter;
  #waitingUpstreamDrain = false;
  #clientEnded = false;
  #quitSent = false;
  #closing = false;
  #fatal = false;
  #finished = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  /** What to do with the rest of the request being streamed (0: none is). */
  #streamMode = 0;
  /** The denial of a discarded streamed request, answered once it has ended. */
  #streamDenial: Buffer | undefined;
  /** While a streamed head is judged, local replies wait for its end. */
  #deferLocal = false;
  #lastSent: Buffer | undefined;
  /** Bytes this session counts in the process budget. */
  #accounted = 0;
  #budgetTimer: NodeJS.Timeout | undefined;
  #forcing = false;
  #forcedAt = -1;
  /** The session's setup replayed after RESET; its AUTH is replaced when the agent re-authenticates. */
  #resetReplay: Buffer[];

  constructor(opts: RelayOptions) {
    this.#o = opts;
    this.#resetReplay = [...opts.resetReplay];
    this.#client = opts.client;
    this.#upstream = opts.upstream;
    this.#session = opts.session;
    this.#parser = new RequestParser(opts.parser);
    this.#table = opts.table;
    this.#orderer = new ReplyOrderer({ scanner: opts.scanner });
    this.#pause = new ClientPause(opts.client, opts.counters);
    this.#writer = new ClientWriter(
      opts.client,
      opts.counters,
      () => this.#upstream.pause(),
      () => {
        if (!this.#finished) this.#upstream.resume();
      },
    );
  }

  /** resp3 tells whether the client negotiated RESP3 (HELLO 3). */
  get resp3(): boolean {
    return this.#resp3;
  }

  /** upstreamPaused tells whether reading from Redis is paused because the client is not reading. */
  get upstreamPaused(): boolean {
    return this.#writer.upstreamPaused;
  }

  /** run serves the session until either side closes or signal aborts. */
  run(signal: AbortSignal): Promise<void> {
    const done = new Promise<void>((r) => (this.#resolve = r));
    this.#signal = signal;
    const client = this.#client;
    const upstream = this.#upstream;
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('error', this.#onClientError);
    client.on('close', this.#onClientClose);
    upstream.on('data', this.#onUpstreamData);
    upstream.on('error', this.#onUpstreamError);
    upstream.on('close', this.#onUpstreamClose);
    signal.addEventListener('abort', this.#onAbort, { once: true });
    if (signal.aborted || client.destroyed || upstream.destroyed) {
      this.#finish(true);
      return done;
    }
    upstream.resume();
    client.resume();
    return done;
  }

  // ─── Request path ──────────────────────────────────────────────────────────────────────────

  readonly #onClientData = (chunk: Buffer): void => {
    if (this.#closing) return;
    this.#parser.push(chunk);
    // Over the process budget no session holds a partial request: it is judged and streamed now.
    if (this.#o.budget?.exceeded) this.#parser.streamSoon();
    this.#drainRequests();
  };

  /** account updates this session's share of the process budget and stops reading while it is spent. */
  #account(): void {
    const budget = this.#o.budget;
    if (budget === undefined) return;
    const now = this.#finished ? 0 : this.#parser.bufferedBytes + this.#upstream.writableLength;
    budget.adjust(now - this.#accounted);
    this.#accounted = now;
    if (budget.exceeded && !this.#finished && !this.#closing) {
      // Over the budget no session keeps a partial request: judge it now and stream the rest,
      // or sessions that hold one would wait for each other forever.
      const parser = this.#parser;
      // Once per change in what it holds: a partial request that cannot stream yet (its count line
      // still coming) must not spin here.
      if (now > 0 && now !== this.#forcedAt && parser.inProgress && !parser.streamingRequest && !this.#forcing) {
        this.#forcing = true;
        this.#forcedAt = now;
        parser.streamSoon();
        queueMicrotask(() => {
          this.#forcing = false;
          if (!this.#finished && !this.#closing) this.#drainRequests();
        });
      }
      if (!this.#pause.has(BUDGET)) {
        this.#pauseClient(BUDGET);
        budget.waitBelow(this.#onBudget);
      }
      // Shares are updated on events; a paused session has few, so it re-counts its own (bytes
      // flushed to Redis since) lest stale shares keep every session waiting for each other.
      if (this.#budgetTimer === undefined) {
        this.#budgetTimer = setTimeout(this.#recount, BUDGET_RECOUNT_MS);
        this.#budgetTimer.unref?.();
      }
    }
  }

  readonly #recount = (): void => {
    this.#budgetTimer = undefined;
    if (this.#finished) return;
    this.#account();
    if (!this.#o.budget!.exceeded) this.#onBudget();
  };

  readonly #onBudget = (): void => {
    this.#o.budget?.cancel(this.#onBudget);
    this.#unpauseClient(BUDGET);
  };

  /**
   * pumpStream passes on what has arrived of the request being streamed (forwarded or dropped);
   * true once it has ended, when a denied one gets its answer.
   */
  #pumpStream(): boolean {
    const pieces: Buffer[] = [];
    const done = this.#parser.takeStream(pieces);
    if (this.#streamMode === STREAM_FORWARD) for (const p of pieces) this.#send(p);
    if (done) {
      this.#streamMode = 0;
      const denial = this.#streamDenial;
      this.#streamDenial = undefined;
      if (denial !== undefined) this.#orderer.local(denial);
    }
    return done;
  }

  /** drainRequests handles every complete request it may handle now, then writes both ways. */
  #drainRequests(): void {
    const parser = this.#parser;
    try {
      while (!this.#closing) {
        if (this.#held === undefined && parser.streamingRequest) {
          if (!this.#pumpStream()) break;
          continue;
        }
        if (this.#orderer.pendingReplies >= this.#o.maxPendingReplies) {
          this.#pauseClient(TOO_MANY_PENDING);
          break;
        }
        let req = this.#held;
        if (req !== undefined) this.#held = undefined;
        else {
          req = parser.next();
          if (req === undefined) break;
        }
        this.#silent = this.#replyMode.silentNow();
        if (req.stream !== undefined) {
          // Counted by handleStreamed; its bytes follow in pumpStream.
          this.#handleStreamed(req);
        } else if (!this.#handle(req)) {
          this.#held = req;
          this.#pauseClient(HELD);
          break;
        } else this.#o.counters.commands++;
        // Redis's SKIP applies to exactly one command: the one after CLIENT REPLY SKIP.
        this.#replyMode.handled();
      }
    } catch (err) {
      if (err instanceof RespProtocolError) this.#protocolError(err);
      else this.#internalError(err);
    }
    this.#flushUpstream();
    this.#afterOutput();
    this.#account();
  }

  /**
   * handleStreamed judges the head of a request too large to hold. It goes through the same
   * checks as any request ({@link #handle}) once it is certain they see every argument they
   * read; the rest of its bytes then follow it to Redis, or are dropped and it is denied.
   */
  #handleStreamed(req: Request): void {
    this.#o.counters.commands++;
    const problem = this.#streamProblem(req);
    this.#deferLocal = true;
    this.#lastSent = undefined;
    try {
      if (problem !== undefined) {
        const cmd = this.#o.table.resolve(req.name, req.args);
        this.#reject(req, cmd, NO_KEYS, problem);
      } else if (!this.#handle(req)) {
        // Only the commands refused above wait for an idle connection.
        throw new Error(`streamed ${req.name} asked to wait`);
      }
    } finally {
      this.#deferLocal = false;
    }
    this.#streamMode = this.#lastSent === req.raw ? STREAM_FORWARD : STREAM_DISCARD;
  }

  /** streamProblem says why a streamed request cannot be judged from its head, if it cannot. */
  #streamProblem(req: Request): string | undefined {
    const limit = this.#o.parser.streamAbove;
    if (req.args.length === 0) return `a command name of more than ${limit} bytes is refused`;
    const name = req.name;
    if (name === 'ping' || name === 'echo') return undefined;
    // A container's verdict depends on its subcommand, which must have arrived whole.
    if (req.args.length < 2 && this.#o.table.resolve(name, [req.args[0]!, EMPTY]).subcommand) {
      return `a ${displayName(name)} subcommand of more than ${limit} bytes is refused`;
    }
    // Judged by the name as the table resolves it too, so a spelling Redis folds to one of these
    // cannot slip through with arguments its checks never saw.
    const base = this.#o.table.resolve(name, req.args).name.split('|')[0]!;
    if (NEEDS_ALL_ARGS.has(name) || NEEDS_ALL_ARGS.has(base)) {
      return `${displayName(base)} requests of more than ${limit} bytes are not supported; send smaller arguments`;
    }
    return undefined;
  }

  /**
   * handle checks, audits and forwards (or answers) one request. It returns false, having done
   * nothing, when the request must wait until no reply is in flight.
   */
  #handle(req: Request): boolean {
    const name = req.name;
    switch (name) {
      case 'auth':
        this.#handleAuth(req);
        return true;
      case 'hello':
        this.#handleHello(req);
        return true;
      case 'ping':
      case 'echo':
      case 'quit':
        // Always allowed: clients need them to set up and probe a connection.
        this.#auditCommand(req, name, NO_KEYS, false, true);
        this.#send(req.raw);
        this.#expect(1);
        if (name === 'quit') this.#quitSent = true;
        return true;
      case 'reset':
        return this.#handleReset(req);
    }
    const { cmd, keys, denied } = judgeCommand(this.#table, name, req.args, this.#session.checker);
    if (denied !== undefined) {
      this.#reject(req, cmd, keys, denied);
      return true;
    }
    switch (cmd.name) {
      case 'multi':
        this.#inMulti = true;
        break;
      case 'discard':
        this.#inMulti = this.#dirty = false;
        break;
      case 'exec':
        if (this.#inMulti && this.#dirty) return this.#abortExec(req, cmd);
        this.#inMulti = this.#dirty = false;
        break;
      case 'monitor':
        if (this.#inMulti) {
          this.#reject(req, cmd, keys, 'monitor is not supported inside MULTI');
          return true;
        }
        if (this.#silent) {
          this.#reject(req, cmd, keys, 'monitor is not supported while CLIENT REPLY is OFF or SKIP');
          return true;
        }
        this.#auditCommand(req, cmd.name, keys, cmd.subcommand, true);
        this.#send(req.raw);
        this.#orderer.forward(1, (t) => {
          if (t === PLUS) this.#orderer.startPassthrough();
        });
        return true;
      case 'client|reply':
        return this.#clientReply(req, cmd);
      case 'sync':
      case 'psync':
        this.#reject(req, cmd, keys, `command not supported: ${cmd.name}`);
        return true;
      default:
        if (PUBSUB_COMMANDS.has(cmd.name)) return this.#subscribe(req, cmd, keys);
    }
    this.#auditCommand(req, cmd.name, keys, cmd.subcommand, true);
    this.#send(req.raw);
    this.#expect(1);
    return true;
  }

  /**
   * clientReply keeps CLIENT REPLY's mode as Redis would: ON answers +OK and ends OFF and SKIP,
   * OFF and SKIP answer nothing, SKIP silences the next command only; other forms get Redis's
   * own errors. Options compare as Redis's strcasecmp does. Where Redis would refuse the command
   * itself (a subscribed RESP2 connection), it goes to Redis for Redis's error.
   */
  #clientReply(req: Request, cmd: ResolvedCommand): boolean {
    if (this.#inMulti) {
      this.#reject(req, cmd, NO_KEYS, 'client reply is not supported inside MULTI');
      return true;
    }
    this.#auditCommand(req, cmd.name, NO_KEYS, true, true);
    if (!this.#resp3 && this.#pubsub.subscribed) {
      this.#send(req.raw);
      this.#expect(1);
      return true;
    }
    const reply = this.#replyMode.apply(req.args);
    // ON answers its own +OK: this request is no longer silent.
    this.#silent = this.#replyMode.silentNow();
    if (reply !== undefined) this.#localReply(reply);
    return true;
  }

  /**
   * expect declares n upstream replies for the current request; while the client asked for no
   * replies, they are read (HELLO's type still noted) and dropped instead of forwarded.
   */
  #expect(n: number, onType?: (t: number) => void): void {
    if (!this.#silent) {
      this.#orderer.forward(n, onType);
      return;
    }
    for (let i = 0; i < n; i++) this.#orderer.frames(this.#dropReply(onType));
  }

  /** dropReply reads one reply and drops it; pushes and pub/sub messages still go to the client. */
  #dropReply(onType?: (t: number) => void): FrameHandler {
    return (frame, emit) => {
      if (frame.push || (!this.#resp3 && this.#pubsub.subscribed && this.#pubsub.isMessage(frame))) {
        emit(frame.raw);
        return false;
      }
      onType?.(frame.type.charCodeAt(0));
      return true;
    };
  }

  /** localReply slots in a reply the relay makes itself, unless the client asked for none. */
  #localReply(bytes: Buffer): void {
    if (!this.#silent) this.#orderer.local(bytes);
  }

  #handleAuth(req: Request): void {
    this.#finishAuth(req, 'auth', formatAuth(req.args), authProblem(this.#session, req.args), true);
  }

  #handleHello(req: Request): void {
    const args = req.args;
    const text = formatHello(args, this.#o.redactValues);
    const { problem, authAt } = checkHello(this.#session, args, this.#inMulti);
    const authenticates = authAt >= 0;
    this.#finishAuth(req, 'hello', text, problem, authenticates, (t) => {
      // The reply's type says which protocol is now in force: a map in RESP3, an array in RESP2.
      if (t === PERCENT) this.#resp3 = true;
      else if (t === STAR) this.#resp3 = false;
      else return;
      this.#updateOutOfBand();
    });
  }

  #finishAuth(req: Request, name: 'auth' | 'hello', text: string, problem: string | undefined, authenticates: boolean, onType?: (t: number) => void): void {
    const ev = authEvent(name, text, problem);
    if (problem !== undefined) {
      this.#emitAudit(ev);
      this.#o.counters.denied++;
      if (this.#inMulti) this.#dirty = true;
      this.#localReply(errorReply(`ERR xport: ${problem}`));
      return;
    }
    this.#emitAudit(ev);
    if (name === 'auth' && this.#o.localAuth) {
      // The agent's own AUTH (IAM token, managed password) is in force; the client's password would only fail.
      this.#localReply(OK);
      return;
    }
    this.#send(req.raw);
    this.#expect(1, onType);
    if (authenticates) this.#readTable();
  }

  /**
   * readTable reads the server's command table on this connection, now authenticated as the
   * client's db user, when the engine still lacks it (the setup could not: no injected
   * credentials). The reply is swallowed; if the AUTH failed it is a NOAUTH error the engine
   * ignores, and a later AUTH tries again.
   */
  #readTable(): void {
    if (this.#inMulti || this.#pubsub.subscribed || this.#o.tableWanted?.() !== true) return;
    this.#send(COMMAND);
    this.#orderer.frames((frame, emit) => {
      if (frame.push) {
        emit(frame.raw);
        return false;
      }
      const table = this.#o.onTable?.(frame);
      if (table !== undefined) this.#table = table;
      return true;
    });
  }

  #handleReset(req: Request): boolean {
    if (!this.#orderer.idle) return false;
    // RESET turns CLIENT REPLY back ON before it answers.
    this.#replyMode.reset();
    this.#silent = false;
    this.#auditCommand(req, 'reset', NO_KEYS, false, true);
    this.#send(req.raw);
    this.#orderer.frames((frame, emit) => {
      emit(frame.raw);
      if (frame.push) return false;
      // RESET leaves RESP3, every subscription, MULTI and the db; the replay below restores the session's.
      this.#resp3 = false;
      this.#pubsub.reset();
      this.#updateOutOfBand();
      return true;
    });
    for (const cmd of this.#resetReplay) {
      this.#send(cmd);
      this.#orderer.frames((frame, emit) => {
        if (frame.isError) {
          this.#o.log.warn('replaying the session setup after RESET failed; closing the session', { session: this.#session.id });
          emit(errorReply('ERR xport: failed to restore the session after RESET; the connection will be closed'));
          this.#fatal = true;
        }
        return true;
      });
    }
    this.#inMulti = this.#dirty = false;
    return true;
  }

  /**
   * reauthenticate sends the agent's fresh AUTH (credentials about to expire) in the request
   * stream and swallows its reply, so the client never sees it. It returns false, sending
   * nothing, when AUTH cannot go now: inside MULTI (it would be queued), on a RESP2 connection
   * that is subscribed (Redis refuses it there; a refusal is reported and retried later), in
   * MONITOR, or while closing. The replacement also becomes the AUTH replayed after RESET.
   * See reauth.ts.
   */
  reauthenticate(auth: Buffer, done: (ok: boolean, error?: string) => void): boolean {
    if (this.#finished || this.#closing || this.#fatal || this.#inMulti || this.#orderer.passthrough) return false;
    if (!this.#resp3 && this.#pubsub.subscribed) return false;
    if (this.#resetReplay.length > 0 && isAuth(this.#resetReplay[0]!)) this.#resetReplay[0] = auth;
    this.#send(auth);
    this.#orderer.frames((frame, emit) => {
      if (frame.push) {
        emit(frame.raw);
        return false;
      }
      done(!frame.isError, frame.isError ? frame.raw.toString('utf8', 1, Math.min(frame.raw.length, 200)).trim() : undefined);
      return true;
    });
    this.#flushUpstream();
    this.#afterOutput();
    return true;
  }

  #abortExec(req: Request, cmd: ResolvedCommand): boolean {
    if (!this.#orderer.idle) return false;
    this.#inMulti = this.#dirty = false;
    this.#emitAudit(execAbortEvent(req.args, cmd.name, this.#o.redactValues));
    // Redis never saw the denied command, so it would run the rest: discard the transaction instead.
    this.#send(DISCARD);
    if (this.#silent) {
      this.#orderer.frames(this.#dropReply());
      return true;
    }
    this.#orderer.frames((frame, emit) => {
      if (frame.push) {
        emit(frame.raw);
        return false;
      }
      emit(EXECABORT);
      return true;
    });
    return true;
  }

  #subscribe(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    if (this.#inMulti) {
      this.#reject(req, cmd, keys, `${cmd.name} is not supported inside MULTI`);
      return true;
    }
    if (this.#silent) {
      this.#reject(req, cmd, keys, `${cmd.name} is not supported while CLIENT REPLY is OFF or SKIP`);
      return true;
    }
    if (!this.#orderer.idle) return false;
    this.#auditCommand(req, cmd.name, keys, false, true);
    this.#send(req.raw);
    this.#orderer.frames(this.#pubsub.handler(cmd.name, req.args.length - 1, () => this.#updateOutOfBand()));
    return true;
  }

  #updateOutOfBand(): void {
    this.#orderer.setOutOfBand(!this.#resp3 && this.#pubsub.subscribed ? this.#isMessage : undefined);
  }

  /** reject answers a request locally with `-ERR xport: <message>` in its place, and audits the failure. */
  #reject(req: Request, cmd: ResolvedCommand, keys: readonly number[], message: string): void {
    this.#o.counters.denied++;
    if (this.#inMulti) this.#dirty = true;
    this.#auditCommand(req, cmd.name, keys, cmd.subcommand, false, message);
    const reply = errorReply(`ERR xport: ${message}`);
    // A streamed request is answered after its last byte, as Redis would answer it (unless the
    // client turned its replies off, as for any other local reply).
    if (this.#deferLocal) {
      if (!this.#silent) this.#streamDenial = reply;
    } else this.#localReply(reply);
  }

  #auditCommand(req: Request, name: string, keys: readonly number[], subcommand: boolean, success: boolean, error?: string): void {
    let args = req.args;
    if (req.stream !== undefined) {
      // The audit shows what was judged and says that the rest was streamed unread.
      const rest = req.stream.argc - args.length;
      args = [...args, Buffer.from(`<${rest} more argument${rest === 1 ? '' : 's'} streamed>`)];
    }
    this.#emitAudit(queryEvent(args, name, keys, subcommand, this.#o.redactValues, success, error));
  }

  #emitAudit(ev: SessionAuditEvent): void {
    emitAudit(this.#session, this.#o.log, ev);
  }

  #send(raw: Buffer): void {
    this.#lastSent = raw;
    this.#upOut.push(raw);
  }

  #flushUpstream(): void {
    const out = this.#upOut;
    if (out.length === 0 || this.#finished) return;
    this.#upOut = [];
    // One log write for the commands of this read, right before their bytes go out. Deliberately
    // not grouped across sessions: one write per turn then a socket write per session widened
    // the window in which a SIGKILL leaves logged commands unsent from one socket write to all of
    // them, and the SIGKILL test (audited SETs = Redis's cmdstat_set) failed 3 of 3.
    const refused = commitAudit(this.#session);
    if (refused !== undefined) return this.#onAuditRefused(refused);
    // Pipelined requests are views of the same chunk: merged, they go out as one slice.
    const ok = writeBatch(this.#upstream, out.length === 1 ? out : coalesceSlices(out));
    if (!ok && !this.#waitingUpstreamDrain) {
      this.#waitingUpstreamDrain = true;
      this.#pauseClient(UPSTREAM_FULL);
      this.#upstream.once('drain', this.#onUpstreamDrain);
    }
  }

  readonly #onUpstreamDrain = (): void => {
    this.#waitingUpstreamDrain = false;
    this.#unpauseClient(UPSTREAM_FULL);
    this.#account();
  };

  #protocolError(err: RespProtocolError): void {
    this.#o.log.debug('client sent invalid RESP; closing the session', { session: this.#session.id, error: err.message });
    if (this.#streamMode === STREAM_FORWARD && !err.ownLimit) {
      // Redis has the start of this request and waits for the rest: give it the bytes it frames
      // the same way, and it answers the same protocol error in the request's place.
      for (const b of this.#parser.unread()) this.#send(b);
    } else {
      // Redis's own answer for the same bytes, so clients that handle Redis's errors handle ours.
      this.#orderer.local(err.reply);
    }
    this.#streamMode = 0;
    this.#streamDenial = undefined;
    this.#orderer.close();
    this.#closing = true;
    this.#pauseClient(CLOSING);
    // Replies still in flight get a grace period; a blocked command must not hold the socket open.
    this.#graceTimer = setTimeout(() => this.#finish(false), CLOSE_GRACE_MS);
    this.#graceTimer.unref?.();
  }

  /** internalError ends the session after the replies in flight: a bug must not take the agent down. */
  #internalError(err: unknown): void {
    this.#o.log.error('internal error while handling a request; closing the session', { session: this.#session.id, error: (err as Error)?.message });
    this.#orderer.local(errorReply('ERR xport: internal error'));
    this.#orderer.close();
    this.#closing = true;
    this.#pauseClient(CLOSING);
    this.#graceTimer = setTimeout(() => this.#finish(false), CLOSE_GRACE_MS);
    this.#graceTimer.unref?.();
  }

  #pauseClient(reason: number): void {
    this.#pause.pause(reason);
  }

  #unpauseClient(reason: number): void {
    // Requests may be waiting in the parser already.
    if (this.#pause.unpause(reason, this.#finished)) this.#drainRequests();
  }

  // ─── Reply path ────────────────────────────────────────────────────────────────────────────

  readonly #onUpstreamData = (chunk: Buffer): void => {
    if (this.#finished) return;
    try {
      this.#orderer.push(chunk);
    } catch (err) {
      this.#o.log.warn('the database sent invalid RESP; closing the session', { session: this.#session.id, error: (err as Error).message });
      this.#flushClient();
      this.#writeClient([errorReply(`ERR xport: invalid reply from the database: ${(err as Error).message}`)]);
      this.#finish(false);
      return;
    }
    this.#afterOutput();
  };

  /** afterOutput writes what the orderer produced and acts on what it changed. */
  #afterOutput(): void {
    this.#flushClient();
    if (this.#finished) return;
    const orderer = this.#orderer;
    if (orderer.closeReached || this.#fatal) {
      this.#finish(false);
      return;
    }
    if (this.#closing) return;
    if (this.#pause.has(TOO_MANY_PENDING) && orderer.pendingReplies <= this.#o.maxPendingReplies >> 1) this.#unpauseClient(TOO_MANY_PENDING);
    if (this.#held !== undefined && orderer.idle) this.#unpauseClient(HELD);
    if (this.#clientEnded && orderer.pendingReplies === 0 && this.#held === undefined) this.#finish(false);
  }

  #flushClient(): void {
    const bufs = this.#orderer.take();
    if (bufs !== undefined) this.#writeClient(bufs);
  }

  #writeClient(bufs: readonly Buffer[]): void {
    this.#writer.write(bufs);
  }

  // ─── Lifecycle ─────────────────────────────────────────────────────────────────────────────

  readonly #onClientEnd = (): void => {
    this.#clientEnded = true;
    if (this.#orderer.pendingReplies === 0 && this.#held === undefined) this.#finish(false);
  };

  readonly #onClientError = (err: Error): void => {
    this.#o.log.debug('client connection error', { session: this.#session.id, error: err.message });
    this.#finish(true);
  };

  readonly #onClientClose = (): void => {
    this.#finish(true);
    this.#resolve?.();
  };

  readonly #onUpstreamError = (err: Error): void => {
    this.#o.log.debug('database connection error', { session: this.#session.id, error: err.message });
  };

  readonly #onUpstreamClose = (): void => {
    if (this.#finished) return;
    if (this.#orderer.pendingReplies > 0 && !this.#quitSent) {
      this.#flushClient();
      this.#writeClient([errorReply('ERR xport: the connection to the database was lost')]);
    }
    this.#finish(false);
  };

  readonly #onAbort = (): void => {
    this.#finish(true);
  };

  /** onAuditRefused ends the session when the log could not hold its commands' events: nothing of them reaches Redis. */
  #onAuditRefused(reply: Buffer): void {
    this.#client.write(reply);
    this.#finish(false);
  }

  /** finish closes both sides once; hard skips the graceful end of the client. */
  #finish(hard: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#o.budget?.cancel(this.#onBudget);
    if (this.#budgetTimer !== undefined) clearTimeout(this.#budgetTimer);
    this.#account();
    this.#upstream.off('data', this.#onUpstreamData);
    this.#upstream.destroy();
    const client = this.#client;
    client.off('data', this.#onClientData);
    endClient(client, hard);
    if (client.destroyed) this.#resolve?.();
  }
}
