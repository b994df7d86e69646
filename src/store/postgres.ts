/**
 * store/postgres: the {@link Backend} several auth/proxy replicas share, on PostgreSQL through `pg`.
 *
 * Writes check and write server-side in one statement (`xport_put` / `xport_delete`, see
 * migrations.ts), serialised on the revision counter row, so conditional writes from any number of
 * replicas behave exactly like SQLite's. Every write is announced with NOTIFY on `xport_kv`; one
 * LISTEN connection per process fans the announcements out to {@link PostgresBackend.watch}ers.
 * The schema is migrated at open under an advisory lock. TLS: `ca_file` turns on verify-full
 * (chain and host name); `cert_file`/`key_file` add a client certificate.
 *
 * `pg` is loaded with `import()` so nothing but a service that chose PostgreSQL pays for it.
 * Imports only errors, util, the store contracts and pg; nothing above the store layer.
 */
import { readFile } from 'node:fs/promises';
import type { Client, ClientConfig, Pool, PoolClient } from 'pg';
import { badParameter, conflict, connectionProblem, internal, isXError, messageOf, type XError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { MAX_CHECK_PROBLEMS, type AuditEvent, type Backend, type BackendCheck, type EventQuery, type Item, type PutOptions, type Watch, type WatchEvent } from './backend.js';
import { nextEventId } from './event-sequence.js';
import { MIGRATIONS, MIGRATIONS_LOCK, SCHEMA_VERSION } from './migrations.js';

const DEFAULT_EVENT_LIMIT = 500;
/** The advisory lock that keeps event ids in append order across replicas. */
const EVENTS_LOCK = 0x78706f727402n;
/** Keys are names (users/alice); anything this long is a mistake, refused before it reaches the database. */
const MAX_KEY_BYTES = 4096;
const CHANNEL = 'xport_kv';
/** How often expired items are purged (reads already hide them). */
const PURGE_INTERVAL_MS = 60_000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** How long a statement may run before PostgreSQL cancels it: a stuck backend must not hang a login. */
const STATEMENT_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * The client gives up on a query a little after the server would have cancelled it: a server that
 * vanished without closing the connection (a dead host, a partition) must not hang a request.
 */
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 5000;
/** How long a pooled connection may sit unused before it is closed (pg-pool's default). */
const IDLE_TIMEOUT_MS = 10_000;
/** How often the LISTEN connection is probed, so a silently dead one is replaced (and watchers resync). */
const LISTEN_PROBE_MS = 15_000;

/** PostgresConnection says where the database is and how to reach it. */
export interface PostgresConnection {
  /** `postgres://user[:password]@host[:port]/database[?...]`. */
  connString: string;
  /** CA bundle (PEM) that signed the server certificate; enables TLS with verify-full. */
  caFile?: string;
  /** Client certificate (PEM) for certificate authentication; needs keyFile. */
  certFile?: string;
  keyFile?: string;
}

/** PostgresBackendOptions tunes {@link openPostgresBackend}. */
export interface PostgresBackendOptions extends PostgresConnection {
  /** Decides expiry; defaults to the wall clock. */
  clock?: Clock;
  /** Pool size; default 10. */
  maxConnections?: number;
  /**
   * Timeouts, defaults in brackets: the server cancels a statement after statementMs [30 s]; the
   * client gives up after queryMs [35 s]; the LISTEN connection is probed every listenProbeMs [15 s];
   * a pooled connection unused for idleMs [10 s] is closed.
   */
  timeouts?: { statementMs?: number; queryMs?: number; listenProbeMs?: number; idleMs?: number };
  /** Told about lost and regained notification connections (no secrets). */
  onWarning?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface KvRow {
  key: string;
  value: string;
  revision: string;
  expires: string | null;
}

/**
 * redactConnString hides the password in a connection string, for messages and logs.
 */
export function redactConnString(s: string): string {
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@').replace(/([?&]password=)[^&]*/i, '$1***');
}

/**
 * postgresClientConfig turns a connection into pg's config: the files are read here, and when a
 * ca_file is given the connection string's own ssl settings are dropped so that verify-full with
 * that CA is what applies (pg lets the string's sslmode override the ssl object otherwise).
 */
export async function postgresClientConfig(c: PostgresConnection, timeouts: PostgresBackendOptions['timeouts'] = {}): Promise<ClientConfig> {
  if (!/^postgres(ql)?:\/\//i.test(c.connString)) {
    throw badParameter(`storage conn_string must start with postgres://, got "${redactConnString(c.connString).slice(0, 40)}"`, {
      hint: 'Write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.',
    });
  }
  if ((c.certFile === undefined) !== (c.keyFile === undefined)) {
    throw badParameter('storage cert_file and key_file go together', { hint: 'Set both (client certificate authentication) or neither.' });
  }
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw badParameter(`cannot read storage ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, {
        hint: `Check the path in auth_service.storage.${what}.`,
      });
    }
  };
  let connectionString = c.connString;
  const config: ClientConfig = {
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: timeouts.statementMs ?? STATEMENT_TIMEOUT_MS,
    query_timeout: timeouts.queryMs ?? QUERY_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'xport',
  };
  if (c.caFile !== undefined || c.certFile !== undefined) {
    let url: URL;
    try {
      url = new URL(c.connString);
    } catch {
      throw badParameter(`storage conn_string is not a valid URL: ${redactConnString(c.connString)}`);
    }
    for (const p of [...url.searchParams.keys()]) if (p.startsWith('ssl') || p === 'uselibpqcompat') url.searchParams.delete(p);
    connectionString = url.toString();
    config.ssl = {
      rejectUnauthorized: true, // chain and host name: libpq's verify-full
      ...(c.caFile !== undefined ? { ca: await read('ca_file', c.caFile) } : {}),
      ...(c.certFile !== undefined ? { cert: await read('cert_file', c.certFile), key: await read('key_file', c.keyFile!) } : {}),
    };
  }
  config.connectionString = connectionString;
  return config;
}

/**
 * isConnectionError tells whether err says that the connection failed, not the statement: pg's
 * `Connection terminated unexpectedly` and `… is not queryable` (a client whose connection had
 * already failed), a reset or broken socket, SQLSTATE class 08 (connection exception), and 57P01 /
 * 57P02 (the server ended the session: a fast shutdown or restart, a crash of another backend).
 * A pooled connection that PostgreSQL closed while it sat idle fails its next query this way.
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(08...|57P01|57P02|ECONNRESET|EPIPE)$/.test(code)) return true;
  const msg = messageOf(err);
  // Not `Connection terminated due to connection timeout`: a server too slow to accept would only
  // make a retry wait as long again.
  return code === undefined && /Connection terminated|is not queryable/i.test(msg) && !/timeout/i.test(msg);
}

/**
 * pgError converts a pg or socket error into an XError naming the database (never the password):
 * a refused conditional write is `conflict`, an unreachable or refusing server `connection-problem`.
 */
export function pgError(where: string, err: unknown): XError {
  if (isXError(err)) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const msg = messageOf(err);
  if (code === 'XP409' || code === '23505') return conflict(msg, { hint: 'Read it again and retry the change.', cause: err });
  if (code === '3D000') return badParameter(`${where}: ${msg}`, { hint: 'Create the database first (createdb), or fix conn_string.', cause: err });
  if (code === '42501') {
    return badParameter(`${where}: ${msg}`, { hint: 'Make the role own the database (createdb -O ROLE DB) or grant it CREATE on the schema; xport creates its tables at start.', cause: err });
  }
  if (code === '28P01' || code === '28000') return badParameter(`${where}: ${msg}`, { hint: 'Check the user, password and pg_hba.conf for this client.', cause: err });
  // Class 55, object not in prerequisite state (55000; 55006 object in use; 55P03 lock not
  // available): the server cannot do it now, not a bug in xport. Reported as temporary, so the web
  // API answers 502 and the CLI says to retry instead of "this looks like a bug".
  if (typeof code === 'string' && code.startsWith('55')) {
    return connectionProblem(`PostgreSQL at ${where} cannot serve this request now (SQLSTATE ${code}): ${msg}`, {
      hint: 'Retry in a moment; if it persists, look for the cause in the PostgreSQL log (a restart, recovery or a maintenance command holding the object).',
      cause: err,
    });
  }
  if (typeof code === 'string' && /^(E[A-Z]+|08...|57P0[1-3])$/.test(code)) {
    return connectionProblem(`cannot reach PostgreSQL at ${where}: ${msg}`, { hint: 'Check that PostgreSQL is running and reachable; xport retries on the next request.', cause: err });
  }
  if (isConnectionError(err)) {
    return connectionProblem(`lost the connection to PostgreSQL at ${where}: ${msg}`, { hint: 'Check that PostgreSQL is running and reachable; xport retries on the next request.', cause: err });
  }
  if (/certificate|self.signed|SSL|TLS|does not support SSL|timeout/i.test(msg)) {
    return connectionProblem(`cannot reach PostgreSQL at ${where}: ${msg}`, { hint: 'Check ca_file, the server certificate (its names must match the host) and sslmode.', cause: err });
  }
  return internal(`PostgreSQL failed at ${where}: ${msg}`, { cause: err });
}

/** where names the server in messages: host, port and database, no credentials. */
function describe(connString: string): string {
  try {
    const u = new URL(connString);
    return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/**
 * openPostgresBackend connects, migrates the schema (once, under an advisory lock) and returns the
 * backend. A database written by a newer xport is refused rather than misread.
 */
export async function openPostgresBackend(opts: PostgresBackendOptions): Promise<PostgresBackend> {
  const config = await postgresClientConfig(opts, opts.timeouts);
  const pg = (await import('pg')).default;
  const where = describe(opts.connString);
  const pool = new pg.Pool({ ...config, max: opts.maxConnections ?? 10, idleTimeoutMillis: opts.timeouts?.idleMs ?? IDLE_TIMEOUT_MS });
  // An idle client that loses its server emits on the pool; without a listener that kills the process.
  pool.on('error', (err) => opts.onWarning?.('a PostgreSQL connection failed', { where, err: messageOf(err) }));
  try {
    await migrate(pool, where);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw pgError(where, err);
  }
  return new PostgresBackend(pool, config, where, opts, () => new pg.Client(config));
}

/**
 * Clients that carry our own 'error' listener. node-postgres emits 'error' on a checked-out client
 * whose connection dies between two queries (PostgreSQL restarting, say); the pool listens only to
 * idle clients, so without a listener of ours that event would crash the replica.
 */
const guarded = new WeakSet<PoolClient>();

/** checkout takes a pooled client whose connection errors are reported, never thrown at the process. */
async function checkout(pool: Pool, onError: (err: Error) => void): Promise<PoolClient> {
  const c = await pool.connect();
  if (!guarded.has(c)) {
    guarded.add(c);
    c.on('error', onError);
  }
  return c;
}

/** migrate applies the missing schema steps in one transaction under the migrations advisory lock. */
async function migrate(pool: Pool, where: string): Promise<void> {
  // A connection lost here fails the query in flight; the event itself needs no more than a listener.
  const c = await checkout(pool, () => undefined);
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATIONS_LOCK.toString()]);
    await c.query('CREATE TABLE IF NOT EXISTS xport_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM xport_schema');
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw badParameter(`${where} was written by a newer xport (schema ${current}; this one reads up to ${SCHEMA_VERSION})`, {
        hint: 'Upgrade xport on this replica, or point conn_string at another database.',
      });
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      await c.query(MIGRATIONS[v - 1]!);
      await c.query('INSERT INTO xport_schema (version) VALUES ($1)', [v]);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release(err instanceof Error ? err : true);
    throw err;
  }
  c.release();
}

/** serialise turns a value into the JSON stored for key, refusing what JSON cannot carry. */
function serialise(key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw badParameter(`cannot store ${key}: ${messageOf(err)}`, { cause: err });
  }
  if (json === undefined) throw badParameter(`cannot store ${key}: the value is not JSON`);
  return json;
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw badParameter(`cannot store a key of more than ${MAX_KEY_BYTES} bytes (${key.slice(0, 40)}…)`);
  // PostgreSQL text cannot hold NUL.
  if (key.includes('\0')) throw badParameter('cannot store a key containing a NUL character');
}

/** escapeLike makes prefix a literal LIKE pattern (with `\` as the escape character). */
const escapeLike = (prefix: string) => prefix.replace(/[\\%_]/g, (c) => '\\' + c);

function toItem<T>(r: KvRow): Item<T> {
  const item: Item<T> = { key: r.key, value: JSON.parse(r.value) as T, revision: Number(r.revision) };
  if (r.expires !== null) item.expires = new Date(Number(r.expires));
  return item;
}

/** CANONICAL_TIME matches what Date.prototype.toISOString produces (what AuditLog stamps). */
const NUL = /\0/g;
const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Watcher {
  prefix: string;
  onEvent: (e: WatchEvent) => void;
}

/** PostgresBackend implements {@link Backend} on a pg pool. Create it with {@link openPostgresBackend}. */
export class PostgresBackend implements Backend {
  private readonly clock: Clock;
  private readonly watchers = new Set<Watcher>();
  private listener: Client | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private listening: Promise<void> | undefined;
  private reconnectMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly purgeTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly config: ClientConfig,
    /** where names the database in messages (host:port/db). */
    readonly where: string,
    private readonly opts: PostgresBackendOptions,
    private readonly newClient: () => Client,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.purgeTimer = setInterval(() => void this.purgeExpired().catch(() => undefined), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  /**
   * q runs one statement on a pooled connection. With `retry` ('safe', for statements that may run
   * twice, see below), a statement whose connection failed ({@link isConnectionError}: typically a
   * pooled connection PostgreSQL closed while it sat idle, say across a restart) runs once more on a
   * new connection of its own, so the first request after a restart does not fail for nothing. A
   * second failure, or any other error, is reported.
   *
   * What is safe to run twice, given that a connection error leaves unknown whether the first
   * attempt committed:
   * - reads: they change nothing.
   * - conditional writes (`expectRevision` given): xport_put / xport_delete check the revision and
   *   write in one statement under the revision-counter lock. If the first attempt did not commit
   *   (the connection was dead before the statement reached a live server, or the server ended the
   *   session mid-statement, which rolls it back), the retry is simply the write. If it did commit
   *   and only the reply was lost, the key's revision has moved on, so the retry is refused with
   *   `conflict`: the write is never applied twice and never lands on a change it did not see, and
   *   the caller takes the path it has for any conflict (read again, decide again).
   * - not unconditional puts and deletes: nothing checks them, so a retry after a lost reply would
   *   write again over whatever another replica wrote in between. They report the error.
   */
  private async q<R extends object>(sql: string, params: unknown[], retry: 'safe' | 'never' = 'never'): Promise<R[]> {
    if (this.closed) throw internal(`the PostgreSQL backend for ${this.where} is already closed`);
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      if (retry !== 'safe' || this.closed || !isConnectionError(err)) throw pgError(this.where, err);
      this.opts.onWarning?.('a PostgreSQL connection failed under a request; retrying it on a new connection', { where: this.where, err: messageOf(err) });
    }
    try {
      return await this.onFreshConnection<R>(sql, params);
    } catch (err) {
      throw pgError(this.where, err);
    }
  }

  /**
   * onFreshConnection runs one statement on a connection opened for it (not from the pool, whose
   * other idle connections may be just as stale) and closes it.
   */
  private async onFreshConnection<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    const c = this.newClient();
    // Errors reach the query's promise; an 'error' event without a listener would crash the process.
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** get returns the item under key, or undefined when absent or expired. */
  async get<T = unknown>(key: string): Promise<Item<T> | undefined> {
    const rows = await this.q<KvRow>(
      'SELECT key, value, revision, expires FROM xport_kv WHERE key = $1 AND (expires IS NULL OR expires > $2)',
      [key, this.clock.now().getTime()],
      'safe',
    );
    return rows[0] ? toItem<T>(rows[0]) : undefined;
  }

  /** put writes value under key; with expectRevision the check and the write are one server-side step. */
  async put<T = unknown>(key: string, value: T, opts: PutOptions = {}): Promise<Item<T>> {
    checkKey(key);
    const json = serialise(key, value);
    const expires = opts.expires ? opts.expires.getTime() : null;
    // Only a conditional write is retried after a lost connection (see q).
    const rows = await this.q<{ r: string }>(
      'SELECT xport_put($1, $2, $3, $4, $5) AS r',
      [key, json, opts.expectRevision ?? null, expires, this.clock.now().getTime()],
      opts.expectRevision !== undefined ? 'safe' : 'never',
    );
    const item: Item<T> = { key, value, revision: Number(rows[0]!.r) };
    if (opts.expires) item.expires = new Date(expires!);
    return item;
  }

  /** delete removes key and tells whether a live item was there; a revision mismatch throws `conflict`. */
  async delete(key: string, opts: { expectRevision?: number } = {}): Promise<boolean> {
    const rows = await this.q<{ d: boolean }>(
      'SELECT xport_delete($1, $2, $3) AS d',
      [key, opts.expectRevision ?? null, this.clock.now().getTime()],
      opts.expectRevision !== undefined ? 'safe' : 'never',
    );
    return rows[0]!.d;
  }

  /** list returns the unexpired items under prefix, sorted by key (C collation: JavaScript's order). */
  async list<T = unknown>(prefix: string): Promise<Item<T>[]> {
    const rows = await this.q<KvRow>(
      `SELECT key, value, revision, expires FROM xport_kv WHERE key LIKE $1 ESCAPE '\\' AND (expires IS NULL OR expires > $2) ORDER BY key`,
      [escapeLike(prefix) + '%', this.clock.now().getTime()],
      'safe',
    );
    return rows.map((r) => toItem<T>(r));
  }

  /**
   * appendEvents stores all events in one transaction. The events advisory lock makes reading the
   * newest id and inserting after it atomic across replicas, so ids keep append order. An event
   * whose id is already stored is skipped (idempotent replays of the write-ahead log).
   */
  async appendEvents(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const cols = { id: [] as (string | null)[], time: [] as string[], type: [] as string[], usr: [] as (string | null)[], data: [] as string[], at: [] as Date[] };
    events.forEach((e, index) => {
      if (typeof e.type !== 'string' || e.type === '') throw badParameter(`audit event ${index} has no type`);
      const canonical = typeof e.time === 'string' && CANONICAL_TIME.test(e.time);
      const at = new Date(e.time);
      cols.id.push(e.id ?? null);
      cols.at.push(at);
      cols.time.push(canonical ? (e.time as string) : Number.isNaN(at.getTime()) ? String(e.time).replace(NUL, '\ufffd') : at.toISOString());
      // The indexed columns are text, which cannot hold NUL (the JSON body escapes it).
      cols.type.push(e.type.replace(NUL, '\ufffd'));
      cols.usr.push(typeof e.user === 'string' ? e.user.replace(NUL, '\ufffd') : null);
      cols.data.push(serialise(`audit event ${index} (${e.type})`, e));
    });
    if (this.closed) throw internal(`the PostgreSQL backend for ${this.where} is already closed`);
    let c: PoolClient | undefined;
    let failed: Error | undefined;
    try {
      c = await checkout(this.pool, (err) => this.opts.onWarning?.('a PostgreSQL connection failed', { where: this.where, err: messageOf(err) }));
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [EVENTS_LOCK.toString()]);
      const last = await c.query<{ id: string }>('SELECT id FROM xport_events ORDER BY id DESC LIMIT 1');
      let prev: string | undefined = last.rows[0]?.id;
      const ids = cols.id.map((given, i) => {
        const id = given ?? nextEventId(prev, cols.at[i]!);
        if (prev === undefined || id > prev) prev = id;
        return id;
      });
      // ON CONFLICT: the index is fed from the write-ahead log, which may replay a batch after a crash.
      await c.query('INSERT INTO xport_events (id, time, type, usr, data) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT (id) DO NOTHING', [
        ids,
        cols.time,
        cols.type,
        cols.usr,
        cols.data,
      ]);
      await c.query('COMMIT');
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      await c?.query('ROLLBACK').catch(() => undefined);
      throw pgError(this.where, err);
    } finally {
      // A client that failed (a timeout, a dead server) is discarded, not handed to the next caller.
      c?.release(failed);
    }
  }

  /** searchEvents filters by type, user, time range and page cursor in SQL, ordered by id. */
  async searchEvents(q: EventQuery): Promise<AuditEvent[]> {
    const { where, params } = eventFilter(q, true);
    params.push(Math.max(0, Math.floor(q.limit ?? DEFAULT_EVENT_LIMIT)));
    const sql = `SELECT id, data FROM xport_events${where} ORDER BY id ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${params.length}`;
    const rows = await this.q<{ id: string; data: string }>(sql, params, 'safe');
    return rows.map((r) => ({ ...(JSON.parse(r.data) as AuditEvent), id: r.id }));
  }

  /** countEvents counts what searchEvents would find without a limit or cursor. */
  async countEvents(q: EventQuery): Promise<number> {
    const { where, params } = eventFilter(q, false);
    const rows = await this.q<{ n: string }>(`SELECT COUNT(*) AS n FROM xport_events${where}`, params, 'safe');
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * watch calls onEvent for every later put or delete under prefix, from this or any other
   * process on the same database. Resolves once LISTEN is in place. After the notification
   * connection is lost and regained, every watcher gets `resync`.
   */
  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<Watch> {
    if (this.closed) throw internal(`the PostgreSQL backend for ${this.where} is already closed`);
    const w: Watcher = { prefix, onEvent };
    this.watchers.add(w);
    try {
      await this.ensureListening();
    } catch (err) {
      this.watchers.delete(w);
      throw err;
    }
    return { close: () => void this.watchers.delete(w) };
  }

  private ensureListening(): Promise<void> {
    if (!this.listening) {
      this.listening = this.listen().catch((err) => {
        this.listening = undefined;
        throw pgError(this.where, err);
      });
    }
    return this.listening;
  }

  private async listen(): Promise<void> {
    const c = this.newClient();
    c.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      let msg: { t: 'put' | 'delete' | 'resync'; k: string; r: number };
      try {
        msg = JSON.parse(n.payload) as typeof msg;
      } catch {
        return;
      }
      this.dispatch(msg.t === 'resync' ? { type: 'resync' } : { type: msg.t, key: msg.k, revision: Number(msg.r) });
    });
    c.on('error', (err) => this.lostListener(c, err));
    c.on('end', () => this.lostListener(c, new Error('connection ended')));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.listener = c;
    this.reconnectMs = RECONNECT_MIN_MS;
    // An idle LISTEN connection never notices a server that vanished without closing it; a cheap
    // query does (query_timeout), and the failure takes the reconnect path.
    clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => {
      if (this.listener === c) c.query('SELECT 1').catch((err: unknown) => this.lostListener(c, err));
    }, this.opts.timeouts?.listenProbeMs ?? LISTEN_PROBE_MS);
    this.probeTimer.unref();
  }

  private dispatch(e: WatchEvent): void {
    for (const w of [...this.watchers]) {
      if (e.type !== 'resync' && !e.key.startsWith(w.prefix)) continue;
      try {
        w.onEvent(e);
      } catch (err) {
        this.opts.onWarning?.('a storage watcher failed', { err: messageOf(err) });
      }
    }
  }

  /** lostListener reconnects the LISTEN connection with backoff and tells watchers to resync. */
  private lostListener(c: Client, err: unknown): void {
    if (this.listener !== c || this.closed) return;
    this.listener = undefined;
    clearInterval(this.probeTimer);
    this.listening = undefined;
    c.end().catch(() => undefined);
    this.opts.onWarning?.('lost the PostgreSQL notification connection; reconnecting', { where: this.where, err: messageOf(err) });
    const retry = () => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.ensureListening().then(
        () => this.dispatch({ type: 'resync' }),
        () => {
          this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
          this.reconnectTimer = setTimeout(retry, this.reconnectMs);
          this.reconnectTimer.unref();
        },
      );
    };
    this.reconnectTimer = setTimeout(retry, this.reconnectMs);
    this.reconnectTimer.unref();
  }

  /** purgeExpired deletes expired items (reads hide them already); returns how many went. */
  async purgeExpired(): Promise<number> {
    const rows = await this.q<{ n: string }>('WITH d AS (DELETE FROM xport_kv WHERE expires <= $1 RETURNING 1) SELECT count(*) AS n FROM d', [this.clock.now().getTime()]);
    return Number(rows[0]!.n);
  }

  /** schemaVersion returns the newest applied schema step. */
  async schemaVersion(): Promise<number> {
    const rows = await this.q<{ v: number | null }>('SELECT max(version) AS v FROM xport_schema', [], 'safe');
    return rows[0]?.v ?? 0;
  }

  /**
   * importEvents stores events that already have ids (a copy from another backend), skipping ids
   * that are already there, so a copy can be re-run. Returns how many were new.
   */
  async importEvents(events: (AuditEvent & { id: string })[]): Promise<number> {
    if (events.length === 0) return 0;
    const rows = await this.q<{ n: string }>(
      `WITH i AS (INSERT INTO xport_events (id, time, type, usr, data)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT (id) DO NOTHING RETURNING 1)
       SELECT count(*) AS n FROM i`,
      [
        events.map((e) => e.id),
        events.map((e) => (typeof e.time === 'string' ? e.time.replace(NUL, '\ufffd') : String(e.time))),
        events.map((e) => e.type.replace(NUL, '\ufffd')),
        events.map((e) => (typeof e.user === 'string' ? e.user.replace(NUL, '\ufffd') : null)),
        events.map((e, i) => serialise(`audit event ${i} (${e.type})`, e)),
      ],
    );
    return Number(rows[0]!.n);
  }

  /** countEventIds returns how many of ids are stored. */
  async countEventIds(ids: string[]): Promise<number> {
    const rows = await this.q<{ n: string }>('SELECT count(*) AS n FROM xport_events WHERE id = ANY($1::text[])', [ids], 'safe');
    return Number(rows[0]!.n);
  }

  /**
   * check reads everything and reports what is wrong: a schema version other than this build's,
   * a value or event that is not JSON, a revision that is not positive or is beyond the counter,
   * two keys with one revision.
   */
  async check(): Promise<BackendCheck> {
    const problems: string[] = [];
    let more = 0;
    const problem = (p: string) => (problems.length < MAX_CHECK_PROBLEMS ? problems.push(p) : more++);
    const schemaVersion = await this.schemaVersion();
    if (schemaVersion !== SCHEMA_VERSION) problem(`schema version is ${schemaVersion}; this xport expects ${SCHEMA_VERSION}`);
    const counter = await this.q<{ value: string }>(`SELECT value FROM xport_meta WHERE name = 'revision'`, [], 'safe');
    const revision = counter[0] ? Number(counter[0].value) : 0;
    if (!counter[0]) problem('the revision counter (xport_meta.revision) is missing');
    const dup = await this.q<{ revision: string; n: string }>('SELECT revision, count(*) AS n FROM xport_kv GROUP BY revision HAVING count(*) > 1 LIMIT 10', [], 'safe');
    for (const d of dup) problem(`${d.n} keys share revision ${d.revision}`);
    let keys = 0;
    let after = '';
    for (;;) {
      const page = await this.q<KvRow>('SELECT key, value, revision, expires FROM xport_kv WHERE key > $1 ORDER BY key LIMIT 1000', [after], 'safe');
      if (page.length === 0) break;
      for (const r of page) {
        keys++;
        const rev = Number(r.revision);
        if (!(rev > 0)) problem(`${r.key}: revision ${r.revision} is not positive`);
        else if (rev > revision) problem(`${r.key}: revision ${rev} is beyond the counter ${revision}`);
        try {
          JSON.parse(r.value);
        } catch (err) {
          problem(`${r.key}: the value is not JSON (${messageOf(err)})`);
        }
      }
      after = page[page.length - 1]!.key;
    }
    let events = 0;
    let afterId = '';
    for (;;) {
      const page = await this.q<{ id: string; data: string }>('SELECT id, data FROM xport_events WHERE id > $1 ORDER BY id LIMIT 5000', [afterId], 'safe');
      if (page.length === 0) break;
      for (const r of page) {
        events++;
        try {
          const e = JSON.parse(r.data) as unknown;
          if (typeof e !== 'object' || e === null || typeof (e as AuditEvent).type !== 'string') problem(`event ${r.id}: no type`);
        } catch (err) {
          problem(`event ${r.id}: not JSON (${messageOf(err)})`);
        }
      }
      afterId = page[page.length - 1]!.id;
    }
    if (more > 0) problems.push(`… and ${more} more problems`);
    return { where: this.where, schemaVersion, expectedSchemaVersion: SCHEMA_VERSION, revision, keys, events, problems };
  }

  /** close ends the pool and the notification connection. Closing twice is fine. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.purgeTimer);
    clearInterval(this.probeTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.watchers.clear();
    const l = this.listener;
    this.listener = undefined;
    await Promise.all([l?.end().catch(() => undefined), this.pool.end().catch(() => undefined)]);
  }

  /** clientConfig is the pg config in use (for tools that need a raw connection, such as migrate). */
  get clientConfig(): ClientConfig {
    return this.config;
  }
}

/** eventFilter builds the WHERE clause for an event query; cursors only when withCursor (counts ignore them). */
function eventFilter(q: EventQuery, withCursor: boolean): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const filter = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.type) filter('type = ?', q.type);
  if (q.user) filter('usr = ?', q.user);
  if (q.since) filter('time >= ?', q.since.toISOString());
  if (q.until) filter('time <= ?', q.until.toISOString());
  if (withCursor && q.afterId) filter('id > ?', q.afterId);
  if (withCursor && q.beforeId) filter('id < ?', q.beforeId);
  return { where: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', params };
}
