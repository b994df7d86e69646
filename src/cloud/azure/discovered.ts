/**
 * cloud/azure/discovered: what discovery makes of an Azure cache — whether it is usable now, its
 * name, labels and address — and whether a matcher selects it. Pure (no SDK), so every rule is
 * unit-tested on its own; cloud/azure/discovery feeds it what ARM lists.
 */
import type { AzureAuth, AzureMatcher } from '../../db/cloud.js';
import type { DatabaseSpec } from '../../db/database.js';
import { resourceGroupOf, subscriptionOf } from './arm-id.js';

/** FoundCache is one cache (OSS) or one Enterprise / Managed Redis database, as listed by ARM. */
export interface FoundCache {
  kind: 'redis' | 'redis-enterprise';
  /** ARM id of the cache, or of the Enterprise database. */
  id: string;
  /** Cache name, or the Enterprise cluster's name. */
  name: string;
  /** Enterprise: the database's name (`default` for the usual one). */
  database?: string;
  location: string;
  tags: Record<string, string>;
  hostName?: string;
  /** OSS: the TLS port (sslPort); Enterprise: the database port. */
  port?: number;
  provisioningState?: string;
  /** Enterprise: the cluster's provisioning state (the database's is in provisioningState). */
  clusterProvisioningState?: string;
  engineVersion?: string;
  clusteringPolicy?: string;
  clientProtocol?: string;
  /** OSS: keys are disabled, only Entra ID works. */
  disableAccessKeyAuthentication?: boolean;
}

/** ENGINE labels say which ARM resource type a database is (Teleport's values). */
export const ENGINE = { redis: 'Microsoft.Cache/Redis', 'redis-enterprise': 'Microsoft.Cache/redisEnterprise' } as const;

/** OSS_AVAILABLE_STATES are the provisioning states in which a cache serves clients (Teleport's list). */
export const OSS_AVAILABLE_STATES = ['Succeeded', 'Linking', 'RecoveringScaleFailure', 'Scaling', 'Unlinking', 'Updating'];
/** ENTERPRISE_AVAILABLE_STATES are the same for Enterprise clusters and databases. */
export const ENTERPRISE_AVAILABLE_STATES = ['Succeeded', 'Updating'];

/** NAME_TAGS override the database name (xport's own first, then Teleport's so its users' tags carry over). */
export const NAME_TAGS = ['XportDatabaseName', 'TeleportDatabaseName'];

const DB_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** normalizeRegion makes `East US`, `eastus` and `EastUS` equal. */
export function normalizeRegion(region: string): string {
  return region.toLowerCase().replace(/[\s_-]+/g, '');
}

/** unavailableReason says why a cache cannot be served now (undefined: it can). */
export function unavailableReason(c: FoundCache): string | undefined {
  if (!c.hostName) return 'it has no host name yet';
  if (!c.port) return c.kind === 'redis' ? 'it has no TLS port (sslPort)' : 'it has no port';
  if (c.kind === 'redis') {
    if (!OSS_AVAILABLE_STATES.includes(c.provisioningState ?? '')) return `its provisioning state is ${c.provisioningState ?? 'unknown'}`;
    return undefined;
  }
  if (c.clientProtocol !== 'Encrypted') return `its client protocol is ${c.clientProtocol ?? 'unknown'}, not Encrypted (xport talks TLS only)`;
  if (c.clusterProvisioningState !== undefined && !ENTERPRISE_AVAILABLE_STATES.includes(c.clusterProvisioningState)) return `its cluster's provisioning state is ${c.clusterProvisioningState}`;
  if (!ENTERPRISE_AVAILABLE_STATES.includes(c.provisioningState ?? '')) return `its provisioning state is ${c.provisioningState ?? 'unknown'}`;
  return undefined;
}

/** databaseName is the override tag's value, else the cache name (Enterprise: `cluster`, or `cluster-db` when the database is not `default`). */
export function databaseName(c: FoundCache): string {
  for (const t of NAME_TAGS) {
    const v = Object.entries(c.tags).find(([k]) => k.toLowerCase() === t.toLowerCase())?.[1];
    if (v) return v;
  }
  const base = c.kind === 'redis-enterprise' && c.database && c.database !== 'default' ? `${c.name}-${c.database}` : c.name;
  return base.toLowerCase();
}

/** labelsOf are the database's labels: the Azure tags, then what xport knows (which win on a clash). */
export function labelsOf(c: FoundCache): Record<string, string> {
  return {
    ...c.tags,
    cloud: 'Azure',
    region: normalizeRegion(c.location),
    'resource-group': resourceGroupOf(c.id) ?? '',
    'subscription-id': subscriptionOf(c.id) ?? '',
    engine: ENGINE[c.kind],
    ...(c.engineVersion ? { 'engine-version': c.engineVersion } : {}),
    ...(c.kind === 'redis-enterprise' && c.clusteringPolicy ? { 'endpoint-type': c.clusteringPolicy } : {}),
  };
}

/** labelsMatch applies a matcher's tags selector (`'*': '*'` matches all, `k: '*'` needs the key). */
export function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => (k === '*' && v === '*') || (k in labels && (v === '*' || labels[k] === v)));
}

/** regionMatches applies a matcher's regions (`*` = all). */
export function regionMatches(regions: readonly string[], location: string): boolean {
  return regions.includes('*') || regions.some((r) => normalizeRegion(r) === normalizeRegion(location));
}

/** SpecResult is a database, or why the cache was left out. */
export type SpecResult = { spec: DatabaseSpec } | { skipped: string; unselected?: true };

/** specOf turns a listed cache into a database for one matcher. */
export function specOf(c: FoundCache, m: AzureMatcher): SpecResult {
  if (!regionMatches(m.regions, c.location)) return { skipped: `region ${c.location} is not in the matcher's regions`, unselected: true };
  const labels = labelsOf(c);
  if (!labelsMatch(m.tags, labels)) return { skipped: 'its tags do not match', unselected: true };
  const reason = unavailableReason(c);
  if (reason) return { skipped: reason };
  const name = databaseName(c);
  if (!DB_NAME.test(name)) return { skipped: `its name "${name}" is not a valid database name (lowercase letters, digits, ".", "_", "-"); set the XportDatabaseName tag` };
  const cluster = c.kind === 'redis-enterprise' && c.clusteringPolicy === 'OSSCluster';
  const auth: AzureAuth = m.auth ?? (c.disableAccessKeyAuthentication ? 'entra_id' : 'access_key');
  return {
    spec: {
      name,
      description: `Azure ${c.kind === 'redis' ? 'Redis' : 'Redis Enterprise'} server in ${c.location}`,
      protocol: 'redis',
      uri: `rediss://${c.hostName}:${c.port}${cluster ? '?mode=cluster' : ''}`,
      host: c.hostName!,
      port: c.port!,
      mode: cluster ? 'cluster' : 'standalone',
      labels,
      type: c.kind === 'redis' ? 'azure-redis' : 'azure-redis-enterprise',
      azure: {
        resourceId: c.id,
        subscription: subscriptionOf(c.id) ?? '',
        resourceGroup: resourceGroupOf(c.id) ?? '',
        auth,
        ...(m.identities ? { identities: m.identities } : {}),
      },
      tls: { mode: 'verify-full' },
    },
  };
}
