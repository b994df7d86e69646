/**
 * cli/xctl/backend: `xctl backend migrate` (copy a cluster from the embedded SQLite file into
 * PostgreSQL) and `xctl backend check` (read a backend end to end and report what is corrupt).
 * Both work on the storage directly, on the host, not through the proxy.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { badParameter, notFound, usage } from '../../errors.js';
import type { BackendCheck } from '../../store/backend.js';
import type { PostgresConnection } from '../../store/postgres.js';
import type { StorageConfig } from '../../service/config.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData } from '../shared/output.js';
import type { XctlGlobals } from './admin.js';
import { resolveStartConfig } from './start.js';

/** PostgresFlags are the TLS flags both subcommands take for a postgres:// address. */
interface PostgresFlags {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** BackendMigrateOptions are `xctl backend migrate`'s flags. */
export interface BackendMigrateOptions extends XctlGlobals, PostgresFlags {
  from?: string;
  to?: string;
  overwrite?: boolean;
  format?: string;
}

/** BackendCheckOptions are `xctl backend check`'s flags. */
export interface BackendCheckOptions extends XctlGlobals, PostgresFlags {
  storage?: string;
  format?: string;
}

/** StorageAddress is a parsed `sqlite:DIR` or `postgres://…` argument. */
export type StorageAddress = { type: 'sqlite'; dir: string } | ({ type: 'postgres' } & PostgresConnection);

/** parseStorageAddress reads `sqlite:DIR` or `postgres://…` (flag names the option in errors). */
export function parseStorageAddress(value: string | undefined, flag: string, tls: PostgresFlags = {}): StorageAddress {
  if (!value) throw usage(`${flag} is required`, { hint: `Give ${flag}=sqlite:DIR or ${flag}=postgres://USER@HOST:PORT/DB.` });
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(value);
  if (sqlite) return { type: 'sqlite', dir: resolve(sqlite[1]!) };
  if (/^postgres(ql)?:\/\/\S+$/i.test(value)) {
    return {
      type: 'postgres',
      connString: value,
      ...(tls.caFile ? { caFile: resolve(tls.caFile) } : {}),
      ...(tls.certFile ? { certFile: resolve(tls.certFile) } : {}),
      ...(tls.keyFile ? { keyFile: resolve(tls.keyFile) } : {}),
    };
  }
  throw usage(`${flag} must be sqlite:DIR or postgres://…, got "${value.replace(/:[^@/:]*@/, ':***@')}"`, {
    hint: `For example ${flag}=sqlite:/var/lib/xport or ${flag}=postgres://xport@db.internal:5432/xport.`,
  });
}

/** fromConfig turns the service config's storage into an address. */
function fromConfig(storage: StorageConfig, dataDir: string): StorageAddress {
  if (storage.type === 'postgres') {
    const { type: _type, ...conn } = storage;
    return { type: 'postgres', ...conn };
  }
  return { type: 'sqlite', dir: dataDir };
}

/** requireSqliteFile throws not-found unless dir holds a cluster's xport.db. */
async function requireSqliteFile(dir: string): Promise<void> {
  try {
    await access(join(dir, 'xport.db'));
  } catch {
    throw notFound(`there is no xport.db in ${dir}`, { hint: 'Give the data dir of an existing cluster, e.g. sqlite:/var/lib/xport.' });
  }
}

/** openSqliteSource opens an existing cluster's SQLite file; it never creates one. */
async function openSqliteSource(dir: string) {
  await requireSqliteFile(dir);
  const { openSqliteBackend } = await import('../../store/sqlite.js');
  return openSqliteBackend(dir);
}

async function openPostgres(conn: PostgresConnection) {
  const { openPostgresBackend } = await import('../../store/postgres.js');
  return openPostgresBackend({ ...conn, maxConnections: 2 });
}

/**
 * runBackendMigrate copies a cluster from SQLite into PostgreSQL while holding the SQLite data dir's
 * lock (a running service on it is refused: its later writes would be lost), then prints verified counts.
 */
export async function runBackendMigrate(ctx: CliContext, o: BackendMigrateOptions): Promise<void> {
  const format = parseFormat(o.format);
  const from = parseStorageAddress(o.from, '--from');
  const to = parseStorageAddress(o.to, '--to', o);
  if (from.type !== 'sqlite') throw usage('--from must be sqlite:DIR (the embedded store to copy from)');
  if (to.type !== 'postgres') throw usage('--to must be a postgres:// address');
  // Checked before taking the lock, which would create a missing dir.
  await requireSqliteFile(from.dir);
  const { acquireDataDirLock } = await import('../../store/lock.js');
  const lock = await acquireDataDirLock(from.dir, 'backend migrate');
  try {
    const source = await openSqliteSource(from.dir);
    try {
      const target = await openPostgres(to);
      try {
        const { copySqliteToPostgres } = await import('../../store/transfer.js');
        const r = await copySqliteToPostgres(source, target, { overwrite: o.overwrite === true });
        if (format !== 'text') {
          ctx.io.stdout.write(renderData({ from: source.file, to: target.where, ...r }, format));
          return;
        }
        ctx.io.stdout.write(
          `Copied ${source.file} to PostgreSQL ${target.where}:\n` +
            `  keys:   ${r.keys.source} in the source; ${r.keys.copied} copied, ${r.keys.unchanged} already there` +
            (r.keys.overwritten ? `, ${r.keys.overwritten} overwritten` : '') +
            `; ${r.keys.verified} verified\n` +
            `  events: ${r.events.source} in the source; ${r.events.copied} copied, ${r.events.alreadyThere} already there; ${r.events.verified} verified\n` +
            'Point auth_service.storage at PostgreSQL (type: postgres, conn_string: ...) and start the service.\n',
        );
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  } finally {
    await lock.release();
  }
}

/**
 * runBackendCheck reads the backend named by --storage (or the service config's) end to end and
 * prints what it found; any problem makes the command fail.
 */
export async function runBackendCheck(ctx: CliContext, o: BackendCheckOptions): Promise<void> {
  const format = parseFormat(o.format);
  let addr: StorageAddress;
  if (o.storage) addr = parseStorageAddress(o.storage, '--storage', o);
  else {
    const cfg = await resolveStartConfig(ctx, o);
    addr = fromConfig(cfg.auth.storage, cfg.dataDir);
  }
  let report: BackendCheck;
  if (addr.type === 'sqlite') {
    const b = await openSqliteSource(addr.dir);
    try {
      report = await b.check();
    } finally {
      await b.close();
    }
  } else {
    const b = await openPostgres(addr);
    try {
      report = await b.check();
    } finally {
      await b.close();
    }
  }
  if (format !== 'text') ctx.io.stdout.write(renderData({ ...report, ok: report.problems.length === 0 }, format));
  else {
    ctx.io.stdout.write(
      `Checked ${addr.type === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${report.where}: schema ${report.schemaVersion} (this xport: ${report.expectedSchemaVersion}), ` +
        `revision ${report.revision}, ${report.keys} keys, ${report.events} events.\n` +
        (report.problems.length === 0 ? 'No problems found.\n' : report.problems.map((p) => `  problem: ${p}\n`).join('')),
    );
  }
  if (report.problems.length > 0) {
    throw badParameter(`the backend at ${report.where} has ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`, {
      hint: 'Restore it from a backup, or repair the listed keys; run xctl backend check again afterwards.',
    });
  }
}
