/**
 * e2e: Azure Cache for Redis, Redis Enterprise / Azure Managed Redis — discovery, access keys and
 * Microsoft Entra ID tokens — with the real Azure SDK clients inside `xctl start`, pointed at a
 * local authority, managed identity endpoint and ARM (test/helpers/azure-endpoints) over HTTPS, and
 * real TLS redis-servers whose ACL follows the fake Azure (keys → default user, tokens → the object
 * id's user), reached with redis-cli through `xsh db connect`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, runCli, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { startAzureEndpoints, type AzureEndpoints, type Cache, type Principal } from '../helpers/azure-endpoints.js';
import { startAzureRedis, startAzureRedisCluster, type AccessPolicy, type AzureRedis, type AzureRedisCluster } from '../helpers/azure-redis.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const SUB_DENIED = '00000000-0000-0000-0000-000000000002';
const SUB_DELETED = '00000000-0000-0000-0000-000000000003';

const READ_ACTIONS = ['Microsoft.Cache/redis/read', 'Microsoft.Cache/redisEnterprise/read', 'Microsoft.Cache/redisEnterprise/databases/read'];
const KEY_ACTIONS = ['Microsoft.Cache/redis/listKeys/action', 'Microsoft.Cache/redisEnterprise/databases/listKeys/action'];

interface DbRow {
  name: string;
  type: string;
  uri: string;
  labels: Record<string, string>;
}

requireRedis();

describe('Azure Cache for Redis end to end', () => {
  let az: AzureEndpoints;
  let oss: AzureRedis;
  let entra: AzureRedis;
  let ent: AzureRedis;
  let amr: AzureRedisCluster;
  let svc: XportService;
  let alice: XshUser;
  let bob: XshUser;
  let cacheEast: Cache;
  const agent: Principal = {
    clientId: '0e2b4a1c-agent',
    objectId: 'b7f0c1de-0000-4000-8000-00000000a9e1',
    secret: 'agent-client-secret',
    assignments: [
      { scope: `/subscriptions/${SUB}`, actions: ['Microsoft.Resources/subscriptions/read', ...READ_ACTIONS] },
      { scope: `/subscriptions/${SUB}/resourceGroups/rg-east`, actions: KEY_ACTIONS },
      { scope: `/subscriptions/${SUB}/resourceGroups/rg-west`, actions: KEY_ACTIONS },
      // Visible in the subscription list, but no right to list caches there.
      { scope: `/subscriptions/${SUB_DENIED}`, actions: ['Microsoft.Resources/subscriptions/read'] },
      { scope: `/subscriptions/${SUB_DELETED}`, actions: ['*'] },
    ],
  };
  // Runs `xctl db configure bootstrap --azure`: may create custom roles and assign them in SUB.
  const admin: Principal = {
    clientId: '5a5a5a5a-admin',
    objectId: '33333333-3333-4333-8333-333333333333',
    secret: 'admin-client-secret',
    assignments: [{ scope: `/subscriptions/${SUB}`, actions: ['Microsoft.Resources/subscriptions/read', 'Microsoft.Authorization/roleDefinitions/write', 'Microsoft.Authorization/roleAssignments/write'] }],
  };
  let configPath = '';
  const reader: Principal = { clientId: 'c0ffee00-reader', objectId: '11111111-1111-4111-8111-111111111111', managed: true, assignments: [] };
  const writer: Principal = { clientId: 'c0ffee00-writer', objectId: '22222222-2222-4222-8222-222222222222', managed: true, assignments: [] };
  const policies = new Map<string, AccessPolicy>([
    [agent.objectId, 'Data Owner'],
    [reader.objectId, 'Data Reader'],
    [writer.objectId, 'Data Contributor'],
  ]);

  beforeAll(async () => {
    az = await startAzureEndpoints();
    [oss, entra, ent, amr] = await Promise.all([startAzureRedis(az.ca), startAzureRedis(az.ca), startAzureRedis(az.ca), startAzureRedisCluster(az.ca)]);
    az.principals.push(agent, admin, reader, writer);
    az.subscriptions.push({ id: SUB, state: 'Enabled' }, { id: SUB_DENIED, state: 'Enabled' }, { id: SUB_DELETED, state: 'Deleted' });
    const cache = (c: Partial<Cache> & { name: string }): Cache => ({
      subscription: SUB,
      resourceGroup: 'rg-east',
      location: 'East US',
      tags: { env: 'dev' },
      hostName: '127.0.0.1',
      sslPort: oss.port,
      primaryKey: `primary-${c.name}-key`,
      secondaryKey: `secondary-${c.name}-key`,
      ...c,
    });
    cacheEast = cache({ name: 'cache-east', redisVersion: '6.0.20' });
    az.caches.push(
      cacheEast,
      cache({ name: 'Renamed-Cache', tags: { env: 'dev', XportDatabaseName: 'orders' } }),
      cache({ name: 'cache-creating', provisioningState: 'Creating' }),
      cache({ name: 'cache-prod', tags: { env: 'prod' } }),
      cache({ name: 'cache-entra', sslPort: entra.port, disableAccessKeyAuthentication: true }),
      // Same Redis as cache-east, so the same keys, in a resource group where the agent may not list keys.
      cache({ name: 'cache-nokeys', resourceGroup: 'rg-locked', primaryKey: 'primary-cache-east-key', secondaryKey: 'secondary-cache-east-key' }),
      // Same Redis as cache-east: one has only the secondary key generated, one has neither.
      cache({ name: 'cache-secondary', primaryKey: '', secondaryKey: 'secondary-cache-east-key' }),
      cache({ name: 'cache-keyless', primaryKey: '', secondaryKey: '' }),
      cache({ name: 'cache-west', resourceGroup: 'rg-west', location: 'West US', tags: {} }),
      cache({ name: 'cache-west-other', resourceGroup: 'rg-other', location: 'West US', tags: {} }),
      cache({ name: 'cache-denied', subscription: SUB_DENIED }),
      cache({ name: 'cache-deleted-sub', subscription: SUB_DELETED }),
    );
    az.clusters.push({
      subscription: SUB,
      resourceGroup: 'rg-east',
      name: 'ent',
      location: 'East US',
      tags: { env: 'dev' },
      hostName: '127.0.0.1',
      databases: [
        { name: 'default', port: ent.port, clientProtocol: 'Encrypted', clusteringPolicy: 'EnterpriseCluster', primaryKey: 'ent-primary', secondaryKey: 'ent-secondary' },
        { name: 'plain', port: ent.port, clientProtocol: 'Plaintext', clusteringPolicy: 'EnterpriseCluster', primaryKey: 'x', secondaryKey: 'y' },
      ],
    });
    // An Azure Managed Redis cluster with the OSS clustering policy: clients see the cluster's shards.
    az.clusters.push({
      subscription: SUB,
      resourceGroup: 'rg-east',
      name: 'amr',
      location: 'eastus',
      tags: { env: 'dev' },
      hostName: '127.0.0.1',
      sku: 'Balanced_B5',
      databases: [{ name: 'default', port: amr.ports[0]!, clientProtocol: 'Encrypted', clusteringPolicy: 'OSSCluster', primaryKey: 'amr-primary', secondaryKey: 'amr-secondary' }],
    });
    await amr.setKeys('amr-primary', 'amr-secondary');
    await oss.setKeys(cacheEast.primaryKey, cacheEast.secondaryKey);
    await ent.setKeys('ent-primary', 'ent-secondary');
    az.onKeyRotated(async (c) => {
      if (c === cacheEast) await oss.setKeys(c.primaryKey, c.secondaryKey);
    });
    az.onToken(async (t) => {
      if (t.audience !== 'https://redis.azure.com') return;
      for (const r of [entra, oss]) await r.allowToken(t.principal.objectId, t.token, policies.get(t.principal.objectId)!);
    });

    const dir = await tmpDir('xport-azure-e2e-');
    const config = [
      'version: v1',
      'cluster_name: azure-e2e',
      `data_dir: ${join(dir, 'data')}`,
      'proxy_service: { listen_addr: 127.0.0.1:0 }',
      'db_service:',
      '  enabled: true',
      `  azure_cloud: { authority_host: '${az.url}', resource_manager_endpoint: '${az.url}' }`,
      '  discovery_interval: 2s',
      '  azure:',
      '    - types: [redis, redis-enterprise]',
      '      regions: [eastus]',
      "      subscriptions: ['*']",
      "      resource_groups: ['*']",
      '      tags: { env: dev }',
      `      identities: { reader: { client_id: ${reader.clientId} }, writer: { client_id: ${writer.clientId} } }`,
      '    - types: [redis]',
      "      regions: ['*']",
      `      subscriptions: ['${SUB}']`,
      '      resource_groups: [rg-west]',
      '  databases:',
      '    - name: entra-agent',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${entra.port}`,
      '      static_labels: { env: dev }',
      `      azure: { resource_id: /subscriptions/${SUB}/resourceGroups/rg-east/providers/Microsoft.Cache/Redis/cache-entra, auth: entra_id }`,
      '',
    ].join('\n');
    configPath = join(dir, 'xport.yaml');
    await writeFile(configPath, config);
    svc = await startXport({ config, env: az.env(agent) });
    alice = await addUser(svc, 'alice', ['--roles=access', '--db-users=default,reader,writer']);
    bob = await addUser(svc, 'bob', ['--roles=access', '--db-users=reader']);
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    await Promise.all([oss?.stop(), entra?.stop(), ent?.stop(), amr?.stop()]);
    await az?.stop();
  });

  const dbs = async (): Promise<DbRow[]> => {
    const r = await svc.xctl(['db', 'ls', '--format=json']);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as DbRow[];
  };

  it('discovers caches by region, tags, subscription * and resource group, following nextLink pages', async () => {
    await waitFor('discovered databases', async () => (await dbs()).some((d) => d.name === 'ent'));
    const rows = await dbs();
    const names = rows.map((d) => d.name).sort();
    expect(names).toEqual(['amr', 'cache-east', 'cache-entra', 'cache-keyless', 'cache-nokeys', 'cache-secondary', 'cache-west', 'ent', 'entra-agent', 'orders']);
    const east = rows.find((d) => d.name === 'cache-east')!;
    expect(east).toMatchObject({ type: 'azure-redis', uri: `rediss://127.0.0.1:${oss.port}` });
    expect(east.labels).toEqual({
      env: 'dev',
      cloud: 'Azure',
      region: 'eastus',
      'resource-group': 'rg-east',
      'subscription-id': SUB,
      engine: 'Microsoft.Cache/Redis',
      'engine-version': '6.0.20',
    });
    const e = rows.find((d) => d.name === 'ent')!;
    expect(e).toMatchObject({ type: 'azure-redis-enterprise', uri: `rediss://127.0.0.1:${ent.port}` });
    expect(e.labels).toMatchObject({ engine: 'Microsoft.Cache/redisEnterprise', 'endpoint-type': 'EnterpriseCluster', region: 'eastus' });
    // Ten caches in the subscription at two per page: cache-entra and cache-nokeys come on the third
    // page and cache-keyless on the fourth, so finding them means the absolute nextLinks were followed.
    expect(az.requests.filter((r) => r === `GET /subscriptions/${SUB}/providers/Microsoft.Cache/redis`).length).toBeGreaterThanOrEqual(5);
  });

  it('logs the caches it skips (state, plaintext protocol) and the subscription it may not list', async () => {
    const out = svc.output();
    expect(out).toMatch(/skipping an Azure cache .*cache-creating.*provisioning state is Creating/);
    expect(out).toMatch(/skipping an Azure cache .*databases\/plain.*not Encrypted/);
    expect(out).toMatch(new RegExp(`skipping a subscription or resource group the agent cannot list subscription=${SUB_DENIED}.*AuthorizationFailed|skipping a subscription or resource group the agent cannot list subscription=${SUB_DENIED}.*does not have authorization`));
    expect(out).toMatch(new RegExp(`skipping a deleted subscription subscription=${SUB_DELETED}`));
  });

  it('connects with the access key as the default user, OSS and Enterprise alike', async () => {
    const set = await alice.xsh(['db', 'connect', 'cache-east', '--db-user=default', '--', 'SET', 'greeting', 'hello-azure']);
    expect(set.stderr).not.toContain('ERROR');
    expect(set.stdout.trim()).toBe('OK');
    const get = await alice.xsh(['db', 'connect', 'cache-east', '--db-user=default', '--', 'GET', 'greeting']);
    expect(get.stdout.trim()).toBe('hello-azure');
    const who = await alice.xsh(['db', 'connect', 'ent', '--db-user=default', '--', 'ACL', 'WHOAMI']);
    expect(who.stdout.trim()).toBe('default');
  });

  it('serves an Enterprise / Managed Redis database with the OSSCluster policy in cluster mode, keys on every shard', async () => {
    const row = (await dbs()).find((d) => d.name === 'amr')!;
    expect(row).toMatchObject({ type: 'azure-redis-enterprise', uri: `rediss://127.0.0.1:${amr.ports[0]}?mode=cluster` });
    expect(row.labels['endpoint-type']).toBe('OSSCluster');
    // alpha (slot 865), bravo (8623) and echo (14438) live on the three different shards: xport splits
    // and merges, and AUTHs each node it opens with the access key.
    const set = await alice.xsh(['db', 'connect', 'amr', '--db-user=default', '--', 'MSET', 'alpha', '1', 'bravo', '2', 'echo', '3']);
    expect(set.stdout.trim()).toBe('OK');
    const get = await alice.xsh(['db', 'connect', 'amr', '--db-user=default', '--', 'MGET', 'alpha', 'bravo', 'echo']);
    expect(get.stdout.trim().split('\n')).toEqual(['1', '2', '3']);
    const size = await alice.xsh(['db', 'connect', 'amr', '--db-user=default', '--', 'DBSIZE']);
    expect(size.stdout.trim()).toBe('3');
  });

  it('uses the secondary key when the primary is not generated, and says what to do when neither is', async () => {
    const ping = await alice.xsh(['db', 'connect', 'cache-secondary', '--db-user=default', '--', 'PING']);
    expect(ping.stdout.trim()).toBe('PONG');
    const none = await alice.xsh(['db', 'connect', 'cache-keyless', '--db-user=default', '--', 'PING']);
    expect(none.stdout + none.stderr).toContain('the cache has neither a primary nor a secondary key');
  });

  it('refuses another db user on an access-key cache, since a key only logs in as default', async () => {
    const r = await alice.xsh(['db', 'connect', 'cache-east', '--db-user=writer', '--', 'PING']);
    expect(r.stdout + r.stderr).toContain('authenticates with an access key, which only logs in as the Redis user "default"');
  });

  it('says which permission is missing when listKeys is denied', async () => {
    const r = await alice.xsh(['db', 'connect', 'cache-nokeys', '--db-user=default', '--', 'PING']);
    expect(r.stdout + r.stderr).toContain('lacks permission Microsoft.Cache/redis/listKeys/action');
    expect(r.stdout).not.toContain('PONG');
  });

  it('bootstrap --azure creates the custom role and assigns it to the agent, after which listKeys works', async () => {
    const env = az.env(admin);
    const r = await runCli('xctl', ['-c', configPath, 'db', 'configure', 'bootstrap', '--azure', `--assignee=${agent.objectId}`], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Assigned role XportDatabaseService \\(/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/[0-9a-f-]{36}\\) to principal ${agent.objectId} at /subscriptions/${SUB}`));
    const [def] = [...az.roleDefinitions.values()];
    expect(def!.actions).toEqual([
      'Microsoft.Cache/redis/listKeys/action',
      'Microsoft.Cache/redis/read',
      'Microsoft.Cache/redisEnterprise/databases/listKeys/action',
      'Microsoft.Cache/redisEnterprise/databases/read',
      'Microsoft.Cache/redisEnterprise/read',
      'Microsoft.Resources/subscriptions/read',
    ]);
    // Running it again updates the same role and finds the assignment in place.
    const again = await runCli('xctl', ['-c', configPath, 'db', 'configure', 'bootstrap', '--azure', `--assignee=${agent.objectId}`], { env });
    expect(again.stdout).toMatch(/Already assigned role XportDatabaseService/);
    expect(az.roleDefinitions.size).toBe(1);
    const ping = await alice.xsh(['db', 'connect', 'cache-nokeys', '--db-user=default', '--', 'PING']);
    expect(ping.stdout.trim()).toBe('PONG');
  });

  it('bootstrap names the right the caller lacks when it may not create roles', async () => {
    const r = await runCli('xctl', ['-c', configPath, 'db', 'configure', 'bootstrap', '--azure'], { env: az.env(agent) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not create the custom role at \/subscriptions\/\S+: AuthorizationFailed/);
    expect(r.stderr).toMatch(/needs Microsoft\.Authorization\/roleDefinitions\/write/);
  });

  it('authenticates with Entra ID tokens as the per-db-user managed identity, so Redis applies its access policy', async () => {
    const w = await alice.xsh(['db', 'connect', 'cache-entra', '--db-user=writer', '--', 'SET', 'shared', 'from-writer']);
    expect(w.stdout.trim()).toBe('OK');
    const whoW = await alice.xsh(['db', 'connect', 'cache-entra', '--db-user=writer', '--', 'ACL', 'WHOAMI']);
    expect(whoW.stdout.trim()).toBe(writer.objectId);
    const r = await bob.xsh(['db', 'connect', 'cache-entra', '--db-user=reader', '--', 'GET', 'shared']);
    expect(r.stdout.trim()).toBe('from-writer');
    expect(az.issued.some((t) => t.principal === reader && t.audience === 'https://redis.azure.com')).toBe(true);
    // Redis, not xport, refuses the reader's write: the Data Reader policy has no @write.
    const denied = await bob.xsh(['db', 'connect', 'cache-entra', '--db-user=reader', '--', 'SET', 'shared', 'from-reader']);
    expect(denied.stdout + denied.stderr).toMatch(/NOPERM/);
    const still = await bob.xsh(['db', 'connect', 'cache-entra', '--db-user=reader', '--', 'GET', 'shared']);
    expect(still.stdout.trim()).toBe('from-writer');
  });

  it('refuses a db user with no identity mapped, and the roles still decide who may be which db user', async () => {
    const none = await alice.xsh(['db', 'connect', 'cache-entra', '--db-user=default', '--', 'PING']);
    expect(none.stdout + none.stderr).toContain('maps no Entra ID identity to db user "default"');
    const rbac = await bob.xsh(['db', 'login', 'cache-entra', '--db-user=writer']);
    expect(rbac.code).toBe(1);
    expect(rbac.stderr).toMatch(/denied/);
  });

  it("authenticates a static entra_id database as the agent's own identity (DefaultAzureCredential)", async () => {
    const who = await alice.xsh(['db', 'connect', 'entra-agent', '--db-user=default', '--', 'ACL', 'WHOAMI']);
    expect(who.stdout.trim()).toBe(agent.objectId);
  });

  it('never logs keys or tokens', () => {
    const out = svc.output();
    expect(out).not.toContain(cacheEast.primaryKey);
    expect(out).not.toContain('ent-primary');
    for (const t of az.issued) expect(out).not.toContain(t.token);
  });

  it('bounds a round that ARM pages without end, and keeps serving what the last good round found', async () => {
    const before = (await dbs()).map((d) => d.name).sort();
    az.pageSize = 1000;
    az.endlessPaging = true;
    try {
      await waitFor('the bounded round to fail', async () => /discovery failed; keeping what this source found before .*listed more than 20000 resources in one round/.test(svc.output()), 60_000);
    } finally {
      az.endlessPaging = false;
      az.pageSize = 2;
    }
    expect((await dbs()).map((d) => d.name).sort()).toEqual(before);
  });

  it('drops a cache that vanished from Azure on the next discovery round', async () => {
    const i = az.caches.findIndex((c) => c.name === 'cache-west');
    az.caches.splice(i, 1);
    await waitFor('cache-west to disappear', async () => !(await dbs()).some((d) => d.name === 'cache-west'));
    expect((await dbs()).map((d) => d.name)).toContain('cache-east');
    // Many rounds later, a cache skipped for the same reason was logged once, not every round.
    expect(svc.output().match(/skipping an Azure cache .*cache-creating/g)).toHaveLength(1);
  });
});

describe('Azure without credentials', () => {
  let az: AzureEndpoints;
  let redis: AzureRedis;
  let svc: XportService;
  let alice: XshUser;

  beforeAll(async () => {
    az = await startAzureEndpoints();
    redis = await startAzureRedis(az.ca);
    az.subscriptions.push({ id: SUB, state: 'Enabled' });
    const dir = await tmpDir('xport-azure-nocreds-');
    const config = [
      'version: v1',
      `data_dir: ${join(dir, 'data')}`,
      'proxy_service: { listen_addr: 127.0.0.1:0 }',
      'db_service:',
      '  enabled: true',
      `  azure_cloud: { authority_host: '${az.url}', resource_manager_endpoint: '${az.url}' }`,
      '  azure: [{ types: [redis], regions: [eastus] }]',
      '  databases:',
      '    - name: entra',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redis.port}`,
      `      azure: { resource_id: /subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Cache/Redis/entra, auth: entra_id }`,
      '',
    ].join('\n');
    // No service principal, and a managed identity endpoint that refuses the agent: every source
    // of DefaultAzureCredential comes up empty.
    svc = await startXport({
      config,
      env: { AZURE_TENANT_ID: '', AZURE_CLIENT_ID: '', AZURE_CLIENT_SECRET: '', IDENTITY_ENDPOINT: `${az.url}/msi/token`, IDENTITY_HEADER: 'not-the-header', NODE_EXTRA_CA_CERTS: az.caFile },
    });
    alice = await addUser(svc, 'alice', ['--roles=access', '--db-users=default']);
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    await redis?.stop();
    await az?.stop();
  });

  it('logs "DefaultAzureCredential: failed to acquire a token." with the variables to set, and tells the user', async () => {
    const r = await alice.xsh(['db', 'connect', 'entra', '--db-user=default', '--', 'PING']);
    expect(r.stdout + r.stderr).toContain('DefaultAzureCredential: failed to acquire a token.');
    expect(r.stdout).not.toContain('PONG');
    await waitFor('the discovery warning', async () => /WARN .*DefaultAzureCredential: failed to acquire a token\..*hint=.*AZURE_CLIENT_SECRET/.test(svc.output()), 60_000);
    expect(svc.output()).toMatch(/could not get an Entra ID token for Redis database=entra .*hint=.*AZURE_FEDERATED_TOKEN_FILE/);
  });
});
