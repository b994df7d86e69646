/**
 * redis/session-setup: what both engines (standalone and cluster) do to start a session, once:
 *
 *  - check the session has not expired and fetch upstream credentials valid no longer than it
 *    ({@link sessionCredentials}); try once more with fresh ones when Redis refuses cached ones
 *    (WRONGPASS after a rotation: {@link retryRefused});
 *  - on a new connection, in one round trip ({@link setUpConnection}): the injected AUTH, the
 *    caller's own steps (SELECT, CLUSTER SHARDS), the server's version (HELLO) and — once per
 *    database — its command table (COMMAND), kept in a {@link CommandTableCache};
 *  - serve it ({@link serveSession}): the start event (or the failure, answered to the client as
 *    `-ERR xport: …`), the relay, re-authentication before credentials expire, the end event.
 *
 * Must not import auth/ or cloud/: RBAC arrives as `Session.checker`, credentials through the
 * db/ CredentialProvider contract.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { credentialOptions, type CredentialProvider, type UpstreamCredentials } from '../db/credentials.js';
import type { Session } from '../db/session.js';
import { accessDenied, authRequired, badParameter, connectionProblem, isXError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { emitAudit, sessionEvent } from './audit-event.js';
import { FALLBACK_SOURCE } from './command-fallback.js';
import { CommandTable, serverVersion } from './commands.js';
import { errorMessage, replyLine } from './display.js';
import { authCommand, CredentialsRefused, isWrongPass, keepAuthenticated, type ReauthApply } from './reauth.js';
import { command, type ReplyFrame, type ReplyScanner } from './resp/index.js';
import { decodeValue } from './resp/value.js';
import { runSetup } from './upstream.js';

const HELLO = command(['HELLO']);
const COMMAND = command(['COMMAND']);
const PING = command(['PING']);

// ─── Credentials ─────────────────────────────────────────────────────────────────────────────────

/** checkNotExpired refuses a session whose certificate has expired. */
export function checkNotExpired(session: Session, clock: Clock): void {
  if (session.expires.getTime() <= clock.now().getTime()) {
    throw authRequired('the session has expired', { hint: 'Log in again (xsh login) and reconnect.' });
  }
}

/**
 * checkRoutedDb checks the db number the session is routed to (if any) against the roles before
 * anything is dialled; a cluster has only db 0, so onlyDb0 refuses any other with a hint.
 */
export function checkRoutedDb(session: Session, onlyDb0: boolean): void {
  const dbName = session.dbName;
  if (dbName === undefined) return;
  if (onlyDb0 && dbName !== '0') {
    throw badParameter(`database ${session.database.name} is a Redis Cluster, which has only db 0; cannot select db ${dbName}`, {
      hint: 'Connect without a db name (or with 0).',
    });
  }
  try {
    session.checker.checkDbName(dbName);
  } catch (err) {
    throw accessDenied(`access denied to db ${dbName}`, { cause: err });
  }
}

