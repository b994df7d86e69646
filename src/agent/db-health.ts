/**
 * agent/db-health: the agent's own check of each database it serves — a TLS dial that verifies
 * the server's certificate as a session would, then one PING — every {@link HEALTH_INTERVAL_MS},
 * and a database added in between (created, discovered) within {@link NEW_DATABASE_CHECK_MS}.
 * The latest result travels in the heartbeat advert, so `xctl db ls` can say `unhealthy:
 * certificate verify failed` instead of `online` for a database no session can reach.
 *
 * The check presents no client certificate: db_client certificates are issued only for a live
 * session (an agent is trusted no further than its sessions). So a server that completes the
 * handshake and then closes because it requires a client certificate counts as reachable, and any
 * reply to PING counts as healthy (with `user default off` it is `-NOAUTH`): the check proves the
 * network path and the server's certificate, not a user's ACL. Only self-hosted databases are
 * checked; the cloud kinds keep no health (shown as online).
 *
 * A database with `users: managed` is further checked by `managedCheck` (the admin user may run
 * ACL on Redis 6 or later), so a missing `+acl` shows at start rather than at the first session.
 */
import type { UpstreamCredentials } from '../db/credentials.js';
import type { DatabaseSpec } from '../db/database.js';
import { messageOf } from '../errors.js';
import { connectUpstream, SecureContextCache } from '../redis/upstream.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** HEALTH_INTERVAL_MS is how often each database is checked. */
export const HEALTH_INTERVAL_MS = 15_000;
/**
 * NEW_DATABASE_CHECK_MS is how often the agent looks for databases it has not checked yet: one
 * created with `xctl create` shows its health at the next heartbeat, not up to a round later.
 */
export const NEW_DATABASE_CHECK_MS = 1_000;
/** HEALTH_TIMEOUT_MS bounds one check (dial, handshake and the PING reply). */
export const HEALTH_TIMEOUT_MS = 5_000;
const PARALLEL = 8;
const MAX_ERROR = 200;

/** DatabaseHealth is the last check of one database. */
export interface DatabaseHealth {
  ok: boolean;
  /** Why the check failed (absent when ok). */
  error?: string;
  /** When the check finished (ISO-8601). */
  checked: string;
}

/** DatabaseHealthOptions configures {@link DatabaseHealthChecker}. */
export interface DatabaseHealthOptions {
  /** How to verify a database's server certificate (no client certificate). */
  serverTls: (db: DatabaseSpec) => UpstreamCredentials['tls'];
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  /** How often to look for databases not checked yet (default {@link NEW_DATABASE_CHECK_MS}). */
  newDatabaseMs?: number;
  timeoutMs?: number;
  /** Runs after a good PING for databases with `users: managed`; a throw makes the database unhealthy. */
  managedCheck?: (db: DatabaseSpec) => Promise<void>;
}

/** DatabaseHealthChecker checks the databases returned by `databases()` until stop(). */
export class DatabaseHealthChecker {
  readonly #o: DatabaseHealthOptions;
  readonly #results = new Map<string, DatabaseHealth>();
  readonly #contexts = new SecureContextCache();
  #timer: NodeJS.Timeout | undefined;
  #newTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #checkingNew: Promise<void> | undefined;
  #stopped = false;

  constructor(o: DatabaseHealthOptions) {
    this.#o = o;
  }

  /** start checks now and then every interval. */
  start(databases: () => DatabaseSpec[]): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.checkAll(databases()).finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs ?? HEALTH_INTERVAL_MS).unref();
      });
    };
    tick();
    // Between rounds, a database without a result yet (just created or discovered) is checked on
    // its own; the full round, when one is running, covers it anyway.
    this.#newTimer = setInterval(() => {
      if (this.#stopped || this.#running || this.#checkingNew) return;
      const unchecked = databases().filter((d) => d.type === 'self-hosted' && !this.#results.has(d.name));
      if (unchecked.length === 0) return;
      this.#checkingNew = this.#checkEach(unchecked).finally(() => (this.#checkingNew = undefined));
    }, this.#o.newDatabaseMs ?? NEW_DATABASE_CHECK_MS);
    this.#newTimer.unref();
  }

  /** health returns the last result for a database, if it was checked. */
  health(name: string): DatabaseHealth | undefined {
    return this.#results.get(name);
  }

  /** checkAll checks every self-hosted database, a few at a time, and forgets databases no longer served. */
  async checkAll(dbs: readonly DatabaseSpec[]): Promise<void> {
    const names = new Set(dbs.map((d) => d.name));
    for (const name of this.#results.keys()) if (!names.has(name)) this.#results.delete(name);
    await this.#checkEach(dbs.filter((d) => d.type === 'self-hosted'));
  }

  /** #checkEach checks dbs, a few at a time. */
  async #checkEach(todo: readonly DatabaseSpec[]): Promise<void> {
    for (let i = 0; i < todo.length && !this.#stopped; i += PARALLEL) {
      await Promise.all(todo.slice(i, i + PARALLEL).map((d) => this.#check(d)));
    }
  }

  async #check(db: DatabaseSpec): Promise<void> {
    let result: DatabaseHealth;
    try {
      await ping(db, { tls: this.#o.serverTls(db) }, this.#contexts, this.#o.timeoutMs ?? HEALTH_TIMEOUT_MS);
      if (db.users === 'managed' && this.#o.managedCheck) await withTimeout(this.#o.managedCheck(db), this.#o.timeoutMs ?? HEALTH_TIMEOUT_MS, 'the managed-users check');
      result = { ok: true, checked: this.#o.clock.now().toISOString() };
    } catch (err) {
      result = { ok: false, error: messageOf(err).slice(0, MAX_ERROR), checked: this.#o.clock.now().toISOString() };
    }
    const before = this.#results.get(db.name);
    if (before?.ok !== result.ok || before.error !== result.error) {
      if (result.ok) this.#o.log.info('database is reachable', { database: db.name });
      else this.#o.log.warn('database health check failed', { database: db.name, err: result.error });
    }
    this.#results.set(db.name, result);
  }

  /** stop ends the checks (a check in flight finishes on its own within the timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#newTimer) clearInterval(this.#newTimer);
    await Promise.all([this.#running, this.#checkingNew]);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** ping dials db and waits for the first reply byte to `PING`. */
async function ping(db: DatabaseSpec, creds: UpstreamCredentials, contexts: SecureContextCache, timeoutMs: number): Promise<void> {
  const socket = await connectUpstream(db, creds, { contexts, timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to PING within ${timeoutMs} ms`)), timeoutMs);
      socket.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      // A server with `tls-auth-clients yes` asks for a client certificate and, under TLS 1.3,
      // closes after the handshake when none comes: it is there and its certificate verified.
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        if (/certificate required|alert number 116|ECONNRESET/i.test(err.message)) resolve();
        else reject(err);
      });
      socket.write('PING\r\n');
    });
  } finally {
    socket.destroy();
  }
}
