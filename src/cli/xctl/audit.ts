/**
 * cli/xctl/audit: `xctl audit ls` — search the audit log.
 */
import { usage } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { escapeControl } from '../../util/escape.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** AuditLsOptions are `xctl audit ls`'s flags. */
export interface AuditLsOptions extends XctlGlobals {
  type?: string;
  user?: string;
  since?: string;
  limit?: string;
  follow?: boolean;
  format?: string;
}

/** DEFAULT_LIMIT is how many of the newest events `xctl audit ls` shows without --limit (like `tail`). */
export const DEFAULT_LIMIT = 100;
/** PAGE is the page size asked of the API (its maximum is 10,000); longer listings follow the cursor. */
const PAGE = 5_000;
/** FOLLOW_POLL_MS is how often `--follow` asks for new events. */
const FOLLOW_POLL_MS = 1_000;

// Shown in their own columns, or too long for a table row (all of them stay in --format json).
const HIDDEN = new Set(['type', 'code', 'time', 'user', 'success', 'id', 'sid', 'db_protocol', 'db_uri', 'db_type', 'cluster_name', 'addr.remote', 'server_id', 'agent', 'command', 'keys', 'serial']);
const RENAMED: Record<string, string> = { db_service: 'db' };

type Event = Record<string, unknown>;
interface AuditPage {
  events: Event[];
  /** Every match; only on a first page (no cursor). */
  total?: number;
  next?: string;
}

/**
 * runAuditLs prints the newest `--limit` events (default 100), oldest of them first so the newest
 * is last, like `tail`; says on stderr when older matches were left out; with `--follow` keeps
 * printing new events until interrupted. `--since` takes a duration (1h) or a date.
 */
export async function runAuditLs(ctx: CliContext, o: AuditLsOptions): Promise<void> {
  const format = parseFormat(o.format);
  const filters = new URLSearchParams();
  if (o.type) filters.set('type', o.type);
  if (o.user) filters.set('user', o.user);
  if (o.since) {
    const asDate = Date.parse(o.since);
    const since = /^\d{4}-\d\d-\d\d/.test(o.since) && !Number.isNaN(asDate) ? new Date(asDate) : new Date(ctx.clock.now().getTime() - parseDuration(o.since, '--since', 'm'));
    filters.set('since', since.toISOString());
  }
  let limit = DEFAULT_LIMIT;
  if (o.limit !== undefined) {
    if (!/^\d+$/.test(o.limit) || Number(o.limit) < 1) throw usage(`--limit must be a positive whole number, got "${o.limit}"`, { hint: 'Example: xctl audit ls --limit=1000' });
    limit = Number(o.limit);
  }
  const conn = await connectAdmin(ctx, o);
  const page = (extra: Record<string, string>) => {
    const q = new URLSearchParams(filters);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return conn.api.request<AuditPage>('GET', `/v1/audit?${q}`);
  };

  // Newest first, page by page along the cursor, until `limit` events or the oldest match.
  const newestFirst: Event[] = [];
  let total = 0;
  let before: string | undefined;
  for (;;) {
    const want = Math.min(PAGE, limit - newestFirst.length);
    const r = await page({ order: 'desc', limit: String(want), ...(before ? { before } : {}) });
    total = Math.max(total, r.total ?? 0, newestFirst.length + r.events.length);
    newestFirst.push(...r.events);
    if (!r.next || newestFirst.length >= limit) break;
    before = r.next;
  }
  const events = newestFirst.reverse();
  const print = (batch: Event[], first: boolean) => {
    if (format === 'json') ctx.io.stdout.write(o.follow ? batch.map((e) => JSON.stringify(e) + '\n').join('') : renderData(batch, 'json'));
    else if (format === 'yaml') ctx.io.stdout.write(o.follow ? batch.map((e) => '---\n' + renderData(e, 'yaml')).join('') : renderData(batch, 'yaml'));
    else if (batch.length > 0) ctx.io.stdout.write(first ? renderTable(['Time', 'Type', 'Code', 'User', 'Details'], batch.map(row)) : batch.map((e) => row(e).map(escapeControl).join('  ') + '\n').join(''));
  };
  if (events.length === 0 && format === 'text' && !o.follow) ctx.io.stdout.write('No events found.\n');
  print(events, true);
  if (events.length < total) {
    ctx.io.stderr.write(`Showing the newest ${events.length} of ${total} events; use --since or --limit to see others.\n`);
  }
  if (!o.follow) return;

  // --follow: ask for what came after the last event shown, until SIGINT/SIGTERM.
  // '0' sorts before every event id: with nothing to show yet, follow from the beginning.
  let after = events.length > 0 ? String(events[events.length - 1]!.id) : '0';
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const unregister = ctx.onSignal((signal) => {
    // Interrupted by the user: exit 130 as the README's exit codes say; SIGTERM is a clean stop.
    ctx.exitCode = signal === 'SIGINT' ? 130 : 0;
    stop();
  });
  let running = true;
  void stopped.then(() => (running = false));
  try {
    if (format === 'text') ctx.io.stderr.write('Following new events; press Ctrl-C to stop.\n');
    while (running) {
      const r = await page({ order: 'asc', limit: String(PAGE), after });
      print(r.events, false);
      if (r.events.length > 0) after = String(r.events[r.events.length - 1]!.id);
      if (r.next) continue;
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS))]);
    }
  } finally {
    unregister();
  }
}

/** row renders one event as the table's columns. */
function row(e: Event): string[] {
  return [
    String(e.time ?? ''),
    String(e.type ?? ''),
    String(e.code ?? ''),
    String(e.user ?? ''),
    [
      e.success === false ? 'failed' : '',
      ...Object.entries(e)
        .filter(([k]) => !HIDDEN.has(k))
        .map(([k, v]) => `${RENAMED[k] ?? k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`),
    ]
      .filter(Boolean)
      .join(' '),
  ];
}
