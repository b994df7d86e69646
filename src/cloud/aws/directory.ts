/**
 * cloud/aws/directory: what the agent reads about ElastiCache / MemoryDB users and databases,
 * cached briefly — users (DescribeUsers) with their authentication type, groups or ACLs and tags
 * (ListTagsForResource / ListTags), and each database's user groups or ACL and engine version
 * (DescribeReplicationGroups + DescribeCacheClusters, DescribeServerlessCaches, DescribeClusters).
 */
import type { DatabaseSpec } from '../../db/database.js';
import type { AwsDatabase } from '../../db/cloud.js';
import { awsError } from './errors.js';
import { sdk } from './sdk.js';
import type { AwsSession, RoleRef } from './session.js';

/** AwsUser is one ElastiCache or MemoryDB user as the agent needs it. */
export interface AwsUser {
  name: string;
  arn: string;
  /** `iam`, `password` or `no-password`. */
  authType: string;
  /** ElastiCache user groups, or MemoryDB ACL names. */
  groups: string[];
  tags: Record<string, string>;
}

/** DatabaseMeta is what the agent reads about a database itself. */
export interface DatabaseMeta {
  /** ElastiCache user group ids, or the MemoryDB ACL name, the database authenticates against. */
  groups: string[];
  engine: string;
  engineVersion?: string;
  accountId?: string;
}

/** Users and metadata are read again after this long (Teleport: half the rotation interval). */
export const DIRECTORY_TTL_MS = 60_000;

/** MANAGED_TAGS mark users the agent manages (Teleport's tag too, so migrating users keep theirs). */
export const MANAGED_TAGS = ['xport.dev/managed', 'teleport.dev/managed'];

/** isManagedTagged tells whether a user opted in: the tag is present and not false/no/disable(d). */
export function isManagedTagged(tags: Record<string, string>): boolean {
  return MANAGED_TAGS.some((t) => t in tags && !/^(false|no|disabled?)$/i.test(tags[t]!.trim()));
}

/** service is the AWS service a database's users live in. */
export function serviceOf(aws: AwsDatabase): 'elasticache' | 'memorydb' {
  return aws.memorydb ? 'memorydb' : 'elasticache';
}

/** roleOf is the role a database is reached through. */
export function roleOf(aws: AwsDatabase): RoleRef {
  return { assumeRoleArn: aws.assumeRoleArn, externalId: aws.externalId };
}

type Cached<T> = { value: Promise<T>; at: number };

/** Directory caches users per (service, region, role) and metadata per database. */
export class Directory {
  readonly #users = new Map<string, Cached<Map<string, AwsUser>>>();
  readonly #meta = new Map<string, Cached<DatabaseMeta>>();

  constructor(private readonly session: AwsSession) {}

  /** user finds a user of the database's service and region by name (undefined when there is none). */
  async user(db: DatabaseSpec, name: string): Promise<AwsUser | undefined> {
    return (await this.users(db.aws!)).get(name);
  }

  /** users lists the users of the database's service and region. */
  users(aws: AwsDatabase, fresh = false): Promise<Map<string, AwsUser>> {
    const service = serviceOf(aws);
    const role = roleOf(aws);
    const key = `${service}|${aws.region}|${role.assumeRoleArn ?? ''}`;
    return cached(this.#users, key, fresh, () => (service === 'memorydb' ? this.#memorydbUsers(aws.region, role) : this.#elasticacheUsers(aws.region, role)));
  }

  /** forget drops cached users and metadata (after a refusal that may mean they changed). */
  forget(): void {
    this.#users.clear();
    this.#meta.clear();
  }

  /** meta reads a database's user groups or ACL and its engine version. */
  meta(db: DatabaseSpec): Promise<DatabaseMeta> {
    const aws = db.aws!;
    return cached(this.#meta, db.name, false, () => this.#readMeta(aws));
  }

  async #elasticacheUsers(region: string, role: RoleRef): Promise<Map<string, AwsUser>> {
    const client = (await this.session.elasticache(region, role));
    const out = new Map<string, AwsUser>();
    let marker: string | undefined;
    do {
      const r = await client.send(new (await sdk()).ec.DescribeUsersCommand({ ...(marker ? { Marker: marker } : {}) })).catch((err: unknown) => {
        throw awsError(err, { action: 'elasticache:DescribeUsers' });
      });
      for (const u of r.Users ?? []) {
        if (!u.UserId || !u.ARN) continue;
        out.set(u.UserId, { name: u.UserId, arn: u.ARN, authType: u.Authentication?.Type ?? 'no-password', groups: u.UserGroupIds ?? [], tags: {} });
      }
      marker = r.Marker;
    } while (marker);
    await Promise.all(
      [...out.values()].map(async (u) => {
        const t = await client.send(new (await sdk()).ec.ListTagsForResourceCommand({ ResourceName: u.arn })).catch((err: unknown) => {
          throw awsError(err, { action: 'elasticache:ListTagsForResource', resource: u.arn });
        });
        for (const tag of t.TagList ?? []) if (tag.Key) u.tags[tag.Key] = tag.Value ?? '';
      }),
    );
    return out;
  }

  async #memorydbUsers(region: string, role: RoleRef): Promise<Map<string, AwsUser>> {
    const client = (await this.session.memorydb(region, role));
    const out = new Map<string, AwsUser>();
    let next: string | undefined;
    do {
      const r = await client.send(new (await sdk()).mdb.DescribeUsersCommand({ ...(next ? { NextToken: next } : {}) })).catch((err: unknown) => {
        throw awsError(err, { action: 'memorydb:DescribeUsers' });
      });
      for (const u of r.Users ?? []) {
        if (!u.Name || !u.ARN) continue;
        out.set(u.Name, { name: u.Name, arn: u.ARN, authType: u.Authentication?.Type ?? 'no-password', groups: u.ACLNames ?? [], tags: {} });
      }
      next = r.NextToken;
    } while (next);
    await Promise.all(
      [...out.values()].map(async (u) => {
        const t = await client.send(new (await sdk()).mdb.ListTagsCommand({ ResourceArn: u.arn })).catch((err: unknown) => {
          throw awsError(err, { action: 'memorydb:ListTags', resource: u.arn });
        });
        for (const tag of t.TagList ?? []) if (tag.Key) u.tags[tag.Key] = tag.Value ?? '';
      }),
    );
    return out;
  }

