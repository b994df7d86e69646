/**
 * redis/relay: one client session after the upstream connection is ready — read requests,
 * check each against the session's roles, audit it, forward the allowed ones byte for byte, and
 * return every reply in request order (see reply-orderer.ts).
 *
 * What the relay handles itself:
 *  - AUTH and HELLO … AUTH: only as the session's db user (the certificate's route).
 *  - SELECT, MOVE, SWAPDB, COPY … DB: the DB numbers must pass the roles' db_names.
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
 *  - CLIENT REPLY, SYNC, PSYNC: refused, since they break the one-reply-per-request accounting.
 *
 * Backpressure: a client that does not read pauses the upstream socket; an upstream that does
 * not read, or too many replies pending, pauses the client. Must not import auth/ or cloud/.
 */
import type { Duplex } from 'node:stream';
import type { Session, SessionAuditEvent } from '../db/session.js';
import type { Logger } from '../util/log.js';
import { formatAuth, formatHello, formatQuery } from './audit-format.js';
import { emitAudit, queryEvent } from './audit-event.js';
import { keyPositions, type CommandTable, type ResolvedCommand } from './commands.js';
import { PubSubState, PUBSUB_COMMANDS } from './pubsub.js';
import { ReplyOrderer } from './reply-orderer.js';
import {
  coalesceSlices,
  command,
  error as errorReply,
  RequestParser,
  RespProtocolError,
  type ReplyScanner,
  type Request,
  type RequestParserOptions,
} from './resp/index.js';

/** RelayCounters are engine-wide counters the relay increments. */
export interface RelayCounters {
  commands: number;
  denied: number;
  /** Times the upstream socket was paused because the client was not reading. */
  upstreamPauses: number;
  /** Times the client socket was paused (upstream full, too many pending replies, a held request). */
  clientPauses: number;
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
  /** The agent authenticates the db user itself: the client's AUTH is answered OK locally. */
  localAuth?: boolean;
}

// Reasons the client is paused (bits).
const UPSTREAM_FULL = 1;
const TOO_MANY_PENDING = 2;
const HELD = 4;
const CLOSING = 8;

const PLUS = 0x2b;
const PERCENT = 0x25;
const STAR = 0x2a;
/** Above this a batch is written with cork/uncork rather than copied into one buffer. */
const CONCAT_LIMIT = 64 * 1024;
/** How long a closing session waits for replies still in flight. */
const CLOSE_GRACE_MS = 5_000;

const DISCARD = command(['DISCARD']);
const OK = Buffer.from('+OK\r\n');
const EXECABORT = errorReply('EXECABORT Transaction discarded because of previous errors.');
const NO_KEYS: readonly number[] = Object.freeze([]);

/** writeBatch writes buffers as one write (one buffer or a copy) or one corked writev; returns write()'s verdict. */
function writeBatch(stream: Duplex, bufs: readonly Buffer[]): boolean {
  if (bufs.length === 1) return stream.write(bufs[0]!);
  let total = 0;
  for (const b of bufs) total += b.length;
  if (total <= CONCAT_LIMIT) return stream.write(Buffer.concat(bufs as Buffer[], total));
  stream.cork();
  let ok = true;
  for (const b of bufs) ok = stream.write(b);
  stream.uncork();
  return ok;
}

