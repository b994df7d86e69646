/**
 * redis/cluster/connection-state: the commands that change what a cluster session's connection
 * is — AUTH, HELLO, RESET, SELECT, CLIENT REPLY — kept for the whole session although it spans
 * one connection per node. AUTH and HELLO are checked as in standalone mode (auth-guard.ts),
 * answered by the default node while the next requests wait (a node connection opened meanwhile
 * must get the new state), then replayed on every other connection and on every one opened
 * later. RESET closes every node connection (fresh ones are exactly what RESET promises).
 * CLIENT REPLY is kept here: the nodes never see it.
 */
import type { Session } from '../../db/session.js';
import { authEvent } from '../audit-event.js';
import { formatAuth, formatHello } from '../audit-format.js';
import { authProblem, checkHello } from '../auth-guard.js';
import { ClientReplyMode } from '../client-reply.js';
import type { CommandTable, ResolvedCommand } from '../commands.js';
import { displayArg } from '../display.js';
import { command, OK, type Request } from '../resp/index.js';
import { arityError } from './local-answers.js';
import type { NodeReply } from './merge.js';
import type { ClusterRelayContext } from './relay-context.js';
import { DEFAULT_NODE } from './router.js';
import type { ClusterSubscriptions } from './subscriptions.js';
import type { ClusterTransaction } from './transaction.js';
import { hideClusterMode } from './virtual-node.js';

const COMMAND_TABLE = command(['COMMAND']);
const RESET_REPLY = Buffer.from('+RESET\r\n');
const NO_KEY_POSITIONS: readonly number[] = Object.freeze([]);
const PERCENT = 0x25;
const STAR = 0x2a;

/** ConnectionStateOptions are the session's parts the connection state works with. */
export interface ConnectionStateOptions {
  session: Session;
  table: CommandTable;
  tx: ClusterTransaction;
  subs: ClusterSubscriptions;
  /** The agent authenticates the db user itself: the client's AUTH is answered OK locally. */
  localAuth: boolean;
  tableWanted?: () => boolean;
  onTable?: (reply: NodeReply) => CommandTable | undefined;
  /** Commits the audit of what is queued (false: the session is ending, send nothing). */
  auditCommitted: () => boolean;
}

/** ConnectionState is one cluster session's connection-level state. */
export class ConnectionState {
  #resp3 = false;
  #table: CommandTable;
  /** CLIENT REPLY state: kept by the relay (the nodes never see the command), as Redis keeps it. */
  readonly #replyMode = new ClientReplyMode();

  constructor(
    readonly ctx: ClusterRelayContext,
    readonly o: ConnectionStateOptions,
  ) {
    this.#table = o.table;
  }

  /** resp3 tells whether the client negotiated RESP3. */
  get resp3(): boolean {
    return this.#resp3;
  }

  /** table is the command table the session judges with (the server's, once read). */
  get table(): CommandTable {
    return this.#table;
  }

  /** silentNow tells whether Redis would send no reply to the next request (CLIENT REPLY OFF or SKIP). */
  silentNow(): boolean {
    return this.#replyMode.silentNow();
  }

  /** handled moves CLIENT REPLY SKIP on: it silences exactly one command, the one after it. */
  handled(): void {
    this.#replyMode.handled();
  }

