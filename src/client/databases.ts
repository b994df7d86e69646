/**
 * client/databases: the databases a user may reach, and database logins — certificates routed to
 * one database (`xsh db login`), stored in the profile like tsh does:
 *
 *   ~/.xsh/keys/<proxy>/<user>-db/<cluster>/<db>.crt    the routed certificate
 *   ~/.xsh/keys/<proxy>/<user>-db/<cluster>/<db>.yaml   { db_user, db_name, expires }
 *
 * A routed certificate is issued for the public key of the key the login already holds, so no new
 * private key exists and nothing secret travels. Sessions from an identity file (CI) keep routed
 * certificates in memory only: nothing is written next to a file the job was handed.
 *
 * Also here: {@link routedDialer}, which dials the proxy with a routed certificate and renews it
 * shortly before it expires; the local tunnel calls it once per client connection.
 *
 * Must not import cli, service, proxy, auth or store.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { badParameter, connectionProblem, notFound } from '../errors.js';
import { certificateInfo } from '../pki/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { ALPN_REDIS_MUX } from './constants.js';
import { profileName, type ProfileStore } from './profile.js';
import type { ClientSession } from './session.js';
import { createDialContext, dialProxy } from './tls.js';
import type { Duplex } from 'node:stream';
import { Mux } from '../mux/index.js';
import type { DatabaseSummary } from '../db/database.js';

/** ListedDatabase is one database as `GET /v1/databases` describes it to a user (already RBAC-filtered). */
export interface ListedDatabase extends DatabaseSummary {
  /** Formatted by the server like tsh: `[alice default]`, `[*], except: [admin]`, `(none)`. */
  allowed_users: string;
  /** The allowed db user patterns as a list (the JSON contract of `xsh db ls`). */
  allowed_db_users: string[];
  /** Denied db users that are exceptions to allowed_db_users. */
  denied_db_users: string[];
  status: string;
  agents: number;
}

/** DbLoginRequest asks for a certificate routed to one database. */
export interface DbLoginRequest {
  database: string;
  /** The database user; the server picks one when omitted. */
  dbUser?: string;
  /** The database name (a Redis DB number). */
  dbName?: string;
  ttlMs?: number;
}

/** DbLogin is an active database login: a certificate routed to one database. */
export interface DbLogin {
  database: string;
  dbUser: string;
  dbName?: string;
  certPem: string;
  expires: Date;
  /** Where the certificate is saved; absent for identity-file sessions (memory only). */
  certPath?: string;
}

/** DB_CERT_RENEW_BEFORE_MS is how close to expiry a routed certificate is replaced before use. */
export const DB_CERT_RENEW_BEFORE_MS = 60_000;

