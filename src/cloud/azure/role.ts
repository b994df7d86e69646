/**
 * cloud/azure/role: the Azure custom role an agent config needs — exactly the actions its Azure
 * databases and discovery matchers use (seed step 3, "Create a custom role"), in the JSON shape
 * `az role definition create` and the portal's JSON tab take. Pure; no SDK.
 */
import type { AzureMatcher, AzureDatabase } from '../../db/cloud.js';
import { LIST_KEYS_ACTIONS } from './access-keys.js';
import { parseCacheId } from './arm-id.js';
import { DISCOVERY_ACTIONS } from './discovery.js';

/** RoleNeeds is what a config asks of Azure. */
export interface RoleNeeds {
  matchers: readonly AzureMatcher[];
  /** Static databases' azure blocks. */
  databases: readonly AzureDatabase[];
}

/** AzureRoleDefinition is a custom role as Azure's JSON tab shows it. */
export interface AzureRoleDefinition {
  properties: {
    roleName: string;
    description: string;
    assignableScopes: string[];
    permissions: { actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] }[];
  };
}

/** SUBSCRIPTION_PLACEHOLDER stands for "each subscription the agent discovers in" (matchers with subscriptions: ['*']). */
export const SUBSCRIPTION_PLACEHOLDER = '/subscriptions/<subscription>';

/** roleActions lists the actions the config needs, sorted. */
export function roleActions(n: RoleNeeds): string[] {
  const a = new Set<string>();
  for (const m of n.matchers) {
    if (m.subscriptions.includes('*')) a.add(DISCOVERY_ACTIONS.subscriptions);
    // Discovery may pick access keys for a cache unless the matcher forces Entra ID.
    const keys = m.auth !== 'entra_id';
    if (m.types.includes('redis')) {
      a.add(DISCOVERY_ACTIONS.redis);
      if (keys) a.add(LIST_KEYS_ACTIONS.redis);
    }
    if (m.types.includes('redis-enterprise')) {
      a.add(DISCOVERY_ACTIONS.enterprise);
      a.add(DISCOVERY_ACTIONS.enterpriseDatabases);
      if (keys) a.add(LIST_KEYS_ACTIONS['redis-enterprise']);
    }
  }
  for (const d of n.databases) {
    // An Entra ID database needs no management-plane right at all: the token is for Redis itself.
    if (d.auth === 'access_key') a.add(LIST_KEYS_ACTIONS[parseCacheId(d.resourceId).kind]);
  }
  return [...a].sort();
}

/** roleScopes are the subscriptions the role must be assignable in (the placeholder for `*`). */
export function roleScopes(n: RoleNeeds): string[] {
  const s = new Set<string>();
  for (const m of n.matchers) for (const sub of m.subscriptions) s.add(sub === '*' ? SUBSCRIPTION_PLACEHOLDER : `/subscriptions/${sub}`);
  for (const d of n.databases) if (d.auth === 'access_key') s.add(`/subscriptions/${d.subscription}`);
  return [...s].sort();
}

/** roleDefinition builds the custom role, or undefined when the config needs no Azure permission. */
export function roleDefinition(n: RoleNeeds, roleName: string, scopes = roleScopes(n)): AzureRoleDefinition | undefined {
  const actions = roleActions(n);
  if (actions.length === 0) return undefined;
  return {
    properties: {
      roleName,
      description: 'Allows the xport database agent to discover Azure Cache for Redis and Redis Enterprise / Managed Redis databases and list their keys',
      assignableScopes: scopes,
      permissions: [{ actions, notActions: [], dataActions: [], notDataActions: [] }],
    },
  };
}
