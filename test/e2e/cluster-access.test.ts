/**
 * e2e: a whole Redis Cluster behind one address, through the full path — ioredis and redis-cli
 * (neither cluster-aware) → `xsh proxy db --tunnel` → proxy → agent → a real 6-node TLS cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { addUser, ROOT, runProcess, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { startRedisCluster, type RedisClusterFixture } from '../helpers/redis-cluster.js';

requireRedis();

describe('Redis Cluster through the full access path', () => {
  let svc: XportService;
  let fx: RedisClusterFixture;
  let alice: XshUser;
  let tunnel: ChildProcess;
  let port = 0;
  let client: Redis;

  beforeAll(async () => {
    svc = await startXport();
    const dbClientCa = (await svc.xctl(['auth', 'export', '--type=db-client'])).stdout;
    fx = await startRedisCluster({ trustClientCaPem: dbClientCa });
    const dir = await tmpDir('xport-cluster-');
    const masters = await fx.masterPorts();
    const caIndented = fx.nodeCa.certPem.trim().split('\n').map((l) => `        ${l}`).join('\n');
    await writeFile(
      join(dir, 'db.yaml'),
      `kind: db\nversion: v1\nmetadata:\n  name: orders\n  labels: { env: dev }\nspec:\n  protocol: redis\n  uri: rediss://127.0.0.1:${masters[0]}?mode=cluster\n  tls:\n    ca_cert: |\n${caIndented}\n`,
    );
    await writeFile(
      join(dir, 'role.yaml'),
      "kind: role\nversion: v1\nmetadata: { name: dev }\nspec:\n  allow:\n    db_labels: { env: dev }\n    db_users: ['{{internal.db_users}}']\n  deny:\n    redis_commands: [flushall]\n",
    );
    expect((await svc.xctl(['create', '-f', join(dir, 'role.yaml')])).code).toBe(0);
    const created = await svc.xctl(['create', '-f', join(dir, 'db.yaml')]);
    expect(created.stderr).toBe('');
    alice = await addUser(svc, 'alice', ['--roles=dev', '--db-users=alice'], 'alice-long-password');
    await waitFor('orders online', async () => {
      const r = await svc.xctl(['db', 'ls', '--format=json']);
      return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'orders' && d.status === 'online');
    });
    tunnel = spawn(process.execPath, [join(ROOT, 'bin', 'xsh.js'), 'proxy', 'db', 'orders', '--db-user=alice', '--tunnel'], {
      env: { ...process.env, XSH_HOME: alice.home, XSH_KEY_STORAGE: 'file' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    tunnel.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    tunnel.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('tunnel', async () => /-p (\d+)/.test(out));
    port = Number(/redis-cli -h 127\.0\.0\.1 -p (\d+)/.exec(out)![1]);
    client = new Redis({ port, host: '127.0.0.1', username: 'alice', password: 'alice-pw', lazyConnect: true });
    await client.connect();
  }, 120_000);

  afterAll(async () => {
    client?.disconnect();
    if (tunnel && tunnel.exitCode === null) {
      process.kill(tunnel.pid!, 'SIGTERM');
      await new Promise((r) => tunnel.once('exit', r));
    }
    await fx?.stop();
    await svc?.stop();
  });

  it('spreads keys over all three shards and reads them back through one address', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `order:${i}`);
    for (const k of keys) expect(await client.set(k, `v-${k}`)).toBe('OK');
    const perMaster = await Promise.all((await fx.masterPorts()).map(async (p) => Number((await fx.cli(p, ['DBSIZE'])).stdout.trim())));
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(await client.dbsize()).toBe(perMaster.reduce((a, b) => a + b, 0));
    expect(await client.get('order:7')).toBe('v-order:7');
  });

  it('splits MSET/MGET by slot and keeps the client key order', async () => {
    const pairs = Array.from({ length: 30 }, (_, i) => [`m:${i}`, String(i)]).flat();
    expect(await client.mset(...pairs)).toBe('OK');
    const keys = Array.from({ length: 30 }, (_, i) => `m:${29 - i}`);
    expect(await client.mget(...keys)).toEqual(keys.map((k) => k.slice(2)));
    expect(await client.del('m:1', 'm:2', 'm:3', 'missing')).toBe(3);
  });

  it('SCANs every key exactly once with one cursor, and KEYS sees them all', async () => {
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', 'order:*', 'COUNT', 20);
      cursor = next;
      seen.push(...batch);
    } while (cursor !== '0');
    expect(seen.length).toBe(60);
    expect(new Set(seen).size).toBe(60);
    expect((await client.keys('order:*')).length).toBe(60);
  });

  it('works for redis-cli without -c, hides the real nodes, and refuses topology changes', async () => {
    const r = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'GET', 'order:42']);
    expect(r.stdout.trim()).toBe('v-order:42');
    const slots = (await client.call('CLUSTER', 'SLOTS')) as unknown[][];
    expect(slots).toHaveLength(1);
    expect(JSON.stringify(slots)).not.toMatch(new RegExp(String((await fx.masterPorts())[0])));
    await expect(client.call('CLUSTER', 'FAILOVER')).rejects.toThrow('command not supported in cluster mode');
    await expect(client.flushall()).rejects.toThrow('xport: access denied to flushall');
  });

  it('audits a fan-out as one command with every key', async () => {
    await client.mget('order:1', 'order:2', 'order:3');
    await waitFor('audit', async () => {
      const r = await svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=alice', '--format=json', '--limit=10000']);
      return (JSON.parse(r.stdout) as { command: string; keys?: string[] }[]).some((e) => e.command === 'mget' && e.keys?.length === 3);
    });
  });
});
