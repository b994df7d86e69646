/**
 * cli/xsh/proxy: `xsh proxy db --tunnel` — a long-running authenticated local tunnel to one
 * database for any Redis client (redis-cli, RedisInsight, an application under development). The
 * tunnel does the TLS and presents the routed certificate, renewing it shortly before it expires,
 * so clients connect to 127.0.0.1 with no certificates. Runs until SIGINT or SIGTERM.
 */
import { reloadingDialer } from '../../client/reloading-dialer.js';
import { redisCliCommandLine } from '../../client/connect-command.js';
import { usage } from '../../errors.js';
import { startLocalTunnel } from '../../tunnel/local-tunnel.js';
import { recordTunnel } from '../../client/tunnels.js';
import { redisUrl } from './db/env.js';
import { createLogger } from '../../util/log.js';
import type { CliContext } from '../shared/context.js';
import { openRoutedSession, type DbRouteOptions } from './db/common.js';
import type { XshGlobals } from './globals.js';

/** ProxyDbOptions are `xsh proxy db`'s flags. */
export interface ProxyDbOptions extends XshGlobals, DbRouteOptions {
  tunnel?: boolean;
  port?: string;
}

/** runProxyDb starts the tunnel, prints tsh's `--tunnel` banner and serves until a signal. */
export async function runProxyDb(ctx: CliContext, database: string, o: ProxyDbOptions): Promise<void> {
  if (!o.tunnel) {
    throw usage('xsh proxy db needs --tunnel: Redis is only reachable through an authenticated local tunnel', {
      hint: `The tunnel does the TLS with the proxy, so clients need no certificates: xsh proxy db --tunnel ${database}`,
    });
  }
  const port = parsePort(o.port);
  const { session, store, login } = await openRoutedSession(ctx, database, o);
  const log = createLogger(ctx.io.stderr, ctx.debug ? 'debug' : 'warn', 'tunnel');
  const dialer = await reloadingDialer({
    session,
    store,
    login,
    home: ctx.home,
    ...(o.insecure ? { insecure: true } : {}),
    remember: Boolean(o.dbUser),
    now: () => ctx.clock.now(),
    onRenew: (l) => log.info('renewed the database certificate', { database: l.database, expires: l.expires.toISOString() }),
    // Said on stderr whatever the log level: the user just logged in again and wants to know it took.
    onReload: (s, l) =>
      ctx.io.stderr.write(`Picked up the new login of ${s.user} (valid until ${s.notAfter.toISOString()}); new connections to "${l.database}" use it.\n`),
    onReloadSkipped: (why) => ctx.io.stderr.write(`The login changed but the tunnel keeps the previous one: ${why}\n`),
  });

  // Register for signals before listening, so a signal that arrives during startup still stops us.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let interrupted = false;
  const unregister = ctx.onSignal((signal) => {
    interrupted = signal === 'SIGINT';
    stop();
  });
  try {
    const tunnel = await startLocalTunnel({ host: '127.0.0.1', port, dial: () => dialer.dial(), log });
    try {
      const forget = ctx.pid === undefined
        ? async () => {}
        : await recordTunnel(ctx.home, { database, host: tunnel.address.host, port: tunnel.address.port, dbUser: login.dbUser, ...(login.dbName ? { dbName: login.dbName } : {}), pid: ctx.pid }).catch(() => async () => {});
      ctx.io.stdout.write(tunnelBanner({ database, cluster: session.cluster, host: tunnel.address.host, port: tunnel.address.port, randomPort: port === 0, dbName: login.dbName, dbUser: login.dbUser }));
      try {
        await stopped;
      } finally {
        await forget();
      }
    } finally {
      await tunnel.close();
      await dialer.close();
    }
  } finally {
    unregister();
  }
  // Ctrl-C is an interruption (130, as the README's exit codes say); SIGTERM is a requested, clean stop.
  ctx.exitCode = interrupted ? 130 : 0;
}

/** parsePort validates --port; absent means 0, a random free port. */
function parsePort(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n < 1 || n > 65535) throw usage(`--port must be a port number between 1 and 65535, got "${v}"`);
  return n;
}

/** TunnelBannerInfo is what {@link tunnelBanner} prints. */
export interface TunnelBannerInfo {
  database: string;
  cluster: string;
  host: string;
  port: number;
  /** True when the port was chosen by the system (no --port). */
  randomPort: boolean;
  dbName?: string | undefined;
  /** The db user the tunnel's sessions run as: GUI clients put it in the connection string. */
  dbUser?: string | undefined;
}

/** tunnelBanner is tsh's `proxy db --tunnel` banner, for xsh. */
export function tunnelBanner(b: TunnelBannerInfo): string {
  return (
    `Started authenticated tunnel for the Redis database "${b.database}" in cluster "${b.cluster}" on ${b.host}:${b.port}.\n` +
    (b.randomPort ? 'To avoid port randomization, you can choose the listening port using the --port flag.\n' : '') +
    '\n' +
    'Use the following command to connect to the database or to the address above using other database GUI/CLI clients:\n' +
    `  $ ${redisCliCommandLine({ host: b.host, port: b.port, ...(b.dbName ? { dbName: b.dbName } : {}) })}\n` +
    (b.dbUser
      ? '\n' +
        'Connection string for GUI clients (RedisInsight, Another Redis Desktop Manager); the agent authenticates the db user, so leave the password empty\n' +
        '(a managed user) or type the Redis password of the db user (passthrough):\n' +
        `  ${redisUrl({ host: b.host, port: b.port, dbName: b.dbName }, b.dbUser)}\n` +
        `Or, for applications: eval "$(xsh db env ${b.database})"\n`
      : '')
  );
}
