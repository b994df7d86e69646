/**
 * client/tunnels: where a running `xsh proxy db --tunnel` records its address, so `xsh db env`
 * can print connection settings for it. One JSON file per database under `<home>/tunnels/`
 * (0600 in a 0700 dir: it names the user's db user), removed when the tunnel stops; a file whose
 * process is gone is stale and ignored.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, writeSecretFile } from '../util/fs.js';

/** TunnelRecord is what a running tunnel says about itself. */
export interface TunnelRecord {
  database: string;
  host: string;
  port: number;
  dbUser: string;
  dbName?: string;
  pid: number;
}

const DIR = 'tunnels';
// Database names are lower-case DNS-ish labels; anything else never becomes a file name.
const SAFE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** recordTunnel writes the record of a tunnel that is listening; returns a function removing it. */
export async function recordTunnel(home: string, t: TunnelRecord): Promise<() => Promise<void>> {
  if (!SAFE.test(t.database)) return async () => {};
  const dir = join(home, DIR);
  await ensurePrivateDir(dir);
  const path = join(dir, `${t.database}.json`);
  await writeSecretFile(path, JSON.stringify(t) + '\n');
  return async () => {
    // Only our own record: a second tunnel to the same database may have replaced it.
    const now = await readRecord(path);
    if (now?.pid === t.pid) await rm(path, { force: true });
  };
}

async function readRecord(path: string): Promise<TunnelRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as TunnelRecord;
    return typeof r.port === 'number' && typeof r.database === 'string' && typeof r.pid === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** runningTunnels lists the tunnels whose process still runs (alive decides), by database name. */
export async function runningTunnels(home: string, alive: (pid: number) => boolean): Promise<TunnelRecord[]> {
  let names: string[];
  try {
    names = await readdir(join(home, DIR));
  } catch {
    return [];
  }
  const out: TunnelRecord[] = [];
  for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
    const r = await readRecord(join(home, DIR, n));
    if (r && alive(r.pid)) out.push(r);
  }
  return out;
}
