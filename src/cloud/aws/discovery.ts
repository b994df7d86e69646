/**
 * cloud/aws/discovery: finds ElastiCache replication groups, ElastiCache Serverless caches and
 * MemoryDB clusters for the `db_service.aws` matchers (reference §4.3):
 *
 *  - ElastiCache: DescribeReplicationGroups; groups without in-transit encryption are skipped
 *    (logged with the reason); cluster-mode groups → one cluster database on the configuration
 *    endpoint, others → a primary and a `-reader` database. Engine version and VPC from
 *    DescribeCacheClusters / DescribeCacheSubnetGroups (best effort).
 *  - Serverless: DescribeServerlessCaches → one database on the endpoint.
 *  - MemoryDB: DescribeClusters; clusters without TLS skipped; one cluster database each.
 *
 * Tags (ListTagsForResource / ListTags) filter by the matcher's `tags` and become labels, beside
 * region, account-id, engine, engine-version, endpoint-type, vpc-id and xport.dev/cloud=AWS. The
 * `XportDatabaseName` tag (or Teleport's `TeleportDatabaseName` / `teleport.dev/database_name`)
 * overrides the name. One source per (matcher, type, region): its errors leave the others alone.
 */
import type { ReplicationGroup } from '@aws-sdk/client-elasticache';
import type { AwsDatabase, AwsMatcher } from '../../db/cloud.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { DatabaseDiscovery } from '../../db/discovery.js';
import type { Logger } from '../../util/log.js';
import { awsError } from './errors.js';
import { sdk } from './sdk.js';
import type { AwsSession, RoleRef } from './session.js';

/** NAME_TAGS override a discovered database's name, first found wins. */
export const NAME_TAGS = ['XportDatabaseName', 'TeleportDatabaseName', 'teleport.dev/database_name'];

const USABLE = new Set(['available', 'modifying', 'snapshotting']);

/** tagsMatch tells whether resource tags satisfy a matcher's (`'*': '*'` or no tags match all). */
export function tagsMatch(want: Record<string, string>, have: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) {
    if (k === '*' && v === '*') continue;
    if (!(k in have)) return false;
    if (v !== '*' && have[k] !== v) return false;
  }
  return true;
}

/** databaseName makes a valid xport database name from a resource id or a name tag. */
export function databaseName(id: string, tags: Record<string, string>, suffix = ''): string {
  const override = NAME_TAGS.map((t) => tags[t]).find((v) => v !== undefined && v.trim() !== '');
  const base = (override ?? id).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return `${base.slice(0, 63 - suffix.length)}${suffix}`;
}

function accountOf(arn: string | undefined): string | undefined {
  return /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(arn ?? '')?.[1];
}

function tagMap(list: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
  return out;
}

function uri(address: string, port: number | undefined, cluster: boolean): string {
  return `rediss://${address}:${port ?? 6379}${cluster ? '?mode=cluster' : ''}`;
}

function spec(o: {
  name: string;
  description: string;
  address: string;
  port: number | undefined;
  cluster: boolean;
  aws: AwsDatabase;
  labels: Record<string, string>;
  type: DatabaseSpec['type'];
}): DatabaseSpec {
  return {
    name: o.name,
    description: o.description,
    protocol: 'redis',
    uri: uri(o.address, o.port, o.cluster),
    host: o.address,
    port: o.port ?? 6379,
    mode: o.cluster ? 'cluster' : 'standalone',
    labels: o.labels,
    type: o.type,
    aws: o.aws,
    tls: { mode: 'verify-full' },
  };
}

interface SourceOptions {
  session: AwsSession;
  matcher: AwsMatcher;
  region: string;
  log: Logger;
}

function roleOf(m: AwsMatcher): RoleRef {
  return { assumeRoleArn: m.assumeRoleArn, externalId: m.externalId };
}

