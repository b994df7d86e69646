/**
 * store/transfer: copying a cluster from the embedded SQLite file into PostgreSQL (`xctl backend
 * migrate`). Keys keep their values and expiry (the target assigns its own revisions); audit
 * events keep their ids. The copy can be re-run: a key already holding the same value and an
 * event id already stored are skipped, and a key holding a different value stops the copy unless
 * overwrite is set (copying one cluster's CAs over another's would break both). Afterwards every
 * source key and event id is looked up in the target, so the counts reported are verified ones.
 * Imports only errors and the store.
 */
import { conflict, internal } from '../errors.js';
import type { PostgresBackend } from './postgres.js';
import type { SqliteBackend } from './sqlite.js';

/** TransferReport counts what a copy did and what it verified. */
export interface TransferReport {
  keys: { source: number; copied: number; unchanged: number; overwritten: number; verified: number };
  events: { source: number; copied: number; alreadyThere: number; verified: number };
}

const EVENT_PAGE = 5000;

/** sameJson compares two stored values as the JSON they are stored as. */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * copySqliteToPostgres copies every live key and every audit event from `from` into `to` and
 * verifies the copy. It throws `conflict` on a key whose value differs (unless overwrite), and
 * `internal` when the verification finds something missing.
 */
export async function copySqliteToPostgres(from: SqliteBackend, to: PostgresBackend, opts: { overwrite?: boolean } = {}): Promise<TransferReport> {
  const r: TransferReport = {
    keys: { source: 0, copied: 0, unchanged: 0, overwritten: 0, verified: 0 },
    events: { source: 0, copied: 0, alreadyThere: 0, verified: 0 },
  };
  const items = await from.list('');
  r.keys.source = items.length;
  for (const item of items) {
    const existing = await to.get(item.key);
    const expiry = item.expires ? { expires: item.expires } : {};
    if (!existing) {
      await to.put(item.key, item.value, { expectRevision: 0, ...expiry });
      r.keys.copied++;
    } else if (sameJson(existing.value, item.value)) {
      r.keys.unchanged++;
    } else if (opts.overwrite) {
      await to.put(item.key, item.value, { expectRevision: existing.revision, ...expiry });
      r.keys.overwritten++;
    } else {
      throw conflict(`${to.where} already holds ${item.key} with a different value`, {
        hint: 'Point --to at an empty database, or pass --overwrite to replace what is there with the SQLite copy.',
      });
    }
  }
  for (const item of items) {
    const got = await to.get(item.key);
    if (got && sameJson(got.value, item.value)) r.keys.verified++;
  }

  let after = '';
  for (;;) {
    const page = await from.scanEvents(after, EVENT_PAGE);
    if (page.length === 0) break;
    r.events.source += page.length;
    const added = await to.importEvents(page);
    r.events.copied += added;
    r.events.alreadyThere += page.length - added;
    r.events.verified += await to.countEventIds(page.map((e) => e.id));
    after = page[page.length - 1]!.id;
  }

  if (r.keys.verified !== r.keys.source || r.events.verified !== r.events.source) {
    throw internal(
      `the copy to ${to.where} is incomplete: ${r.keys.verified} of ${r.keys.source} keys and ${r.events.verified} of ${r.events.source} events are there`,
      { hint: 'Stop every service writing to either store and run the migration again.' },
    );
  }
  return r;
}
