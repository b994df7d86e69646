/**
 * service/managed-users: self-hosted Redis with `users: managed` — the agent owns the Redis ACL
 * user of every db user it serves, so nobody types (or keeps) a Redis password.
 *
 * For a session as db user U the provider:
 *  - gets the session's db_client certificate (the self-hosted provider: mTLS as before);
 *  - makes sure Redis has `ACL SETUSER U on >current [>previous] [<retired] <rules>`, the rules derived
 *    from the session's roles (`AccessChecker.redisAclRules`), with the database's admin
 *    credential over the same mTLS path; on every node of a cluster, and on nodes that join
 *    later (a node dialled late asks for credentials, which re-lists the nodes);
 *  - returns U and the current password with `localAuth`, so the engine authenticates as U and
 *    answers the client's own `AUTH U …` itself.
 *
 * Passwords are random, held only in this process, and rotated every `password_rotation`
 * (default 1h): the new one is added and the previous one kept until the next rotation, so live
 * connections re-authenticate (before `expiresAt`) without a window where neither works.
 * Users no longer allowed are disabled (`ACL SETUSER U off`), never deleted.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { badParameter, connectionProblem, messageOf } from '../errors.js';
import type { CredentialOptions, CredentialProvider, SessionProof, UpstreamCredentials } from '../db/credentials.js';
import type { DatabaseSpec } from '../db/database.js';
import { command as encodeCommand } from '../redis/resp/encode.js';
import { decodeValue } from '../redis/resp/value.js';
import { connectUpstream, runSetup, SecureContextCache } from '../redis/upstream.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { parseDuration } from '../util/duration.js';
import { writeSecretFile } from '../util/fs.js';
import { generateKeyPair } from '../pki/index.js';
import { readdir, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabaseConfig } from './config.js';

/** DEFAULT_ROTATION_MS is how often a managed user's password changes when the config says nothing. */
export const DEFAULT_ROTATION_MS = 3_600_000;
/** How long a cluster's node list is trusted before a credentials request re-lists it. */
const NODE_LIST_MS = 1_000;

/**
 * ManagedAdmin is a database's admin credential: a password read once at start from
 * `admin.password_file`, or the name of a secret (`admin.password_secret`) the auth service
 * decrypts for this agent when it needs it.
 */
export interface ManagedAdmin {
  user: string;
  password?: string;
  secret?: string;
  rotationMs: number;
}

/** ADMIN_SECRET_CACHE_MS is how long a secret's plaintext is reused before it is asked for again. */
export const ADMIN_SECRET_CACHE_MS = 5 * 60_000;
/** MIN_ACL_VERSION is the first Redis with ACL users. */
const MIN_ACL_MAJOR = 6;

/**
 * AdminAccess is how the agent reaches a managed database outside any session: the secret and
 * admin certificate from the auth service, and the TLS settings that verify the server.
 */
export interface AdminAccess {
  fetch(req: { secret: string; database: string; publicKeyPem: string }): Promise<{ password: string; certPem: string; notAfter: Date }>;
  serverTls(db: DatabaseSpec): UpstreamCredentials['tls'];
}

interface AdminCred {
  password: string;
  /** The admin certificate (secret-based admins only). */
  tls?: UpstreamCredentials['tls'];
  fetchedAt: number;
  notAfter: number;
}

/** ManagedUserInfo is what `xctl db users ls` shows about one managed user (no password). */
export interface ManagedUserInfo {
  database: string;
  dbUser: string;
  acl: string;
  rotatedAt: string;
  nodes: number;
  enabled: boolean;
}

interface UserState {
  current: string;
  previous: string | undefined;
  rotatedAt: number;
  /** The rules as last derived (without passwords). */
  rules: readonly string[] | null;
  /** Per node address, what it has: the password generation and the rules. */
  synced: Map<string, string>;
  /**
   * Per node, the passwords this process put there. Later writes add ours and remove only ours
   * (`>new <retired`) rather than resetting every password, so another agent serving the same
   * database keeps its own; the first write of a process resets them (`resetpass`), dropping
   * passwords of an earlier run that nobody knows any more.
   */
  nodePasswords: Map<string, Set<string>>;
  generation: number;
  nodes: { list: Array<{ host: string; port: number }>; at: number } | undefined;
  busy: Promise<void>;
  /** When the ACL user was last written to Redis (ms), and what reached Redis with (for `sync`). */
  syncedAt: number;
  last: { db: DatabaseSpec; creds: UpstreamCredentials; session: SessionProof | undefined } | undefined;
}

