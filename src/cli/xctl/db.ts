/**
 * cli/xctl/db: `xctl db ls` (what agents serve, and which agent), `xctl db configure create` (an
 * agent config for another host, like `teleport db configure create`), and
 * `xctl install systemd` (a unit that runs `xctl start -c /etc/xport.yaml`).
 */
import { access } from 'node:fs/promises';
import { stringify } from 'yaml';
import { alreadyExists, usage } from '../../errors.js';
import { writeFileAtomic, writeSecretFile } from '../../util/fs.js';
import { parseHostPort } from '../../util/net.js';
import { parseRedisUri, type DatabaseSummary } from '../../db/database.js';
import type { CliContext } from '../shared/context.js';
import { outputTarget, parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';
import { azureDiscoveryConfig, type AzureConfigureOptions } from './db-azure.js';
import { awsDatabaseBlock, awsDiscoveryMatchers, type AwsConfigureFlags } from './db-aws.js';

/** DbRow is a database as the admin listing of `GET /v1/databases` returns it. */
interface DbRow extends DatabaseSummary {
  agents: string[];
  status: string;
  health?: { ok: boolean; error?: string; checked: string };
  /** With proxy replicas heartbeating: how many there are, and which hold each agent's tunnel. */
  proxies?: number;
  tunnels?: { agent: string; proxies: string[] }[];
}

/** runDbLs lists databases with the agents serving them. */
export async function runDbLs(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const { databases } = await conn.api.request<{ databases: DbRow[] }>('GET', '/v1/databases');
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(databases, format));
    return;
  }
  if (databases.length === 0) {
    ctx.io.stdout.write('No databases found.\n');
    return;
  }
  // Tunnels: per serving agent, to how many of the live proxy replicas its tunnels are up.
  const tunnels = (d: DbRow) => (d.tunnels && d.proxies !== undefined ? d.tunnels.map((t) => `${t.agent} ${t.proxies.length}/${d.proxies}`).join(', ') : '');
  const withTunnels = databases.some((d) => d.tunnels !== undefined);
  ctx.io.stdout.write(
    renderTable(
      ['Name', 'Agents', 'Labels', 'URI', 'Status', ...(withTunnels ? ['Tunnels'] : [])],
      databases.map((d) => [
        d.name,
        Array.isArray(d.agents) ? d.agents.join(',') : String(d.agents),
        Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(','),
        d.uri,
        // The agent's own check says why a served database is unusable (TLS, refused, …).
        d.status === 'unhealthy' && d.health?.error ? `unhealthy: ${d.health.error}` : d.status,
        ...(withTunnels ? [tunnels(d)] : []),
      ]),
    ),
  );
}

/** DbConfigureOptions are `xctl db configure create`'s flags. */
export interface DbConfigureOptions extends XctlGlobals, AzureConfigureOptions, AwsConfigureFlags {
  output?: string;
  token?: string;
  proxy?: string;
  name?: string;
  protocol?: string;
  uri?: string;
  labels?: Record<string, string>;
  caPin?: string;
  caCertFile?: string;
  dataDir?: string;
}

/** runDbConfigureCreate writes an agent config (stdout, a file, or file:///path). */
export async function runDbConfigureCreate(ctx: CliContext, o: DbConfigureOptions): Promise<void> {
  if (!o.token) throw usage('--token is required', { hint: 'Create one with: xctl tokens add --type=db' });
  if (!o.proxy) throw usage('--proxy is required (the proxy address agents dial)');
  parseHostPort(o.proxy, undefined, '--proxy');
  if (o.caPin && !/^sha256:[0-9a-f]{64}$/.test(o.caPin)) throw usage(`--ca-pin must look like sha256:<64 hex digits>`);
  const protocol = o.protocol ?? 'redis';
  if (protocol !== 'redis') throw usage(`unsupported --protocol "${protocol}"; supported: redis`);
  if ((o.name && !o.uri) || (!o.name && o.uri)) throw usage('--name and --uri go together');
  if (o.uri) parseRedisUri(o.uri);
  const azure = azureDiscoveryConfig(o);
  const awsBlock = awsDatabaseBlock(o);
  if (awsBlock.aws && !o.name) throw usage('--aws-elasticache-group-id and --aws-memorydb-cluster-name describe the database of --name/--uri');
  const config = {
    version: 'v1',
    data_dir: o.dataDir ?? '/var/lib/xport',
    auth_service: { enabled: false },
    proxy_service: { enabled: false },
    db_service: {
      enabled: true,
      auth_token: o.token,
      proxy_server: o.proxy,
      ...(o.caPin ? { ca_pin: o.caPin } : {}),
      ...(o.name
        ? {
            databases: [
              {
                name: o.name,
                protocol,
                uri: o.uri!,
                ...(o.labels && Object.keys(o.labels).length ? { static_labels: o.labels } : {}),
                ...(o.caCertFile ? { tls: { ca_cert_file: o.caCertFile } } : {}),
                ...awsBlock,
              },
            ],
          }
        : {}),
      ...azure,
      ...awsDiscoveryMatchers(o),
    },
  };
  const text = `# xport database agent, generated by xctl db configure create\n${stringify(config)}`;
  const out = outputTarget(o.output, '/etc/xport.yaml');
  if (out.kind === 'stdout') {
    ctx.io.stdout.write(text);
    return;
  }
  const path = out.path;
  try {
    await access(path);
    throw alreadyExists(`${path} already exists`, { hint: 'Remove it or choose another --output.' });
  } catch (err) {
    if ((err as { kind?: string }).kind === 'already-exists') throw err;
  }
  // The config holds the join token: keep it private.
  await writeSecretFile(path, text);
  ctx.io.stdout.write(`Wrote config to file "${path}". Now you can start the agent with:\n\n  xctl start -c ${path}\n`);
}

/** runInstallSystemd prints or writes a systemd unit. */
export async function runInstallSystemd(ctx: CliContext, o: XctlGlobals & { output?: string; configPath?: string; binary?: string }): Promise<void> {
  const cfg = o.configPath ?? '/etc/xport.yaml';
  const bin = o.binary ?? '/usr/local/bin/xctl';
  const unit = [
    '[Unit]',
    'Description=xport service (auth, proxy, database agent)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${bin} start -c ${cfg}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    'Restart=on-failure',
    'RestartSec=5',
    'LimitNOFILE=524288',
    'NoNewPrivileges=true',
    'PrivateTmp=true',
    'ProtectSystem=full',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const out = outputTarget(o.output, '/etc/systemd/system/xport.service');
  if (out.kind === 'stdout') {
    ctx.io.stdout.write(unit);
    return;
  }
  await writeFileAtomic(out.path, unit);
  ctx.io.stdout.write(`Wrote systemd unit to ${out.path}. Enable it with:\n\n  systemctl daemon-reload && systemctl enable --now ${out.path.split('/').pop()}\n`);
}
