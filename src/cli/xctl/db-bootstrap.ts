/**
 * cli/xctl/db-bootstrap: `xctl db configure bootstrap` (the IAM policy for a config: printed with
 * --manual, else created and attached) and `xctl db users ls` (managed users from AWS). Both read
 * the service config named by -c; AWS modules are loaded only here.
 */
import { badParameter, usage } from '../../errors.js';
import { DEFAULT_CONFIG_PATH, loadConfig, type ServiceConfig } from '../../service/config.js';
import { specFromConfig } from '../../service/databases.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { LineReader } from '../shared/prompt.js';
import type { XctlGlobals } from './admin.js';
import { nullLogger } from '../../util/log.js';

interface BootstrapOptions extends XctlGlobals {
  manual?: boolean;
  attachToUser?: string;
  attachToRole?: string;
  policyName: string;
  confirm?: boolean;
}

async function awsDatabases(config: ServiceConfig): Promise<DatabaseSpec[]> {
  const specs = await Promise.all(config.db.databases.map(specFromConfig));
  return specs.filter((d) => d.aws !== undefined);
}

async function readConfig(ctx: CliContext, o: XctlGlobals): Promise<ServiceConfig> {
  const path = o.config ?? ctx.env.XCTL_CONFIG ?? DEFAULT_CONFIG_PATH;
  return loadConfig(path);
}

/** runBootstrap prints or applies the agent's IAM policy. */
export async function runBootstrap(ctx: CliContext, o: BootstrapOptions): Promise<void> {
  if (!o.manual && !o.attachToUser && !o.attachToRole) throw usage('name the identity the agent runs as: --attach-to-user or --attach-to-role (or print the policy with --manual)');
  const config = await readConfig(ctx, o);
  const dbs = await awsDatabases(config);
  if (dbs.length === 0 && config.db.aws.length === 0) throw badParameter(`${config.source} has no AWS databases and no db_service.aws matchers: there is nothing to bootstrap`);
  const { policyFor, applyPolicy, nameOf } = await import('../../cloud/aws/bootstrap.js');
  const assumed = new Set([...dbs.map((d) => d.aws!.assumeRoleArn), ...config.db.aws.map((m) => m.assumeRoleArn)].filter((x): x is string => !!x));
  const roleTarget = o.attachToRole && [...assumed].find((a) => a === o.attachToRole || nameOf(a) === o.attachToRole);
  const policy = policyFor({ databases: dbs, matchers: config.db.aws, ...(roleTarget ? { targetRoleArn: roleTarget } : {}) });
  const text = JSON.stringify(policy, null, 2);
  const target = o.attachToUser ? { kind: 'user' as const, ref: o.attachToUser } : o.attachToRole ? { kind: 'role' as const, ref: o.attachToRole } : undefined;
  if (o.manual) {
    ctx.io.stdout.write(
      [
        `1. Create an IAM policy named "${o.policyName}" with this document:`,
        '',
        text,
        '',
        target ? `2. Attach it to the IAM ${target.kind} "${target.ref}".` : '2. Attach it to the IAM user or role the database agent runs as.',
        roleTarget ? '   (This role is one the agent assumes: the policy covers only what is reached through it.)' : '',
        assumed.size && !roleTarget ? `3. Run bootstrap again with --attach-to-role for each assumed role: ${[...assumed].join(', ')}` : '',
        '',
      ]
        .filter((l, i, a) => l !== '' || a[i - 1] !== '')
        .join('\n'),
    );
    return;
  }
  if (!o.confirm) {
    if (!ctx.io.isTTY) throw usage('bootstrap changes IAM: add --confirm (or print the policy with --manual)');
    ctx.io.stdout.write(`${text}\n`);
    ctx.io.stdout.write(`Create policy "${o.policyName}" and attach it to ${target!.kind} "${target!.ref}"? [y/N] `);
    const lines = new LineReader(ctx);
    const answer = (await lines.next()) ?? '';
    lines.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      ctx.io.stdout.write('Nothing changed.\n');
      return;
    }
  }
  const arn = await applyPolicy({ policyName: o.policyName, policy, target: target!, region: ctx.env.AWS_REGION });
  ctx.io.stdout.write(`Attached policy ${arn} to ${target!.kind} ${nameOf(target!.ref)}.\n`);
}

/** runUsersLs lists managed users of the config's AWS databases (static and discovered). */
export async function runUsersLs(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const config = await readConfig(ctx, o);
  const [{ AwsSession }, { listManagedUsers }, { createAwsDiscoveries }] = await Promise.all([
    import('../../cloud/aws/session.js'),
    import('../../cloud/aws/managed-list.js'),
    import('../../cloud/aws/discovery.js'),
  ]);
  const session = new AwsSession({ defaultRegion: ctx.env.AWS_REGION });
  const dbs = await awsDatabases(config);
  for (const src of createAwsDiscoveries(config.db.aws, nullLogger, session)) dbs.push(...(await src.discover(new AbortController().signal)));
  const rows = await listManagedUsers(session, dbs);
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(rows, format));
    return;
  }
  if (rows.length === 0) {
    ctx.io.stdout.write('No managed users found. Tag an ElastiCache or MemoryDB user xport.dev/managed=true and add it to a database user group or ACL.\n');
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['User', 'Service', 'Region', 'Databases', 'Last Rotation'],
      rows.map((r) => [r.user, r.service, r.region, r.databases.join(','), r.lastRotation ?? 'not yet']),
    ),
  );
}
