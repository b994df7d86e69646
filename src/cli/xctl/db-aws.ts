/**
 * cli/xctl/db-aws: the AWS parts of `xctl db …` — tctl's flags on `db configure create`
 * (`--aws-region --aws-elasticache-group-id --aws-memorydb-cluster-name --aws-assume-role-arn
 * --aws-external-id --elasticache-discovery --memorydb-discovery --aws-tags`), and the
 * `db configure bootstrap` and `db users ls` commands (flags here; actions in db-bootstrap.ts,
 * loaded lazily with the AWS SDK).
 */
import { Command, Option } from 'commander';
import { usage } from '../../errors.js';
import { addAzureBootstrapOptions } from './db-azure-program.js';
import type { CliContext } from '../shared/context.js';
import { setExamples } from '../shared/docgen.js';
import { commaList, labelMap } from '../shared/program.js';

/** AwsConfigureFlags are the AWS flags of `xctl db configure create`. */
export interface AwsConfigureFlags {
  awsRegion?: string;
  awsElasticacheGroupId?: string;
  awsMemorydbClusterName?: string;
  awsAssumeRoleArn?: string;
  awsExternalId?: string;
  elasticacheDiscovery?: string[];
  memorydbDiscovery?: string[];
  awsTags?: Record<string, string>;
}

/** addAwsConfigureFlags adds the AWS flags to `db configure create`. */
export function addAwsConfigureFlags(cmd: Command): Command {
  return cmd
    .option('--aws-region <region>', 'AWS region of the database (ElastiCache, MemoryDB)')
    .option('--aws-elasticache-group-id <id>', 'ElastiCache replication group id of the database')
    .option('--aws-memorydb-cluster-name <name>', 'MemoryDB cluster name of the database')
    .option('--aws-assume-role-arn <arn>', 'IAM role the agent assumes to reach the database (and discovery)')
    .option('--aws-external-id <id>', 'external id the role trust policy requires')
    .option('--elasticache-discovery <regions>', 'discover ElastiCache replication groups in these regions (comma-separated)', commaList)
    .option('--memorydb-discovery <regions>', 'discover MemoryDB clusters in these regions (comma-separated)', commaList)
    .option('--aws-tags <k=v,...>', 'only discover AWS resources with these tags', labelMap);
}

/** awsDatabaseBlock is the `aws:` block of the static database the flags describe, if any. */
export function awsDatabaseBlock(o: AwsConfigureFlags): { aws?: Record<string, unknown> } {
  const kinds = [o.awsElasticacheGroupId, o.awsMemorydbClusterName].filter(Boolean).length;
  if (kinds > 1) throw usage('--aws-elasticache-group-id and --aws-memorydb-cluster-name are exclusive');
  if (o.awsExternalId && !o.awsAssumeRoleArn) throw usage('--aws-external-id needs --aws-assume-role-arn');
  if (kinds === 0) {
    if (o.awsRegion && !o.elasticacheDiscovery && !o.memorydbDiscovery) throw usage('--aws-region needs --aws-elasticache-group-id or --aws-memorydb-cluster-name');
    return {};
  }
  if (!o.awsRegion) throw usage('--aws-region is required with --aws-elasticache-group-id or --aws-memorydb-cluster-name');
  return {
    aws: {
      region: o.awsRegion,
      ...(o.awsElasticacheGroupId ? { elasticache: { replication_group_id: o.awsElasticacheGroupId } } : {}),
      ...(o.awsMemorydbClusterName ? { memorydb: { cluster_name: o.awsMemorydbClusterName } } : {}),
      ...(o.awsAssumeRoleArn ? { assume_role_arn: o.awsAssumeRoleArn } : {}),
      ...(o.awsExternalId ? { external_id: o.awsExternalId } : {}),
    },
  };
}

/** awsDiscoveryMatchers is `db_service.aws` for the discovery flags. */
export function awsDiscoveryMatchers(o: AwsConfigureFlags): { aws?: Array<Record<string, unknown>> } {
  const tags = o.awsTags && Object.keys(o.awsTags).length ? o.awsTags : { '*': '*' };
  const role = { ...(o.awsAssumeRoleArn ? { assume_role_arn: o.awsAssumeRoleArn } : {}), ...(o.awsExternalId ? { external_id: o.awsExternalId } : {}) };
  const matchers: Array<Record<string, unknown>> = [];
  if (o.elasticacheDiscovery?.length) matchers.push({ types: ['elasticache'], regions: o.elasticacheDiscovery, tags, ...role });
  if (o.memorydbDiscovery?.length) matchers.push({ types: ['memorydb'], regions: o.memorydbDiscovery, tags, ...role });
  return matchers.length ? { aws: matchers } : {};
}

/** registerAwsDbCommands adds `db configure bootstrap` and `db users ls`. */
export function registerAwsDbCommands(ctx: CliContext, db: Command, configure: Command): void {
  const g = (cmd: Command) => cmd.optsWithGlobals();
  const bootstrap = configure
    .command('bootstrap')
    .description('print or create the cloud permissions the database agent of a config needs: an IAM policy (AWS), or with --azure a custom role')
    .option('--manual', 'print the policy and the steps; change nothing in AWS')
    .addOption(new Option('--attach-to-user <arn|name>', 'IAM user to attach the policy to').conflicts('attachToRole'))
    .addOption(new Option('--attach-to-role <arn|name>', 'IAM role to attach the policy to').conflicts('attachToUser'))
    .option('--policy-name <name>', 'name of the IAM policy', 'XportDatabaseAccess')
    .option('--confirm', 'do not ask before changing IAM')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ policyName: string; azure?: boolean }>();
      if (o.azure) return (await import('./db-azure-program.js')).runAzureBootstrap(ctx, o);
      return (await import('./db-bootstrap.js')).runBootstrap(ctx, o);
    });
  addAzureBootstrapOptions(bootstrap);
  setExamples(
    bootstrap,
    '  xctl db configure bootstrap -c /etc/xport.yaml --manual --attach-to-role arn:aws:iam::123456789012:role/XportAgent\n' +
      '  xctl db configure bootstrap -c /etc/xport.yaml --attach-to-user XportAgent --confirm\n' +
      '  xctl db configure bootstrap -c /etc/xport.yaml --azure --manual\n' +
      '  xctl db configure bootstrap -c /etc/xport.yaml --azure --assignee 00000000-0000-0000-0000-000000000000',
  );
  const users = db.command('users').description('database users the agent manages');
  users
    .command('ls')
    .argument('[db]', 'only this database (self-hosted managed users)')
    .description('list managed users: self-hosted ones the agent on this host holds (derived ACL, last rotation), else ElastiCache/MemoryDB users of the config')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (database: string | undefined, _o, cmd: Command) => {
      if (await (await import('./db-users.js')).runManagedUsersLs(ctx, database, g(cmd))) return;
      await (await import('./db-bootstrap.js')).runUsersLs(ctx, g(cmd));
    });
  users
    .command('sync')
    .argument('<db>', 'the self-hosted database whose managed users to write to Redis again')
    .description('make the agent on this host write the managed ACL users of DB to Redis again, on every node')
    .action(async (database: string, _o, cmd: Command) => (await import('./db-users.js')).runManagedUsersSync(ctx, database, g(cmd)));
}
