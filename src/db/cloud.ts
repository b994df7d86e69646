/**
 * db/cloud: the cloud blocks a database may carry (`aws:` for ElastiCache / MemoryDB, `azure:` for
 * Azure Cache for Redis and Redis Enterprise / Azure Managed Redis), in Teleport's configuration
 * shape so its users' configs carry over. One schema serves the config file (`db_service.databases`)
 * and dynamic `kind: db` resources, so both accept exactly the same keys.
 *
 * The block, not the host name, says what a database is: the `uri` may be any address (a VPC
 * endpoint, a loopback test front). Imports errors and zod only; no SDK.
 */
import { z } from 'zod';
import { badParameter } from '../errors.js';

/** AwsDatabase is the typed `aws:` block of an ElastiCache, ElastiCache Serverless or MemoryDB database. */
export interface AwsDatabase {
  region: string;
  accountId?: string;
  elasticache?: { replicationGroupId: string; userGroupIds?: string[] };
  elasticacheServerless?: { cacheName: string };
  memorydb?: { clusterName: string; aclName?: string };
  /** Role the agent assumes for this database (STS), with the external id the role's trust policy asks for. */
  assumeRoleArn?: string;
  externalId?: string;
  /** Where managed users' passwords live in Secrets Manager. */
  secretStore?: { keyPrefix: string; kmsKeyId?: string };
  /** A Secrets Manager secret holding a legacy AUTH token (replication groups without RBAC users). */
  authTokenSecret?: string;
}

/** AzureAuth is how the agent authenticates to an Azure cache: an access key, or a Microsoft Entra ID token. */
export type AzureAuth = 'access_key' | 'entra_id';

/** AzureDatabase is the typed `azure:` block of an Azure Cache for Redis or Redis Enterprise database. */
export interface AzureDatabase {
  /** ARM resource id of the cache (`…/Microsoft.Cache/Redis/<name>`) or of the Enterprise database
   * (`…/Microsoft.Cache/redisEnterprise/<cluster>/databases/<db>`; a cluster id means database `default`). */
  resourceId: string;
  subscription: string;
  resourceGroup: string;
  auth: AzureAuth;
  /** Entra ID: the user-assigned managed identity (client id) to use per xport db user. */
  identities?: Record<string, { clientId: string }>;
}

const AWS_DEFAULT_SECRET_PREFIX = 'xport/';

/** awsBlockSchema validates `aws:` as written (snake_case, Teleport's keys). */
export const awsBlockSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1').optional(),
  account_id: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  elasticache: z
    .strictObject({
      replication_group_id: z.string().min(1),
      user_group_ids: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  elasticache_serverless: z.strictObject({ cache_name: z.string().min(1) }).optional(),
  memorydb: z.strictObject({ cluster_name: z.string().min(1), acl_name: z.string().min(1).optional() }).optional(),
  assume_role_arn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN').optional(),
  external_id: z.string().min(2).max(1224).optional(),
  secret_store: z.strictObject({ key_prefix: z.string().optional(), kms_key_id: z.string().optional() }).optional(),
  auth_token_secret: z.string().min(1).optional(),
});

/** azureBlockSchema validates `azure:` as written. */
export const azureBlockSchema = z.strictObject({
  resource_id: z.string().regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Cache\/(redis|redisEnterprise)\/[^/]+(\/databases\/[^/]+)?$/i, 'must be an ARM resource id of a Microsoft.Cache/Redis cache or a Microsoft.Cache/redisEnterprise cluster or database'),
  auth: z.enum(['access_key', 'entra_id']).optional(),
  identities: z.record(z.string().min(1), z.strictObject({ client_id: z.string().min(1) })).optional(),
});

/** AwsBlock and AzureBlock are the blocks as written. */
export type AwsBlock = z.infer<typeof awsBlockSchema>;
export type AzureBlock = z.infer<typeof azureBlockSchema>;

/** CloudType is the database type a cloud block implies. */
export type CloudType = 'elasticache' | 'elasticache-serverless' | 'memorydb' | 'azure-redis' | 'azure-redis-enterprise';

/**
 * awsFromBlock converts a written `aws:` block. Exactly one of elasticache, elasticache_serverless
 * and memorydb says what the database is. `where` prefixes errors (`db.yaml:3: spec.aws`).
 */
