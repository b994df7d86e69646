/**
 * cli/xsh/db/connect: `xsh db connect` — log in to the database when needed, start the local
 * tunnel on a random loopback port, run redis-cli against it, and exit with redis-cli's status.
 * Arguments after `--` go to redis-cli untouched, so `xsh db connect cache -- GET k` works in
 * scripts.
 */
import { routedDialer } from '../../../client/databases.js';
import { findOnPath, REDIS_CLI, redisCliArgs } from '../../../client/connect-command.js';
import { notFound } from '../../../errors.js';
import { startLocalTunnel } from '../../../tunnel/local-tunnel.js';
import { createLogger } from '../../../util/log.js';
import type { CliContext } from '../../shared/context.js';
import type { XshGlobals } from '../globals.js';
import { openRoutedSession, type DbRouteOptions } from './common.js';

/** DbConnectOptions are `xsh db connect`'s flags. */
export interface DbConnectOptions extends XshGlobals, DbRouteOptions {
  resp3?: boolean;
}

/** REDIS_CLI_INSTALL_HINT says how to get redis-cli on the usual systems. */
export const REDIS_CLI_INSTALL_HINT = 'Install it: apt-get install redis-tools (Debian/Ubuntu), brew install redis (macOS).';

/** runDbConnect connects redis-cli to database through a local tunnel. */
export async function runDbConnect(ctx: CliContext, database: string, redisArgs: readonly string[], o: DbConnectOptions): Promise<void> {
  // Before any network work: a missing client should not cost a certificate or a tunnel.
  const redisCli = await findOnPath(REDIS_CLI, ctx.env.PATH);
  if (!redisCli) throw notFound(`${REDIS_CLI} was not found on PATH`, { hint: REDIS_CLI_INSTALL_HINT });

  const { session, store, login } = await openRoutedSession(ctx, database, o);
  const dialer = routedDialer({ session, store, login, now: () => ctx.clock.now() });
  // Dial failures reach redis-cli as `-ERR xport: …`; logging them too would print them twice.
  const tunnel = await startLocalTunnel({
    host: '127.0.0.1',
    port: 0,
    dial: () => dialer.dial(),
    ...(ctx.debug ? { log: createLogger(ctx.io.stderr, 'debug', 'tunnel') } : {}),
  });
  // Ctrl-C belongs to redis-cli (it shares the terminal): xsh keeps its tunnel up until redis-cli
  // has exited, then reports redis-cli's own status.
  const unregister = ctx.onSignal(() => {});
  try {
    ctx.exitCode = await ctx.spawn(
      redisCli,
      redisCliArgs({ host: tunnel.address.host, port: tunnel.address.port, ...(login.dbName ? { dbName: login.dbName } : {}), resp3: Boolean(o.resp3), extra: redisArgs }),
    );
  } finally {
    unregister();
    await tunnel.close();
    await dialer.close();
  }
}