/** sessionCredentials asks the provider for credentials valid no longer than the session. */
export async function sessionCredentials(provider: CredentialProvider, session: Session, signal: AbortSignal): Promise<UpstreamCredentials> {
  try {
    return await provider.credentials(session.database, session.dbUser, credentialOptions(session, signal));
  } catch (err) {
    if (isXError(err)) throw err;
    throw connectionProblem(`failed to get credentials for the target database: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * retryRefused runs attempt, and once more after dropping the provider's cached credentials when
 * Redis refused them (CredentialsRefused); a second refusal surfaces as its cause.
 */
export async function retryRefused<T>(provider: CredentialProvider, session: Session, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof CredentialsRefused)) throw err;
    provider.invalidate?.(session.database, session.dbUser);
    try {
      return await attempt();
    } catch (again) {
      throw again instanceof CredentialsRefused ? again.cause : again;
    }
  }
}

/** authRefusal is the error for a refused injected AUTH (CredentialsRefused after WRONGPASS, so it is retried). */
export function authRefusal(creds: UpstreamCredentials, reply: ReplyFrame): Error {
  const denied = accessDenied(`failed to authenticate to the target database as "${creds.username ?? 'default'}": ${replyLine(reply.raw)}`, {
    hint: 'Check the credentials configured for this database and db user.',
  });
  return isWrongPass(reply.raw) ? new CredentialsRefused(denied.message, denied) : denied;
}

// ─── Command tables ──────────────────────────────────────────────────────────────────────────────

/**
 * TableClaim is a session's part in reading a database's command table: the cached table, or
 * another session's read to wait for, or the duty to read it (then it must settle the claim).
 */
export class TableClaim {
  #settle: ((t: CommandTable | undefined) => void) | undefined;
  constructor(
    readonly database: string,
    readonly cached: { version: string | undefined; table: CommandTable } | undefined,
    readonly waitFor: Promise<CommandTable | undefined> | undefined,
    settle: ((t: CommandTable | undefined) => void) | undefined,
    readonly release: () => void,
  ) {
    this.#settle = settle;
  }

  /** reads tells whether this session reads the table (the first session of a database). */
  get reads(): boolean {
    return this.#settle !== undefined;
  }

  /** settle hands the table read (or undefined) to the sessions waiting for it; idempotent. */
  settle(table: CommandTable | undefined): void {
    const s = this.#settle;
    if (s === undefined) return;
    this.#settle = undefined;
    s(table);
    this.release();
  }
}

/**
 * CommandTableCache keeps each database's command table with the server version it was read
 * from; concurrent first sessions of a database read it once. Failures to read one are warned
 * about once per database, never per session.
 */
export class CommandTableCache {
  readonly #tables = new Map<string, { version: string | undefined; table: CommandTable }>();
  readonly #loading = new Map<string, Promise<CommandTable | undefined>>();
  readonly #warned = new Set<string>();
  constructor(readonly log: Logger) {}

  /** get returns the table cached for a database, if one was read from it. */
  get(database: string): CommandTable | undefined {
    return this.#tables.get(database)?.table;
  }

  /** version is the server (`redis 7.0.15`) the cached table of a database was read from, if known. */
  version(database: string): string | undefined {
    return this.#tables.get(database)?.version;
  }

  /** has tells whether a table was read for the database. */
  has(database: string): boolean {
    return this.#tables.has(database);
  }

  /** claim decides whether this session reads the database's table; settle the claim when it does. */
  claim(database: string): TableClaim {
    const cached = this.#tables.get(database);
    if (cached !== undefined) return new TableClaim(database, cached, undefined, undefined, noop);
    const waitFor = this.#loading.get(database);
    if (waitFor !== undefined) return new TableClaim(database, undefined, waitFor, undefined, noop);
    let settle: ((t: CommandTable | undefined) => void) | undefined;
    this.#loading.set(database, new Promise((r) => (settle = r)));
    return new TableClaim(database, undefined, undefined, settle, () => this.#loading.delete(database));
  }

  /**
   * parse reads a COMMAND reply and caches it for the database; on failure the session uses the
   * built-in table. A reply that only says the connection is not authenticated yet (NOAUTH) is
   * expected — the relay reads the table after the client's AUTH — and is not worth a warning.
   */
  parse(database: string, reply: { raw: Buffer; isError: boolean }, version?: string): CommandTable | undefined {
    if (reply.isError && /^[-!]NOAUTH\b/.test(reply.raw.toString('latin1', 0, 16))) {
      this.log.debug('the command table will be read after the client authenticates', { database });
      return undefined;
    }
    try {
      const table = CommandTable.parse(decodeValue(reply.raw));
      if (table.size === 0) throw new Error('the server described no commands');
      this.#tables.set(database, { version, table });
      this.#warned.delete(database);
      return table;
    } catch (err) {
      const fields = { database, error: errorMessage(err) };
      const message = `could not read the command table of the database; using the built-in table from ${FALLBACK_SOURCE}`;
      if (this.#warned.has(database)) this.log.debug(message, fields);
      else {
        this.#warned.add(database);
        this.log.warn(message, fields);
      }
      return undefined;
    }
  }
}

function noop(): void {}

// ─── Connection set-up ───────────────────────────────────────────────────────────────────────────

/** SetupStep is one of the caller's own set-up commands, named for finding its reply. */
export interface SetupStep {
  kind: string;
  cmd: Buffer;
}

/** ConnectionSetup is what {@link setUpConnection} read. */
export interface ConnectionSetup {
  /** The scanner that read the replies; it may hold bytes that came after them. */
  scanner: ReplyScanner;
  /** The replies to the caller's steps, by kind. */
  replies: Map<string, ReplyFrame>;
  /** The database's command table (this session's read, or the cache), if there is one yet. */
  table: CommandTable | undefined;
}

/** SetupPlan is what {@link setUpConnection} runs. */
export interface SetupPlan {
  creds: UpstreamCredentials;
  tables: CommandTableCache;
  claim: TableClaim;
  /** Steps right after AUTH (SELECT). */
  early?: readonly SetupStep[];
  /** Steps after COMMAND (CLUSTER SHARDS). */
  late?: readonly SetupStep[];
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * setUpConnection runs, in one round trip: AUTH with the injected credentials, the early steps,
 * HELLO (the server's name and version: a table is kept per database and version, so an
 * upgraded server is described anew; only once authenticated), COMMAND when this session reads
 * the table, and the late steps — or a PING when there is nothing to run, which proves the
 * server accepted our certificate before the client is told all is well. A refused AUTH throws
 * ({@link authRefusal}); the claim is the caller's to settle.
 */
export async function setUpConnection(socket: TLSSocket, plan: SetupPlan): Promise<ConnectionSetup> {
  const { creds, tables, claim } = plan;
  const database = claim.database;
  const steps: SetupStep[] = [];
  const withAuth = creds.password !== undefined;
  if (withAuth) steps.push({ kind: 'auth', cmd: authCommand(creds) });
  if (plan.early !== undefined) steps.push(...plan.early);
  if (withAuth) steps.push({ kind: 'version', cmd: HELLO });
  if (claim.reads) steps.push({ kind: 'command', cmd: COMMAND });
  if (plan.late !== undefined) steps.push(...plan.late);
  if (steps.length === 0) steps.push({ kind: 'ping', cmd: PING });
  const opts = { timeoutMs: plan.timeoutMs, signal: plan.signal };
  const setup = await runSetup(
    socket,
    steps.map((s) => s.cmd),
    opts,
  );
  const replies = new Map<string, ReplyFrame>();
  let version: string | undefined;
  let table = claim.cached?.table;
  for (let i = 0; i < steps.length; i++) {
    const kind = steps[i]!.kind;
    const reply = setup.replies[i]!;
    if (kind === 'auth' && reply.isError) throw authRefusal(creds, reply);
    if (kind === 'version') version = serverVersion(reply);
    else if (kind === 'command') table = tables.parse(database, reply, version);
    else replies.set(kind, reply);
  }
  let scanner = setup.scanner;
  const cached = claim.cached;
  if (cached !== undefined && version !== undefined && cached.version !== version) {
    // The server changed under the cached table (an upgrade, a restart with other modules): read it again, once.
    const again = await runSetup(socket, [COMMAND], opts);
    scanner = again.scanner;
    table = tables.parse(database, again.replies[0]!, version) ?? table;
  }
  return { scanner, replies, table };
}

// ─── Serving ─────────────────────────────────────────────────────────────────────────────────────

/** SessionRun is a relay as {@link serveSession} drives it. */
export interface SessionRun {
  run(signal: AbortSignal): Promise<void>;
  reauthenticate: ReauthApply;
}

/** ServePlan is what {@link serveSession} needs. */
export interface ServePlan<P extends { creds: UpstreamCredentials }> {
  client: Duplex;
  session: Session;
  signal: AbortSignal;
  credentials: CredentialProvider;
  log: Logger;
  clock: Clock;
  /** Opens and sets up the upstream side (retried once after WRONGPASS by the caller). */
  prepare: () => Promise<P>;
  /** Writes `-ERR xport: <message>` to the client and ends it. */
  sendError: (client: Duplex, err: unknown) => void;
  /** Builds the relay for a prepared session. */
  relay: (prepared: P) => SessionRun;
  /** Runs after the relay has ended (before the end event). */
  cleanup?: () => void;
}

/**
 * serveSession prepares a session, reports its start (or why it failed, to the audit, the log and
 * the client), relays it while keeping its upstream credentials fresh, and reports its end.
 */
export async function serveSession<P extends { creds: UpstreamCredentials }>(o: ServePlan<P>): Promise<void> {
  const { session, log } = o;
  let prepared: P;
  try {
    prepared = await o.prepare();
  } catch (err) {
    emitAudit(session, log, sessionEvent('db.session.start', errorMessage(err)));
    log.info('database session failed to start', { session: session.id, database: session.database.name, error: errorMessage(err) });
    o.sendError(o.client, err);
    return;
  }
  emitAudit(session, log, sessionEvent('db.session.start'));
  const relay = o.relay(prepared);
  const stopReauth = keepAuthenticated({
    db: session.database,
    dbUser: session.dbUser,
    options: credentialOptions(session, o.signal),
    credentials: o.credentials,
    first: prepared.creds,
    apply: (auth, done) => relay.reauthenticate(auth, done),
    clock: o.clock,
    log,
    sessionId: session.id,
    signal: o.signal,
  });
  try {
    await relay.run(o.signal);
  } finally {
    stopReauth();
    o.cleanup?.();
    emitAudit(session, log, sessionEvent('db.session.end'));
  }
}
