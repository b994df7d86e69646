/**
 * cli/xctl/audit: `xctl audit ls` — search the audit log.
 */
import { usage } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** AuditLsOptions are `xctl audit ls`'s flags. */
export interface AuditLsOptions extends XctlGlobals {
  type?: string;
  user?: string;
  since?: string;
  limit?: string;
  format?: string;
}

// Shown in their own columns, or too long for a table row (all of them stay in --format json).
const HIDDEN = new Set(['type', 'code', 'time', 'user', 'success', 'id', 'sid', 'db_protocol', 'db_uri', 'db_type', 'cluster_name', 'addr.remote', 'server_id', 'agent', 'command', 'keys', 'serial']);
const RENAMED: Record<string, string> = { db_service: 'db' };

/** runAuditLs prints events, oldest first. `--since` takes a duration (1h) or a date. */
export async function runAuditLs(ctx: CliContext, o: AuditLsOptions): Promise<void> {
  const format = parseFormat(o.format);
  const q = new URLSearchParams();
  if (o.type) q.set('type', o.type);
  if (o.user) q.set('user', o.user);
  if (o.since) {
    const asDate = Date.parse(o.since);
    const since = /^\d{4}-\d\d-\d\d/.test(o.since) && !Number.isNaN(asDate) ? new Date(asDate) : new Date(ctx.clock.now().getTime() - parseDuration(o.since, '--since', 'm'));
    q.set('since', since.toISOString());
  }
  if (o.limit) {
    if (!/^\d+$/.test(o.limit)) throw usage(`--limit must be a number, got "${o.limit}"`);
    q.set('limit', o.limit);
  }
  const conn = await connectAdmin(ctx, o);
  const { events } = await conn.api.request<{ events: Record<string, unknown>[] }>('GET', `/v1/audit?${q}`);
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(events, format));
    return;
  }
  if (events.length === 0) {
    ctx.io.stdout.write('No events found.\n');
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['Time', 'Type', 'Code', 'User', 'Details'],
      events.map((e) => [
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
      ]),
    ),
  );
}