function baseAws(o: SourceOptions, account: string | undefined): Pick<AwsDatabase, 'region' | 'accountId' | 'assumeRoleArn' | 'externalId' | 'secretStore'> {
  return {
    region: o.region,
    ...(account ? { accountId: account } : {}),
    ...(o.matcher.assumeRoleArn ? { assumeRoleArn: o.matcher.assumeRoleArn } : {}),
    ...(o.matcher.externalId ? { externalId: o.matcher.externalId } : {}),
    secretStore: { keyPrefix: 'xport/' },
  };
}

/** ElastiCacheSource discovers replication groups in one region. */
export class ElastiCacheSource implements DatabaseDiscovery {
  readonly name: string;
  constructor(private readonly o: SourceOptions) {
    this.name = `aws elasticache ${o.region}`;
  }

  async discover(): Promise<DatabaseSpec[]> {
    const client = (await this.o.session.elasticache(this.o.region, roleOf(this.o.matcher)));
    const groups: ReplicationGroup[] = [];
    let marker: string | undefined;
    do {
      const r = await client.send(new (await sdk()).ec.DescribeReplicationGroupsCommand({ ...(marker ? { Marker: marker } : {}) })).catch((err: unknown) => {
        throw awsError(err, { action: 'elasticache:DescribeReplicationGroups' });
      });
      groups.push(...(r.ReplicationGroups ?? []));
      marker = r.Marker;
    } while (marker);
    const out: DatabaseSpec[] = [];
    for (const g of groups) {
      const id = g.ReplicationGroupId;
      if (!id || !g.ARN) continue;
      if (g.Status && !USABLE.has(g.Status)) continue;
      if (g.TransitEncryptionEnabled !== true) {
        this.o.log.info('skipping an ElastiCache replication group without in-transit encryption (xport talks TLS to Redis)', { group: id, region: this.o.region });
        continue;
      }
      const tags = tagMap(
        (
          await client.send(new (await sdk()).ec.ListTagsForResourceCommand({ ResourceName: g.ARN })).catch((err: unknown) => {
            throw awsError(err, { action: 'elasticache:ListTagsForResource', resource: g.ARN });
          })
        ).TagList,
      );
      if (!tagsMatch(this.o.matcher.tags, tags)) continue;
      const meta = await this.#clusterMeta(g);
      const account = accountOf(g.ARN);
      const aws: AwsDatabase = { ...baseAws(this.o, account), elasticache: { replicationGroupId: id, ...(g.UserGroupIds?.length ? { userGroupIds: g.UserGroupIds } : {}) } };
      const labels = (endpointType: string) => ({
        ...tags,
        region: this.o.region,
        ...(account ? { 'account-id': account } : {}),
        engine: g.Engine ?? meta.engine ?? 'redis',
        ...(meta.engineVersion ? { 'engine-version': meta.engineVersion } : {}),
        'endpoint-type': endpointType,
        ...(meta.vpcId ? { 'vpc-id': meta.vpcId } : {}),
        'xport.dev/cloud': 'AWS',
        'xport.dev/origin': 'cloud',
      });
      if (g.ClusterEnabled && g.ConfigurationEndpoint?.Address) {
        out.push(
          spec({
            name: databaseName(id, tags),
            description: `ElastiCache cluster in ${this.o.region} (configuration endpoint)`,
            address: g.ConfigurationEndpoint.Address,
            port: g.ConfigurationEndpoint.Port,
            cluster: true,
            aws,
            labels: labels('configuration'),
            type: 'elasticache',
          }),
        );
        continue;
      }
      for (const ng of g.NodeGroups ?? []) {
        if (ng.PrimaryEndpoint?.Address) {
          out.push(
            spec({
              name: databaseName(id, tags),
              description: `ElastiCache cluster in ${this.o.region} (primary endpoint)`,
              address: ng.PrimaryEndpoint.Address,
              port: ng.PrimaryEndpoint.Port,
              cluster: false,
              aws,
              labels: labels('primary'),
              type: 'elasticache',
            }),
          );
        }
        if (ng.ReaderEndpoint?.Address) {
          out.push(
            spec({
              name: databaseName(id, tags, '-reader'),
              description: `ElastiCache cluster in ${this.o.region} (reader endpoint)`,
              address: ng.ReaderEndpoint.Address,
              port: ng.ReaderEndpoint.Port,
              cluster: false,
              aws,
              labels: labels('reader'),
              type: 'elasticache',
            }),
          );
        }
        break; // cluster mode disabled: one node group
      }
    }
    return out;
  }

