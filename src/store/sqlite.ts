/**
 * store/sqlite: the embedded default {@link Backend}: one SQLite file (`xport.db`) in the data dir.
 *
 * Several processes may open the same file: WAL lets readers run beside the single writer, and every
 * conditional write checks the revision and writes inside one IMMEDIATE transaction, so two
 * writers can never both win. `synchronous = FULL` makes a committed write survive power loss.
 * better-sqlite3 is synchronous; results are wrapped in resolved promises to fit the contract.
 * Imports only errors, util, the store contracts and better-sqlite3; nothing above the store layer.
 */
import { chmod, open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { badParameter, conflict, internal, isXError, limitExceeded, messageOf } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import {
  MAX_CHECK_PROBLEMS,
  type AuditEvent,
  type Backend,
  type BackendCheck,
  type EventQuery,
  type Item,
  type PutOptions,
  type Watch,
  type WatchEvent,
} from './backend.js';
import { dataDirError, ensureDataDir } from './data-dir.js';
import { nextEventId } from './event-sequence.js';

/** SCHEMA_VERSION is the layout this code writes; a newer file is refused rather than misread. */
const SCHEMA_VERSION = 1;
/** How long a writer waits for another process's transaction before giving up. */
const BUSY_TIMEOUT_MS = 5000;
const DEFAULT_EVENT_LIMIT = 500;
const FILE_MODE = 0o600;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  revision INTEGER NOT NULL,
  expires INTEGER
);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, time TEXT, type TEXT, user TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS events_type_id ON events (type, id);
CREATE INDEX IF NOT EXISTS events_user_id ON events (user, id);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
`;

/** SqliteBackendOptions tunes {@link openSqliteBackend}. */
export interface SqliteBackendOptions {
  /** Decides expiry; defaults to the wall clock. */
  clock?: Clock;
  /** Database file name inside the data dir; default `xport.db`. */
  fileName?: string;
}

interface KvRow {
  value: string;
  revision: number;
  expires: number | null;
}
interface KeyedKvRow extends KvRow {
  key: string;
}
interface EventRow {
  id: string;
  data: string;
}
/** An event ready for insertion: id (if the caller gave one), indexed columns and the JSON body. */
interface EventInsert {
  id: string | undefined;
  at: Date;
  time: string;
  type: string;
  user: string | null;
  data: string;
}

/**
 * openSqliteBackend opens (creating if needed) `<dataDir>/<fileName>`: the dir gets mode 0700, the
 * file and its WAL companions 0600. An unusable dir or a file that is not a database becomes a
 * `badParameter` naming the path, never a raw SQLite error.
 */
export async function openSqliteBackend(dataDir: string, opts: SqliteBackendOptions = {}): Promise<SqliteBackend> {
  await ensureDataDir(dataDir);
  const file = join(dataDir, opts.fileName ?? 'xport.db');
  await createPrivateFile(dataDir, file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db?.close();
    throw sqliteError(dataDir, file, err);
  }
  // SQLite gives -wal/-shm the main file's mode; tightening them too covers a file created elsewhere.
  for (const f of [file, `${file}-wal`, `${file}-shm`]) await tighten(dataDir, f);
  return new SqliteBackend(db, { file, dataDir, clock: opts.clock ?? systemClock });
}

/** createPrivateFile creates file empty with mode 0600 unless it exists, so SQLite never creates it with the umask's mode. */
async function createPrivateFile(dataDir: string, file: string): Promise<void> {
  try {
    const fh = await open(file, 'wx', FILE_MODE);
    await fh.close();
    await chmod(file, FILE_MODE); // open() honours the umask; chmod makes the mode exact
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw dataDirError(dataDir, err, file);
  }
}

/** tighten sets file to 0600 when group or others may read it; a missing file is fine. */
async function tighten(dataDir: string, file: string): Promise<void> {
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) await chmod(file, FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw dataDirError(dataDir, err, file);
  }
}

/** migrate creates the schema if missing and refuses a file written by a newer xport. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(SCHEMA);
    const version = db.prepare(`SELECT value FROM meta WHERE name = 'schema_version'`).pluck().get() as number | undefined;
    if (version === undefined) {
      db.prepare(`INSERT INTO meta (name, value) VALUES ('schema_version', ?)`).run(SCHEMA_VERSION);
    } else if (version > SCHEMA_VERSION) {
      throw badParameter(`${file} was written by a newer xport (schema ${version}; this one reads up to ${SCHEMA_VERSION})`, {
        hint: 'Upgrade xport, or choose another data dir with --data-dir.',
      });
    }
  }).immediate();
}

/**
 * sqliteError converts a better-sqlite3 error into an XError that names the file: problems with
 * the file or dir are `badParameter` with a hint, a timed-out lock is `conflict`.
 */
function sqliteError(dataDir: string, file: string, err: unknown): Error {
  if (isXError(err)) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) {
    return internal(`SQLite failed on ${file}: ${messageOf(err)}`, { cause: err });
  }
  const base = code.replace(/^(SQLITE_[A-Z]+).*$/, '$1');
  switch (base) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return badParameter(`${file} is not a usable xport database: ${messageOf(err)}`, {
        hint: `Move ${file} aside (or restore a backup), or choose another data dir with --data-dir.`,
        cause: err,
      });
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
    case 'SQLITE_IOERR':
      return badParameter(`cannot write ${file}: ${messageOf(err)}`, {
        hint: `Run as a user who can write ${dataDir}, or choose another with --data-dir.`,
        cause: err,
      });
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return conflict(`${file} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000}s`, {
        hint: 'Retry; if it persists, find the process holding the database open.',
        cause: err,
      });
    case 'SQLITE_FULL':
      return limitExceeded(`cannot write ${file}: the disk is full`, {
        hint: `Free space on the file system holding ${dataDir}.`,
        cause: err,
      });
    default:
      return internal(`SQLite failed on ${file}: ${messageOf(err)}`, { cause: err });
  }
}

const isExpired = (row: KvRow, now: number) => row.expires !== null && row.expires <= now;

function toItem<T>(key: string, row: KvRow): Item<T> {
  const item: Item<T> = { key, value: JSON.parse(row.value) as T, revision: row.revision };
  if (row.expires !== null) item.expires = new Date(row.expires);
  return item;
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

/** CANONICAL_TIME matches what Date.prototype.toISOString produces (what AuditLog stamps). */
const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function prepareEvent(e: AuditEvent, index: number, json?: string): EventInsert {
  if (typeof e.type !== 'string' || e.type === '') throw badParameter(`audit event ${index} has no type`);
  // Most events arrive stamped in canonical form already; skip the Date round trip for them
  // (measured: 5 % of the agent's CPU under pipelined load).
  const canonical = typeof e.time === 'string' && CANONICAL_TIME.test(e.time);
  const at = new Date(e.time);
  return {
    id: e.id,
    at,
    // One canonical form, so the time range filters can compare strings.
    time: canonical ? (e.time as string) : Number.isNaN(at.getTime()) ? String(e.time) : at.toISOString(),
    type: e.type,
    user: typeof e.user === 'string' ? e.user : null,
    data: json ?? serialise(`audit event ${index} (${e.type})`, e),
  };
}

/**
 * SqliteBackend implements {@link Backend} on one SQLite connection. Create it with
 * {@link openSqliteBackend}, which prepares the file; the constructor expects an open, migrated db.
 */
export class SqliteBackend implements Backend {
  /** file is the database's path. */
  readonly file: string;
  private readonly dataDir: string;
  private readonly clock: Clock;
  private readonly stmt;
  private readonly watchers = new Set<{ prefix: string; onEvent: (e: WatchEvent) => void }>();
  private readonly searches = new Map<string, Database.Statement<unknown[], EventRow>>();
  private readonly putTx;
  private readonly deleteTx;
  private readonly appendTx;

  constructor(
    private readonly db: Database.Database,
    opts: { file: string; dataDir: string; clock?: Clock },
  ) {
    this.file = opts.file;
    this.dataDir = opts.dataDir;
    this.clock = opts.clock ?? systemClock;
    this.stmt = {
      get: db.prepare<[string], KvRow>('SELECT value, revision, expires FROM kv WHERE key = ?'),
      // Keys with a prefix are one contiguous run from the prefix on; list() stops at the first other key.
      from: db.prepare<[string], KeyedKvRow>('SELECT key, value, revision, expires FROM kv WHERE key >= ? ORDER BY key'),
      upsert: db.prepare<[string, string, number, number | null], unknown>(
        `INSERT INTO kv (key, value, revision, expires) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires = excluded.expires`,
      ),
      remove: db.prepare<[string], unknown>('DELETE FROM kv WHERE key = ?'),
      purge: db.prepare<[string, number], unknown>('DELETE FROM kv WHERE key = ? AND expires IS NOT NULL AND expires <= ?'),
      bump: db.prepare<[], number>(`UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value`).pluck(),
      lastEventId: db.prepare<[], string>('SELECT id FROM events ORDER BY id DESC LIMIT 1').pluck(),
      insertEvent: db.prepare<[string, string, string, string | null, string], unknown>(
        // OR IGNORE: the index is fed from the write-ahead log, which may replay a batch after a crash.
        'INSERT OR IGNORE INTO events (id, time, type, user, data) VALUES (?, ?, ?, ?, ?)',
      ),
    };

    this.putTx = db.transaction((key: string, json: string, expectRevision: number | undefined, expires: number | null) => {
      const now = this.clock.now().getTime();
      const cur = this.stmt.get.get(key);
      const current = cur && !isExpired(cur, now) ? cur.revision : 0;
      if (expectRevision !== undefined && current !== expectRevision) throw modified(key);
      const revision = this.stmt.bump.get()!;
      this.stmt.upsert.run(key, json, revision, expires);
      return revision;
    });

    this.deleteTx = db.transaction((key: string, expectRevision: number | undefined) => {
      const now = this.clock.now().getTime();
      const cur = this.stmt.get.get(key);
      const live = cur !== undefined && !isExpired(cur, now);
      if (expectRevision !== undefined && (live ? cur.revision : 0) !== expectRevision) throw modified(key);
      if (!cur) return 0;
      this.stmt.remove.run(key);
      // The revision of the delete, or 0 when the row had expired (nothing live was removed).
      return live ? this.stmt.bump.get()! : 0;
    });

    this.appendTx = db.transaction((events: EventInsert[]) => {
      // Reading the newest id inside the write transaction keeps ids in append order across processes.
      let last = this.stmt.lastEventId.get();
      for (const e of events) {
        const id = e.id ?? nextEventId(last, e.at);
        if (last === undefined || id > last) last = id;
        this.stmt.insertEvent.run(id, e.time, e.type, e.user, e.data);
      }
    });
  }

  /** guard runs a synchronous database call, converting SQLite errors to XErrors. */
  private guard<R>(fn: () => R): Promise<R> {
    try {
      if (!this.db.open) throw internal(`the SQLite backend for ${this.file} is already closed`);
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(sqliteError(this.dataDir, this.file, err));
    }
  }

  /** get returns the item under key, or undefined when absent or expired (an expired row is purged). */
  get<T = unknown>(key: string): Promise<Item<T> | undefined> {
    return this.guard(() => {
      const row = this.stmt.get.get(key);
      if (!row) return undefined;
      const now = this.clock.now().getTime();
      if (isExpired(row, now)) {
        this.stmt.purge.run(key, now);
        return undefined;
      }
      return toItem<T>(key, row);
    });
  }

  /** put writes value under key; with expectRevision it checks and writes in one IMMEDIATE transaction. */
  put<T = unknown>(key: string, value: T, opts: PutOptions = {}): Promise<Item<T>> {
    return this.guard(() => {
      const json = serialise(key, value);
      const expires = opts.expires ? opts.expires.getTime() : null;
      const revision = this.putTx.immediate(key, json, opts.expectRevision, expires);
      this.announce({ type: 'put', key, revision });
      const item: Item<T> = { key, value, revision };
      if (opts.expires) item.expires = new Date(expires!);
      return item;
    });
  }

  /** delete removes key and tells whether a live item was there; a revision mismatch throws `conflict`. */
  delete(key: string, opts: { expectRevision?: number } = {}): Promise<boolean> {
    return this.guard(() => {
      const revision = this.deleteTx.immediate(key, opts.expectRevision);
      if (revision > 0) this.announce({ type: 'delete', key, revision });
      return revision > 0;
    });
  }

  /** list returns the unexpired items under prefix, sorted by key, purging expired ones it meets. */
  list<T = unknown>(prefix: string): Promise<Item<T>[]> {
    return this.guard(() => {
      const now = this.clock.now().getTime();
      const out: Item<T>[] = [];
      const expired: string[] = [];
      for (const row of this.stmt.from.iterate(prefix)) {
        if (!row.key.startsWith(prefix)) break;
        if (isExpired(row, now)) expired.push(row.key);
        else out.push(toItem<T>(row.key, row));
      }
      // The connection is busy while iterating, so the purge waits until the scan is done.
      if (expired.length > 0) this.db.transaction(() => expired.forEach((k) => this.stmt.purge.run(k, now)))();
      return out;
    });
  }

  /** indexTarget lets a worker thread open this file to index audit events off the event loop. */
  indexTarget(): { sqlite: { dataDir: string; fileName: string } } {
    return { sqlite: { dataDir: this.dataDir, fileName: basename(this.file) } };
  }

  /**
   * appendEvents stores all events in one transaction, assigning ids that keep their order to
   * events without one; an event whose id is already stored is skipped (idempotent replays).
   */
  appendEvents(events: AuditEvent[], json?: readonly string[]): Promise<void> {
    return this.guard(() => {
      if (events.length === 0) return;
      // json: the events' lines from the write-ahead log, stored as they are (measured: encoding
      // them again was 14 % of the index worker's time).
      this.appendTx.immediate(events.map((e, i) => prepareEvent(e, i, json?.[i] !== undefined && e.id !== undefined ? json[i] : undefined)));
    });
  }

  /** searchEvents filters by type, user, time range and id cursor in SQL, ordered by id. */
  searchEvents(q: EventQuery): Promise<AuditEvent[]> {
    return this.guard(() => {
      const { where, params } = eventFilter(q, true);
      const order = q.order === 'desc' ? 'DESC' : 'ASC';
      const sql = 'SELECT id, data FROM events' + where + ` ORDER BY id ${order} LIMIT ?`;
      const limit = Math.max(0, Math.floor(q.limit ?? DEFAULT_EVENT_LIMIT));
      return this.search(sql).all(...params, limit).map((r) => ({ ...(JSON.parse(r.data) as AuditEvent), id: r.id }));
    });
  }

  /**
   * watch calls onEvent for later writes under prefix. One service owns a SQLite data dir (the
   * data-dir lock) and every write goes through it, so announcing this instance's own writes is
   * complete. Callbacks run asynchronously, as with PostgreSQL.
   */
  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<Watch> {
    const w = { prefix, onEvent };
    this.watchers.add(w);
    return { close: () => void this.watchers.delete(w) };
  }

  private announce(e: WatchEvent & { key: string }): void {
    for (const w of this.watchers) {
      if (e.key.startsWith(w.prefix)) queueMicrotask(() => this.watchers.has(w) && w.onEvent(e));
    }
  }

  /** scanEvents returns up to limit events with ids after afterId, in id order (for copying the log out). */
  scanEvents(afterId: string, limit: number): Promise<(AuditEvent & { id: string })[]> {
    return this.guard(() =>
      this.db
        .prepare<[string, number], EventRow>('SELECT id, data FROM events WHERE id > ? ORDER BY id LIMIT ?')
        .all(afterId, limit)
        .map((r) => ({ ...(JSON.parse(r.data) as AuditEvent), id: r.id })),
    );
  }

  /**
   * check runs SQLite's integrity check and reads everything: a value or event that is not JSON,
   * a revision that is not positive or beyond the counter, or a foreign schema version is a problem.
   */
  check(): Promise<BackendCheck> {
    return this.guard(() => {
      const problems: string[] = [];
      let more = 0;
      const problem = (p: string) => (problems.length < MAX_CHECK_PROBLEMS ? problems.push(p) : more++);
      for (const r of this.db.prepare('PRAGMA integrity_check').pluck().all() as string[]) if (r !== 'ok') problem(`integrity: ${r}`);
      const schemaVersion = (this.db.prepare(`SELECT value FROM meta WHERE name = 'schema_version'`).pluck().get() as number | undefined) ?? 0;
      if (schemaVersion !== SCHEMA_VERSION) problem(`schema version is ${schemaVersion}; this xport expects ${SCHEMA_VERSION}`);
      const revision = (this.db.prepare(`SELECT value FROM meta WHERE name = 'revision'`).pluck().get() as number | undefined) ?? 0;
      let keys = 0;
      for (const r of this.db.prepare<[], KeyedKvRow>('SELECT key, value, revision, expires FROM kv ORDER BY key').iterate()) {
        keys++;
        if (!(r.revision > 0)) problem(`${r.key}: revision ${r.revision} is not positive`);
        else if (r.revision > revision) problem(`${r.key}: revision ${r.revision} is beyond the counter ${revision}`);
        try {
          JSON.parse(r.value);
        } catch (err) {
          problem(`${r.key}: the value is not JSON (${messageOf(err)})`);
        }
      }
      let events = 0;
      for (const r of this.db.prepare<[], EventRow>('SELECT id, data FROM events ORDER BY id').iterate()) {
        events++;
        try {
          JSON.parse(r.data);
        } catch (err) {
          problem(`event ${r.id}: not JSON (${messageOf(err)})`);
        }
      }
      if (more > 0) problems.push(`… and ${more} more problems`);
      return { where: this.file, schemaVersion, expectedSchemaVersion: SCHEMA_VERSION, revision, keys, events, problems };
    });
  }

  /** countEvents counts what searchEvents would find without a limit or cursor. */
  countEvents(q: EventQuery): Promise<number> {
    return this.guard(() => {
      const { where, params } = eventFilter(q, false);
      const row = this.search('SELECT COUNT(*) AS n, NULL AS data FROM events' + where).get(...params) as unknown as { n: number };
      return row.n;
    });
  }

  /** search prepares a query once per distinct SQL text (a handful: one per filter combination). */
  private search(sql: string): Database.Statement<unknown[], EventRow> {
    let stmt = this.searches.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], EventRow>(sql);
      this.searches.set(sql, stmt);
    }
    return stmt;
  }

  /** close closes the database; later calls fail with an `internal` error. Closing twice is fine. */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** eventFilter turns q's filters into a WHERE clause (cursors too when withCursor). */
function eventFilter(q: EventQuery, withCursor: boolean): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const filter = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (q.type) filter('type = ?', q.type);
  if (q.user) filter('user = ?', q.user);
  if (q.since) filter('time >= ?', q.since.toISOString());
  if (q.until) filter('time <= ?', q.until.toISOString());
  if (withCursor && q.afterId) filter('id > ?', q.afterId);
  if (withCursor && q.beforeId) filter('id < ?', q.beforeId);
  return { where: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', params };
}

function modified(key: string) {
  return conflict(`${key} was modified concurrently`, { hint: 'Read it again and retry the change.' });
}