export function awsFromBlock(b: AwsBlock, where: string): { type: CloudType; aws: AwsDatabase } {
  const kinds = (['elasticache', 'elasticache_serverless', 'memorydb'] as const).filter((k) => b[k] !== undefined);
  if (kinds.length !== 1) {
    throw badParameter(`${where}: needs exactly one of elasticache, elasticache_serverless or memorydb${kinds.length ? ` (found ${kinds.join(' and ')})` : ''}`, {
      hint: 'For example: aws: { region: us-east-1, elasticache: { replication_group_id: my-group } }',
    });
  }
  if (!b.region) throw badParameter(`${where}.region: required`, { hint: 'Name the AWS region the database runs in, such as us-east-1.' });
  const aws: AwsDatabase = {
    region: b.region,
    ...(b.account_id ? { accountId: b.account_id } : {}),
    ...(b.elasticache
      ? { elasticache: { replicationGroupId: b.elasticache.replication_group_id, ...(b.elasticache.user_group_ids ? { userGroupIds: b.elasticache.user_group_ids } : {}) } }
      : {}),
    ...(b.elasticache_serverless ? { elasticacheServerless: { cacheName: b.elasticache_serverless.cache_name } } : {}),
    ...(b.memorydb ? { memorydb: { clusterName: b.memorydb.cluster_name, ...(b.memorydb.acl_name ? { aclName: b.memorydb.acl_name } : {}) } } : {}),
    ...(b.assume_role_arn ? { assumeRoleArn: b.assume_role_arn } : {}),
    ...(b.external_id ? { externalId: b.external_id } : {}),
    secretStore: { keyPrefix: b.secret_store?.key_prefix ?? AWS_DEFAULT_SECRET_PREFIX, ...(b.secret_store?.kms_key_id ? { kmsKeyId: b.secret_store.kms_key_id } : {}) },
    ...(b.auth_token_secret ? { authTokenSecret: b.auth_token_secret } : {}),
  };
  if (b.external_id && !b.assume_role_arn) throw badParameter(`${where}.external_id: only meaningful with assume_role_arn`);
  const type: CloudType = kinds[0] === 'elasticache' ? 'elasticache' : kinds[0] === 'memorydb' ? 'memorydb' : 'elasticache-serverless';
  return { type, aws };
}

/** azureFromBlock converts a written `azure:` block; the resource id says OSS or Enterprise. */
export function azureFromBlock(b: AzureBlock): { type: CloudType; azure: AzureDatabase } {
  const parts = b.resource_id.split('/');
  const enterprise = /^redisEnterprise$/i.test(parts[7] ?? '');
  return {
    type: enterprise ? 'azure-redis-enterprise' : 'azure-redis',
    azure: {
      resourceId: b.resource_id,
      subscription: parts[2]!,
      resourceGroup: parts[4]!,
      auth: b.auth ?? 'access_key',
      ...(b.identities ? { identities: Object.fromEntries(Object.entries(b.identities).map(([u, v]) => [u, { clientId: v.client_id }])) } : {}),
    },
  };
}

/** AwsEndpointType is what an AWS Redis endpoint host name says it is. */
export type AwsEndpointType = 'configuration' | 'primary' | 'reader' | 'node' | 'serverless' | 'cluster';

/** AwsEndpoint is what a static AWS host name tells about a database. */
export interface AwsEndpoint {
  type: 'elasticache' | 'elasticache-serverless' | 'memorydb';
  endpointType: AwsEndpointType;
  aws: AwsDatabase;
}

const DIRECTIONS: Record<string, string> = { e: 'east', w: 'west', n: 'north', s: 'south', c: 'central', ne: 'northeast', nw: 'northwest', se: 'southeast', sw: 'southwest' };

/** regionFromShort turns a serverless endpoint's short region (`use1`, `apne1`, `euc1`) into the region name. */
function regionFromShort(short: string): string | undefined {
  if (/^[a-z]{2}(-[a-z]+)+-\d$/.test(short)) return short;
  const m = /^([a-z]{2})(ne|nw|se|sw|e|w|n|s|c)(\d)$/.exec(short);
  return m ? `${m[1]}-${DIRECTIONS[m[2]!]}-${m[3]}` : undefined;
}

/**
 * awsFromEndpoint reads an ElastiCache, ElastiCache Serverless or MemoryDB host name, as Teleport
 * does (`api/utils/aws/endpoint.go`), so a static `uri` alone fills the type, region and ids:
 *
 *  - `clustercfg.<group>.<hash>.<region>.cache.amazonaws.com` (configuration: cluster mode; the
 *    region is usually short, `use1`, and may be written in full)
 *  - `master.<group>.<hash>.<region>.cache.amazonaws.com` (primary), `replica.…` (reader)
 *  - `<group>-<node>.<hash>.<nnnn>.<region>.cache.amazonaws.com` (one node)
 *  - `<cache>-<hash>.serverless.<short region>.cache.amazonaws.com` (serverless, e.g. `use1`)
 *  - `clustercfg.<cluster>.<hash>.memorydb.<region>.amazonaws.com` (MemoryDB, cluster mode)
 *
 * Other host names (VPC endpoints, loopback fronts) return undefined: an `aws:` block says then.
 */
