/**
 * cli/xctl/status: `xctl status` — cluster, version, CAs and the CA pin agents and users trust.
 */
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';
import { escapeControl as esc } from '../../util/escape.js';

interface StatusReply {
  cluster_name: string;
  server_version: string;
  cas: { type: string; pin: string; not_after: string }[];
  ca_pin: string;
  /** Live proxy replicas (from their heartbeats) and the agent tunnels each holds. */
  proxies?: { id: string; addr: string; last_seen: string; tunnels: { host_id: string; databases: string[] }[] }[];
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
  const lines = rows.map(([k, v]) => `${k.padEnd(13)}${v}`);
  if (s.proxies) {
    // The replicas (from their heartbeats) and, per agent, which of them hold its tunnels.
    const agents = new Map<string, string[]>();
    for (const p of s.proxies) for (const t of p.tunnels) agents.set(t.host_id, [...(agents.get(t.host_id) ?? []), p.id]);
    lines.push(`${'Proxies'.padEnd(13)}${s.proxies.length}`);
    for (const p of s.proxies) lines.push(`  ${esc(p.id)}  ${esc(p.addr)}, last seen ${esc(p.last_seen.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}, ${p.tunnels.length} agent tunnel(s)`);
    lines.push(`${'Agents'.padEnd(13)}${agents.size}`);
    for (const [a, ps] of [...agents].sort()) lines.push(`  ${esc(a)}  tunnels up to ${ps.length}/${s.proxies.length} proxies: ${esc(ps.join(', '))}`);
  }
  ctx.io.stdout.write(lines.join('\n') + '\n');
}
