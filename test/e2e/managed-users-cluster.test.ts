/**
 * Managed ACL users on a Redis Cluster (issue 13): the agent sets the same ACL user on every node
 * of the real 6-node TLS cluster, and on a node that joins later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { addUser, ROOT, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/db-cluster.js';
import { startRedisCluster, type RedisClusterFixture } from '../helpers/redis-cluster.js';

requireRedis();

describe('managed ACL users on a Redis Cluster', () => {
  let svc: XportService;
  let fx: RedisClusterFixture;
  let alice: XshUser;
  let tunnel: ChildProcess;
  let port = 0;
  const clients: Redis[] = [];

  const client = async () => {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await r.connect();
    clients.push(r);
    return r;
  };
  const aclOn = async (nodePort: number) => (await fx.cli(nodePort, ['ACL', 'GETUSER', 'app1'])).stdout.trim();

  beforeAll(async () => {
    // The cluster must trust the db_client CA of a data dir that the configured service then uses.
    const first = await startXport();
    const dbClientCa = (await first.xctl(['auth', 'export', '--type=db-client'])).stdout;
    await first.stop();
    fx = await startRedisCluster({ trustClientCaPem: dbClientCa });
    const dir = await tmpDir('xport-managed-cluster-');
    const caFile = join(dir, 'node-ca.crt');
    await writeFile(caFile, fx.nodeCa.certPem);
    const pwFile = join(dir, 'admin.pw');
    await writeFile(pwFile, 'alice-pw\n');
    await chmod(pwFile, 0o600);
    const masters = await fx.masterPorts();
    svc = await startXport({
      config: [
        'version: v1',
        `data_dir: ${first.dataDir}`,
        'proxy_service: { listen_addr: 127.0.0.1:0 }',
        'db_service:',
        '  enabled: true',
        '  resources: []',
        '  databases:',
        '    - name: orders',
        '      protocol: redis',
        `      uri: rediss://127.0.0.1:${masters[0]}?mode=cluster`,
        '      static_labels: { env: dev }',
        `      tls: { ca_cert_file: ${caFile} }`,
        '      users: managed',
        `      admin: { user: alice, password_file: ${pwFile} }`,
        '',
      ].join('\n'),
    });
    await writeFile(
      join(dir, 'role.yaml'),
      "kind: role\nversion: v1\nmetadata: { name: dev }\nspec:\n  allow:\n    db_labels: { env: dev }\n    db_users: ['{{internal.db_users}}']\n    redis_commands: ['+@all', '+@scripting']\n    redis_keys: ['order:*', '{order}*']\n  deny:\n    redis_commands: [flushall]\n",
    );
    expect((await svc.xctl(['create', '-f', join(dir, 'role.yaml')])).stderr).toBe('');
    alice = await addUser(svc, 'alice', ['--roles=dev', '--db-users=app1'], 'alice-long-password');
    await waitFor('orders online', async () => {
      const r = await svc.xctl(['db', 'ls', '--format=json']);
      return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'orders' && d.status === 'online');
    }, 60_000);
    tunnel = spawn(process.execPath, [join(ROOT, 'bin', 'xsh.js'), 'proxy', 'db', 'orders', '--db-user=app1', '--tunnel'], {
      env: { ...process.env, XSH_HOME: alice.home, XSH_KEY_STORAGE: 'file' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    tunnel.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    tunnel.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('tunnel', async () => /-p (\d+)/.test(out));
    port = Number(/redis-cli -h 127\.0\.0\.1 -p (\d+)/.exec(out)![1]);
  }, 240_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    if (tunnel && tunnel.exitCode === null) {
      process.kill(tunnel.pid!, 'SIGTERM');
      await new Promise((r) => tunnel.once('exit', r));
    }
    await fx?.stop();
    await svc?.stop();
  });

  it('sets the same ACL user on every node and runs the session as it, with no password', async () => {
    const c = await client();
    for (let i = 0; i < 20; i++) expect(await c.set(`order:${i}`, String(i))).toBe('OK');
    expect(await c.get('order:7')).toBe('7');
    const acls = await Promise.all(fx.nodes.map((n) => aclOn(n.port)));
    for (const a of acls) {
      expect(a).toContain('~order:*');
      expect(a).toContain('-flushall');
    }
    // Redis refuses a key outside the patterns inside a script; xport refuses it as a command.
    expect(await c.set('user:1', 'x').catch((e: Error) => e.message)).toBe('ERR xport: access denied to key user:1 for set');
    const inScript = await c.eval("return redis.call('SET', 'x'..KEYS[1], 'v')", 1, '{order}1').catch((e: Error) => e.message);
    expect(String(inScript)).toMatch(/can't access at least one of the keys/);
  });

  it('gives a node that joins later the user on the next dial', async () => {
    const node = await fx.addReplica();
    expect(await aclOn(node.port)).toBe('');
    // A new session asks for credentials, and with them the agent re-lists the nodes.
    await waitFor('the ACL user on the new node', async () => {
      const c = await client();
      await c.get('order:1');
      c.disconnect();
      return (await aclOn(node.port)).includes('~order:*');
    }, 60_000);
  });
});
