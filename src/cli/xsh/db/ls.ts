/**
 * cli/xsh/db/ls: `xsh db ls` — the databases the user's roles allow, in tsh's table shape
 * (Name, Description, Allowed Users, Labels, Connect; `--verbose` adds Protocol, Type, URI). An
 * active database login shows as `> name (user: u, db: d)` with its connect command.
 */
import { activeDbLogins, listDatabases, type ListedDatabase, type DbLogin } from '../../../client/databases.js';
import { usage } from '../../../errors.js';
import type { CliContext } from '../../shared/context.js';
import { parseFormat, renderData, renderTable, type Format } from '../../shared/output.js';
import type { XshGlobals } from '../globals.js';
import { openDbSession } from './common.js';

/** DbLsOptions are `xsh db ls`'s flags. */
export interface DbLsOptions extends XshGlobals {
  verbose?: boolean;
  format?: string;
  search?: string;
  query?: string;
}

/** runDbLs lists databases, optionally only those carrying every label in `labels`. */
export async function runDbLs(ctx: CliContext, labels: Record<string, string> | undefined, o: DbLsOptions): Promise<void> {
  const format = parseFormat(o.format);
  // Parsed before any network work: a typo in a predicate should not cost a round trip.
  const search = o.search === undefined ? undefined : parseSearch(o.search);
  const query = o.query === undefined ? undefined : parseQuery(o.query);
  const { session, store } = await openDbSession(ctx, o);
  const [all, logins] = await Promise.all([listDatabases(session), activeDbLogins(session, store)]);
  const dbs = all.filter((d) => (!labels || matchesLabels(d, labels)) && (!search || matchesSearch(d, search)) && (!query || query(d)));
  ctx.io.stdout.write(renderDatabases(dbs, logins, { format, verbose: Boolean(o.verbose), now: ctx.clock.now() }));
}

/** matchesLabels tells whether db carries every wanted label with the wanted value. */
export function matchesLabels(db: ListedDatabase, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => db.labels[k] === v);
}

/** parseSearch splits `--search` into lower-case keywords. */
export function parseSearch(v: string): string[] {
  const words = v.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean);
  if (words.length === 0) throw usage('--search needs at least one keyword', { hint: 'Example: xsh db ls --search=cache,dev' });
  return words;
}

/** matchesSearch tells whether every keyword occurs in db's name, description, or a label key or value (tsh's --search). */
export function matchesSearch(db: ListedDatabase, words: readonly string[]): boolean {
  const hay = [db.name, db.description ?? '', ...Object.entries(db.labels).flat()].map((s) => s.toLowerCase());
  return words.every((w) => hay.some((h) => h.includes(w)));
}

const QUERY_TERM = /^\s*(name|description|labels\[\s*"([^"\\]*)"\s*\]|labels\.([A-Za-z0-9_.\/-]+))\s*(==|!=)\s*"([^"\\]*)"\s*$/;

/**
 * parseQuery compiles the subset of tsh's `--query` predicate language that listings need:
 * comparisons of `name`, `description` or a label (`labels["env"]`, `labels.env`) with a quoted
 * string, by `==` or `!=`, joined by `&&`. Anything else is a usage error that says what works.
 */
export function parseQuery(v: string): (db: ListedDatabase) => boolean {
  const terms = v.split('&&').map((t) => {
    const m = QUERY_TERM.exec(t);
    if (!m) {
      throw usage(`--query: cannot read "${t.trim()}"`, {
        hint: 'Supported: name == "x", description != "y", labels["env"] == "dev" (or labels.env), joined by &&.',
      });
    }
    const field = m[1]!;
    const label = m[2] ?? m[3];
    const want = m[5]!;
    const equal = m[4] === '==';
    const get = (db: ListedDatabase): string | undefined =>
      label !== undefined ? db.labels[label] : field === 'name' ? db.name : (db.description ?? '');
    return (db: ListedDatabase) => (get(db) === want) === equal;
  });
  return (db) => terms.every((t) => t(db));
}

/** RenderDatabasesOptions controls {@link renderDatabases}. */
export interface RenderDatabasesOptions {
  format: Format;
  verbose: boolean;
  /** Logins that expired before now are not shown as active. */
  now: Date;
}

/**
 * renderDatabases renders the listing. Text follows tsh (an empty listing is the header alone);
 * json and yaml are a stable array of objects for scripts (`allowed_users`/`denied_users` are lists),
 * `active` being null without a login.
 */
export function renderDatabases(dbs: readonly ListedDatabase[], logins: readonly DbLogin[], o: RenderDatabasesOptions): string {
  const active = new Map(logins.filter((l) => l.expires.getTime() > o.now.getTime()).map((l) => [l.database, l]));
  if (o.format !== 'text') {
    return renderData(
      dbs.map((d) => {
        const l = active.get(d.name);
        return {
          name: d.name,
          description: d.description ?? '',
          protocol: d.protocol,
          type: d.type,
          uri: d.uri,
          mode: d.mode,
          labels: d.labels,
          allowed_users: d.allowed_db_users,
          denied_users: d.denied_db_users,
          status: d.status,
          agents: d.agents,
          active: l ? { db_user: l.dbUser, db_name: l.dbName ?? '', expires: l.expires.toISOString() } : null,
        };
      }),
      o.format,
    );
  }
  const head = o.verbose
    ? ['Name', 'Description', 'Protocol', 'Type', 'URI', 'Allowed Users', 'Labels', 'Connect']
    : ['Name', 'Description', 'Allowed Users', 'Labels', 'Connect'];
  const rows = dbs.map((d) => {
    const l = active.get(d.name);
    const name = l ? `> ${d.name} (${[`user: ${l.dbUser}`, ...(l.dbName ? [`db: ${l.dbName}`] : [])].join(', ')})` : d.name;
    const connect = l ? `xsh db connect ${d.name}` : '';
    const labels = formatLabels(d.labels);
    return o.verbose
      ? [name, d.description ?? '', d.protocol, d.type, d.uri, d.allowed_users, labels, connect]
      : [name, d.description ?? '', d.allowed_users, labels, connect];
  });
  return renderTable(head, rows);
}

/** formatLabels renders labels as `k=v,k2=v2`, sorted by key so the column is stable. */
export function formatLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