  /** clusterMeta reads engine version and VPC of a group (best effort: discovery works without them). */
  async #clusterMeta(g: ReplicationGroup): Promise<{ engine?: string; engineVersion?: string; vpcId?: string }> {
    const member = g.MemberClusters?.[0];
    if (!member) return {};
    const client = (await this.o.session.elasticache(this.o.region, roleOf(this.o.matcher)));
    try {
      const cc = (await client.send(new (await sdk()).ec.DescribeCacheClustersCommand({ CacheClusterId: member }))).CacheClusters?.[0];
      let vpcId: string | undefined;
      if (cc?.CacheSubnetGroupName) {
        const sg = await client.send(new (await sdk()).ec.DescribeCacheSubnetGroupsCommand({ CacheSubnetGroupName: cc.CacheSubnetGroupName })).catch(() => undefined);
        vpcId = sg?.CacheSubnetGroups?.[0]?.VpcId;
      }
      return { ...(cc?.Engine ? { engine: cc.Engine } : {}), ...(cc?.EngineVersion ? { engineVersion: cc.EngineVersion } : {}), ...(vpcId ? { vpcId } : {}) };
    } catch (err) {
      this.o.log.debug('could not read the engine version or VPC of a replication group', { group: g.ReplicationGroupId, error: (err as Error).message });
      return {};
    }
  }
}

/** ServerlessSource discovers ElastiCache Serverless caches in one region. */
export class ServerlessSource implements DatabaseDiscovery {
  readonly name: string;
  constructor(private readonly o: SourceOptions) {
    this.name = `aws elasticache-serverless ${o.region}`;
  }

  async discover(): Promise<DatabaseSpec[]> {
    const client = (await this.o.session.elasticache(this.o.region, roleOf(this.o.matcher)));
    const out: DatabaseSpec[] = [];
    let next: string | undefined;
    do {
      const r = await client.send(new (await sdk()).ec.DescribeServerlessCachesCommand({ ...(next ? { NextToken: next } : {}) })).catch((err: unknown) => {
        throw awsError(err, { action: 'elasticache:DescribeServerlessCaches' });
      });
      for (const c of r.ServerlessCaches ?? []) {
        const name = c.ServerlessCacheName;
        if (!name || !c.ARN || !c.Endpoint?.Address) continue;
        if (c.Status && c.Status !== 'available' && c.Status !== 'modifying') continue;
        const tags = tagMap(
          (
            await client.send(new (await sdk()).ec.ListTagsForResourceCommand({ ResourceName: c.ARN })).catch((err: unknown) => {
              throw awsError(err, { action: 'elasticache:ListTagsForResource', resource: c.ARN });
            })
          ).TagList,
        );
        if (!tagsMatch(this.o.matcher.tags, tags)) continue;
        const account = accountOf(c.ARN);
        out.push(
          spec({
            name: databaseName(name, tags),
            description: `ElastiCache Serverless cache in ${this.o.region}`,
            address: c.Endpoint.Address,
            port: c.Endpoint.Port,
            // The serverless proxy routes every key itself: one endpoint, no MOVED, standalone from the agent's side.
            cluster: false,
            aws: { ...baseAws(this.o, account), elasticacheServerless: { cacheName: name } },
            labels: {
              ...tags,
              region: this.o.region,
              ...(account ? { 'account-id': account } : {}),
              engine: c.Engine ?? 'redis',
              ...(c.FullEngineVersion ? { 'engine-version': c.FullEngineVersion } : {}),
              'endpoint-type': 'serverless',
              'xport.dev/cloud': 'AWS',
              'xport.dev/origin': 'cloud',
            },
            type: 'elasticache-serverless',
          }),
        );
      }
      next = r.NextToken;
    } while (next);
    return out;
  }
}

