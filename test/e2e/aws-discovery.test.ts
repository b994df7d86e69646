/**
 * e2e: AWS discovery and cluster-mode IAM auth — an agent with `db_service.aws` matchers finds
 * ElastiCache replication groups (cluster mode and not), an ElastiCache Serverless cache and a
 * MemoryDB cluster in moto, filters them by tags, names them (with the XportDatabaseName
 * override), and serves them: sessions through xsh and redis-cli authenticate with IAM tokens
 * that TLS fronts verify with botocore, on every node of a real Redis Cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CreateReplicationGroupCommand, CreateServerlessCacheCommand, CreateUserGroupCommand, DeleteReplicationGroupCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CreateACLCommand, CreateClusterCommand, CreateUserCommand as MdbCreateUserCommand, MemoryDBClient } from '@aws-sdk/client-memorydb';
import { Redis } from 'ioredis';
import { addUser, runProcess, startXport, tmpDir, type XportService, type XshUser, startTunnel } from '../helpers/cli.js';
import { freePort, requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { agentEnv, createIamUsers, createRole, frontAcl, requireMoto, startAwsEmulator, TEST_IAM_TOKEN_TTL_S, waitForReauths, type AwsEmulator } from '../helpers/aws.js';

const FRONT_PW = 'front-redis-password-0002';
const ACL = frontAcl(['iam-user', 'mdb-iam', 'mdb-managed', 'admin'], FRONT_PW);

requireMoto();

interface Listed {
  name: string;
  type: string;
  uri: string;
  mode?: string;
  labels: Record<string, string>;
  status: string;
}

requireRedis();

describe('AWS discovery end to end (moto + TLS fronts + a real Redis Cluster)', () => {
  const nodes: RedisServer[] = [];
  let standalone: RedisServer;
  let emu: AwsEmulator;
  let svc: XportService;
  let alice: XshUser;
  let ec: ElastiCacheClient;

  const cli = (port: number, args: string[]) => runProcess('redis-cli', ['-p', String(port), '--user', 'admin', '--pass', FRONT_PW, '--no-auth-warning', ...args]);

  beforeAll(async () => {
    // The four redis-servers start together; so do moto and the cluster's creation.
    const started = await Promise.all([
      ...[0, 1, 2].map(async () => {
        const dir = await tmpDir('xport-aws-cluster-');
        // The bus port gets a free port of its own: the default (port + 10000) may be taken on a busy machine.
        const bus = await freePort();
        return startRedis([...ACL, 'cluster-enabled yes', `cluster-port ${bus}`, `cluster-config-file ${join(dir, 'nodes.conf')}`, 'cluster-node-timeout 5000']);
      }),
      startRedis(ACL),
    ]);
    standalone = started.pop()!;
    nodes.push(...started);
    const [create] = await Promise.all([
      runProcess('redis-cli', ['--user', 'admin', '--pass', FRONT_PW, '--no-auth-warning', '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { timeoutMs: 30_000 }),
      startAwsEmulator({
        fronts: [
          ...nodes.map((n, i) => ({
            name: `node${i}`,
            target: 'rg-cluster',
            service: 'elasticache' as const,
            alsoTargets: [{ target: 'mdb-1', service: 'memorydb' as const }],
            upstream: `127.0.0.1:${n.port}`,
            redisPassword: FRONT_PW,
            // Connections not re-AUTHed within a token lifetime are dropped (ElastiCache's 12 h, scaled down).
            maxAuthAge: TEST_IAM_TOKEN_TTL_S,
          })),
          { name: 'plain', target: 'rg-plain', service: 'elasticache', upstream: `127.0.0.1:${standalone.port}`, redisPassword: FRONT_PW },
          { name: 'serverless', target: 'sl-1', service: 'elasticache', serverless: true, upstream: `127.0.0.1:${standalone.port}`, redisPassword: FRONT_PW },
        ],
        endpoints: { 'rg-cluster': 'node0', 'mdb-1': 'node0', 'rg-plain': ['plain', 'plain'], 'sl-1': 'serverless' },
      }).then((e) => (emu = e)),
    ]);
    if (create.code !== 0) throw new Error(`cluster create failed: ${create.stdout}\n${create.stderr}`);

    const announceFronts = async () => {
      // Each node announces its front's port, so CLUSTER SHARDS and MOVED name addresses that speak TLS.
      for (let i = 0; i < nodes.length; i++) {
        const r = await cli(nodes[i]!.port, ['CONFIG', 'SET', 'cluster-announce-port', String(emu.fronts[`node${i}`])]);
        if (r.stdout.trim() !== 'OK') throw new Error(r.stdout + r.stderr);
      }
      const frontPorts = nodes.map((_, i) => String(emu.fronts[`node${i}`]));
      await waitFor('every node announcing its front port', async () => {
        for (const n of nodes) {
          const r = await cli(n.port, ['CLUSTER', 'SLOTS']);
          if (!frontPorts.every((p) => r.stdout.includes(p))) return false;
          if ((await cli(n.port, ['CLUSTER', 'INFO'])).stdout.includes('cluster_state:ok') === false) return false;
        }
        return true;
      }, 30_000);
    };

    ec = new ElastiCacheClient(emu.clientConfig);
    const mdb = new MemoryDBClient(emu.clientConfig);
    const createResources = async () => {
      await createIamUsers(ec, ['iam-user']);
      for (const g of ['ug-c', 'ug-p', 'ug-s']) await ec.send(new CreateUserGroupCommand({ UserGroupId: g, Engine: 'redis', UserIds: ['default', 'iam-user'] }));
      const tags = (extra: Record<string, string> = {}) => Object.entries({ env: 'test', ...extra }).map(([Key, Value]) => ({ Key, Value }));
      const group = (id: string, o: { cluster?: boolean; tls?: boolean; tags?: { Key: string; Value: string }[]; ug?: string }) =>
        ec.send(
          new CreateReplicationGroupCommand({
            ReplicationGroupId: id,
            ReplicationGroupDescription: id,
            Engine: 'redis',
            EngineVersion: '7.1',
            TransitEncryptionEnabled: o.tls ?? true,
            ...(o.cluster ? { ClusterMode: 'enabled', NumNodeGroups: 3 } : { NumCacheClusters: 2 }),
            ...(o.ug ? { UserGroupIds: [o.ug] } : {}),
            Tags: o.tags ?? tags(),
          }),
        );
      await group('rg-cluster', { cluster: true, ug: 'ug-c' });
      await group('rg-plain', { ug: 'ug-p', tags: tags({ XportDatabaseName: 'renamed-cache' }) });
      await group('rg-notls', { tls: false });
      await group('rg-other', { tags: [{ Key: 'env', Value: 'other' }] });
      await ec.send(new CreateServerlessCacheCommand({ ServerlessCacheName: 'sl-1', Engine: 'valkey', MajorEngineVersion: '8', UserGroupId: 'ug-s', Tags: tags() }));
      await mdb.send(new MdbCreateUserCommand({ UserName: 'mdb-iam', AccessString: 'on ~* +@all', AuthenticationMode: { Type: 'iam' } }));
      await mdb.send(new MdbCreateUserCommand({ UserName: 'mdb-managed', AccessString: 'on ~* +@all', AuthenticationMode: { Type: 'password', Passwords: ['initial-password-not-used'] }, Tags: [{ Key: 'xport.dev/managed', Value: 'true' }] }));
      await mdb.send(new CreateACLCommand({ ACLName: 'acl-1', UserNames: ['mdb-iam', 'mdb-managed'] }));
      await mdb.send(new CreateClusterCommand({ ClusterName: 'mdb-1', NodeType: 'db.t4g.small', ACLName: 'acl-1', TLSEnabled: true, EngineVersion: '7.1', Tags: tags() }));
      await mdb.send(new CreateClusterCommand({ ClusterName: 'mdb-notls', NodeType: 'db.t4g.small', ACLName: 'open-access', TLSEnabled: false, Tags: tags() }));
    };
    // The cluster settles while moto gets its resources.
    await Promise.all([announceFronts(), createResources()]);

    const dir = await tmpDir('xport-aws-disc-');
    svc = await startXport({
      config: [
        'version: v1',
        'cluster_name: aws-disc',
        `data_dir: ${dir}/data`,
        'proxy_service:',
        '  listen_addr: 127.0.0.1:0',
        'db_service:',
        '  enabled: true',
        '  discovery_interval: 2s',
        '  aws:',
        '    - types: [elasticache, elasticache-serverless, memorydb]',
        '      regions: [us-east-1]',
        '      tags: { env: test }',
        '',
      ].join('\n'),
      env: agentEnv(emu, { NODE_EXTRA_CA_CERTS: emu.caFile }),
    });
    await createRole(svc, dir, 'aws-all', ["db_labels: { 'xport.dev/cloud': AWS }", 'db_users: [iam-user, mdb-iam, mdb-managed]']);
    alice = await addUser(svc, 'alice', ['--roles=aws-all'], 'alice-long-password');
  }, 180_000);

  afterAll(async () => {
    if (process.env.XPORT_TEST_DEBUG) console.log(svc?.output());
    await svc?.stop();
    await emu?.stop();
    await Promise.all([...nodes.map((n) => n.stop()), standalone?.stop()]);
  });

  const listed = async (): Promise<Listed[]> => JSON.parse((await svc.xctl(['db', 'ls', '--format=json'])).stdout) as Listed[];

  it('discovers cluster and non-cluster groups, serverless and MemoryDB by tag, with names and labels as Teleport', async () => {
    await waitFor('discovered databases', async () => (await listed()).filter((d) => d.status === 'online').length >= 5, 30_000);
    const dbs = await listed();
    expect(dbs.map((d) => d.name).sort()).toEqual(['mdb-1', 'renamed-cache', 'renamed-cache-reader', 'rg-cluster', 'sl-1']);
    const byName = Object.fromEntries(dbs.map((d) => [d.name, d]));
    expect(byName['rg-cluster']).toMatchObject({ type: 'elasticache', uri: `rediss://127.0.0.1:${emu.fronts.node0}?mode=cluster` });
    expect(byName['rg-cluster']!.labels).toMatchObject({ 'endpoint-type': 'configuration', region: 'us-east-1', 'account-id': '123456789012', engine: 'redis', env: 'test', 'xport.dev/cloud': 'AWS', 'xport.dev/origin': 'cloud' });
    expect(byName['renamed-cache']!.labels['endpoint-type']).toBe('primary');
    expect(byName['renamed-cache-reader']!.labels['endpoint-type']).toBe('reader');
    expect(byName['sl-1']).toMatchObject({ type: 'elasticache-serverless' });
    expect(byName['sl-1']!.labels).toMatchObject({ 'endpoint-type': 'serverless', engine: 'valkey' });
    expect(byName['mdb-1']).toMatchObject({ type: 'memorydb' });
    expect(byName['mdb-1']!.labels['endpoint-type']).toBe('cluster');
    // Skipped without in-transit encryption, and logged with the reason.
    expect(svc.output()).toMatch(/skipping an ElastiCache replication group without in-transit encryption.*rg-notls/);
    expect(svc.output()).toMatch(/skipping a MemoryDB cluster without TLS.*mdb-notls/);
  }, 60_000);

  it('serves a cluster-mode group with IAM tokens on every node it opens', async () => {
    const since = emu.events.length;
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const args = keys.flatMap((k) => [k, `v-${k}`]);
    const set = await alice.xsh(['db', 'connect', 'rg-cluster', '--db-user=iam-user', '--', 'MSET', ...args]);
    expect(set.stdout.trim()).toBe('OK');
    const get = await alice.xsh(['db', 'connect', 'rg-cluster', '--db-user=iam-user', '--', 'MGET', ...keys]);
    expect(get.stdout.trim().split('\n')).toEqual(keys.map((k) => `v-${k}`));
    const auths = emu.events.slice(since).filter((e) => e.event === 'auth' && e.user === 'iam-user');
    expect(auths.every((e) => e.ok && e.kind === 'iam')).toBe(true);
    // The keys span all three masters: every node connection was authenticated with a token of its own dial.
    expect(new Set(auths.map((e) => e.front)).size).toBe(3);
  });

  it('serves ElastiCache Serverless (valkey) with a serverless IAM token', async () => {
    const since = emu.events.length;
    const r = await alice.xsh(['db', 'connect', 'sl-1', '--db-user=iam-user', '--', 'PING']);
    expect(r.stdout.trim()).toBe('PONG');
    expect(await emu.waitEvent((e) => e.front === 'serverless', 10_000, since)).toMatchObject({ ok: true, kind: 'iam' });
  });

  it('serves MemoryDB in cluster mode with a memorydb IAM token', async () => {
    const since = emu.events.length;
    const r = await alice.xsh(['db', 'connect', 'mdb-1', '--db-user=mdb-iam', '--', 'SET', 'mdb-key', 'x']);
    expect(r.stdout.trim()).toBe('OK');
    expect(await emu.waitEvent((e) => e.user === 'mdb-iam', 10_000, since)).toMatchObject({ ok: true, kind: 'iam' });
  });

  it('rotates a MemoryDB managed user with UpdateUser and serves it in cluster mode', async () => {
    const since = emu.events.length;
    const r = await alice.xsh(['db', 'connect', 'mdb-1', '--db-user=mdb-managed', '--', 'SET', 'mdb-managed-key', 'y']);
    expect(r.stdout.trim()).toBe('OK');
    expect(await emu.waitEvent((e) => e.user === 'mdb-managed', 10_000, since)).toMatchObject({ ok: true, kind: 'password' });
  });

  it('re-authenticates every node connection of a live cluster session before its token expires', async () => {
    const t = await startTunnel(alice, ['rg-cluster', '--db-user=iam-user']);
    const client = new Redis({ port: t.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const since = emu.events.length;
    const keys = Array.from({ length: 12 }, (_, i) => `live${i}`);
    try {
      await client.connect();
      expect(await client.mset(...keys.flatMap((k) => [k, '0']))).toBe('OK');
      // Two re-authentications on every node.
      await waitForReauths(emu, {
        since,
        user: 'iam-user',
        count: 3,
        fronts: ['node0', 'node1', 'node2'],
        between: async () => void expect(await client.mget(...keys)).toHaveLength(keys.length),
      });
      expect(await client.mget(...keys)).toEqual(keys.map(() => '0'));
      expect(emu.events.slice(since).filter((e) => e.event === 'dropped')).toEqual([]);
    } finally {
      client.disconnect();
      await t.stop();
    }
  }, 120_000);

  it('drops a database whose resource vanished at the next discovery round', async () => {
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'rg-plain' }));
    await waitFor('renamed-cache gone', async () => !(await listed()).some((d) => d.name.startsWith('renamed-cache')), 30_000);
    expect((await listed()).map((d) => d.name)).toContain('rg-cluster');
  }, 45_000);
});
