/**
 * cli/xsh/db/env: `xsh db env [DB]` — connection settings for a running `xsh proxy db --tunnel`,
 * as shell export lines (`eval "$(xsh db env cache)"`) or dotenv lines, for applications that
 * read REDIS_URL. No password: the tunnel's session is already authenticated as the db user.
 */
import { notFound, usage } from '../../../errors.js';
import { runningTunnels, type TunnelRecord } from '../../../client/tunnels.js';
import type { CliContext } from '../../shared/context.js';

/** DbEnvOptions are `xsh db env`'s flags. */
export interface DbEnvOptions {
  format?: string;
}

/** redisUrl is the URL of a tunnel: `redis://127.0.0.1:PORT`, with `/N` when the login names a db. */
export function redisUrl(t: Pick<TunnelRecord, 'host' | 'port' | 'dbName'>, user?: string): string {
  const auth = user ? `${encodeURIComponent(user)}@` : '';
  return `redis://${auth}${t.host}:${t.port}${t.dbName ? `/${t.dbName}` : ''}`;
}

/** runDbEnv prints the settings of the tunnel to database (or of the only running tunnel). */
export async function runDbEnv(ctx: CliContext, database: string | undefined, o: DbEnvOptions): Promise<void> {
  const format = o.format ?? 'shell';
  if (format !== 'shell' && format !== 'dotenv') throw usage(`--format must be shell or dotenv, got "${format}"`);
  const tunnels = await runningTunnels(ctx.home, (pid) => ctx.isAlive?.(pid) ?? true);
  let t: TunnelRecord | undefined;
  if (database !== undefined) {
    t = tunnels.find((x) => x.database === database);
    if (!t) throw notFound(`no running tunnel to database "${database}"`, { hint: `Start one in another terminal: xsh proxy db --tunnel ${database}` });
  } else if (tunnels.length === 1) {
    t = tunnels[0];
  } else if (tunnels.length === 0) {
    throw notFound('no running tunnel', { hint: 'Start one in another terminal: xsh proxy db --tunnel DB' });
  } else {
    throw usage(`several tunnels are running (${tunnels.map((x) => x.database).join(', ')}); name one: xsh db env DB`);
  }
  const vars: Array<[string, string]> = [
    ['REDIS_URL', redisUrl(t!)],
    ['REDIS_HOST', t!.host],
    ['REDIS_PORT', String(t!.port)],
  ];
  const prefix = format === 'shell' ? 'export ' : '';
  ctx.io.stdout.write(vars.map(([k, v]) => `${prefix}${k}=${v}\n`).join(''));
}
