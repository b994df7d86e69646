// bench/audit-counter: reads xport's audit table straight from the SQLite file, read-only (WAL:
// a reader never blocks the writer), to count what was written and to wait for a backlog to drain.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sleep } from './processes.js';

/** AuditCounter counts rows of the `events` table in DATA_DIR/xport.db. */
export class AuditCounter {
  constructor(dataDir) {
    this.db = new Database(join(dataDir, 'xport.db'), { readonly: true, fileMustExist: true });
    this.maxRowid = this.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS n FROM events');
    this.byCommand = this.db.prepare(
      "SELECT json_extract(data, '$.command') AS command, COUNT(*) AS n FROM events WHERE rowid > ? AND type = 'db.session.query' GROUP BY command",
    );
  }
  /** rows is the newest rowid: the number of events written so far (rows are never deleted here). */
  rows() {
    return this.maxRowid.get().n;
  }
  /** commandsSince counts db.session.query events per command (lower case) written after rowid. */
  commandsSince(rowid) {
    return Object.fromEntries(this.byCommand.all(rowid).map((r) => [String(r.command).toLowerCase(), r.n]));
  }
  /**
   * settle waits until no new audit rows appear for quietMs (the log has flushed its backlog) and
   * resolves { rows, waitedMs }.
   */
  async settle(quietMs = 1000, timeoutMs = 300_000) {
    const t0 = Date.now();
    let last = this.rows();
    for (;;) {
      await sleep(quietMs);
      const now = this.rows();
      if (now === last || Date.now() - t0 > timeoutMs) return { rows: now, waitedMs: Date.now() - t0 - quietMs };
      last = now;
    }
  }
  close() {
    this.db.close();
  }
}
