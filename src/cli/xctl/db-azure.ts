/**
 * cli/xctl/db-azure: the Azure parts of `xctl db configure` — the discovery matcher that
 * `configure create --azure-redis-discovery` writes (seed step 2), and `configure bootstrap --azure`,
 * which prints the custom role with exactly the actions the config needs (seed step 3) and, without
 * --manual, creates it and assigns it to the agent's principal.
 */
import { usage } from '../../errors.js';
import { AZURE_CLOUDS, type AzureCloud } from '../../db/cloud.js';
import { DEFAULT_CONFIG_PATH, applyEnvironment, loadConfig } from '../../service/config.js';
import { specFromConfig } from '../../service/databases.js';
import type { CliContext } from '../shared/context.js';
import type { XctlGlobals } from './admin.js';

/** AzureConfigureOptions are the Azure flags of `xctl db configure create`. */
export interface AzureConfigureOptions {
  azureRedisDiscovery?: string[];
  azureSubscription?: string[];
  azureResourceGroup?: string[];
  labels?: Record<string, string>;
}

/**
 * azureDiscoveryConfig is the `db_service.azure` block the flags ask for (empty without
 * --azure-redis-discovery). `--labels` then selects caches by tag, as Teleport's.
 */
export function azureDiscoveryConfig(o: AzureConfigureOptions): { azure?: Record<string, unknown>[] } {
  if (!o.azureRedisDiscovery) {
    if (o.azureSubscription || o.azureResourceGroup) throw usage('--azure-subscription and --azure-resource-group need --azure-redis-discovery', { hint: 'For example: --azure-redis-discovery=eastus --azure-resource-group=rg-cache' });
    return {};
  }
  const regions = o.azureRedisDiscovery.filter(Boolean);
  if (regions.length === 0) throw usage('--azure-redis-discovery needs at least one region (or *)');
  return {
    azure: [
      {
        types: ['redis', 'redis-enterprise'],
        regions,
        subscriptions: o.azureSubscription?.length ? o.azureSubscription : ['*'],
        resource_groups: o.azureResourceGroup?.length ? o.azureResourceGroup : ['*'],
        tags: o.labels && Object.keys(o.labels).length ? o.labels : { '*': '*' },
      },
    ],
  };
}

/** DbBootstrapAzureOptions are `xctl db configure bootstrap --azure`'s flags. */
export interface DbBootstrapAzureOptions extends XctlGlobals {
  manual?: boolean;
  assignee?: string;
  roleName?: string;
  azureCloud?: string;
}

/** runDbBootstrapAzure prints the role (--manual) or creates and assigns it. */
export async function runDbBootstrapAzure(ctx: CliContext, o: DbBootstrapAzureOptions): Promise<void> {
  const path = o.config ?? ctx.env.XCTL_CONFIG ?? DEFAULT_CONFIG_PATH;
  const config = applyEnvironment(await loadConfig(path), ctx.env);
  const statics = await Promise.all(config.db.databases.filter((d) => d.azure).map(specFromConfig));
  const { roleDefinition, roleScopes, SUBSCRIPTION_PLACEHOLDER } = await import('../../cloud/azure/role.js');
  const needs = { matchers: config.db.azure, databases: statics.flatMap((d) => (d.azure ? [d.azure] : [])) };
  const roleName = o.roleName ?? 'XportDatabaseService';
  let cloud: AzureCloud = config.db.azureCloud;
  if (o.azureCloud) {
    const named = AZURE_CLOUDS[o.azureCloud as keyof typeof AZURE_CLOUDS];
    if (!named) throw usage(`unknown --azure-cloud "${o.azureCloud}"`, { hint: `One of: ${Object.keys(AZURE_CLOUDS).join(', ')}.` });
    cloud = named;
  }
  const role = roleDefinition(needs, roleName);
  if (!role) {
    ctx.io.stdout.write(`${path} needs no Azure permissions: it has no Azure discovery matcher and no Azure database using access keys (Entra ID databases need none).\n`);
    return;
  }
  const scopes = roleScopes(needs);
  if (o.manual) {
    ctx.io.stdout.write(JSON.stringify(role, null, 2) + '\n');
    ctx.io.stderr.write(
      [
        '',
        `To apply it by hand (seed step 3): save the JSON above as ${roleName}.json${scopes.includes(SUBSCRIPTION_PLACEHOLDER) ? ', replace <subscription> with your subscription id' : ''}, then`,
        `  az role definition create --role-definition @${roleName}.json`,
        `  az role assignment create --assignee <agent principal or managed identity> --role ${roleName} --scope <subscription or resource group scope>`,
        'or paste it in the portal: Subscription → Access control (IAM) → Add → Add custom role → JSON.',
        '',
      ].join('\n'),
    );
    return;
  }
  const [{ azureClientsFor }, { applyAzureRole, visibleSubscriptions }] = await Promise.all([import('../../cloud/azure/sdk.js'), import('../../cloud/azure/bootstrap.js')]);
  const clients = await azureClientsFor(cloud);
  const concrete = scopes.filter((s) => s !== SUBSCRIPTION_PLACEHOLDER);
  if (scopes.includes(SUBSCRIPTION_PLACEHOLDER)) concrete.push(...(await visibleSubscriptions(clients)).map((s) => `/subscriptions/${s}`));
  const applied = await applyAzureRole(clients, role, [...new Set(concrete)], o.assignee);
  for (const a of applied) {
    ctx.io.stdout.write(`${a.assigned ? 'Assigned' : 'Already assigned'} role ${roleName} (${a.roleDefinitionId}) to principal ${a.assignee} at ${a.scope}\n`);
  }
  ctx.io.stdout.write(`Actions: ${role.properties.permissions[0]!.actions.join(', ')}\n`);
}
