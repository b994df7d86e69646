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
import { readdir, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabaseConfig } from './config.js';

/** DEFAULT_ROTATION_MS is how often a managed user's password changes when the config says nothing. */
export const DEFAULT_ROTATION_MS = 3_600_000;
/** How long a cluster's node list is trusted before a credentials request re-lists it. */
const NODE_LIST_MS = 1_000;

/** ManagedAdmin is a database's admin credential, read once at start. */
export interface ManagedAdmin {
  user: string;
  password: string;
  rotationMs: number;
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
    let password: string;
    try {
      const st = statSync(d.admin.password_file);
      if ((st.mode & 0o077) !== 0) {
        throw badParameter(`database "${d.name}": admin.password_file ${d.admin.password_file} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, {
          hint: `Run: chmod 600 ${d.admin.password_file}`,
        });
      }
      password = readFileSync(d.admin.password_file, 'utf8').trim();
    } catch (err) {
      if ((err as { kind?: string }).kind !== undefined) throw err;
      throw badParameter(`database "${d.name}": cannot read admin.password_file ${d.admin.password_file} (${(err as NodeJS.ErrnoException).code ?? messageOf(err)})`);
    }
    if (password === '') throw badParameter(`database "${d.name}": admin.password_file ${d.admin.password_file} is empty`);
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
  ) {}

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
    const socket = await connectUpstream(target, { tls: creds.tls }, { contexts: this.#contexts });
    try {
      const { replies } = await runSetup(socket, [encodeCommand(['AUTH', admin.user, admin.password]), encodeCommand(args)]);
      const auth = replies[0]!;
      if (auth.isError) {
        const msg = auth.raw.toString('utf8', 1).trim();
        if (/wrong number of arguments/i.test(msg)) throw badParameter(`database "${db.name}" runs a Redis without ACLs (before 6.0): managed users need Redis 6 or later`, { hint: 'Upgrade Redis, or set users: passthrough on the database.' });
        throw connectionProblem(`database "${db.name}": Redis refused the admin credential of user "${admin.user}": ${msg}`, { hint: 'Check admin.user and admin.password_file of the database.' });
      }
      const r = replies[1]!;
      if (r.isError) {
        const msg = r.raw.toString('utf8', 1).trim();
        if (/NOPERM/i.test(msg) && args[0] === 'ACL') {
          throw badParameter(`database "${db.name}": admin user "${admin.user}" lacks the +acl permission (Redis said: ${msg})`, { hint: `Grant it: ACL SETUSER ${admin.user} +acl` });
        }
        if (/unknown command/i.test(msg) && args[0] === 'ACL') throw badParameter(`database "${db.name}" runs a Redis without ACLs (before 6.0): managed users need Redis 6 or later`, { hint: 'Upgrade Redis, or set users: passthrough on the database.' });
        throw badParameter(`database "${db.name}": Redis refused ${args.slice(0, 2).join(' ')} for a managed user: ${msg}`, { hint: 'The roles\' redis_commands, redis_keys or redis_channels may name something this Redis does not know.' });
      }
      return decodeValue(r.raw);
    } finally {
      socket.destroy();
    }
  }
}

function newPassword(): string {
  return randomBytes(32).toString('base64url');
}