  /** denied answers an AUTH or HELLO refusal in the request's place (audited by the caller). */
  #denied(problem: string): void {
    this.ctx.denied(problem);
  }

  auth(req: Request): void {
    const ctx = this.ctx;
    const args = req.args;
    const problem = this.o.tx.inMulti ? 'auth is not supported inside MULTI in cluster mode' : authProblem(this.o.session, args);
    ctx.emitAudit(authEvent('auth', formatAuth(args), problem));
    if (problem !== undefined) {
      this.#denied(problem);
      return;
    }
    if (this.o.localAuth) {
      // The agent's own AUTH (IAM token, managed password) is in force; the client's password would only fail.
      ctx.replies.local(OK);
      return;
    }
    const replay = Buffer.from(req.raw);
    this.everyConnection(req.raw, (reply, addr) => {
      ctx.router.authReplay = replay;
      ctx.router.broadcast(replay, addr);
      this.#afterAuth();
      return reply.raw;
    });
  }

  hello(req: Request): void {
    const ctx = this.ctx;
    const args = req.args;
    const { problem, authAt, setnameAt } = checkHello(this.o.session, args, this.o.tx.inMulti);
    ctx.emitAudit(authEvent('hello', formatHello(args, ctx.redactValues), problem));
    if (problem !== undefined) {
      this.#denied(problem);
      return;
    }
    const auth = authAt >= 0 ? command(['AUTH', args[authAt]!, args[authAt + 1]!]) : undefined;
    const setname = setnameAt >= 0 ? command(['CLIENT', 'SETNAME', args[setnameAt]!]) : undefined;
    const raw = Buffer.from(req.raw);
    this.everyConnection(req.raw, (reply, addr) => {
      // The reply's type says which protocol is now in force: a map in RESP3, an array in RESP2.
      const t = reply.raw[0];
      if (t === PERCENT) this.#resp3 = true;
      else if (t === STAR) this.#resp3 = false;
      ctx.router.resp3 = this.#resp3;
      if (auth !== undefined) ctx.router.authReplay = auth;
      if (setname !== undefined) ctx.router.stateReplays.set('client|setname', setname);
      ctx.router.broadcast(raw, addr);
      if (auth !== undefined) this.#afterAuth();
      return hideClusterMode(reply.raw);
    });
  }

  /** afterAuth fetches the topology if the session could not read it before the client authenticated. */
  #afterAuth(): void {
    const ctx = this.ctx;
    if (ctx.router.topology === undefined) void ctx.router.refresh().then(() => ctx.kick());
    // Read once per database, now that the connection is authenticated as the client's db user.
    if (this.o.tableWanted?.() === true) {
      ctx.router.call(COMMAND_TABLE, DEFAULT_NODE, (reply) => {
        const table = this.o.onTable?.(reply);
        if (table !== undefined) this.#table = table;
      });
      if (this.o.auditCommitted()) ctx.router.flush();
    }
  }

  /**
   * everyConnection sends a connection-state command to the default node and holds the requests
   * behind it until it answers (a node connection opened meanwhile must get the new state); on
   * success, onSuccess applies it to the other connections and returns the client's reply.
   */
  everyConnection(raw: Buffer, onSuccess: (reply: NodeReply, address: string) => Buffer): void {
    const ctx = this.ctx;
    const entry = ctx.replies.entry();
    ctx.hold();
    ctx.router.call(raw, DEFAULT_NODE, (reply, addr) => {
      ctx.replies.complete(entry, reply.isError ? reply.raw : onSuccess(reply, addr));
      ctx.release();
    });
  }

  /** reset serves RESET (only once no reply is in flight). */
  reset(req: Request): void {
    const ctx = this.ctx;
    // RESET turns CLIENT REPLY back ON before it answers.
    this.#replyMode.reset();
    ctx.replies.silent = false;
    ctx.audit(req, 'reset', NO_KEY_POSITIONS, false, true);
    // Fresh node connections are exactly what RESET promises: the injected credentials only,
    // RESP2, no subscriptions, no transaction, no client name.
    ctx.router.closeLinks();
    this.o.subs.closeAll();
    ctx.replies.subEntry = undefined;
    ctx.router.authReplay = undefined;
    ctx.router.resp3 = false;
    ctx.router.stateReplays.clear();
    this.#resp3 = false;
    this.o.tx.reset();
    ctx.replies.local(RESET_REPLY);
  }

  /** select answers SELECT 0 (a cluster has only db 0, if the roles allow it); any other db is refused. */
  select(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const ctx = this.ctx;
    const arg = req.args[1];
    if (req.args.length !== 2 || arg === undefined) {
      ctx.audit(req, cmd.name, keys, false, true);
      ctx.replies.local(arityError('select'));
      return true;
    }
    if (arg.toString('latin1') !== '0') {
      ctx.reject(req, cmd, keys, `command not supported in cluster mode: select ${displayArg(arg)} (a cluster has only db 0)`);
      return true;
    }
    try {
      this.o.session.checker.checkDbName('0');
    } catch {
      ctx.reject(req, cmd, keys, 'access denied to db 0');
      return true;
    }
    ctx.audit(req, cmd.name, keys, false, true);
    if (this.o.tx.inMulti) {
      this.o.tx.queue(req.raw);
      return true;
    }
    ctx.replies.local(OK);
    return true;
  }

  /** clientReply applies CLIENT REPLY ON|OFF|SKIP in the relay, which makes every reply the client gets (client-reply.ts). */
  clientReply(req: Request, cmd: ResolvedCommand): boolean {
    const ctx = this.ctx;
    if (this.o.tx.inMulti) {
      ctx.reject(req, cmd, NO_KEY_POSITIONS, 'client reply is not supported inside MULTI');
      return true;
    }
    ctx.audit(req, cmd.name, NO_KEY_POSITIONS, true, true);
    const reply = this.#replyMode.apply(req.args);
    // ON answers its own +OK: this request is no longer silent.
    ctx.replies.silent = this.#replyMode.silentNow();
    if (reply !== undefined) ctx.replies.local(reply);
    return true;
  }
}
