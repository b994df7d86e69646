/**
 * e2e: `xctl db configure bootstrap` grants exactly enough. moto checks every request's SigV4
 * signature and evaluates IAM policies (reset-auth); the agent runs as an IAM user that holds only
 * the bootstrapped policy, and with it discovers, rotates a managed user's password and connects
 * with IAM tokens. Taking one action away makes the agent fail with the error of issue 9 §4.
 * Also: `xctl db configure create` with tctl's AWS flags, and `xctl db users ls`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CreateReplicationGroupCommand, CreateUserCommand, CreateUserGroupCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CreateAccessKeyCommand, CreatePolicyVersionCommand, CreateUserCommand as IamCreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { addUser, runCli, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { requireMoto, startAwsEmulator, TEST_REGION, type AwsEmulator } from '../helpers/aws.js';

const FRONT_PW = 'front-redis-password-0003';

requireMoto();

requireRedis();

describe('AWS IAM bootstrap end to end (moto with IAM policy checks)', () => {
  let redis: RedisServer;
  let emu: AwsEmulator;
  let svc: XportService;
  let alice: XshUser;
  let cfg: string;
  let adminEnv: Record<string, string>;
  let agentEnv: Record<string, string>;
  let iam: IAMClient;
  let policy: { Version: string; Statement: Array<{ Effect: string; Action: string[]; Resource: string[] }> };

  beforeAll(async () => {
    redis = await startRedis([...['iam-user', 'managed-user'].map((u) => `user ${u} on >${FRONT_PW} ~* &* +@all`), 'user default off']);
    emu = await startAwsEmulator({
      fronts: [{ name: 'boot', target: 'rg-boot', service: 'elasticache', upstream: `127.0.0.1:${redis.port}`, redisPassword: FRONT_PW }],
      endpoints: { 'rg-boot': ['boot', 'boot'] },
    });
    const base = { region: TEST_REGION, endpoint: emu.endpoint };
    const setup = { ...base, credentials: { accessKeyId: emu.env.AWS_ACCESS_KEY_ID!, secretAccessKey: emu.env.AWS_SECRET_ACCESS_KEY! } };
    iam = new IAMClient(setup);
    const keyFor = async (user: string) => {
      await iam.send(new IamCreateUserCommand({ UserName: user }));
      const k = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!;
      return { AWS_ACCESS_KEY_ID: k.AccessKeyId!, AWS_SECRET_ACCESS_KEY: k.SecretAccessKey! };
    };
    adminEnv = { ...emu.env, ...(await keyFor('admin')) };
    await iam.send(new PutUserPolicyCommand({ UserName: 'admin', PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) }));
    agentEnv = { ...emu.env, ...(await keyFor('xport-agent')) };
    iam = new IAMClient({ ...base, credentials: { accessKeyId: adminEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: adminEnv.AWS_SECRET_ACCESS_KEY! } });

    const ec = new ElastiCacheClient(setup);
    await ec.send(new CreateUserCommand({ UserId: 'iam-user', UserName: 'iam-user', Engine: 'redis', AccessString: 'on ~* +@all', AuthenticationMode: { Type: 'iam' } }));
    await ec.send(new CreateUserCommand({ UserId: 'managed-user', UserName: 'managed-user', Engine: 'redis', AccessString: 'on ~* +@all', Passwords: ['initial-password-not-used'], Tags: [{ Key: 'teleport.dev/managed', Value: 'true' }] }));
    await ec.send(new CreateUserGroupCommand({ UserGroupId: 'ug-b', Engine: 'redis', UserIds: ['default', 'iam-user', 'managed-user'] }));
    await ec.send(
      new CreateReplicationGroupCommand({ ReplicationGroupId: 'rg-boot', ReplicationGroupDescription: 'b', Engine: 'redis', EngineVersion: '7.1', TransitEncryptionEnabled: true, UserGroupIds: ['ug-b'], Tags: [{ Key: 'env', Value: 'boot' }] }),
    );

    const dir = await tmpDir('xport-aws-boot-');
    cfg = join(dir, 'xport.yaml');
    await writeFile(
      cfg,
      [
        'version: v1',
        'cluster_name: aws-boot',
        `data_dir: ${dir}/data`,
        'proxy_service:',
        '  listen_addr: 127.0.0.1:0',
        'db_service:',
        '  enabled: true',
        '  discovery_interval: 2s',
        '  databases:',
        '    - name: ec-static',
        '      protocol: redis',
        `      uri: rediss://127.0.0.1:${emu.fronts.boot}`,
        '      static_labels: { env: aws }',
        `      tls: { ca_cert_file: ${emu.caFile} }`,
        '      aws: { region: us-east-1, account_id: "123456789012", elasticache: { replication_group_id: rg-boot } }',
        '  aws:',
        '    - types: [elasticache]',
        '      regions: [us-east-1]',
        '      tags: { env: boot }',
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    await emu?.stop();
    await redis?.stop();
  });

  it('prints the policy and the steps with --manual, changing nothing', async () => {
    const r = await runCli('xctl', ['-c', cfg, 'db', 'configure', 'bootstrap', '--manual', '--attach-to-user', 'xport-agent'], { env: adminEnv });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1\. Create an IAM policy named "XportDatabaseAccess" with this document:/);
    expect(r.stdout).toMatch(/2\. Attach it to the IAM user "xport-agent"\./);
    policy = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1));
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions).toEqual(expect.arrayContaining(['elasticache:Connect', 'elasticache:DescribeReplicationGroups', 'elasticache:DescribeUsers', 'elasticache:ModifyUser', 'secretsmanager:PutSecretValue']));
    expect(actions.some((a) => a.startsWith('memorydb:') || a.startsWith('iam:') || a === '*')).toBe(false);
  });

  it('creates and attaches the policy; the agent holding only it discovers, rotates and connects', async () => {
    const b = await runCli('xctl', ['-c', cfg, 'db', 'configure', 'bootstrap', '--attach-to-user', 'xport-agent', '--confirm'], { env: adminEnv });
    expect(b.stderr).toBe('');
    expect(b.stdout).toMatch(/Attached policy arn:aws:iam::123456789012:policy\/XportDatabaseAccess to user xport-agent\./);
    await emu.enforceIam();
    svc = await startXport({ config: await readFile(cfg, 'utf8'), env: { ...agentEnv, NODE_EXTRA_CA_CERTS: emu.caFile } });
    const dir = await tmpDir('xport-aws-boot-role-');
    await writeFile(join(dir, 'role.yaml'), ['kind: role', 'version: v1', 'metadata: { name: aws }', 'spec:', '  allow:', "    db_labels: { '*': '*' }", '    db_users: [iam-user, managed-user]', ''].join('\n'));
    expect((await svc.xctl(['create', '-f', join(dir, 'role.yaml')])).code).toBe(0);
    alice = await addUser(svc, 'alice', ['--roles=aws'], 'alice-long-password');
    await waitFor('discovered rg-boot', async () => {
      const r = await svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string }[]).some((d) => d.name === 'rg-boot');
    }, 30_000);
    const iamSet = await alice.xsh(['db', 'connect', 'ec-static', '--db-user=iam-user', '--', 'SET', 'boot', '1']);
    expect(iamSet.stdout.trim()).toBe('OK');
    const managed = await alice.xsh(['db', 'connect', 'rg-boot', '--db-user=managed-user', '--', 'GET', 'boot']);
    expect(managed.stdout.trim()).toBe('1');
    expect(svc.output()).not.toMatch(/AWS denied/);
  }, 90_000);

  it('lists the managed user, its databases and its last rotation', async () => {
    const r = await runCli('xctl', ['-c', cfg, 'db', 'users', 'ls', '--format=json'], { env: adminEnv });
    expect(r.stderr).toBe('');
    const rows = JSON.parse(r.stdout) as Array<{ user: string; databases: string[]; lastRotation?: string; secret: string }>;
    expect(rows).toEqual([expect.objectContaining({ user: 'managed-user', secret: 'xport/elasticache/us-east-1/123456789012/user/managed-user', databases: ['ec-static', 'rg-boot', 'rg-boot-reader'] })]);
    expect(Date.parse(rows[0]!.lastRotation!)).toBeGreaterThan(Date.now() - 10 * 60_000);
    const text = await runCli('xctl', ['-c', cfg, 'db', 'users', 'ls'], { env: adminEnv });
    expect(text.stdout).toMatch(/^User\s+Service\s+Region\s+Databases\s+Last Rotation/m);
  });

  it('fails with the missing action named when the policy lacks one', async () => {
    const without = {
      ...policy,
      Statement: policy.Statement.map((s) => ({ ...s, Action: s.Action.filter((a) => a !== 'secretsmanager:GetSecretValue') })).filter((s) => s.Action.length > 0),
    };
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: 'arn:aws:iam::123456789012:policy/XportDatabaseAccess', PolicyDocument: JSON.stringify(without), SetAsDefault: true }));
    const r = await alice.xsh(['db', 'connect', 'ec-static', '--db-user=managed-user', '--', 'PING']);
    expect(r.stdout + r.stderr).toMatch(/AWS denied secretsmanager:GetSecretValue .*grant secretsmanager:GetSecretValue to the agent's AWS identity: xctl db configure bootstrap/);
  });

  it('writes tctl-style AWS flags into an agent config', async () => {
    const r = await runCli('xctl', [
      'db', 'configure', 'create', '--token=/tmp/token', '--proxy=xport.example.com:3080', '--name=elasticache', '--uri=rediss://clustercfg.grp.abc123.use1.cache.amazonaws.com:6379',
      '--aws-region=us-east-1', '--aws-elasticache-group-id=grp', '--aws-assume-role-arn=arn:aws:iam::123456789012:role/x', '--aws-external-id=ext-1',
      '--elasticache-discovery=us-east-1,eu-west-1', '--memorydb-discovery=us-east-1', '--aws-tags=env=prod',
    ]);
    expect(r.code).toBe(0);
    const c = parse(r.stdout) as { db_service: { databases: Array<{ aws: unknown }>; aws: unknown[] } };
    expect(c.db_service.databases[0]!.aws).toEqual({ region: 'us-east-1', elasticache: { replication_group_id: 'grp' }, assume_role_arn: 'arn:aws:iam::123456789012:role/x', external_id: 'ext-1' });
    expect(c.db_service.aws).toEqual([
      { types: ['elasticache'], regions: ['us-east-1', 'eu-west-1'], tags: { env: 'prod' }, assume_role_arn: 'arn:aws:iam::123456789012:role/x', external_id: 'ext-1' },
      { types: ['memorydb'], regions: ['us-east-1'], tags: { env: 'prod' }, assume_role_arn: 'arn:aws:iam::123456789012:role/x', external_id: 'ext-1' },
    ]);
    const bad = await runCli('xctl', ['db', 'configure', 'create', '--token=t', '--proxy=p:1', '--name=x', '--uri=rediss://h:1', '--aws-elasticache-group-id=g']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--aws-region is required/);
  });
});
