import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/service/config.js';
import { specFromConfig } from '../../../src/service/databases.js';
import { parseDatabaseResources, specFromResource } from '../../../src/db/resource.js';
import { CredentialRegistry, lazyProvider, type CredentialProvider } from '../../../src/db/credentials.js';
import type { DatabaseSpec } from '../../../src/db/database.js';

const AZURE_ID = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Cache/Redis/cache-1';
const ENTERPRISE_ID = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Cache/redisEnterprise/amr-1/databases/default';

function config(db: string[]): string {
  return ['version: v1', 'db_service:', '  databases:', '    - name: cache', '      protocol: redis', ...db.map((l) => `      ${l}`)].join('\n');
}

describe('cloud blocks on databases', () => {
  it('reads an ElastiCache block in Teleport\'s shape into a typed spec', async () => {
    const c = parseConfig(config(['uri: 127.0.0.1:7000', 'aws:', '  region: us-east-1', '  account_id: "123456789012"', '  elasticache: { replication_group_id: my-group, user_group_ids: [ug-1] }', '  assume_role_arn: arn:aws:iam::123456789012:role/xport-db', '  external_id: ext-1']));
    const spec = await specFromConfig(c.db.databases[0]!);
    expect(spec.type).toBe('elasticache');
    expect(spec.aws).toEqual({
      region: 'us-east-1',
      accountId: '123456789012',
      elasticache: { replicationGroupId: 'my-group', userGroupIds: ['ug-1'] },
      assumeRoleArn: 'arn:aws:iam::123456789012:role/xport-db',
      externalId: 'ext-1',
      secretStore: { keyPrefix: 'xport/' },
    });
  });

  it('types MemoryDB, serverless, Azure OSS and Azure Enterprise databases by their block', async () => {
    const type = async (lines: string[]) => (await specFromConfig(parseConfig(config(['uri: 127.0.0.1:7000', ...lines])).db.databases[0]!)).type;
    expect(await type(['aws: { region: eu-west-1, memorydb: { cluster_name: mem-1 } }'])).toBe('memorydb');
    expect(await type(['aws: { region: eu-west-1, elasticache_serverless: { cache_name: sl-1 } }'])).toBe('elasticache-serverless');
    expect(await type([`azure: { resource_id: ${AZURE_ID} }`])).toBe('azure-redis');
    expect(await type([`azure: { resource_id: ${ENTERPRISE_ID}, auth: entra_id }`])).toBe('azure-redis-enterprise');
    expect(await type([])).toBe('self-hosted');
  });

  it('names the key of a bad cloud block, with its line', () => {
    expect(() => parseConfig(config(['uri: x:1', 'aws: { region: us-east-1, elasticach: { replication_group_id: g } }']))).toThrow(/db_service\.databases\.0\.aws\.elasticach: unknown key/);
    expect(() => parseConfig(config(['uri: x:1', 'azure: { resource_id: /subscriptions/x }']))).toThrow(/:7: db_service\.databases\.0\.azure\.resource_id: must be an ARM resource id/);
  });

  it('refuses an aws block that does not say which service, or names two', async () => {
    const c1 = parseConfig(config(['uri: x:1', 'aws: { region: us-east-1 }']));
    await expect(specFromConfig(c1.db.databases[0]!)).rejects.toThrow(/needs exactly one of elasticache, elasticache_serverless or memorydb/);
    const c2 = parseConfig(config(['uri: x:1', 'aws: { region: us-east-1, memorydb: { cluster_name: a }, elasticache: { replication_group_id: b } }']));
    await expect(specFromConfig(c2.db.databases[0]!)).rejects.toThrow(/found elasticache and memorydb/);
  });

  it('accepts the same blocks under spec of a kind: db resource', () => {
    const [r] = parseDatabaseResources(['kind: db', 'version: v1', 'metadata: { name: mem }', 'spec:', '  protocol: redis', '  uri: 127.0.0.1:7000', '  aws: { region: us-east-1, memorydb: { cluster_name: mem-1, acl_name: acl-1 } }'].join('\n'));
    const spec = specFromResource(r!);
    expect(spec).toMatchObject({ type: 'memorydb', aws: { region: 'us-east-1', memorydb: { clusterName: 'mem-1', aclName: 'acl-1' } } });
    expect(() => parseDatabaseResources(['kind: db', 'version: v1', 'metadata: { name: mem }', 'spec:', '  protocol: redis', '  uri: x:1', '  aws: { region: us-east-1 }'].join('\n'), 'db.yaml')).toThrow(/db\.yaml: db\/mem: spec\.aws: needs exactly one of/);
  });

  it('reads discovery matchers and the Azure cloud', () => {
    const c = parseConfig(['version: v1', 'db_service:', '  aws: [{ types: [elasticache, memorydb], regions: [us-east-1], tags: { env: prod } }]', '  azure: [{ types: [redis] }]', '  azure_cloud: { authority_host: "https://127.0.0.1:9443/", resource_manager_endpoint: "https://127.0.0.1:9444" }', '  discovery_interval: 30s'].join('\n'));
    expect(c.db.aws).toEqual([{ types: ['elasticache', 'memorydb'], regions: ['us-east-1'], tags: { env: 'prod' } }]);
    expect(c.db.azure).toEqual([{ types: ['redis'], regions: ['*'], subscriptions: ['*'], resourceGroups: ['*'], tags: { '*': '*' } }]);
    expect(c.db.azureCloud).toEqual({ name: 'custom', authorityHost: 'https://127.0.0.1:9443', resourceManagerEndpoint: 'https://127.0.0.1:9444' });
    expect(c.db.discoveryIntervalMs).toBe(30_000);
    expect(parseConfig('version: v1\ndb_service: { azure_cloud: AzureChinaCloud }').db.azureCloud.resourceManagerEndpoint).toBe('https://management.chinacloudapi.cn');
  });
});

describe('CredentialRegistry', () => {
  const db = (type: DatabaseSpec['type']) => ({ name: 'd', type }) as DatabaseSpec;
  const fixed = (password: string): CredentialProvider => ({ credentials: async () => ({ password, tls: { rejectUnauthorized: true, checkServerName: true } }) });

  it('chooses the provider by database type', async () => {
    const r = new CredentialRegistry().register('self-hosted', fixed('a')).register(['elasticache', 'memorydb'], fixed('b'));
    const opts = { notAfter: new Date(Date.now() + 60_000) };
    expect((await r.credentials(db('memorydb'), 'u', opts)).password).toBe('b');
    expect((await r.credentials(db('self-hosted'), 'u', opts)).password).toBe('a');
    await expect(r.credentials(db('azure-redis'), 'u', opts)).rejects.toThrow(/type "azure-redis", which this agent cannot authenticate to/);
  });

  it('refuses a type registered twice', () => {
    const r = new CredentialRegistry().register('elasticache', fixed('a'));
    expect(() => r.register(['memorydb', 'elasticache'], fixed('b'))).toThrow(/registered twice/);
  });

  it('loads a lazy provider once, on first use, and retries a failed load', async () => {
    let loads = 0;
    const p = lazyProvider(async () => {
      loads++;
      if (loads === 1) throw new Error('SDK missing');
      return fixed('c');
    });
    expect(loads).toBe(0);
    const opts = { notAfter: new Date(Date.now() + 60_000) };
    await expect(p.credentials(db('elasticache'), 'u', opts)).rejects.toThrow('SDK missing');
    expect((await p.credentials(db('elasticache'), 'u', opts)).password).toBe('c');
    await p.credentials(db('elasticache'), 'u', opts);
    expect(loads).toBe(2);
  });
});
