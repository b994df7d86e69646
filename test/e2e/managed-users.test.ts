/**
 * Managed self-hosted ACL users (issue 13): the agent owns the Redis ACL user of each db user,
 * derived from the roles, with a password only it knows. Real xctl start, real xsh tunnel, real
 * TLS redis-server requiring client certificates; the test reads Redis's own ACL state over a
 * loopback plaintext port that only the test uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { Redis } from 'ioredis';
import { addUser, startXport, tmpDir, type XportService, type XshUser, startTunnel } from '../helpers/cli.js';
import { freePort, requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startSignedRedis, waitFor } from '../helpers/db-cluster.js';

const ADMIN_PW = 'agent-admin-pw-only-on-the-agent';

function roleYaml(keys: string[], commands: string[]): string {
  return [
    'kind: role',
    'version: v1',
    'metadata: { name: app }',
    'spec:',
    '  allow:',
    '    db_labels: { env: dev }',
    "    db_users: ['{{internal.db_users}}']",
    "    db_names: ['0']",
    `    redis_commands: ${JSON.stringify(commands)}`,
    `    redis_keys: ${JSON.stringify(keys)}`,
    "    redis_channels: ['app.*']",
    '',
  ].join('\n');
}


/** firstReply sends PING over a raw connection and returns everything until the agent closes it. */
function firstReply(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
  });
}

async function replyOf(p: Promise<unknown>): Promise<string> {
  try {
    return String(await p);
  } catch (err) {
    return `ERR: ${(err as Error).message}`;
  }
}

requireRedis();

