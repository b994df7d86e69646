/**
 * e2e: ElastiCache authentication through the whole access path — xsh → proxy → agent → TLS front
 * (judging AUTH like ElastiCache against moto's state) → real redis-server — with the agent using
 * the real AWS SDK clients against moto: IAM tokens (verified independently by botocore), managed
 * users whose passwords rotate in Secrets Manager while a session stays open, re-AUTH of a live
 * connection before its token expires, AssumeRole with an external id, and the errors of issue 9 §4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CreateReplicationGroupCommand, CreateUserCommand, CreateUserGroupCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { addUser, startXport, tmpDir, type XportService, type XshUser, startTunnel } from '../helpers/cli.js';
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { agentEnv, createIamUsers, createRole, frontAcl, requireMoto, startAwsEmulator, TEST_IAM_TOKEN_TTL_S, waitForReauths, type AwsEmulator } from '../helpers/aws.js';

const FRONT_PW = 'front-redis-password-0001';
/** Managed-user rotation period: two rotations within seconds (jitter adds up to a sixth). */
const ROTATE_MS = 2_000;
/** The agent's bound on reaching a database (db_service.connect_timeout; 15 s by default), ample on loopback. */
const CONNECT_TIMEOUT_S = 5;

requireMoto();
requireRedis();

