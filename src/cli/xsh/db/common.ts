/**
 * cli/xsh/db/common: what every `xsh db` and `xsh proxy db` command does first — load the login
 * (a profile, or an identity file with `-i`) and the profile store database logins live in.
 */
import { ensureDbLogin, type DbLogin } from '../../../client/databases.js';
import { ProfileStore } from '../../../client/profile.js';
import { loadSession, type ClientSession } from '../../../client/session.js';
import type { CliContext } from '../../shared/context.js';
import type { XshGlobals } from '../globals.js';

/** DbSession is a usable login plus where its database logins are kept. */
export interface DbSession {
  session: ClientSession;
  /** The profile store; undefined for identity-file sessions, whose routed certificates stay in memory. */
  store: ProfileStore | undefined;
}

/** openDbSession loads the login named by the global flags (or XSH_* environment variables). */
export async function openDbSession(ctx: CliContext, o: XshGlobals): Promise<DbSession> {
  const identityFile = o.identity ?? ctx.env.XSH_IDENTITY;
  const proxy = o.proxy ?? ctx.env.XSH_PROXY;
  const user = o.user ?? ctx.env.XSH_USER;
  const session = await loadSession({
    home: ctx.home,
    now: ctx.clock.now(),
    ...(proxy ? { proxy } : {}),
    ...(user ? { user } : {}),
    ...(identityFile ? { identityFile } : {}),
    ...(o.insecure ? { insecure: true } : {}),
  });
  return { session, store: session.source === 'profile' ? new ProfileStore(ctx.home) : undefined };
}

/** DbRouteOptions are the flags that choose the database user and name. */
export interface DbRouteOptions {
  dbUser?: string;
  dbName?: string;
}

/**
 * openRoutedSession loads the login and makes sure it holds a certificate routed to database as
 * the requested db user and name (issuing one only when the saved one does not fit).
 */
export async function openRoutedSession(
  ctx: CliContext,
  database: string,
  o: XshGlobals & DbRouteOptions,
): Promise<DbSession & { login: DbLogin }> {
  const { session, store } = await openDbSession(ctx, o);
  const { login } = await ensureDbLogin(
    session,
    store,
    { database, ...(o.dbUser ? { dbUser: o.dbUser } : {}), ...(o.dbName ? { dbName: o.dbName } : {}) },
    ctx.clock.now(),
    // Only a db user the user named is saved as the database's login; the server's pick is not.
    { remember: Boolean(o.dbUser) },
  );
  return { session, store, login };
}
