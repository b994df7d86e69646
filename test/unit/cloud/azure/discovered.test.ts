import { describe, expect, it } from 'vitest';
import { databaseName, labelsMatch, normalizeRegion, regionMatches, specOf, unavailableReason, type FoundCache } from '../../../../src/cloud/azure/discovered.js';
import type { AzureMatcher } from '../../../../src/db/cloud.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const oss = (over: Partial<FoundCache> = {}): FoundCache => ({
  kind: 'redis',
  id: `/subscriptions/${SUB}/resourceGroups/rg-east/providers/Microsoft.Cache/Redis/my-cache`,
  name: 'my-cache',
  location: 'East US',
  tags: { env: 'dev' },
  hostName: 'my-cache.redis.cache.windows.net',
  port: 6380,
  provisioningState: 'Succeeded',
  engineVersion: '6.0',
  ...over,
});
const enterprise = (over: Partial<FoundCache> = {}): FoundCache => ({
  kind: 'redis-enterprise',
  id: `/subscriptions/${SUB}/resourceGroups/rg-ent/providers/Microsoft.Cache/redisEnterprise/amr/databases/default`,
  name: 'amr',
  database: 'default',
  location: 'westeurope',
  tags: {},
  hostName: 'amr.westeurope.redis.azure.net',
  port: 10000,
  provisioningState: 'Succeeded',
  clusterProvisioningState: 'Succeeded',
  clientProtocol: 'Encrypted',
  clusteringPolicy: 'OSSCluster',
  engineVersion: '7.4',
  ...over,
});
const all: AzureMatcher = { types: ['redis', 'redis-enterprise'], regions: ['*'], subscriptions: ['*'], resourceGroups: ['*'], tags: { '*': '*' } };

describe('Azure discovery rules', () => {
  it('normalises regions so East US, eastus and east-us match', () => {
    expect(normalizeRegion('East US')).toBe('eastus');
    expect(regionMatches(['eastus'], 'East US')).toBe(true);
    expect(regionMatches(['East US 2'], 'eastus2')).toBe(true);
    expect(regionMatches(['westus'], 'East US')).toBe(false);
    expect(regionMatches(['*'], 'anything')).toBe(true);
  });

  it('selects by tags: * matches all, k: * needs the key, k: v needs the value', () => {
    expect(labelsMatch({ '*': '*' }, {})).toBe(true);
    expect(labelsMatch({ env: '*' }, { env: 'x' })).toBe(true);
    expect(labelsMatch({ env: '*' }, {})).toBe(false);
    expect(labelsMatch({ env: 'dev' }, { env: 'prod' })).toBe(false);
    expect(labelsMatch({ env: 'dev', team: 'a' }, { env: 'dev', team: 'a', x: 'y' })).toBe(true);
  });

  it("serves OSS caches in Teleport's available states only, and only with a TLS port", () => {
    for (const s of ['Succeeded', 'Linking', 'RecoveringScaleFailure', 'Scaling', 'Unlinking', 'Updating']) expect(unavailableReason(oss({ provisioningState: s }))).toBeUndefined();
    for (const s of ['Creating', 'Deleting', 'Disabled', 'Failed', 'Provisioning', 'Unprovisioning']) expect(unavailableReason(oss({ provisioningState: s }))).toBe(`its provisioning state is ${s}`);
    expect(unavailableReason(oss({ port: undefined }))).toMatch(/no TLS port/);
  });

  it('serves Enterprise databases only over the Encrypted protocol, with cluster and database available', () => {
    expect(unavailableReason(enterprise())).toBeUndefined();
    expect(unavailableReason(enterprise({ clientProtocol: 'Plaintext' }))).toMatch(/not Encrypted/);
    expect(unavailableReason(enterprise({ clusterProvisioningState: 'Creating' }))).toMatch(/cluster's provisioning state is Creating/);
    expect(unavailableReason(enterprise({ provisioningState: 'Failed' }))).toMatch(/provisioning state is Failed/);
  });

  it('names a database after the override tag, else the cache (Enterprise: cluster, or cluster-db)', () => {
    expect(databaseName(oss())).toBe('my-cache');
    expect(databaseName(oss({ name: 'My-Cache' }))).toBe('my-cache');
    expect(databaseName(oss({ tags: { XportDatabaseName: 'orders' } }))).toBe('orders');
    expect(databaseName(oss({ tags: { TeleportDatabaseName: 'legacy' } }))).toBe('legacy');
    expect(databaseName(oss({ tags: { TeleportDatabaseName: 'legacy', XportDatabaseName: 'ours' } }))).toBe('ours');
    expect(databaseName(enterprise())).toBe('amr');
    expect(databaseName(enterprise({ database: 'db2' }))).toBe('amr-db2');
  });

  it('builds an OSS spec: rediss://host:sslPort, standalone, labels with tags and what xport knows', () => {
    const r = specOf(oss(), all);
    expect('spec' in r && r.spec).toMatchObject({
      name: 'my-cache',
      uri: 'rediss://my-cache.redis.cache.windows.net:6380',
      mode: 'standalone',
      type: 'azure-redis',
      description: 'Azure Redis server in East US',
      azure: { resourceId: oss().id, subscription: SUB, resourceGroup: 'rg-east', auth: 'access_key' },
      labels: { env: 'dev', cloud: 'Azure', region: 'eastus', 'resource-group': 'rg-east', 'subscription-id': SUB, engine: 'Microsoft.Cache/Redis', 'engine-version': '6.0' },
      tls: { mode: 'verify-full' },
    });
  });

  it('builds an Enterprise spec in cluster mode for the OSSCluster policy, standalone otherwise', () => {
    const r = specOf(enterprise(), all);
    expect('spec' in r && r.spec).toMatchObject({ uri: 'rediss://amr.westeurope.redis.azure.net:10000?mode=cluster', mode: 'cluster', type: 'azure-redis-enterprise', labels: { 'endpoint-type': 'OSSCluster', engine: 'Microsoft.Cache/redisEnterprise' } });
    const s = specOf(enterprise({ clusteringPolicy: 'EnterpriseCluster' }), all);
    expect('spec' in s && s.spec.mode).toBe('standalone');
  });

  it('uses Entra ID for a cache with access keys disabled, and the matcher can choose for all', () => {
    const r = specOf(oss({ disableAccessKeyAuthentication: true }), all);
    expect('spec' in r && r.spec.azure?.auth).toBe('entra_id');
    const ids = { reader: { clientId: 'c1' } };
    const m = specOf(oss(), { ...all, auth: 'entra_id', identities: ids });
    expect('spec' in m && m.spec.azure).toMatchObject({ auth: 'entra_id', identities: ids });
  });

  it('says why a cache is left out, marking the ones the matcher simply does not select', () => {
    expect(specOf(oss(), { ...all, regions: ['westus'] })).toEqual({ skipped: "region East US is not in the matcher's regions", unselected: true });
    expect(specOf(oss(), { ...all, tags: { env: 'prod' } })).toEqual({ skipped: 'its tags do not match', unselected: true });
    expect(specOf(oss({ provisioningState: 'Creating' }), all)).toEqual({ skipped: 'its provisioning state is Creating' });
    expect(specOf(oss({ tags: { XportDatabaseName: 'Bad Name!' } }), all)).toMatchObject({ skipped: expect.stringMatching(/not a valid database name/) });
  });

  it('matches tags against the derived labels too, so tags: { region: eastus } works', () => {
    expect('spec' in specOf(oss(), { ...all, tags: { region: 'eastus' } })).toBe(true);
  });
});