export function awsFromEndpoint(host: string): AwsEndpoint | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  const secretStore = { keyPrefix: AWS_DEFAULT_SECRET_PREFIX };
  let m = /^clustercfg\.([a-z0-9-]+)\.[a-z0-9]+\.memorydb\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(h);
  if (m) return { type: 'memorydb', endpointType: 'cluster', aws: { region: m[2]!, memorydb: { clusterName: m[1]! }, secretStore } };
  m = /^([a-z0-9-]+)-[a-z0-9]+\.serverless\.([a-z0-9]+)\.cache\.amazonaws\.com(\.cn)?$/.exec(h);
  if (m) {
    const region = regionFromShort(m[2]!);
    if (region) return { type: 'elasticache-serverless', endpointType: 'serverless', aws: { region, elasticacheServerless: { cacheName: m[1]! }, secretStore } };
    return undefined;
  }
  m = /^(clustercfg|master|replica)\.([a-z0-9-]+)\.[a-z0-9]+\.([a-z0-9-]+)\.cache\.amazonaws\.com(\.cn)?$/.exec(h);
  if (m) {
    const region = regionFromShort(m[3]!);
    const endpointType = m[1] === 'clustercfg' ? 'configuration' : m[1] === 'master' ? 'primary' : 'reader';
    return region ? { type: 'elasticache', endpointType, aws: { region, elasticache: { replicationGroupId: m[2]! }, secretStore } } : undefined;
  }
  m = /^([a-z0-9-]+?)-\d{3,4}(-\d{3})?\.[a-z0-9]+\.\d{4}\.([a-z0-9-]+)\.cache\.amazonaws\.com(\.cn)?$/.exec(h);
  const region = m ? regionFromShort(m[3]!) : undefined;
  if (m && region) return { type: 'elasticache', endpointType: 'node', aws: { region, elasticache: { replicationGroupId: m[1]! }, secretStore } };
  return undefined;
}

/**
 * cloudFields turns the optional written blocks into the spec's type and typed blocks. A database
 * with neither block is self-hosted unless its host is an AWS endpoint name ({@link awsFromEndpoint});
 * one with both blocks is an error that names the keys.
 */
export function cloudFields(blocks: { aws?: AwsBlock | undefined; azure?: AzureBlock | undefined }, where: string, host?: string):
  { type: 'self-hosted' } | { type: CloudType; aws: AwsDatabase } | { type: CloudType; azure: AzureDatabase } {
  if (blocks.aws && blocks.azure) throw badParameter(`${where}: a database has either an aws or an azure block, not both`);
  if (blocks.aws) return awsFromBlock(blocks.aws, `${where}.aws`);
  if (blocks.azure) return azureFromBlock(blocks.azure);
  const ep = host !== undefined ? awsFromEndpoint(host) : undefined;
  if (ep) return { type: ep.type, aws: ep.aws };
  return { type: 'self-hosted' };
}

/**
 * awsClusterMode tells whether a static AWS host name is a cluster-mode endpoint (ElastiCache
 * configuration endpoint, MemoryDB), so a `uri` without `?mode=` still gets cluster mode.
 */
export function awsClusterMode(host: string): boolean {
  const t = awsFromEndpoint(host)?.endpointType;
  return t === 'configuration' || t === 'cluster';
}

/** AwsMatcher is one `db_service.aws` discovery matcher. Tags match AWS tags; `'*': '*'` matches all. */
export interface AwsMatcher {
  types: ('elasticache' | 'elasticache-serverless' | 'memorydb')[];
  regions: string[];
  tags: Record<string, string>;
  assumeRoleArn?: string;
  externalId?: string;
}

/** AzureMatcher is one `db_service.azure` discovery matcher; `*` in a list matches all. */
export interface AzureMatcher {
  types: ('redis' | 'redis-enterprise')[];
  regions: string[];
  subscriptions: string[];
  resourceGroups: string[];
  tags: Record<string, string>;
  /** How discovered caches are authenticated to (default: access_key, entra_id for caches with keys disabled). */
  auth?: AzureAuth;
  /** Entra ID: per-db-user managed identities for the discovered caches. */
  identities?: Record<string, { clientId: string }>;
}

/** AzureCloud names the Entra ID authority and the ARM endpoint (public, sovereign, or a test's own). */
export interface AzureCloud {
  name: 'AzurePublicCloud' | 'AzureChinaCloud' | 'AzureUSGovernment' | 'custom';
  authorityHost: string;
  resourceManagerEndpoint: string;
}

/** AZURE_CLOUDS are the well-known clouds `db_service.azure_cloud` may name. */
export const AZURE_CLOUDS: Record<Exclude<AzureCloud['name'], 'custom'>, AzureCloud> = {
  AzurePublicCloud: { name: 'AzurePublicCloud', authorityHost: 'https://login.microsoftonline.com', resourceManagerEndpoint: 'https://management.azure.com' },
  AzureChinaCloud: { name: 'AzureChinaCloud', authorityHost: 'https://login.chinacloudapi.cn', resourceManagerEndpoint: 'https://management.chinacloudapi.cn' },
  AzureUSGovernment: { name: 'AzureUSGovernment', authorityHost: 'https://login.microsoftonline.us', resourceManagerEndpoint: 'https://management.usgovcloudapi.net' },
};
