/**
 * cli/xsh/db/config: `xsh db config` — where a database login's files are (tsh's block), or the
 * commands that reach the database (`--format=cmd`). Redis clients never use these files
 * directly: xport routes Redis by ALPN on the proxy's one port, so clients go through the local
 * tunnel of `xsh proxy db --tunnel`, which does the TLS with them.
 */
import { ensureDbLogin, requireDbLogin, type DbLogin } from '../../../client/databases.js';
import { redisCliCommandLine } from '../../../client/connect-command.js';
import { profileName } from '../../../client/profile.js';
import type { ClientSession } from '../../../client/session.js';
import { usage } from '../../../errors.js';
import { parseHostPort } from '../../../util/net.js';
import type { CliContext } from '../../shared/context.js';
import { parseFormat, renderData } from '../../shared/output.js';
import type { XshGlobals } from '../globals.js';
import { openDbSession } from './common.js';
import { proxyDbCommand } from './login.js';

/** DbConfigOptions are `xsh db config`'s flags. */
export interface DbConfigOptions extends XshGlobals {
  format?: string;
  port?: string;
}

/** DbConfig is what `xsh db config` reports; its json form is a stable contract. */
export interface DbConfig {
  name: string;
  host: string;
  port: number;
  user: string;
  database: string;
  ca: string;
  cert: string;
  key: string;
  tunnel_command: string;
  redis_cli_command: string;
}

/** DB_CONFIG_FORMATS are the formats `xsh db config` accepts. */
export const DB_CONFIG_FORMATS = ['text', 'cmd', 'json', 'yaml'] as const;

/** runDbConfig prints the configuration of one database login. */
export async function runDbConfig(ctx: CliContext, database: string, o: DbConfigOptions): Promise<void> {
  const format = (o.format ?? 'text').toLowerCase();
  if (format !== 'cmd') parseFormat(format, DB_CONFIG_FORMATS);
  if (o.port !== undefined && !/^\d{1,5}$/.test(o.port)) throw usage(`--port must be a port number, got "${o.port}"`);
  const { session, store } = await openDbSession(ctx, o);
  // An identity-file session has no saved login to describe: ask for one (kept in memory), which
  // also tells a CI job whether its roles allow the database at all.
  const login = store ? await requireDbLogin(session, store, database) : (await ensureDbLogin(session, undefined, { database }, ctx.clock.now())).login;
  const paths = store?.paths(profileName(session.proxyAddr), session.user);
  const cfg = dbConfigOf(session, login, { ca: paths?.ca ?? session.keyLocation, ...(o.port ? { port: o.port } : {}) });
  if (format === 'cmd') ctx.io.stdout.write(`${cfg.tunnel_command}\n${cfg.redis_cli_command}\n`);
  else if (format === 'text') ctx.io.stdout.write(renderDbConfigText(cfg));
  else ctx.io.stdout.write(renderData(cfg, format as 'json' | 'yaml'));
}

/**
 * dbConfigOf assembles the configuration. `port` is the local tunnel port shown in the commands;
 * without one the commands say PORT, since a tunnel without --port gets a random one.
 */
export function dbConfigOf(session: ClientSession, login: DbLogin, o: { ca: string; port?: string }): DbConfig {
  const proxy = parseHostPort(session.proxyAddr, 3080, 'proxy address');
  const port = o.port ?? 'PORT';
  return {
    name: login.database,
    host: proxy.host,
    port: proxy.port,
    user: login.dbUser,
    database: login.dbName ?? '',
    ca: o.ca,
    cert: login.certPath ?? '',
    key: session.source === 'profile' && session.keyLocation === 'keychain' ? '(OS keychain)' : session.keyLocation,
    tunnel_command: proxyDbCommand(login, port),
    redis_cli_command: redisCliCommandLine({ host: '127.0.0.1', port, ...(login.dbName ? { dbName: login.dbName } : {}) }),
  };
}

/** renderDbConfigText renders tsh's `db config` block. */
export function renderDbConfigText(c: DbConfig): string {
  const rows: [string, string | number][] = [
    ['Name:', c.name],
    ['Host:', c.host],
    ['Port:', c.port],
    ['User:', c.user],
    ['Database:', c.database],
    ['CA:', c.ca],
    ['Cert:', c.cert],
    ['Key:', c.key],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`.trimEnd()).join('\n') + '\n';
}
