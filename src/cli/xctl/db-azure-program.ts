/**
 * cli/xctl/db-azure-program: the Azure flags of `xctl db configure create` and the `--azure` form of
 * `xctl db configure bootstrap` (flags only; the run code in db-azure.ts loads on use). Kept apart
 * from program.ts so the AWS flags can sit next to them without both editing one block.
 */
import type { Command } from 'commander';
import type { CliContext } from '../shared/context.js';
import { setExamples } from '../shared/docgen.js';
import { commaList } from '../shared/program.js';

/** addAzureConfigureOptions adds Teleport's Azure discovery flags to `db configure create`. */
export function addAzureConfigureOptions(create: Command): Command {
  return create
    .option('--azure-redis-discovery <regions>', 'discover Azure Cache for Redis and Redis Enterprise / Managed Redis in these regions (comma-separated, * for all)', commaList)
    .option('--azure-subscription <ids>', 'with --azure-redis-discovery: only these subscriptions (default: all the agent can see)', commaList)
    .option('--azure-resource-group <names>', 'with --azure-redis-discovery: only these resource groups (default: all)', commaList);
}

/**
 * addAzureBootstrapOptions adds the Azure flags of `db configure bootstrap` (not --manual, which the
 * command shares across clouds); the command's action sends `--azure` to {@link runAzureBootstrap}.
 */
export function addAzureBootstrapOptions(bootstrap: Command): Command {
  return bootstrap
    .option('--azure', 'Azure: a custom role with exactly the actions the config needs')
    .option('--assignee <object-id>', 'with --azure: the principal to assign the role to (default: the identity xctl runs as)')
    .option('--role-name <name>', 'with --azure: name of the custom role', 'XportDatabaseService')
    .option('--azure-cloud <name>', "with --azure: AzurePublicCloud, AzureChinaCloud or AzureUSGovernment (default: the config's azure_cloud)");
}

/** runAzureBootstrap runs `db configure bootstrap --azure` (loaded on use). */
export async function runAzureBootstrap(ctx: CliContext, o: Record<string, unknown>): Promise<void> {
  return (await import('./db-azure.js')).runDbBootstrapAzure(ctx, o);
}

/**
 * registerBootstrap adds `db configure bootstrap`. `--azure` dispatches to the Azure bootstrap; a
 * second cloud adds its flags and its own branch to the same command.
 */
export function registerBootstrap(configure: Command, ctx: CliContext): Command {
  const bootstrap = addAzureBootstrapOptions(
    configure
      .command('bootstrap')
      .description('print (or, without --manual, create and assign) the cloud permissions the agent config needs')
      .option('--manual', 'only print the role and the steps; change nothing in the cloud'),
  ).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals();
    if (o.azure) return runAzureBootstrap(ctx, o);
    const { usage } = await import('../../errors.js');
    throw usage('name the cloud to bootstrap: --azure', { hint: 'For example: xctl db configure bootstrap -c /etc/xport.yaml --azure --manual' });
  });
  setExamples(bootstrap, '  xctl db configure bootstrap -c /etc/xport.yaml --azure --manual\n  xctl db configure bootstrap -c /etc/xport.yaml --azure --assignee 00000000-0000-0000-0000-000000000000');
  return bootstrap;
}
