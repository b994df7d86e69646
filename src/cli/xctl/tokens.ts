/**
 * cli/xctl/tokens: `xctl tokens add|ls|rm` — join tokens for database agents.
 */
import { usage } from '../../errors.js';
import { humanDuration, parseDuration } from '../../util/duration.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** TokensAddOptions are `xctl tokens add`'s flags. */
export interface TokensAddOptions extends XctlGlobals {
  type: string;
  ttl?: string;
  value?: string;
  labels?: Record<string, string>;
  format?: string;
  uses?: string;
}

/** parseUses reads `--uses`: a whole number of joins, 1 to 10000. */
function parseUses(v: string | undefined): number {
  if (v === undefined) return 1;
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 10_000)) throw usage(`--uses must be a whole number from 1 to 10000, not "${v.slice(0, 32)}"`);
  return n;
}

/** runTokensAdd creates a join token. `--format=text` prints only the token, like tctl. */
export async function runTokensAdd(ctx: CliContext, o: TokensAddOptions): Promise<void> {
  const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl', 'm') : 30 * 60_000;
  const uses = parseUses(o.uses);
  const format = o.format === undefined ? undefined : parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const r = await conn.api.request<{ token: string; type: string; expires: string; ca_pin: string }>('POST', '/v1/tokens', {
    type: o.type,
    ttl_ms: ttlMs,
    uses,
    ...(o.value ? { value: o.value } : {}),
    labels: o.labels ?? {},
  });
  if (format === 'text') {
    ctx.io.stdout.write(`${r.token}\n`);
    return;
  }
  if (format) {
    ctx.io.stdout.write(renderData({ token: r.token, roles: [r.type === 'db' ? 'Db' : r.type], expires: r.expires, uses }, format));
    return;
  }
  ctx.io.stdout.write(
    `The invite token: ${r.token}\n` +
      `This token will expire in ${humanDuration(ttlMs)}.\n\n` +
      `Generate the configuration and start a database agent using it:\n\n` +
      `> xctl db configure create \\\n` +
      `   --token=${r.token} \\\n` +
      `   --ca-pin=${r.ca_pin} \\\n` +
      `   --proxy=${conn.publicAddr} \\\n` +
      `   --name=example \\\n` +
      `   --protocol=redis \\\n` +
      `   --uri=rediss://localhost:6379 \\\n` +
      `   --output file:///etc/xport.yaml\n\n` +
      `> xctl start -c /etc/xport.yaml\n\n` +
      `Please note:\n\n` +
      `  - This invitation token will expire in ${humanDuration(ttlMs)}.\n` +
      `  - ${uses === 1 ? 'One agent can join with it; use --uses N to let N agents join.' : `${uses} agents can join with it.`}\n` +
      `  - ${conn.publicAddr} must be reachable from the new database agent.\n` +
      `  - Redis must trust the cluster's db_client CA: see xctl auth sign --format=redis.\n`,
  );
}

/** runTokensLs lists join tokens (hints only: tokens are stored hashed). */
export async function runTokensLs(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const { tokens } = await conn.api.request<{ tokens: { hint: string; type: string; labels: Record<string, string>; expires: string; uses: number }[] }>('GET', '/v1/tokens');
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(tokens, format));
    return;
  }
  if (tokens.length === 0) {
    ctx.io.stdout.write('No active tokens found.\n');
    return;
  }
  const now = ctx.clock.now().getTime();
  ctx.io.stdout.write(
    renderTable(
      ['Token', 'Type', 'Labels', 'Uses Left', 'Expiry Time (UTC)'],
      tokens.map((t) => [
        t.hint,
        t.type,
        Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(','),
        String(t.uses),
        `${t.expires.replace('T', ' ').replace(/\.\d+Z$/, '')} (${humanDuration(Math.max(0, Date.parse(t.expires) - now))})`,
      ]),
    ),
  );
}

/** runTokensRm deletes a join token. */
export async function runTokensRm(ctx: CliContext, token: string, o: XctlGlobals): Promise<void> {
  const conn = await connectAdmin(ctx, o);
  await conn.api.request('DELETE', `/v1/tokens/${encodeURIComponent(token)}`);
  ctx.io.stdout.write(`Token ${token} has been deleted\n`);
}