/** MANAGED_STATE_FILE is where the agent records its managed users (no passwords) for `xctl db users ls`. */
export const MANAGED_STATE_FILE = 'managed-users.json';
/** MANAGED_SYNC_DIR holds `xctl db users sync DB` requests (one empty file per database). */
export const MANAGED_SYNC_DIR = 'managed-users.sync';

/** ManagedAuditEmit records an ACL change against the session that caused it. */
export type ManagedAuditEmit = (event: { type: string; sid: string; [k: string]: unknown }, session: SessionProof) => void;

/**
 * readManagedAdmins reads the admin credential of every `users: managed` database in the config.
 * The password file must be readable only by the agent (mode 0600 or stricter): a world-readable
 * Redis admin password would defeat the point.
 */
export function readManagedAdmins(databases: readonly DatabaseConfig[]): Map<string, ManagedAdmin> {
  const out = new Map<string, ManagedAdmin>();
  for (const d of databases) {
    if (d.users !== 'managed') continue;
    if (!d.admin) {
      throw badParameter(`database "${d.name}": users: managed needs an admin credential`, {
        hint: 'Add admin: { user: xport-admin, password_file: /etc/xport/redis-admin.pw } — a Redis ACL user with +acl (and the commands the roles grant), its password in a file only the agent can read.',
      });
    }
    if (d.admin.password_secret !== undefined) {
      out.set(d.name, { user: d.admin.user, secret: d.admin.password_secret, rotationMs: d.password_rotation ? parseDuration(d.password_rotation) : DEFAULT_ROTATION_MS });
      continue;
    }
    const file = d.admin.password_file!;
    let password: string;
    try {
      const st = statSync(file);
      if ((st.mode & 0o077) !== 0) {
        throw badParameter(`database "${d.name}": admin.password_file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, {
          hint: `Run: chmod 600 ${file}`,
        });
      }
      password = readFileSync(file, 'utf8').trim();
    } catch (err) {
      if ((err as { kind?: string }).kind !== undefined) throw err;
      throw badParameter(`database "${d.name}": cannot read admin.password_file ${file} (${(err as NodeJS.ErrnoException).code ?? messageOf(err)})`);
    }
    if (password === '') throw badParameter(`database "${d.name}": admin.password_file ${file} is empty`);
    out.set(d.name, {
      user: d.admin.user,
      password,
      rotationMs: d.password_rotation ? parseDuration(d.password_rotation) : DEFAULT_ROTATION_MS,
    });
  }
  return out;
}

/** ManagedUsers wraps the self-hosted provider for databases with `users: managed`. */
export class ManagedUsers implements CredentialProvider {
  readonly #state = new Map<string, UserState>();
  readonly #contexts = new SecureContextCache();

  constructor(
    /** The self-hosted provider whose db_client certificates reach Redis. */
    readonly inner: CredentialProvider,
    private readonly admins: ReadonlyMap<string, ManagedAdmin>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly audit?: ManagedAuditEmit,
    /** The agent's data dir: the state file and sync requests live there. */
    private readonly dataDir?: string,
    /** Secrets and admin certificates from the auth service (needed for `password_secret`). */
    private readonly access?: AdminAccess,
  ) {}

  /** Admin credentials per database (secret-based ones cached for {@link ADMIN_SECRET_CACHE_MS}). */
  readonly #creds = new Map<string, Promise<AdminCred>>();
  /** Per database, the admin password whose +acl probe passed. */
  readonly #checked = new Map<string, string>();
  /** Per database, why its admin credential cannot manage users (shown as the database's health). */
  readonly #problems = new Map<string, string>();

  #timer: NodeJS.Timeout | undefined;
  /**
   * The users this agent created (in this run, or in an earlier one: read back from its state
   * file). Any other user that already exists in Redis is never taken over: its password and rules
   * would be replaced, so a role granting `db_users: ['*']` could break a service account such as
   * a cluster's `replicator`.
   */
  #known: Set<string> | undefined;

  #knownUsers(): Set<string> {
    if (this.#known) return this.#known;
    this.#known = new Set();
    if (this.dataDir) {
      try {
        for (const r of JSON.parse(readFileSync(join(this.dataDir, MANAGED_STATE_FILE), 'utf8')) as ManagedUserInfo[]) this.#known.add(`${r.database}|${r.dbUser}`);
      } catch {
        // No state yet: nothing was created.
      }
    }
    return this.#known;
  }

  /**
   * watchSyncRequests serves `xctl db users sync DB` on the agent's host: a request is a file in
   * the data dir (written by xctl, which runs there as the same user), checked every second.
   */
  watchSyncRequests(): void {
    if (!this.dataDir || this.#timer) return;
    const dir = join(this.dataDir, MANAGED_SYNC_DIR);
    this.#timer = setInterval(() => {
      void (async () => {
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          return;
        }
        for (const name of names) {
          await rm(join(dir, name), { force: true });
          await this.resync(name).catch((err) => this.log.warn('managed users sync failed', { database: name, err: messageOf(err) }));
        }
      })();
    }, 1_000);
    this.#timer.unref();
  }

  /** stop ends {@link watchSyncRequests}. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** resync writes every known managed user of a database to Redis again (all nodes re-listed). */
  async resync(database: string): Promise<void> {
    for (const [key, st] of this.#state) {
      if (!key.startsWith(`${database}|`) || !st.last) continue;
      const { db, creds, session } = st.last;
      st.synced.clear();
      await this.#serial(st, () => this.#ensure(db, key.slice(database.length + 1), this.#admin(db), st, st.rules, creds, session, true));
    }
    await this.#persist();
  }

  async #persist(): Promise<void> {
    if (!this.dataDir) return;
    const rows = this.users().map((u) => ({ ...u, syncedAt: new Date(this.#state.get(`${u.database}|${u.dbUser}`)!.syncedAt).toISOString() }));
    try {
      await mkdir(this.dataDir, { recursive: true });
      await writeSecretFile(join(this.dataDir, MANAGED_STATE_FILE), JSON.stringify(rows, null, 2) + '\n');
    } catch (err) {
      this.log.warn('could not record managed users', { err: messageOf(err) });
    }
  }

  async credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials> {
    const creds = await this.inner.credentials(db, dbUser, opts);
    if (db.users !== 'managed') return creds;
    const admin = this.#admin(db);
    if (dbUser === 'default' || dbUser === admin.user) {
      throw badParameter(`db user "${dbUser}" cannot be a managed user of database "${db.name}"`, {
        hint: 'Connect as your own db user: xsh db connect DB --db-user NAME (the agent creates it in Redis).',
      });
    }
    if (!opts.aclRules) throw badParameter(`database "${db.name}" manages its users, but this session carries no roles to derive them from`);
    const rules = opts.aclRules();
    // Redis ≥ 6 and an admin that may run ACL: known from the check at start, else proven now
    // over the session's own certificate (a server that wants client certificates lets the
    // agent in only with one, and those exist only for sessions).
    await this.#checkOnce(db, admin, creds.tls);
    const st = this.#stateFor(db, dbUser);
    await this.#serial(st, () => this.#ensure(db, dbUser, admin, st, rules, creds, opts.session));
    // The previous password stays valid until the next rotation, 0.8 periods later at the soonest.
    const rotateAt = st.rotatedAt + admin.rotationMs;
    const expiresAt = creds.expiresAt && creds.expiresAt.getTime() < rotateAt ? creds.expiresAt : new Date(rotateAt);
    return { ...creds, username: dbUser, password: st.current, localAuth: true, expiresAt };
  }

  invalidate(db: DatabaseSpec, dbUser: string): void {
    this.inner.invalidate?.(db, dbUser);
    // Redis refused our password (someone changed the user behind our back): set it again.
    this.#state.get(`${db.name}|${dbUser}`)?.synced.clear();
  }

  /**
   * sync applies new rules for a db user of a live session (a role changed), or disables the user
   * (rules null: no longer allowed). creds carry the mTLS certificate that reaches Redis.
   */
  async sync(db: DatabaseSpec, dbUser: string, rules: readonly string[] | null, creds: UpstreamCredentials, session?: SessionProof): Promise<void> {
    if (db.users !== 'managed') return;
    const admin = this.#admin(db);
    const st = this.#stateFor(db, dbUser);
    await this.#serial(st, () => this.#ensure(db, dbUser, admin, st, rules, creds, session, true));
  }

  /** users lists the managed users this agent holds (for `xctl db users ls`). */
  users(database?: string): ManagedUserInfo[] {
    const out: ManagedUserInfo[] = [];
    for (const [key, st] of this.#state) {
      const i = key.indexOf('|');
      const db = key.slice(0, i);
      if (database !== undefined && db !== database) continue;
      out.push({
        database: db,
        dbUser: key.slice(i + 1),
        acl: st.rules === null ? 'off' : ['on', '>…', ...(st.rules ?? [])].join(' '),
        rotatedAt: new Date(st.rotatedAt).toISOString(),
        nodes: st.synced.size,
        enabled: st.rules !== null,
      });
    }
    return out.sort((a, b) => (a.database + a.dbUser < b.database + b.dbUser ? -1 : 1));
  }

  /**
   * check proves, outside any session, that a managed database can be managed: Redis 6 or later,
   * and an admin user that may run ACL commands. The health check calls it when the agent starts
   * serving the database and every interval after, so a missing `+acl` shows in `xctl db ls` and
   * the agent's log before anyone connects. A password_file admin on a server that requires client
   * certificates cannot be checked without a session; its last session-time result stands.
   */
  async check(db: DatabaseSpec): Promise<void> {
    if (db.users !== 'managed') return;
    const admin = this.#admin(db);
    try {
      let tls: UpstreamCredentials['tls'] | undefined;
      if (admin.secret !== undefined) {
        // A failed fetch is not cached, so a secret set since then is found at the next check.
        try {
          tls = (await this.#adminCred(db, admin)).tls;
        } catch (err) {
          // The first check may run before the agent's tunnel is up; the auth service gives
          // secrets only to connected agents. That is no verdict on the database.
          if (/is not connected to the proxy/.test(messageOf(err)) && !this.#problems.has(db.name)) return;
          throw err;
        }
      } else if (this.access) {
        tls = this.access.serverTls(db);
      }
      if (!tls) return;
      if (await this.#probe(db, admin, tls, admin.secret === undefined)) return;
    } catch (err) {
      this.#problems.set(db.name, messageOf(err));
      throw err;
    }
    // No verdict without a session: what the last session found stands.
    const problem = this.#problems.get(db.name);
    if (problem !== undefined) throw badParameter(problem);
  }

  /** #checkOnce runs the probe for a session unless this admin password already passed it. */
  async #checkOnce(db: DatabaseSpec, admin: ManagedAdmin, tls: UpstreamCredentials['tls']): Promise<void> {
    const { password } = await this.#adminCred(db, admin);
    if (this.#checked.get(db.name) === password) return;
    try {
      await this.#probe(db, admin, tls, false);
    } catch (err) {
      this.#checked.delete(db.name);
      // Only a verdict on the database outlives this session (Redis being down is not one).
      if ((err as { kind?: string }).kind === 'bad-parameter') this.#problems.set(db.name, messageOf(err));
      throw err;
    }
  }

  /**
   * #probe asks, as the admin: `INFO server` (the version: ACL users need Redis 6), then `ACL
   * GETUSER <admin>` and, on Redis 7, `ACL DRYRUN <admin> ACL SETUSER …` — the commands managed
   * users need, without changing anything. `lenient` (no client certificate offered): a server
   * that hangs up for want of one is not a verdict.
   */
  async #probe(db: DatabaseSpec, admin: ManagedAdmin, tls: UpstreamCredentials['tls'], lenient: boolean): Promise<boolean> {
    const { password } = await this.#adminCred(db, admin);
    let socket;
    let replies;
    try {
      socket = await connectUpstream(db, { tls }, { contexts: this.#contexts });
      ({ replies } = await runSetup(socket, [
        encodeCommand(['AUTH', admin.user, password]),
        encodeCommand(['INFO', 'server']),
        encodeCommand(['ACL', 'GETUSER', admin.user]),
        encodeCommand(['ACL', 'DRYRUN', admin.user, 'ACL', 'SETUSER', 'xport-probe', 'on']),
      ]));
    } catch (err) {
      socket?.destroy();
      if (lenient) return false;
      throw err;
    }
    socket.destroy();
    const text = (i: number) => replies[i]!.raw.toString('utf8', 1).trim();
    const info = replies[1]!.isError ? undefined : String(decodeValue(replies[1]!.raw));
    const version = info !== undefined ? /^redis_version:(\S+)/m.exec(info)?.[1] : undefined;
    if (version !== undefined && Number(version.split('.')[0]) < MIN_ACL_MAJOR) throw noAclRedis(db, `Redis ${version}`);
    if (replies[0]!.isError) {
      if (/wrong number of arguments/i.test(text(0))) throw noAclRedis(db, 'this Redis (AUTH takes no user name)');
      this.#creds.delete(db.name);
      throw badParameter(`database "${db.name}": Redis refused the admin credential of user "${admin.user}": ${text(0)}`, {
        hint: admin.secret !== undefined ? `Check admin.user, and set the password again: xctl db secret set ${admin.secret} --password-stdin` : 'Check admin.user and admin.password_file of the database.',
      });
    }
    if (replies[2]!.isError) {
      if (/unknown command/i.test(text(2))) throw noAclRedis(db, 'this Redis (no ACL command)');
      if (/NOPERM/i.test(text(2))) throw lacksAcl(db, admin, text(2));
      throw badParameter(`database "${db.name}": ACL GETUSER ${admin.user} failed: ${text(2)}`);
    }
    // Redis 6 has no ACL DRYRUN (an error here); Redis 7 answers OK or says which permission is missing.
    const dry = replies[3]!;
    if (dry.isError && /NOPERM/i.test(text(3))) throw lacksAcl(db, admin, text(3));
    if (!dry.isError) {
      const v = decodeValue(dry.raw);
      const said = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
      if (said !== 'OK') throw lacksAcl(db, admin, said);
    }
    this.#checked.set(db.name, password);
    this.#problems.delete(db.name);
    return true;
  }

  /**
   * #adminCred returns the admin password (and for a secret, the admin certificate), asking the
   * auth service for a secret when none is cached, the cache is old, or `fresh` says so. A new
   * password means a new credential: its +acl probe runs again.
   */
  #adminCred(db: DatabaseSpec, admin: ManagedAdmin, fresh = false): Promise<AdminCred> {
    // Failed fetches are not cached (the next call asks again); a credential Redis refused is dropped.
    if (admin.secret === undefined) return Promise.resolve({ password: admin.password!, fetchedAt: 0, notAfter: Infinity });
    const now = this.clock.now().getTime();
    const cached = this.#creds.get(db.name);
    const p = cached && !fresh ? cached : undefined;
    if (p) {
      return p.then((c) => (now - c.fetchedAt < ADMIN_SECRET_CACHE_MS && c.notAfter - now > 120_000 ? c : this.#adminCred(db, admin, true)));
    }
    const access = this.access;
    if (!access) return Promise.reject(badParameter(`database "${db.name}": admin.password_secret needs the auth service, which this agent cannot reach`));
    const secret = admin.secret;
    const next = (async (): Promise<AdminCred> => {
      const kp = generateKeyPair('ecdsa-p256');
      let r;
      try {
        r = await access.fetch({ secret, database: db.name, publicKeyPem: kp.publicKeyPem });
      } catch (err) {
        throw badParameter(`database "${db.name}": cannot get admin.password_secret "${secret}" from the auth service: ${messageOf(err)}`, {
          hint: `Set it on the auth host for this database: xctl db secret set ${secret} --db ${db.name} --password-stdin`,
        });
      }
      return { password: r.password, tls: { ...access.serverTls(db), certPem: r.certPem, keyPem: kp.privateKeyPem }, fetchedAt: this.clock.now().getTime(), notAfter: r.notAfter.getTime() };
    })();
    this.#creds.set(db.name, next);
    next.catch(() => {
      if (this.#creds.get(db.name) === next) this.#creds.delete(db.name);
    });
    return next;
  }

  #admin(db: DatabaseSpec): ManagedAdmin {
    const a = this.admins.get(db.name);
    if (!a) throw badParameter(`database "${db.name}" has users: managed but no admin credential on this agent`);
    return a;
  }

  #stateFor(db: DatabaseSpec, dbUser: string): UserState {
    const key = `${db.name}|${dbUser}`;
    let st = this.#state.get(key);
    if (!st) {
      st = { current: newPassword(), previous: undefined, rotatedAt: this.clock.now().getTime(), rules: [], synced: new Map(), nodePasswords: new Map(), generation: 0, nodes: undefined, busy: Promise.resolve(), syncedAt: 0, last: undefined };
      this.#state.set(key, st);
    }
    return st;
  }

  /** One change at a time per user: SETUSER lines from two sessions must not interleave. */
  #serial(st: UserState, fn: () => Promise<void>): Promise<void> {
    const run = st.busy.then(fn, fn);
    st.busy = run.catch(() => undefined);
    return run;
  }

  async #ensure(db: DatabaseSpec, dbUser: string, admin: ManagedAdmin, st: UserState, rules: readonly string[] | null, creds: UpstreamCredentials, session: SessionProof | undefined, forced = false): Promise<void> {
    const now = this.clock.now().getTime();
    st.last = { db, creds, session };
    let why: string | undefined;
    // Rotate a little before the period ends: live connections re-authenticate shortly before
    // `expiresAt` (the end of the period) and must find the new password by then; the previous
    // one stays valid until the next rotation, so no connection is left without a working one.
    if (now - st.rotatedAt >= admin.rotationMs * 0.8) {
      st.previous = st.current;
      st.current = newPassword();
      st.rotatedAt = now;
      st.generation++;
      why = 'rotate';
    }
    const rulesChanged = (rules === null) !== (st.rules === null) || (rules ?? []).join(' ') !== (st.rules ?? []).join(' ');
    if (rulesChanged) why ??= rules === null ? 'disable' : st.synced.size === 0 ? 'create' : 'update';
    st.rules = rules;
    // rules set every command (they start with +@all or -@all), key and channel permission.
    const mine = [st.current, ...(st.previous ? [st.previous] : [])];
    const lineFor = (addr: string, fresh: boolean): string[] => {
      if (rules === null) return ['off'];
      const had = fresh ? undefined : st.nodePasswords.get(addr);
      const pw = had === undefined
        ? ['resetpass', ...mine.map((p) => `>${p}`)]
        : [...mine.map((p) => `>${p}`), ...[...had].filter((p) => !mine.includes(p)).map((p) => `<${p}`)];
      return ['on', ...pw, ...rules];
    };
    const stamp = `${st.generation}|${rules === null ? 'off' : rules.join(' ')}`;
    const nodes = await this.#nodes(db, admin, st, creds, forced);
    let applied = 0;
    const key = `${db.name}|${dbUser}`;
    for (const n of nodes) {
      const addr = `${n.host}:${n.port}`;
      if (st.synced.get(addr) === stamp) continue;
      if (!this.#knownUsers().has(key) && rules !== null) {
        const existing = await this.#admin1(db, n, admin, creds, ['ACL', 'GETUSER', dbUser]);
        if (existing !== null && existing !== undefined) {
          throw badParameter(`db user "${dbUser}" already exists in the Redis ACL of database "${db.name}" and was not created by xport: refusing to take it over`, {
            hint: 'Connect as another db user, or delete the Redis user first (ACL DELUSER) if xport should manage it.',
          });
        }
      }
      try {
        await this.#setUser(db, n, admin, creds, dbUser, lineFor(addr, false));
      } catch (err) {
        // A password of ours was removed behind our back (`<p` fails): start this node afresh.
        if (!st.nodePasswords.has(addr)) throw err;
        await this.#setUser(db, n, admin, creds, dbUser, lineFor(addr, true));
      }
      if (rules !== null) st.nodePasswords.set(addr, new Set(mine));
      this.#knownUsers().add(key);
      st.synced.set(addr, stamp);
      applied++;
    }
    if (applied > 0) {
      st.syncedAt = now;
      void this.#persist();
    }
    if (applied > 0 && session) {
      why ??= 'sync';
      this.log.info('managed ACL user synced', { database: db.name, db_user: dbUser, action: why, nodes: applied });
      this.audit?.({ type: 'db.session.acl', sid: session.id, success: true, db_service: db.name, db_user: dbUser, action: why, acl: rules === null ? 'off' : rules.join(' '), nodes: applied }, session);
    }
  }

  /** #nodes lists where the user must exist: the database itself, or every node of a cluster. */
  async #nodes(db: DatabaseSpec, admin: ManagedAdmin, st: UserState, creds: UpstreamCredentials, forced: boolean): Promise<Array<{ host: string; port: number }>> {
    if (db.mode !== 'cluster') return [{ host: db.host, port: db.port }];
    const now = this.clock.now().getTime();
    if (!forced && st.nodes && now - st.nodes.at < NODE_LIST_MS) return st.nodes.list;
    const reply = await this.#admin1(db, { host: db.host, port: db.port }, admin, creds, ['CLUSTER', 'NODES']);
    const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);
    const list: Array<{ host: string; port: number }> = [];
    for (const row of text.split('\n')) {
      const f = row.trim().split(' ');
      if (f.length < 3) continue;
      const flags = f[2]!;
      if (/noaddr|handshake|fail/.test(flags)) continue;
      const m = /^(.*):(\d+)@/.exec(f[1]!);
      if (!m || m[1] === '') continue;
      list.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
    }
    if (list.length === 0) list.push({ host: db.host, port: db.port });
    st.nodes = { list, at: now };
    return list;
  }

  async #setUser(db: DatabaseSpec, node: { host: string; port: number }, admin: ManagedAdmin, creds: UpstreamCredentials, dbUser: string, line: readonly string[]): Promise<void> {
    await this.#admin1(db, node, admin, creds, ['ACL', 'SETUSER', dbUser, ...line]);
  }

  /** #admin1 runs one command as the admin user on one node and returns its decoded reply. */
  async #admin1(db: DatabaseSpec, node: { host: string; port: number }, admin: ManagedAdmin, creds: UpstreamCredentials, args: readonly string[]): Promise<unknown> {
    const target: DatabaseSpec = { ...db, host: node.host, port: node.port };
    const { password } = await this.#adminCred(db, admin);
    const socket = await connectUpstream(target, { tls: creds.tls }, { contexts: this.#contexts });
    try {
      const { replies } = await runSetup(socket, [encodeCommand(['AUTH', admin.user, password]), encodeCommand(args)]);
      const auth = replies[0]!;
      if (auth.isError) {
        const msg = auth.raw.toString('utf8', 1).trim();
        if (/wrong number of arguments/i.test(msg)) throw noAclRedis(db, 'this Redis (AUTH takes no user name)');
        // A secret may have been set anew since it was cached: ask again next time.
        this.#creds.delete(db.name);
        this.#checked.delete(db.name);
        throw connectionProblem(`database "${db.name}": Redis refused the admin credential of user "${admin.user}": ${msg}`, { hint: 'Check admin.user and admin.password_file (or admin.password_secret) of the database.' });
      }
      const r = replies[1]!;
      if (r.isError) {
        const msg = r.raw.toString('utf8', 1).trim();
        if (/NOPERM/i.test(msg) && args[0] === 'ACL') throw lacksAcl(db, admin, msg);
        if (/unknown command/i.test(msg) && args[0] === 'ACL') throw noAclRedis(db, 'this Redis (no ACL command)');
        throw badParameter(`database "${db.name}": Redis refused ${args.slice(0, 2).join(' ')} for a managed user: ${msg}`, { hint: 'The roles\' redis_commands, redis_keys or redis_channels may name something this Redis does not know.' });
      }
      return decodeValue(r.raw);
    } finally {
      socket.destroy();
    }
  }
}

/** noAclRedis is the refusal of managed mode on a Redis without ACL users. */
function noAclRedis(db: DatabaseSpec, what: string): Error {
  return badParameter(`database "${db.name}": ${what} has no ACL users: users: managed needs Redis 6 or later (users: passthrough works with this Redis)`, {
    hint: 'Upgrade Redis to 6 or later, or set users: passthrough on the database (users then authenticate with their own Redis password).',
  });
}

/** lacksAcl names the permission the admin user is missing. */
function lacksAcl(db: DatabaseSpec, admin: ManagedAdmin, said: string): Error {
  return badParameter(`database "${db.name}": admin user "${admin.user}" lacks the +acl permission (Redis said: ${said.slice(0, 200)})`, { hint: `Grant it: ACL SETUSER ${admin.user} +acl` });
}

function newPassword(): string {
  return randomBytes(32).toString('base64url');
}