  async #readMeta(aws: AwsDatabase): Promise<DatabaseMeta> {
    const role = roleOf(aws);
    if (aws.memorydb) {
      if (aws.memorydb.aclName) return { groups: [aws.memorydb.aclName], engine: 'redis' };
      const r = await (await this.session.memorydb(aws.region, role))
        .send(new (await sdk()).mdb.DescribeClustersCommand({ ClusterName: aws.memorydb.clusterName }))
        .catch((err: unknown) => {
          throw awsError(err, { action: 'memorydb:DescribeClusters', resource: aws.memorydb!.clusterName });
        });
      const c = r.Clusters?.[0];
      return { groups: c?.ACLName ? [c.ACLName] : [], engine: c?.Engine ?? 'redis', ...(c?.EngineVersion ? { engineVersion: c.EngineVersion } : {}) };
    }
    const ec = (await this.session.elasticache(aws.region, role));
    if (aws.elasticacheServerless) {
      const r = await ec.send(new (await sdk()).ec.DescribeServerlessCachesCommand({ ServerlessCacheName: aws.elasticacheServerless.cacheName })).catch((err: unknown) => {
        throw awsError(err, { action: 'elasticache:DescribeServerlessCaches', resource: aws.elasticacheServerless!.cacheName });
      });
      const c = r.ServerlessCaches?.[0];
      return { groups: c?.UserGroupId ? [c.UserGroupId] : [], engine: c?.Engine ?? 'redis', ...(c?.FullEngineVersion ? { engineVersion: c.FullEngineVersion } : c?.MajorEngineVersion ? { engineVersion: c.MajorEngineVersion } : {}) };
    }
    const id = aws.elasticache!.replicationGroupId;
    const r = await ec.send(new (await sdk()).ec.DescribeReplicationGroupsCommand({ ReplicationGroupId: id })).catch((err: unknown) => {
      throw awsError(err, { action: 'elasticache:DescribeReplicationGroups', resource: id });
    });
    const g = r.ReplicationGroups?.[0];
    const groups = aws.elasticache!.userGroupIds ?? g?.UserGroupIds ?? [];
    let engineVersion: string | undefined;
    const member = g?.MemberClusters?.[0];
    if (member) {
      const cc = await ec.send(new (await sdk()).ec.DescribeCacheClustersCommand({ CacheClusterId: member })).catch(() => undefined);
      engineVersion = cc?.CacheClusters?.[0]?.EngineVersion;
    }
    return { groups, engine: g?.Engine ?? 'redis', ...(engineVersion ? { engineVersion } : {}) };
  }
}

function cached<T>(map: Map<string, Cached<T>>, key: string, fresh: boolean, load: () => Promise<T>): Promise<T> {
  const hit = map.get(key);
  if (!fresh && hit && Date.now() - hit.at < DIRECTORY_TTL_MS) return hit.value;
  const value = load();
  const entry = { value, at: Date.now() };
  map.set(key, entry);
  value.catch(() => {
    if (map.get(key) === entry) map.delete(key);
  });
  return value;
}

/** engineMajor reads the major version of an engine version string (`7.1.0` → 7). */
export function engineMajor(v: string | undefined): number | undefined {
  const m = /^(\d+)/.exec(v ?? '');
  return m ? Number(m[1]) : undefined;
}
