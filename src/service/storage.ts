/**
 * service/storage: opens the backend `auth_service.storage` chooses. SQLite lives in the data dir
 * (one service per dir); PostgreSQL is shared by every replica, each keeping its own data dir for
 * its identity files, so the data-dir lock stays per replica. `pg` is imported only here, only
 * when PostgreSQL is chosen.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { openSqliteBackend } from '../store/index.js';
import type { Backend } from '../store/backend.js';
import type { ServiceConfig } from './config.js';

/** openStorage opens the configured backend and logs where it is (never a password). */
export async function openStorage(config: ServiceConfig, clock: Clock, log: Logger): Promise<Backend> {
  const s = config.auth.storage;
  if (s.type !== 'postgres') return openSqliteBackend(config.dataDir, { clock });
  const { openPostgresBackend } = await import('../store/postgres.js');
  const backend = await openPostgresBackend({
    connString: s.connString,
    ...(s.caFile !== undefined ? { caFile: s.caFile } : {}),
    ...(s.certFile !== undefined ? { certFile: s.certFile } : {}),
    ...(s.keyFile !== undefined ? { keyFile: s.keyFile } : {}),
    clock,
    onWarning: (msg, fields) => log.warn(msg, fields),
  });
  log.info('storage: PostgreSQL', { where: backend.where, tls: s.caFile !== undefined || s.certFile !== undefined });
  return backend;
}
