/**
 * cli/xctl/db-users: `xctl db users ls [DB]` and `xctl db users sync DB` for self-hosted Redis
 * with `users: managed`. Run on the agent's host: the agent records its managed users (database,
 * db user, derived ACL, last rotation; never a password) in its data dir, and takes sync requests
 * from there. AWS managed users keep their own listing (db-bootstrap.ts), printed after these.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badParameter, notFound } from '../../errors.js';
import { MANAGED_STATE_FILE, MANAGED_SYNC_DIR, type ManagedUserInfo } from '../../service/managed-users.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { dataDirFrom, type XctlGlobals } from './admin.js';

type Row = ManagedUserInfo & { syncedAt: string };

async function readRows(dataDir: string): Promise<Row[]> {
  try {
    return JSON.parse(await readFile(join(dataDir, MANAGED_STATE_FILE), 'utf8')) as Row[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw badParameter(`cannot read ${join(dataDir, MANAGED_STATE_FILE)}: ${(err as Error).message}`);
  }
}

async function agentDataDir(ctx: CliContext, o: XctlGlobals): Promise<string> {
  const dir = await dataDirFrom(ctx, o);
  if (!dir) throw badParameter('no data dir: run on the agent host with -c /etc/xport.yaml or --data-dir DIR');
  return dir;
}

/** runManagedUsersLs prints the managed users the agent on this host holds; false when it holds none. */
export async function runManagedUsersLs(ctx: CliContext, database: string | undefined, o: XctlGlobals & { format?: string }): Promise<boolean> {
  const format = parseFormat(o.format);
  const dir = await dataDirFrom(ctx, o).catch(() => undefined);
  if (!dir) return false;
  const rows = (await readRows(dir)).filter((r) => database === undefined || r.database === database);
  if (rows.length === 0) return false;
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(rows, format));
    return true;
  }
  ctx.io.stdout.write(renderTable(['Database', 'DB User', 'ACL', 'Last Rotation', 'Nodes'], rows.map((r) => [r.database, r.dbUser, r.acl, r.rotatedAt, String(r.nodes)])));
  return true;
}

/** runManagedUsersSync asks the agent on this host to write every managed user of DB to Redis again, and waits. */
export async function runManagedUsersSync(ctx: CliContext, database: string, o: XctlGlobals): Promise<void> {
  const dir = await agentDataDir(ctx, o);
  const before = (await readRows(dir)).filter((r) => r.database === database);
  if (before.length === 0) throw notFound(`the agent on this host holds no managed users of database "${database}"`, { hint: 'Users are created when a session starts; run "xctl db users ls" to see them.' });
  await mkdir(join(dir, MANAGED_SYNC_DIR), { recursive: true, mode: 0o700 });
  const request = join(dir, MANAGED_SYNC_DIR, database);
  await writeFile(request, '', { mode: 0o600 });
  const newest = (rows: Row[]) => Math.max(...rows.filter((r) => r.database === database).map((r) => Date.parse(r.syncedAt) || 0));
  const was = newest(before);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await readRows(dir);
    const taken = await stat(request).then(() => false, () => true);
    if (taken && newest(rows) > was) {
      ctx.io.stdout.write(`Synced ${rows.filter((r) => r.database === database).length} managed user(s) of ${database}.\n`);
      return;
    }
    if (Date.now() > deadline) throw badParameter(`the agent did not take the sync request for "${database}" within 15 s`, { hint: 'Is xctl start (db_service) running on this host with this data dir?' });
    await new Promise((r) => setTimeout(r, 200));
  }
}
