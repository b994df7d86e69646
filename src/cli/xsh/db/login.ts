/**
 * cli/xsh/db/login: `xsh db login` and `xsh db logout` — get (or drop) a certificate routed to one
 * database, saved in the profile like tsh's `<user>-db/<cluster>/<db>.crt`.
 */
import { dbLogin, dbLogout, type DbLogin } from '../../../client/databases.js';
import { formatCommand } from '../../../client/connect-command.js';
import { notFound } from '../../../errors.js';
import type { CliContext } from '../../shared/context.js';
import type { XshGlobals } from '../globals.js';
import { openDbSession, type DbRouteOptions } from './common.js';

/** DbLoginOptions are `xsh db login`'s flags. */
export interface DbLoginOptions extends XshGlobals, DbRouteOptions {}

/** runDbLogin issues and saves a routed certificate, then says how to use it. */
export async function runDbLogin(ctx: CliContext, database: string, o: DbLoginOptions): Promise<void> {
  const { session, store } = await openDbSession(ctx, o);
  const login = await dbLogin(session, store, {
    database,
    ...(o.dbUser ? { dbUser: o.dbUser } : {}),
    ...(o.dbName ? { dbName: o.dbName } : {}),
  });
  ctx.io.stdout.write(login.certPath ? dbLoginSavedText(login) : dbLoginMemoryText(login));
}

/** proxyDbCommand is the `xsh proxy db --tunnel` line for a login (shown after login and by config). */
export function proxyDbCommand(login: Pick<DbLogin, 'database' | 'dbUser' | 'dbName'>, port?: string): string {
  return formatCommand('xsh', [
    'proxy',
    'db',
    ...(login.dbUser ? [`--db-user=${login.dbUser}`] : []),
    ...(login.dbName ? [`--db-name=${login.dbName}`] : []),
    '--tunnel',
    ...(port ? [`--port=${port}`] : []),
    login.database,
  ]);
}

/** dbLoginSavedText is tsh's "Connection information … has been saved" block, for xsh. */
export function dbLoginSavedText(login: DbLogin): string {
  return (
    `Connection information for database "${login.database}" has been saved.\n\n` +
    'You can now connect to it using the following command:\n\n' +
    `  ${formatCommand('xsh', ['db', 'connect', login.database])}\n\n` +
    'Or start a local proxy for database GUI clients:\n\n' +
    `  ${proxyDbCommand(login)}\n\n`
  );
}

/** dbLoginMemoryText explains an identity-file login: the certificate lives only in this process. */
function dbLoginMemoryText(login: DbLogin): string {
  const who = `user "${login.dbUser}"${login.dbName ? `, database "${login.dbName}"` : ''}`;
  return (
    `Database "${login.database}" accepted a login as ${who}.\n` +
    'Nothing was saved: identity-file sessions keep routed certificates in memory only.\n' +
    `With the same -i and --proxy, \`xsh db connect ${login.database}\` and \`xsh proxy db --tunnel ${login.database}\` each issue their own.\n`
  );
}

/** runDbLogout forgets one database login, or all of them. */
export async function runDbLogout(ctx: CliContext, database: string | undefined, o: XshGlobals): Promise<void> {
  const { session, store } = await openDbSession(ctx, o);
  const gone = await dbLogout(session, store, database);
  if (database !== undefined) {
    if (gone.length === 0) throw notFound(`not logged into database "${database}"`, { hint: 'Run xsh db ls: active database logins are marked with ">".' });
    ctx.io.stdout.write(`Logged out of database ${database}\n`);
    return;
  }
  ctx.io.stdout.write(gone.length === 0 ? 'Not logged into any databases\n' : gone.length === 1 ? `Logged out of database ${gone[0]}\n` : 'Logged out of all databases\n');
}
