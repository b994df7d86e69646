/**
 * cli/xctl/db-azure-program: the Azure flags of `xctl db configure create` and the `--azure` form of
 * `xctl db configure bootstrap` (flags only; the run code in db-azure.ts loads on use). Kept apart
 * from program.ts so the AWS flags can sit next to them without both editing one block.
 */
import type { Command } from 'commander';
import type { CliContext } from '../shared/context.js';
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