describe('AWS ElastiCache authentication end to end (moto + TLS front + redis-server)', () => {
  let redis: RedisServer;
  let plain: RedisServer;
  let legacy: RedisServer;
  let emu: AwsEmulator;
  let svc: XportService;
  let alice: XshUser;
  let ec: ElastiCacheClient;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    [redis, plain, legacy] = await Promise.all([
      startRedis(frontAcl(['iam-user', 'managed-user', 'lonely-iam', 'role-user'], FRONT_PW)),
      startRedis([]),
      startRedis(['user default on >legacy-auth-token-000001 ~* &* +@all']),
    ]);
    emu = await startAwsEmulator({
      fronts: [
        { name: 'rg', target: 'rg-standalone', service: 'elasticache', upstream: `127.0.0.1:${redis.port}`, redisPassword: FRONT_PW, maxAuthAge: TEST_IAM_TOKEN_TTL_S },
        { name: 'legacy', target: 'rg-legacy', service: 'elasticache', upstream: `127.0.0.1:${legacy.port}`, redisPassword: FRONT_PW },
      ],
      endpoints: { 'rg-standalone': ['rg', 'rg'] },
    });
    ec = new ElastiCacheClient(emu.clientConfig);
    sm = new SecretsManagerClient(emu.clientConfig);
    const createResources = async () => {
      await createIamUsers(ec, ['iam-user', 'lonely-iam', 'role-user']);
      await ec.send(
        new CreateUserCommand({ UserId: 'managed-user', UserName: 'managed-user', Engine: 'redis', AccessString: 'on ~* +@all', Passwords: ['initial-password-not-used'], Tags: [{ Key: 'xport.dev/managed', Value: 'true' }] }),
      );
      await ec.send(new CreateUserGroupCommand({ UserGroupId: 'ug-1', Engine: 'redis', UserIds: ['default', 'iam-user', 'managed-user', 'role-user'] }));
      await ec.send(
        new CreateReplicationGroupCommand({ ReplicationGroupId: 'rg-standalone', ReplicationGroupDescription: 'test', Engine: 'redis', EngineVersion: '7.1', TransitEncryptionEnabled: true, UserGroupIds: ['ug-1'] }),
      );
      await sm.send(new CreateSecretCommand({ Name: 'legacy-auth-token', SecretString: 'legacy-auth-token-000001' }));
    };
    const dir = await tmpDir('xport-aws-e2e-');
    // The agent asks AWS nothing until a database is created below: it starts while moto gets its resources.
    const started = startXport({
      config: [
        'version: v1',
        `data_dir: ${join(dir, 'data')}`,
        'proxy_service: { listen_addr: 127.0.0.1:0 }',
        'db_service:',
        '  enabled: true',
        "  resources: [{ labels: { '*': '*' } }]",
        // A plaintext endpoint never answers a ClientHello: the agent gives up after this long.
        `  connect_timeout: ${CONNECT_TIMEOUT_S}s`,
        '',
      ].join('\n'),
      env: agentEnv(emu, { XPORT_AWS_ROTATION_INTERVAL_MS: String(ROTATE_MS) }),
    }).then((x) => (svc = x));
    await Promise.all([createResources(), started]);
    const ca = emu.caPem.trim().split('\n').map((l) => `      ${l}`).join('\n');
    const dbYaml = (name: string, uri: string, aws: string[], tls = `  tls:\n    ca_cert: |\n${ca}\n`) =>
      [`kind: db`, 'version: v1', `metadata: { name: ${name}, labels: { env: aws } }`, 'spec:', '  protocol: redis', `  uri: ${uri}`, ...aws.map((l) => `  ${l}`), tls].join('\n');
    const front = `rediss://127.0.0.1:${emu.fronts.rg}`;
    await writeFile(
      join(dir, 'dbs.yaml'),
      [
        dbYaml('ec', front, ['aws: { region: us-east-1, elasticache: { replication_group_id: rg-standalone } }']),
        dbYaml('ec-role', front, ['aws:', '    region: us-east-1', '    elasticache: { replication_group_id: rg-standalone }', '    assume_role_arn: arn:aws:iam::123456789012:role/xport-db-access', '    external_id: ext-1234']),
        dbYaml('ec-plain', `rediss://127.0.0.1:${plain.port}`, ['aws: { region: us-east-1, elasticache: { replication_group_id: rg-standalone } }']),
        dbYaml('ec-legacy', `rediss://127.0.0.1:${emu.fronts.legacy}`, ['aws: { region: us-east-1, elasticache: { replication_group_id: rg-legacy }, auth_token_secret: legacy-auth-token }']),
        dbYaml('ec-cleartext', `redis://127.0.0.1:${plain.port}`, ['aws: { region: us-east-1, elasticache: { replication_group_id: rg-standalone } }'], '  tls: { mode: disabled }\n'),
      ].join('---\n'),
    );
    await createRole(svc, dir, 'aws-users', ['db_labels: { env: aws }', 'db_users: [iam-user, managed-user, lonely-iam, role-user, default]']);
    const [dbs] = await Promise.all([svc.xctl(['create', '-f', join(dir, 'dbs.yaml')]), addUser(svc, 'alice', ['--roles=aws-users'], 'alice-long-password').then((u) => (alice = u))]);
    if (dbs.code !== 0) throw new Error(dbs.stderr);
    await waitFor('aws databases online', async () => {
      const r = await svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).filter((d) => d.status === 'online').length >= 5;
    });
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    await emu?.stop();
    await Promise.all([redis?.stop(), plain?.stop(), legacy?.stop()]);
  });

  it('connects an IAM-enabled user with a SigV4 token that verifies independently, and answers its own AUTH locally', async () => {
    const since = emu.events.length;
    const set = await alice.xsh(['db', 'connect', 'ec', '--db-user=iam-user', '--', 'SET', 'iam-key', 'v1']);
    expect(set.stderr).not.toContain('ERR');
    expect(set.stdout.trim()).toBe('OK');
    const ev = await emu.waitEvent((e) => e.event === 'auth' && e.user === 'iam-user', 10_000, since);
    expect(ev).toMatchObject({ kind: 'iam', ok: true, akid: emu.env.AWS_ACCESS_KEY_ID });
    // redis-cli --user/--pass sends its own AUTH first: the agent already authenticated, so it answers OK itself.
    const get = await alice.xsh(['db', 'connect', 'ec', '--db-user=iam-user', '--', '--user', 'iam-user', '--pass', 'anything', '--no-auth-warning', 'GET', 'iam-key']);
    expect(get.stdout.trim()).toBe('v1');
    expect(emu.events.slice(since).every((e) => e.ok !== false)).toBe(true);
  });

  it('signs with the role it assumes (external id) for a database that names one', async () => {
    const since = emu.events.length;
    const r = await alice.xsh(['db', 'connect', 'ec-role', '--db-user=role-user', '--', 'PING']);
    expect(r.stdout.trim()).toBe('PONG');
    const ev = await emu.waitEvent((e) => e.event === 'auth' && e.user === 'role-user', 10_000, since);
    expect(ev.ok).toBe(true);
    // Assumed-role keys come from moto's STS; the front found their secret and session token there.
    expect(ev.akid).toBeDefined();
    expect(ev.akid).not.toBe(emu.env.AWS_ACCESS_KEY_ID);
  });

  it('authenticates a legacy AUTH-token group with the token from Secrets Manager (no RBAC users)', async () => {
    const r = await alice.xsh(['db', 'connect', 'ec-legacy', '--db-user=default', '--', 'SET', 'legacy', 'ok']);
    expect(r.stdout.trim()).toBe('OK');
    // The client's own AUTH is answered locally: it could not know the token.
    const own = await alice.xsh(['db', 'connect', 'ec-legacy', '--db-user=default', '--', '-a', 'guess', '--no-auth-warning', 'GET', 'legacy']);
    expect(own.stdout.trim()).toBe('ok');
  });

  it('tells an IAM-enabled user outside the database user groups what to do', async () => {
    const r = await alice.xsh(['db', 'connect', 'ec', '--db-user=lonely-iam', '--', 'PING']);
    expect(r.stdout + r.stderr).toMatch(/user "lonely-iam" is IAM-enabled but not in a user group of database "ec" \(ug-1\); add it, e\.g\. aws elasticache modify-user-group --user-group-id ug-1 --user-ids-to-add lonely-iam/);
  });

  it('says a non-TLS endpoint needs tls mode disabled, and serves it in plaintext once it says so', async () => {
    const r = await alice.xsh(['db', 'connect', 'ec-plain', '--db-user=iam-user', '--', 'PING']);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`no TLS handshake with 127\\.0\\.0\\.1:\\d+ within ${CONNECT_TIMEOUT_S * 1000} ms .*set tls: \\{ mode: disabled \\} on the database`));
    const ok = await alice.xsh(['db', 'connect', 'ec-cleartext', '--db-user=default', '--', 'PING']);
    expect(ok.stdout.trim()).toBe('PONG');
  }, 60_000);

  it('keeps a managed user session working across two password rotations, with passwords only moto and Secrets Manager know', async () => {
    const t = await startTunnel(alice, ['ec', '--db-user=managed-user']);
    const client = new Redis({ port: t.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      expect(await client.set('managed-key', 'm1')).toBe('OK');
      const secretId = 'xport/elasticache/us-east-1/123456789012/user/managed-user';
      const read = async () => (await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!;
      const first = await read();
      expect(first).toMatch(/^[0-9a-f]{128}$/);
      let seen = [first];
      await waitFor('two rotations', async () => {
        const now = await read();
        if (!seen.includes(now)) seen = [...seen, now];
        expect(await client.get('managed-key')).toBe('m1');
        return seen.length >= 3;
      }, 60_000);
      expect(await client.set('managed-key', 'm2')).toBe('OK');
      // A new session after the rotations authenticates with the current password.
      const since = emu.events.length;
      const r = await alice.xsh(['db', 'connect', 'ec', '--db-user=managed-user', '--', 'GET', 'managed-key']);
      expect(r.stdout.trim()).toBe('m2');
      expect(await emu.waitEvent((e) => e.user === 'managed-user', 10_000, since)).toMatchObject({ kind: 'password', ok: true });
    } finally {
      client.disconnect();
      await t.stop();
    }
  }, 90_000);

  it('re-authenticates a live IAM connection before its token expires, so the front never drops it', async () => {
    const t = await startTunnel(alice, ['ec', '--db-user=iam-user']);
    const client = new Redis({ port: t.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const since = emu.events.length;
    try {
      await client.connect();
      expect(await client.set('reauth', '0')).toBe('OK');
      // Stay connected past two token lifetimes; the front closes connections not re-AUTHed within one.
      await waitForReauths(emu, {
        since,
        user: 'iam-user',
        count: 3,
        between: async () => void expect(await client.incr('reauth')).toBeGreaterThan(0),
      });
      expect(await client.incr('reauth')).toBeGreaterThan(1);
      expect(emu.events.slice(since).filter((e) => e.event === 'dropped')).toEqual([]);
    } finally {
      client.disconnect();
      await t.stop();
    }
  }, 120_000);
});