/** MemoryDbSource discovers MemoryDB clusters in one region. */
export class MemoryDbSource implements DatabaseDiscovery {
  readonly name: string;
  constructor(private readonly o: SourceOptions) {
    this.name = `aws memorydb ${o.region}`;
  }

  async discover(): Promise<DatabaseSpec[]> {
    const client = (await this.o.session.memorydb(this.o.region, roleOf(this.o.matcher)));
    const out: DatabaseSpec[] = [];
    let next: string | undefined;
    do {
      const r = await client.send(new (await sdk()).mdb.DescribeClustersCommand({ ShowShardDetails: false, ...(next ? { NextToken: next } : {}) })).catch((err: unknown) => {
        throw awsError(err, { action: 'memorydb:DescribeClusters' });
      });
      for (const c of r.Clusters ?? []) {
        const name = c.Name;
        if (!name || !c.ARN || !c.ClusterEndpoint?.Address) continue;
        if (c.TLSEnabled !== true) {
          this.o.log.info('skipping a MemoryDB cluster without TLS (xport talks TLS to Redis)', { cluster: name, region: this.o.region });
          continue;
        }
        const tags = tagMap(
          (
            await client.send(new (await sdk()).mdb.ListTagsCommand({ ResourceArn: c.ARN })).catch((err: unknown) => {
              throw awsError(err, { action: 'memorydb:ListTags', resource: c.ARN });
            })
          ).TagList,
        );
        if (!tagsMatch(this.o.matcher.tags, tags)) continue;
        let vpcId: string | undefined;
        if (c.SubnetGroupName) {
          const sg = await client.send(new (await sdk()).mdb.DescribeSubnetGroupsCommand({ SubnetGroupName: c.SubnetGroupName })).catch(() => undefined);
          vpcId = sg?.SubnetGroups?.[0]?.VpcId;
        }
        const account = accountOf(c.ARN);
        out.push(
          spec({
            name: databaseName(name, tags),
            description: `MemoryDB cluster in ${this.o.region}`,
            address: c.ClusterEndpoint.Address,
            port: c.ClusterEndpoint.Port,
            cluster: true,
            aws: { ...baseAws(this.o, account), memorydb: { clusterName: name, ...(c.ACLName ? { aclName: c.ACLName } : {}) } },
            labels: {
              ...tags,
              region: this.o.region,
              ...(account ? { 'account-id': account } : {}),
              engine: c.Engine ?? 'redis',
              ...(c.EngineVersion ? { 'engine-version': c.EngineVersion } : {}),
              'endpoint-type': 'cluster',
              ...(vpcId ? { 'vpc-id': vpcId } : {}),
              'xport.dev/cloud': 'AWS',
              'xport.dev/origin': 'cloud',
            },
            type: 'memorydb',
          }),
        );
      }
      next = r.NextToken;
    } while (next);
    return out;
  }
}

/** createAwsDiscoveries builds one source per matcher, type and region. */
export function createAwsDiscoveries(matchers: readonly AwsMatcher[], log: Logger, session: AwsSession): DatabaseDiscovery[] {
  const out: DatabaseDiscovery[] = [];
  for (const matcher of matchers) {
    for (const region of matcher.regions) {
      for (const type of matcher.types) {
        const o = { session, matcher, region, log };
        if (type === 'elasticache') out.push(new ElastiCacheSource(o));
        else if (type === 'elasticache-serverless') out.push(new ServerlessSource(o));
        else out.push(new MemoryDbSource(o));
      }
    }
  }
  return out;
}
