import { describe, expect, it } from 'vitest';
import { awsFromEndpoint } from '../../../src/db/cloud.js';
import { parseConfig } from '../../../src/service/config.js';
import { specFromConfig } from '../../../src/service/databases.js';
import { parseDatabaseResources, specFromResource } from '../../../src/db/resource.js';
import { serverTls } from '../../../src/db/credentials.js';

function config(db: string[]): string {
  return ['version: v1', 'db_service:', '  databases:', '    - name: cache', '      protocol: redis', ...db.map((l) => `      ${l}`)].join('\n');
}

describe('static AWS endpoint names', () => {
  it('reads an ElastiCache configuration endpoint as a cluster-mode replication group', () => {
    expect(awsFromEndpoint('clustercfg.my-redis.xkftbc.use1.cache.amazonaws.com')?.aws.region).toBe('us-east-1');
    expect(awsFromEndpoint('clustercfg.my-redis.xkftbc.us-east-1.cache.amazonaws.com')).toEqual({
      type: 'elasticache',
      endpointType: 'configuration',
      aws: { region: 'us-east-1', elasticache: { replicationGroupId: 'my-redis' }, secretStore: { keyPrefix: 'xport/' } },
    });
  });

  it('reads primary, reader and node endpoints of a replication group', () => {
    expect(awsFromEndpoint('master.grp-1.abcdef.euw1.cache.amazonaws.com')).toMatchObject({ endpointType: 'primary', aws: { region: 'eu-west-1', elasticache: { replicationGroupId: 'grp-1' } } });
    expect(awsFromEndpoint('replica.grp-1.abcdef.eu-west-1.cache.amazonaws.com')).toMatchObject({ endpointType: 'reader' });
    expect(awsFromEndpoint('grp-1-001.abcdef.0001.aps1.cache.amazonaws.com')).toMatchObject({ endpointType: 'node', aws: { region: 'ap-south-1', elasticache: { replicationGroupId: 'grp-1' } } });
  });

  it('reads serverless endpoints with their short region names', () => {
    expect(awsFromEndpoint('my-cache-x1y2z3.serverless.use1.cache.amazonaws.com')).toEqual({
      type: 'elasticache-serverless',
      endpointType: 'serverless',
      aws: { region: 'us-east-1', elasticacheServerless: { cacheName: 'my-cache' }, secretStore: { keyPrefix: 'xport/' } },
    });
    expect(awsFromEndpoint('c-abc123.serverless.apne1.cache.amazonaws.com')?.aws.region).toBe('ap-northeast-1');
    expect(awsFromEndpoint('c-abc123.serverless.euc1.cache.amazonaws.com')?.aws.region).toBe('eu-central-1');
  });

  it('reads MemoryDB cluster endpoints', () => {
    expect(awsFromEndpoint('clustercfg.my-mdb.abc123.memorydb.us-west-2.amazonaws.com')).toEqual({
      type: 'memorydb',
      endpointType: 'cluster',
      aws: { region: 'us-west-2', memorydb: { clusterName: 'my-mdb' }, secretStore: { keyPrefix: 'xport/' } },
    });
  });

  it('leaves other host names alone (VPC endpoints, loopback fronts)', () => {
    expect(awsFromEndpoint('127.0.0.1')).toBeUndefined();
    expect(awsFromEndpoint('redis.example.com')).toBeUndefined();
    expect(awsFromEndpoint('vpce-0abc.elasticache.us-east-1.vpce.amazonaws.com')).toBeUndefined();
  });

  it('fills type, region, ids and cluster mode of a config database from its uri alone', async () => {
    const c = parseConfig(config(['uri: rediss://clustercfg.my-redis.xkftbc.us-east-1.cache.amazonaws.com:6379']));
    const spec = await specFromConfig(c.db.databases[0]!);
    expect(spec.type).toBe('elasticache');
    expect(spec.mode).toBe('cluster');
    expect(spec.aws?.elasticache?.replicationGroupId).toBe('my-redis');
    const m = await specFromConfig(parseConfig(config(['uri: master.g.abcdef.us-east-1.cache.amazonaws.com:6379?mode=standalone'])).db.databases[0]!);
    expect(m.mode).toBe('standalone');
  });

  it('fills the same for a kind: db resource', () => {
    const [r] = parseDatabaseResources(['kind: db', 'version: v1', 'metadata: { name: mdb }', 'spec:', '  protocol: redis', '  uri: clustercfg.mdb.abc123.memorydb.us-east-1.amazonaws.com:6379'].join('\n'));
    const spec = specFromResource(r!);
    expect(spec.type).toBe('memorydb');
    expect(spec.mode).toBe('cluster');
    expect(spec.aws?.memorydb?.clusterName).toBe('mdb');
  });

  it('lets an aws block win over the host name', async () => {
    const c = parseConfig(config(['uri: master.g.abcdef.us-east-1.cache.amazonaws.com:6379', 'aws: { region: eu-west-1, memorydb: { cluster_name: other } }']));
    const spec = await specFromConfig(c.db.databases[0]!);
    expect(spec.type).toBe('memorydb');
    expect(spec.aws?.region).toBe('eu-west-1');
  });
});

describe('tls settings of a database', () => {
  it('accepts tls mode disabled for an explicitly plaintext upstream', async () => {
    const spec = await specFromConfig(parseConfig(config(['uri: 127.0.0.1:6379', 'tls: { mode: disabled }'])).db.databases[0]!);
    expect(spec.tls.mode).toBe('disabled');
  });

  it('rejects an unknown tls mode, naming the key', () => {
    expect(() => parseConfig(config(['uri: 127.0.0.1:6379', 'tls: { mode: plaintext }']))).toThrow(/tls\.mode/);
  });

  it('builds verification from the database settings, once for every provider', async () => {
    const full = await specFromConfig(parseConfig(config(['uri: redis.example.com:6379'])).db.databases[0]!);
    expect(serverTls(full)).toEqual({ serverName: 'redis.example.com', rejectUnauthorized: true, checkServerName: true });
    const ca = await specFromConfig(parseConfig(config(['uri: 127.0.0.1:6379', 'tls: { mode: verify-ca }'])).db.databases[0]!);
    expect(serverTls(ca, 'PEM')).toEqual({ caPem: 'PEM', rejectUnauthorized: true, checkServerName: false });
    const insecure = await specFromConfig(parseConfig(config(['uri: 127.0.0.1:6379', 'tls: { mode: insecure }'])).db.databases[0]!);
    expect(serverTls(insecure).rejectUnauthorized).toBe(false);
  });
});