/** displayName renders a client-supplied command name for an error line: name characters only, at most 64. */
function displayName(name: string): string {
  const clean = name.replace(/[^a-z0-9._|:-]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

/** displayArg renders a client-supplied argument (a db number, a user name) for an error line. */
function displayArg(arg: Buffer): string {
  const s = arg.toString('utf8', 0, Math.min(arg.length, 64)).replace(/[\x00-\x1f\x7f]/g, '?');
  return arg.length > 64 ? `${s}...` : s;
}

/** isAuth tells whether an encoded command is an AUTH (the engine's setup AUTH is always `*2`/`*3` then `$4 AUTH`). */
function isAuth(cmd: Buffer): boolean {
  return cmd.length > 12 && cmd.toString('latin1', 4, 12).toUpperCase() === '$4\r\nAUTH';
}

function lowerAscii(arg: Buffer | undefined): string {
  return arg === undefined || arg.length > 16 ? '' : arg.toString('latin1').toLowerCase();
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
  #clientPause = 0;
  #upstreamPaused = false;
  #waitingUpstreamDrain = false;
  #clientEnded = false;
  #quitSent = false;
  #closing = false;
  #fatal = false;
  #finished = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  /** The session's setup replayed after RESET; its AUTH is replaced when the agent re-authenticates. */
  #resetReplay: Buffer[];

  constructor(opts: RelayOptions) {
    this.#o = opts;
    this.#resetReplay = [...opts.resetReplay];
    this.#client = opts.client;
    this.#upstream = opts.upstream;
    this.#session = opts.session;
    this.#parser = new RequestParser(opts.parser);
    this.#orderer = new ReplyOrderer({ scanner: opts.scanner });
  }

  /** resp3 tells whether the client negotiated RESP3 (HELLO 3). */
  get resp3(): boolean {
    return this.#resp3;
  }

  /** upstreamPaused tells whether reading from Redis is paused because the client is not reading. */
  get upstreamPaused(): boolean {
    return this.#upstreamPaused;
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
    this.#drainRequests();
  };

  /** drainRequests handles every complete request it may handle now, then writes both ways. */
  #drainRequests(): void {
    const parser = this.#parser;
    try {
      while (!this.#closing) {
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
        if (!this.#handle(req)) {
          this.#held = req;
          this.#pauseClient(HELD);
          break;
        }
        this.#o.counters.commands++;
      }
    } catch (err) {
      if (err instanceof RespProtocolError) this.#protocolError(err);
      else this.#internalError(err);
    }
    this.#flushUpstream();
    this.#afterOutput();
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
        this.#orderer.forward(1);
        if (name === 'quit') this.#quitSent = true;
        return true;
      case 'reset':
        return this.#handleReset(req);
    }
    const cmd = this.#o.table.resolve(name, req.args);
    const keys = keyPositions(cmd.info, req.args);
    if (!this.#session.checker.commandAllowed(cmd.name, cmd.categories)) {
      this.#reject(req, cmd, keys, `access denied to ${displayName(cmd.name)}`);
      return true;
    }
    switch (cmd.name) {
      case 'select':
      case 'move':
      case 'swapdb':
      case 'copy': {
        const db = this.#deniedDb(req);
        if (db !== undefined) {
          this.#reject(req, cmd, keys, `access denied to db ${displayArg(db)}`);
          return true;
        }
        break;
      }
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
        this.#auditCommand(req, cmd.name, keys, cmd.subcommand, true);
        this.#send(req.raw);
        this.#orderer.forward(1, (t) => {
          if (t === PLUS) this.#orderer.startPassthrough();
        });
        return true;
      case 'client|reply':
      case 'sync':
      case 'psync':
        this.#reject(req, cmd, keys, `command not supported: ${cmd.name}`);
        return true;
      default:
        if (PUBSUB_COMMANDS.has(cmd.name)) return this.#subscribe(req, cmd, keys);
    }
    this.#auditCommand(req, cmd.name, keys, cmd.subcommand, true);
    this.#send(req.raw);
    this.#orderer.forward(1);
    return true;
  }

  /** deniedDb returns the first DB number in a SELECT/MOVE/SWAPDB/COPY … DB that the roles do not allow. */
  #deniedDb(req: Request): Buffer | undefined {
    const args = req.args;
    const check = (i: number): Buffer | undefined => {
      const a = args[i];
      if (a === undefined) return undefined;
      try {
        this.#session.checker.checkDbName(a.toString('utf8'));
        return undefined;
      } catch {
        return a;
      }
    };
    switch (req.name) {
      case 'select':
        return check(1);
      case 'move':
        return check(2);
      case 'swapdb':
        return check(1) ?? check(2);
      default: // copy: COPY src dst [DB n] [REPLACE]
        for (let i = 3; i + 1 < args.length; i++) if (lowerAscii(args[i]) === 'db') return check(i + 1);
        return undefined;
    }
  }

  #handleAuth(req: Request): void {
    const args = req.args;
    const text = formatAuth(args);
    let problem: string | undefined;
    if (args.length < 2) problem = "wrong number of arguments for 'auth' command";
    else if (args.length > 3) problem = 'syntax error';
    else if (args.length === 2) {
      if (this.#session.dbUser !== 'default') {
        problem = 'failed to authenticate as the default user. Please provide the db username when connecting to Redis';
      }
    } else problem = this.#checkAuthUser(args[1]!);
    this.#finishAuth(req, 'auth', text, problem);
  }

  #handleHello(req: Request): void {
    const args = req.args;
    const text = formatHello(args, this.#o.redactValues);
    let problem: string | undefined;
    if (this.#inMulti) problem = 'hello is not supported inside MULTI';
    for (let i = 2; problem === undefined && i < args.length; ) {
      const opt = lowerAscii(args[i]);
      if (opt === 'auth') {
        if (i + 2 >= args.length) problem = 'syntax error';
        else problem = this.#checkAuthUser(args[i + 1]!);
        i += 3;
      } else if (opt === 'setname') {
        i += 2;
      } else {
        i++; // Redis answers unknown options with its own syntax error
      }
    }
    this.#finishAuth(req, 'hello', text, problem, (t) => {
      // The reply's type says which protocol is now in force: a map in RESP3, an array in RESP2.
      if (t === PERCENT) this.#resp3 = true;
      else if (t === STAR) this.#resp3 = false;
      else return;
      this.#updateOutOfBand();
    });
  }

  /** checkAuthUser returns why `AUTH <user> …` must be refused, if it must. */
  #checkAuthUser(userArg: Buffer): string | undefined {
    const user = userArg.toString('utf8');
    let ok = user === this.#session.dbUser;
    if (ok) {
      try {
        this.#session.checker.checkDbUser(user);
      } catch {
        ok = false;
      }
    }
    return ok ? undefined : `failed to authenticate as ${displayArg(userArg)} user. Please provide a correct db username when connecting to Redis`;
  }

  #finishAuth(req: Request, name: string, text: string, problem: string | undefined, onType?: (t: number) => void): void {
    const ev: SessionAuditEvent = { type: 'db.session.query', success: problem === undefined, command: name, keys: [], query: text };
    if (problem !== undefined) {
      ev.error = problem;
      this.#emitAudit(ev);
      this.#o.counters.denied++;
      if (this.#inMulti) this.#dirty = true;
      this.#orderer.local(errorReply(`ERR xport: ${problem}`));
      return;
    }
    this.#emitAudit(ev);
    if (name === 'auth' && this.#o.localAuth) {
      // The agent's own AUTH (IAM token, managed password) is in force; the client's password would only fail.
      this.#orderer.local(OK);
      return;
    }
    this.#send(req.raw);
    this.#orderer.forward(1, onType);
  }

  #handleReset(req: Request): boolean {
    if (!this.#orderer.idle) return false;
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
    const ev: SessionAuditEvent = {
      type: 'db.session.query',
      success: false,
      error: 'EXECABORT Transaction discarded because of previous errors.',
      command: cmd.name,
      keys: [],
      query: formatQuery(req.args, NO_KEYS, this.#o.redactValues),
    };
    this.#emitAudit(ev);
    // Redis never saw the denied command, so it would run the rest: discard the transaction instead.
    this.#send(DISCARD);
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
    this.#orderer.local(errorReply(`ERR xport: ${message}`));
  }

  #auditCommand(req: Request, name: string, keys: readonly number[], subcommand: boolean, success: boolean, error?: string): void {
    this.#emitAudit(queryEvent(req.args, name, keys, subcommand, this.#o.redactValues, success, error));
  }

  #emitAudit(ev: SessionAuditEvent): void {
    emitAudit(this.#session, this.#o.log, ev);
  }

  #send(raw: Buffer): void {
    this.#upOut.push(raw);
  }

  #flushUpstream(): void {
    const out = this.#upOut;
    if (out.length === 0 || this.#finished) return;
    this.#upOut = [];
    // Pipelined requests are views of the same chunk: merged, they go out as one slice.
    const ok = writeBatch(this.#upstream, out.length === 1 ? out : coalesceSlices(out));
    if (!ok && !this.#waitingUpstreamDrain) {
      this.#waitingUpstreamDrain = true;
      this.#pauseClient(UPSTREAM_FULL);
      this.#upstream.once('drain', () => {
        this.#waitingUpstreamDrain = false;
        this.#unpauseClient(UPSTREAM_FULL);
      });
    }
  }

  #protocolError(err: RespProtocolError): void {
    this.#o.log.debug('client sent invalid RESP; closing the session', { session: this.#session.id, error: err.message });
    this.#orderer.local(errorReply(`ERR xport: ${err.message}`));
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
    // Requests may be waiting in the parser already.
    this.#drainRequests();
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
    if (this.#clientPause & TOO_MANY_PENDING && orderer.pendingReplies <= this.#o.maxPendingReplies >> 1) this.#unpauseClient(TOO_MANY_PENDING);
    if (this.#held !== undefined && orderer.idle) this.#unpauseClient(HELD);
    if (this.#clientEnded && orderer.pendingReplies === 0 && this.#held === undefined) this.#finish(false);
  }

  #flushClient(): void {
    const bufs = this.#orderer.take();
    if (bufs !== undefined) this.#writeClient(bufs);
  }

  #writeClient(bufs: readonly Buffer[]): void {
    const client = this.#client;
    if (client.destroyed || client.writableEnded) return;
    if (!writeBatch(client, bufs) && !this.#upstreamPaused) {
      this.#upstreamPaused = true;
      this.#upstream.pause();
      this.#o.counters.upstreamPauses++;
      client.once('drain', () => {
        this.#upstreamPaused = false;
        if (!this.#finished) this.#upstream.resume();
      });
    }
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

  /** finish closes both sides once; hard skips the graceful end of the client. */
  #finish(hard: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#upstream.off('data', this.#onUpstreamData);
    this.#upstream.destroy();
    const client = this.#client;
    client.off('data', this.#onClientData);
    if (hard || client.destroyed) {
      client.destroy();
    } else {
      client.end();
      // A client that never reads would keep end() from completing; do not wait for it forever.
      const t = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
      t.unref?.();
      client.once('close', () => clearTimeout(t));
    }
    if (client.destroyed) this.#resolve?.();
  }
}
