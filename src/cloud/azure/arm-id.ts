/**
 * cloud/azure/arm-id: ARM resource ids of Azure caches, parsed once so the rest of the module works
 * with names, not string offsets. Pure; no SDK.
 */
import { badParameter } from '../../errors.js';

/** CacheRef names an Azure Cache for Redis cache or an Enterprise / Managed Redis database. */
export type CacheRef =
  | { kind: 'redis'; subscription: string; resourceGroup: string; name: string }
  | { kind: 'redis-enterprise'; subscription: string; resourceGroup: string; cluster: string; database: string };

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Cache\/(redis|redisEnterprise)\/([^/]+)(?:\/databases\/([^/]+))?\/?$/i;

/**
 * parseCacheId reads `/subscriptions/S/resourceGroups/G/providers/Microsoft.Cache/Redis/N` or
 * `…/redisEnterprise/C[/databases/D]`; a cluster id means its database `default` (as Teleport).
 */
export function parseCacheId(id: string): CacheRef {
  const m = ID.exec(id);
  if (!m) throw badParameter(`"${id}" is not the ARM resource id of an Azure cache`, { hint: 'Expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Cache/Redis/<name> or …/redisEnterprise/<cluster>[/databases/<db>].' });
  const [, subscription, resourceGroup, type, name, database] = m as unknown as [string, string, string, string, string, string | undefined];
  if (/^redis$/i.test(type)) {
    if (database !== undefined) throw badParameter(`"${id}": a Microsoft.Cache/Redis cache has no databases`);
    return { kind: 'redis', subscription, resourceGroup, name };
  }
  return { kind: 'redis-enterprise', subscription, resourceGroup, cluster: name, database: database ?? 'default' };
}

/** resourceGroupOf reads the resource group out of any ARM id (`undefined` when it has none). */
export function resourceGroupOf(id: string | undefined): string | undefined {
  return id ? /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] : undefined;
}

/** subscriptionOf reads the subscription id out of any ARM id. */
export function subscriptionOf(id: string | undefined): string | undefined {
  return id ? /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] : undefined;
}