/** listDatabases returns the databases the caller's roles allow, sorted by name. */
export async function listDatabases(session: ClientSession): Promise<ListedDatabase[]> {
  const res = await session.api.request<{ databases?: unknown }>('GET', '/v1/databases');
  if (!Array.isArray(res.databases)) throw connectionProblem('the proxy answered GET /v1/databases without a database list');
  return res.databases.map(toResource).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function toResource(raw: unknown): ListedDatabase {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  if (!str(r.name)) throw connectionProblem('the proxy listed a database without a name');
  const labels: Record<string, string> = {};
  if (typeof r.labels === 'object' && r.labels !== null) {
    for (const [k, v] of Object.entries(r.labels as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  return {
    name: str(r.name),
    ...(str(r.description) ? { description: str(r.description) } : {}),
    protocol: str(r.protocol) || 'redis',
    type: str(r.type),
    uri: str(r.uri),
    mode: str(r.mode),
    labels,
    allowed_users: str(r.allowed_users),
    allowed_db_users: strings(r.allowed_db_users),
    denied_db_users: strings(r.denied_db_users),
    status: str(r.status),
    agents: typeof r.agents === 'number' ? r.agents : 0,
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

// Routed certificates of identity-file sessions, per session object: gone when the process ends.
const MEMORY = new WeakMap<ClientSession, Map<string, DbLogin>>();

function memoryOf(session: ClientSession): Map<string, DbLogin> {
  let m = MEMORY.get(session);
  if (!m) MEMORY.set(session, (m = new Map()));
  return m;
}

/** persists tells whether database logins of session are written to the profile. */
function persists(session: ClientSession, store: ProfileStore | undefined): store is ProfileStore {
  return session.source === 'profile' && store !== undefined;
}

/**
 * checkDatabaseName rejects names that cannot be a file name in the profile. The server chooses
 * names, but a path component is never taken on trust.
 */
function checkDatabaseName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > 255) {
    throw badParameter(`the database name "${name}" cannot be saved in the profile`, { hint: 'Database names are letters, digits, ".", "_" and "-".' });
  }
}

/** dbCertDir is `keys/<proxy>/<user>-db/<cluster>` of session's profile. */
export function dbCertDir(session: ClientSession, store: ProfileStore): string {
  const keys = store.paths(profileName(session.proxyAddr), session.user).dir;
  return join(keys, `${session.user}-db`, session.cluster.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** dbCertPaths gives the two files of one database login. */
export function dbCertPaths(session: ClientSession, store: ProfileStore, database: string): { cert: string; meta: string } {
  checkDatabaseName(database);
  const dir = dbCertDir(session, store);
  return { cert: join(dir, `${database}.crt`), meta: join(dir, `${database}.yaml`) };
}

/**
 * dbLogin asks the proxy for a certificate routed to req.database and remembers it: in the
 * profile (store given, profile session) or in memory (identity file). A role that does not allow
 * the database, user or name comes back as the server's access-denied error.
 */
export async function dbLogin(session: ClientSession, store: ProfileStore | undefined, req: DbLoginRequest): Promise<DbLogin> {
  const publicKey = createPublicKey(session.keyPem).export({ type: 'spki', format: 'pem' }) as string;
  const res = await session.api.request<{ cert?: unknown; database?: unknown; db_user?: unknown; db_name?: unknown }>('POST', '/v1/certs/db', {
    database: req.database,
    ...(req.dbUser ? { db_user: req.dbUser } : {}),
    ...(req.dbName ? { db_name: req.dbName } : {}),
    public_key: publicKey,
    ...(req.ttlMs ? { ttl_ms: req.ttlMs } : {}),
  });
  if (typeof res.cert !== 'string') throw connectionProblem('the proxy answered POST /v1/certs/db without a certificate');
  const certPem = res.cert;
  const info = certificateInfo(certPem);
  const route = info.identity?.route;
  const database = typeof res.database === 'string' && res.database ? res.database : (route?.database ?? req.database);
  const dbUser = typeof res.db_user === 'string' ? res.db_user : (route?.dbUser ?? req.dbUser ?? '');
  const dbName = typeof res.db_name === 'string' && res.db_name ? res.db_name : route?.dbName;
  // The certificate is the authority on its own lifetime; `expires` in the answer is a courtesy.
  const login: DbLogin = { database, dbUser, ...(dbName ? { dbName } : {}), certPem, expires: info.notAfter };

  if (!persists(session, store)) {
    memoryOf(session).set(database, login);
    return login;
  }
  const paths = dbCertPaths(session, store, database);
  await writeFileAtomic(paths.cert, certPem);
  await writeFileAtomic(paths.meta, stringify({ db_user: dbUser, ...(dbName ? { db_name: dbName } : {}), expires: login.expires.toISOString() }));
  return { ...login, certPath: paths.cert };
}

/**
 * activeDbLogins returns session's database logins, sorted by database, including expired ones
 * (callers compare `expires` with their clock). Saved certificates issued for another key (from a
 * previous `xsh login`) or another user are skipped: they can no longer be used.
 */
export async function activeDbLogins(session: ClientSession, store: ProfileStore | undefined): Promise<DbLogin[]> {
  if (!persists(session, store)) return [...memoryOf(session).values()].sort(byDatabase);
  const dir = dbCertDir(session, store);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  const key = createPrivateKey(session.keyPem);
  const out: DbLogin[] = [];
  for (const f of files.filter((n) => n.endsWith('.crt')).sort()) {
    const database = f.slice(0, -4);
    const certPath = join(dir, f);
    const login = await readSavedLogin(database, certPath, join(dir, `${database}.yaml`), session.user);
    if (!login) continue;
    try {
      if (!new X509Certificate(login.certPem).checkPrivateKey(key)) continue;
    } catch {
      continue;
    }
    out.push(login);
  }
  return out.sort(byDatabase);
}

async function readSavedLogin(database: string, certPath: string, metaPath: string, user: string): Promise<DbLogin | undefined> {
  let certPem: string;
  let info: ReturnType<typeof certificateInfo>;
  try {
    certPem = await readFile(certPath, 'utf8');
    info = certificateInfo(certPem);
  } catch {
    return undefined;
  }
  if (info.identity && info.identity.user !== user) return undefined;
  // The yaml file says what was asked for; the certificate's route is the fallback when the
  // yaml is missing or damaged.
  let meta: Record<string, unknown> = {};
  try {
    meta = (parse(await readFile(metaPath, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch {
    meta = {};
  }
  const route = info.identity?.route;
  const dbUser = typeof meta.db_user === 'string' ? meta.db_user : (route?.dbUser ?? '');
  const dbNameRaw = typeof meta.db_name === 'string' || typeof meta.db_name === 'number' ? String(meta.db_name) : route?.dbName;
  return { database, dbUser, ...(dbNameRaw ? { dbName: dbNameRaw } : {}), certPem, expires: info.notAfter, certPath };
}

function byDatabase(a: DbLogin, b: DbLogin): number {
  return a.database < b.database ? -1 : a.database > b.database ? 1 : 0;
}

/** findDbLogin returns the active login for one database, if any. */
export async function findDbLogin(session: ClientSession, store: ProfileStore | undefined, database: string): Promise<DbLogin | undefined> {
  return (await activeDbLogins(session, store)).find((l) => l.database === database);
}

/**
 * dbLogout forgets the login for `database`, or every database login when it is omitted, and
 * returns the databases it logged out of (empty: there was nothing to forget).
 */
export async function dbLogout(session: ClientSession, store: ProfileStore | undefined, database?: string): Promise<string[]> {
  const logins = await activeDbLogins(session, store);
  const gone = logins.filter((l) => database === undefined || l.database === database).map((l) => l.database);
  if (!persists(session, store)) {
    for (const d of gone) memoryOf(session).delete(d);
    return gone;
  }
  if (database === undefined) {
    await rm(dbCertDir(session, store), { recursive: true, force: true });
    return gone;
  }
  const paths = dbCertPaths(session, store, database);
  await rm(paths.cert, { force: true });
  await rm(paths.meta, { force: true });
  return gone;
}

/**
 * loginSatisfies tells whether an existing login can serve a request: same database, the asked
 * user and name when the request names them, and still valid for at least marginMs.
 */
export function loginSatisfies(login: DbLogin | undefined, want: Pick<DbLoginRequest, 'database' | 'dbUser' | 'dbName'>, now: Date, marginMs = DB_CERT_RENEW_BEFORE_MS): login is DbLogin {
  if (!login || login.database !== want.database) return false;
  if (want.dbUser && login.dbUser !== want.dbUser) return false;
  if (want.dbName && login.dbName !== want.dbName) return false;
  return login.expires.getTime() - now.getTime() > marginMs;
}

/**
 * ensureDbLogin returns a usable login for req: the saved one when it matches and is not about to
 * expire, otherwise a new one (`issued` tells which).
 */
export async function ensureDbLogin(
  session: ClientSession,
  store: ProfileStore | undefined,
  req: DbLoginRequest,
  now: Date,
  opts: { remember?: boolean } = {},
): Promise<{ login: DbLogin; issued: boolean }> {
  const existing = await findDbLogin(session, store, req.database);
  if (loginSatisfies(existing, req, now)) return { login: existing, issued: false };
  // remember: false keeps a route the user never chose (the server picked the db user) in memory,
  // so it does not become the profile's login for the database and stick until `xsh db logout`.
  return { login: await dbLogin(session, opts.remember === false ? undefined : store, req), issued: true };
}

/** RoutedDialerOptions configures {@link routedDialer}. */
export interface RoutedDialerOptions {
  session: ClientSession;
  store: ProfileStore | undefined;
  login: DbLogin;
  now: () => Date;
  renewBeforeMs?: number;
  /** Called after a renewal, e.g. to log it. */
  onRenew?: (login: DbLogin) => void;
}

/** RoutedDialer dials the proxy with a routed certificate that it keeps fresh. */
export interface RoutedDialer {
  /** dial opens one session to the database through the proxy (a stream on a shared connection). */
  dial(): Promise<Duplex>;
  /** current is the login used by the latest dial. */
  current(): DbLogin;
  /** close ends the shared proxy connection (and every session still on it). */
  close(): Promise<void>;
}

/**
 * routedDialer returns a dialer for the local tunnel. Before each dial it re-issues the routed
 * certificate when it is within renewBeforeMs of expiry (one renewal at a time, shared by dials
 * that arrive together), so a long `xsh proxy db` keeps working after the first certificate ends.
 */
export function routedDialer(o: RoutedDialerOptions): RoutedDialer {
  let login = o.login;
  let renewing: Promise<DbLogin> | undefined;
  const margin = o.renewBeforeMs ?? DB_CERT_RENEW_BEFORE_MS;
  const fresh = async (): Promise<DbLogin> => {
    if (login.expires.getTime() - o.now().getTime() > margin) return login;
    // A login kept in memory (a route the user never chose) is renewed in memory too.
    renewing ??= dbLogin(o.session, login.certPath ? o.store : undefined, {
      database: login.database,
      ...(login.dbUser ? { dbUser: login.dbUser } : {}),
      ...(login.dbName ? { dbName: login.dbName } : {}),
    })
      .then((l) => {
        login = l;
        o.onRenew?.(l);
        return l;
      })
      .finally(() => {
        renewing = undefined;
      });
    return renewing;
  };
  const insecure = o.session.api.insecure;
  // All connections of a tunnel share ONE TLS connection to the proxy per routed certificate, each
  // client connection a stream on it (ALPN xport-redis-mux): one handshake instead of one per
  // client, and replies of many sessions leave the proxy in shared writes.
  let shared: { certPem: string; mux: Promise<Mux> } | undefined;
  const connect = (l: DbLogin): Promise<Mux> =>
    dialProxy({
      addr: o.session.proxyAddr,
      alpn: ALPN_REDIS_MUX,
      secureContext: createDialContext({ caPem: o.session.hostCaPem, certPem: l.certPem, keyPem: o.session.keyPem }),
      ...(insecure ? { insecure: true } : {}),
    }).then((socket) => {
      socket.setNoDelay(true);
      return new Mux(socket, { localIds: 'odd', peerName: `proxy ${o.session.proxyAddr}` });
    });
  return {
    async dial() {
      const l = await fresh();
      if (!shared || shared.certPem !== l.certPem) {
        const old = shared;
        shared = { certPem: l.certPem, mux: connect(l) };
        // A renewed certificate gets a new connection; sessions on the old one finish there.
        void old?.mux.then((m) => setTimeout(() => m.stats().streams === 0 && m.close(), 0)).catch(() => {});
      }
      const current = shared;
      let mux: Mux;
      try {
        mux = await current.mux;
      } catch (err) {
        if (shared === current) shared = undefined;
        throw err;
      }
      if (mux.closed) {
        if (shared === current) shared = undefined;
        return this.dial();
      }
      return mux.openStream({ clientAddr: 'local' });
    },
    current: () => login,
    async close() {
      const s = shared;
      shared = undefined;
      const mux = await s?.mux.catch(() => undefined);
      mux?.close();
    },
  };
}

/** requireDbLogin is {@link findDbLogin} that fails with the command that fixes it. */
export async function requireDbLogin(session: ClientSession, store: ProfileStore | undefined, database: string): Promise<DbLogin> {
  const login = await findDbLogin(session, store, database);
  if (!login) throw notFound(`not logged into database "${database}"`, { hint: `Run: xsh db login ${database}` });
  return login;
}
