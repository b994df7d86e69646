/**
 * cli/xctl/status: `xctl status` — cluster, version, CAs and the CA pin agents and users trust.
 */
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

interface StatusReply {
  cluster_name: string;
  server_version: string;
  cas: { type: string; pin: string; not_after: string }[];
  ca_pin: string;
}

/** runStatus prints the cluster status. */
export async function runStatus(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const s = await conn.api.request<StatusReply>('GET', '/v1/status');
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(s, format));
    return;
  }
  const rows: [string, string][] = [
    ['Cluster', s.cluster_name],
    ['Version', s.server_version],
    ...s.cas.map((c): [string, string] => [`${c.type} CA`, `valid until ${c.not_after.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`]),
    ['CA pin', s.ca_pin],
  ];
  ctx.io.stdout.write(rows.map(([k, v]) => `${k.padEnd(13)}${v}`).join('\n') + '\n');
}