describe('managed self-hosted ACL users', () => {
  let svc: XportService;
  let redis: RedisServer;
  let inspect: Redis;
  let alice: XshUser;
  let dir: string;
  let tunnel: Awaited<ReturnType<typeof startTunnel>>;
  const clients: Redis[] = [];

  const client = async (): Promise<Redis> => {
    // No username, no password: the agent authenticates the session as the managed user.
    const r = new Redis({ host: '127.0.0.1', port: tunnel.port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    await r.connect();
    clients.push(r);
    return r;
  };

  beforeAll(async () => {
    dir = await tmpDir('xport-managed-');
    const redisPort = await freePort();
    const plainPort = await freePort();
    const pwFile = join(dir, 'redis-admin.pw');
    await writeFile(pwFile, `${ADMIN_PW}\n`);
    await chmod(pwFile, 0o600);
    const weakFile = join(dir, 'weak-admin.pw');
    await writeFile(weakFile, 'weak-pw\n', { mode: 0o600 });
    const config = [
      'version: v1',
      'cluster_name: managed-test',
      `data_dir: ${join(dir, 'data')}`,
      'proxy_service: { listen_addr: 127.0.0.1:0 }',
      'db_service:',
      '  enabled: true',
      '  resources: []',
      '  databases:',
      '    - name: cache',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redisPort}`,
      '      static_labels: { env: dev }',
      '      users: managed',
      `      admin: { user: xport-admin, password_file: ${pwFile} }`,
      '      password_rotation: 5s',
      // The same Redis, but an admin credential without +acl: refused with the missing permission named.
      '    - name: weak',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redisPort}`,
      '      static_labels: { env: dev }',
      '      users: managed',
      `      admin: { user: weak-admin, password_file: ${weakFile} }`,
      '',
    ].join('\n');
    svc = await startXport({ config });
    // The plaintext loopback port is the test's own window into Redis's ACL state.
    redis = await startSignedRedis(svc, dir, [`user xport-admin on >${ADMIN_PW} ~* &* +@all`, 'user weak-admin on >weak-pw ~* &* +@all -@admin', 'user legacy on >legacy-pw ~* &* +@all', 'user default off'], {
      port: redisPort,
      extra: [`port ${plainPort}`],
    });
    inspect = new Redis({ host: '127.0.0.1', port: plainPort, username: 'xport-admin', password: ADMIN_PW, lazyConnect: true });
    await inspect.connect();
    const rolesFile = join(dir, 'role.yaml');
    await writeFile(rolesFile, roleYaml(['app:*'], ['+@all', '-flushall', '+@scripting']));
    const cr = await svc.xctl(['create', '-f', rolesFile]);
    expect(cr.stderr).toBe('');
    alice = await addUser(svc, 'alice', ['--roles=app', '--db-users=alice'], 'alice-long-password');
    await waitFor('database cache online', async () => {
      const r = await svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache' && d.status === 'online');
    }, 60_000);
    tunnel = await startTunnel(alice, ['cache', '--db-user=alice']);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    inspect?.disconnect();
    await tunnel?.stop();
    await svc?.stop();
    await redis?.stop();
  });

  it('connects with no password and runs what the role allows, as the managed ACL user', async () => {
    const c = await client();
    expect(await c.set('app:1', 'v1')).toBe('OK');
    expect(await c.get('app:1')).toBe('v1');
    expect(await c.call('ACL', 'WHOAMI')).toBe('alice');
    // Redis holds the derived user: the role's keys and channels, never a password xsh knows.
    const acl = String(await inspect.call('ACL', 'LIST'));
    expect(acl).toMatch(/user alice on .*#[0-9a-f]{64} .*~app:\* .*&app\.\*/);
    expect(acl).toContain('-flushall');
  });

  it('prints the GUI connection string with the db user, xsh db env gives REDIS_URL for the tunnel, and xsh db connect needs no --user/--pass', async () => {
    expect(tunnel.output()).toContain(`redis://alice@127.0.0.1:${tunnel.port}`);
    const env = await alice.xsh(['db', 'env', 'cache']);
    expect(env.stderr).toBe('');
    expect(env.stdout).toBe(`export REDIS_URL=redis://127.0.0.1:${tunnel.port}\nexport REDIS_HOST=127.0.0.1\nexport REDIS_PORT=${tunnel.port}\n`);
    expect((await alice.xsh(['db', 'env', '--format=dotenv'])).stdout).toContain(`REDIS_URL=redis://127.0.0.1:${tunnel.port}\n`);
    const url = /REDIS_URL=(\S+)/.exec(env.stdout)![1]!;
    const app = new Redis(url, { lazyConnect: true });
    clients.push(app);
    await app.connect();
    expect(await app.set('app:env', 'ok')).toBe('OK');
    const missing = await alice.xsh(['db', 'env', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no running tunnel to database "nosuch"');
    const connect = await alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', 'GET', 'app:env'], { env: { XSH_KEY_STORAGE: 'file' } });
    expect(connect.stderr).toBe('');
    expect(connect.stdout.trim()).toBe('ok');
  });

  it("answers the client's own AUTH as its db user without forwarding it, and refuses AUTH as anyone else", async () => {
    const c = await client();
    expect(await c.call('AUTH', 'alice', 'anything')).toBe('OK');
    expect(await replyOf(c.call('AUTH', 'xport-admin', ADMIN_PW))).toMatch(/^ERR: ERR xport: /);
    expect(await c.call('ACL', 'WHOAMI')).toBe('alice');
  });

  it('refuses a key outside redis_keys in xport, audited, and Redis refuses it inside a script', async () => {
    const c = await client();
    expect(await replyOf(c.set('other:1', 'x'))).toBe('ERR: ERR xport: access denied to key other:1 for set');
    // EVAL declares no keys: xport cannot see the key, Redis's ACL for alice refuses it.
    const inScript = await replyOf(c.eval("return redis.call('SET', 'other:2', 'x')", 0));
    expect(inScript).toMatch(/^ERR: ERR The user executing the script can't access at least one of the keys/);
    expect(await inspect.exists('other:1', 'other:2')).toBe(0);
    await waitFor('the key denial in the audit log', async () => {
      const r = await svc.xctl(['audit', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { type: string; success?: boolean; error?: string }[]).some((e) => e.type === 'db.session.query' && e.success === false && /key other:1/.test(e.error ?? ''));
    });
  });

  it('refuses a channel outside redis_channels in xport, and Redis refuses it inside a script', async () => {
    const c = await client();
    expect(await c.publish('app.news', 'hi')).toBe(0);
    expect(await replyOf(c.publish('ops', 'hi'))).toBe('ERR: ERR xport: access denied to channel ops for publish');
    expect(await replyOf(c.eval("return redis.call('PUBLISH', 'ops', 'x')", 0))).toMatch(/^ERR: ERR The user executing the script can't publish to the channel mentioned in the command/);
  });

  it('has Redis refuse a command the role denies when a script runs it', async () => {
    const c = await client();
    await c.set('app:keep', '1');
    const r = await replyOf(c.eval("return redis.call('FLUSHALL')", 0));
    expect(r).toMatch(/^ERR: ERR The user executing the script can't run this command/);
    expect(await inspect.get('app:keep')).toBe('1');
  });

  it('lists managed users with their derived ACL and last rotation, records ACL changes in the audit, and sync repairs a tampered user', async () => {
    const ls = await svc.xctl(['db', 'users', 'ls', 'cache', '--format=json']);
    expect(ls.stderr).toBe('');
    const rows = JSON.parse(ls.stdout) as { database: string; dbUser: string; acl: string; rotatedAt: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ database: 'cache', dbUser: 'alice' });
    expect(rows[0]!.acl).toContain('~app:*');
    expect(rows[0]!.acl).not.toMatch(/>[^…]/);
    expect(Date.parse(rows[0]!.rotatedAt)).toBeGreaterThan(0);
    const audit = JSON.parse((await svc.xctl(['audit', 'ls', '--format=json'])).stdout) as { type: string; action?: string; acl?: string }[];
    expect(audit.some((e) => e.type === 'db.session.acl' && e.action === 'create' && e.acl?.includes('~app:*') === true)).toBe(true);
    // Someone widens alice behind the agent's back; sync puts the derived rules back.
    await inspect.call('ACL', 'SETUSER', 'alice', 'allkeys');
    const sync = await svc.xctl(['db', 'users', 'sync', 'cache']);
    expect(sync.stderr).toBe('');
    expect(sync.stdout).toContain('Synced 1 managed user(s) of cache');
    const line = ((await inspect.call('ACL', 'LIST')) as string[]).find((l) => l.startsWith('user alice '))!;
    expect(line).toContain('~app:*');
    expect(line).not.toContain('~* ');
  });

  it('refuses a managed database whose admin credential lacks +acl, naming the permission', async () => {
    const weak = await startTunnel(alice, ['weak', '--db-user=alice']);
    try {
      // Raw bytes: the agent answers the first command with the error and closes the session.
      const reply = await new Promise<string>((resolve, reject) => {
        const s = netConnect(weak.port, '127.0.0.1');
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('close', () => resolve(got));
        s.on('error', reject);
        s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
      });
      expect(reply).toMatch(/^-ERR xport: database "weak": admin user "weak-admin" lacks the \+acl permission/);
    } finally {
      await weak.stop();
    }
  });

  it('never takes over a Redis user it did not create (a service account a role happens to allow)', async () => {
    const bob = await addUser(svc, 'bob', ['--roles=app', '--db-users=legacy'], 'bob-long-password');
    const t = await startTunnel(bob, ['cache', '--db-user=legacy']);
    try {
      expect(await firstReply(t.port)).toMatch(/^-ERR xport: db user "legacy" already exists in the Redis ACL of database "cache" and was not created by xport/);
    } finally {
      await t.stop();
    }
    const line = ((await inspect.call('ACL', 'LIST')) as string[]).find((l) => l.startsWith('user legacy '))!;
    expect(line).toContain('~*');
    const legacy = new Redis({ host: '127.0.0.1', port: Number(inspect.options.port), username: 'legacy', password: 'legacy-pw', lazyConnect: true });
    clients.push(legacy);
    await legacy.connect();
    expect(await legacy.call('ACL', 'WHOAMI')).toBe('legacy');
  });

  it('rotates the password during an open session, which keeps working', async () => {
    const c = await client();
    const hashes = async () => ((await inspect.call('ACL', 'LIST')) as string[]).find((l) => l.startsWith('user alice '))!.match(/#[0-9a-f]{64}/g)!.join(' ');
    const first = await hashes();
    // Rotation happens when the agent next asks for credentials: re-authentication before expiry does that.
    await waitFor('a rotated password', async () => (await hashes()) !== first && (await c.get('app:1')) === 'v1', 30_000);
    const second = await hashes();
    await waitFor('a second rotation', async () => (await hashes()) !== second, 30_000);
    expect(await c.get('app:1')).toBe('v1');
    expect((await hashes()).split(' ').length).toBeLessThanOrEqual(2);
  });

  it('keeps a password it did not set (another agent serving the database) across its own rotations', async () => {
    const c = await client();
    await inspect.call('ACL', 'SETUSER', 'alice', '>other-agent-pw');
    const hashes = async () => ((await inspect.call('ACL', 'LIST')) as string[]).find((l) => l.startsWith('user alice '))!.match(/#[0-9a-f]{64}/g)!;
    const before = await hashes();
    await waitFor('a rotation', async () => (await hashes()).filter((h) => !before.includes(h)).length > 0 && (await c.get('app:1')) === 'v1', 30_000);
    const other = new Redis({ host: '127.0.0.1', port: Number(inspect.options.port), username: 'alice', password: 'other-agent-pw', lazyConnect: true });
    clients.push(other);
    await other.connect();
    expect(await other.call('ACL', 'WHOAMI')).toBe('alice');
  });

  it("narrows a live session's ACL within seconds when the role changes", async () => {
    const c = await client();
    expect(await c.set('app:2', 'x')).toBe('OK');
    const rolesFile = join(dir, 'role.yaml');
    await writeFile(rolesFile, roleYaml(['app:1*'], ['+@all', '-flushall', '+@scripting']));
    const cr = await svc.xctl(['create', '--force', '-f', rolesFile]);
    expect(cr.stderr).toBe('');
    await waitFor('the narrowed ACL in Redis', async () => /~app:1\*/.test(String(await inspect.call('ACL', 'LIST'))), 30_000);
    // Whichever re-reads the role first refuses: Redis (another session may have updated the
    // shared ACL user already) or xport; within seconds both do.
    const refused = async () => replyOf(c.set('app:2', 'y'));
    expect(await refused()).toMatch(/^ERR: (NOPERM|ERR xport: access denied to key app:2 for set)/);
    await waitFor("xport's own refusal", async () => (await refused()) === 'ERR: ERR xport: access denied to key app:2 for set', 30_000);
    expect(await replyOf(c.eval("return redis.call('SET', 'app:2', 'z')", 0))).toMatch(/^ERR: ERR The user executing the script can't access at least one of the keys/);
    expect(await c.set('app:1b', 'ok')).toBe('OK');
    expect(await inspect.get('app:2')).toBe('x');
  });

  it('disables the ACL user, never deleting it, and ends the session when the roles no longer allow the database', async () => {
    const c = await client();
    c.on('error', () => {});
    expect(await c.get('app:1')).toBe('v1');
    const rolesFile = join(dir, 'role.yaml');
    await writeFile(rolesFile, roleYaml(['app:1*'], ['+@all', '-flushall', '+@scripting']).replace('db_labels: { env: dev }', 'db_labels: { env: prod }'));
    expect((await svc.xctl(['create', '--force', '-f', rolesFile])).stderr).toBe('');
    await waitFor('alice disabled in Redis', async () => {
      const line = ((await inspect.call('ACL', 'LIST')) as string[]).find((l) => l.startsWith('user alice '));
      return line !== undefined && / off /.test(line);
    }, 30_000);
    expect(await inspect.get('app:1')).toBe('v1');
    await waitFor('the live session to end', async () => c.status === 'end' || c.status === 'close' || (await replyOf(c.get('app:1'))).startsWith('ERR'), 30_000);
  });
});
