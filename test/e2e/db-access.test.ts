/**
 * e2e: the access path — xsh → local tunnel → proxy → reverse tunnel → agent → TLS Redis — with
 * real redis-cli, ioredis, redis-server, and the real binaries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ROOT, runCli, startXport, tmpDir, startTunnel } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
import { startDbCluster, waitFor, type DbCluster } from '../helpers/db-cluster.js';


/** rawExchange writes bytes to the tunnel and collects the answer until the socket ends or idles. */
function rawExchange(port: number, bytes: string, idleMs = 700): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (d) => {
      got += d.toString();
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    s.on('end', done);
    s.on('error', reject);
    s.on('connect', () => {
      s.write(bytes);
      timer = setTimeout(done, idleMs * 4);
    });
  });
}

requireRedis();

// One xport + Redis for the whole file: the second agent's tests run after the access-path tests
// and only add agents and restart the proxy on the same data dir and port.
let c: DbCluster;
beforeAll(async () => {
  c = await startDbCluster();
}, 90_000);
afterAll(async () => {
  await c?.stop();
});

describe('database access end to end', () => {

  it('lists only the databases a user may see, with the allowed db users', async () => {
    const a = await c.alice.xsh(['db', 'ls']);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^Name\s+Description\s+Allowed Users\s+Labels\s+Connect/m);
    expect(a.stdout).toMatch(/cache\s+test cache\s+\[alice\]\s+env=dev/);
    const verbose = await c.alice.xsh(['db', 'ls', '-v']);
    expect(verbose.stdout).toMatch(/^Name\s+Description\s+Protocol\s+Type\s+URI\s+Allowed Users/m);
    expect(verbose.stdout).toMatch(/redis\s+self-hosted\s+rediss:\/\/127\.0\.0\.1:\d+/);
    const json = JSON.parse((await c.bob.xsh(['db', 'ls', '--format=json'])).stdout);
    expect(json).toEqual([expect.objectContaining({ name: 'cache', allowed_users: ['bob'], denied_users: [], labels: { env: 'dev' } })]);
    const admin = await c.svc.xctl(['db', 'ls']);
    expect(admin.stdout).toMatch(/cache\s+\S+-agent\s+env=dev\s+rediss:\/\/127\.0\.0\.1:\d+\s+online/);
  });

  it('runs SET and GET through xsh db connect and redis-cli, authenticated as the routed db user', async () => {
    const set = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', 'greeting', 'hello']);
    expect(set.stderr).not.toContain('ERROR');
    expect(set.stdout.trim()).toBe('OK');
    const get = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'GET', 'greeting']);
    expect(get.stdout.trim()).toBe('hello');
    expect(get.code).toBe(0);
  });

  it('denies a db user the roles do not allow, at login', async () => {
    const r = await c.alice.xsh(['db', 'login', 'cache', '--db-user=bob']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/access to database "cache" as db user "bob" denied/);
    const n = await c.alice.xsh(['db', 'login', 'cache', '--db-user=alice', '--db-name=1']);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/denied/);
  });

  it('refuses AUTH as another user, SELECT of a forbidden db, and a command outside the role, and keeps going', async () => {
    const r = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--no-auth-warning', 'AUTH', 'bob', 'bob-pw']);
    expect(r.stdout + r.stderr).toContain('failed to authenticate as bob user');
    const sel = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SELECT', '1']);
    expect(sel.stdout + sel.stderr).toContain('access denied to db 1');
    const setAsBob = await c.bob.xsh(['db', 'connect', 'cache', '--', '--user', 'bob', '--pass', 'bob-pw', '--no-auth-warning', 'SET', 'k', 'v']);
    expect(setAsBob.stdout + setAsBob.stderr).toContain('ERR xport: access denied to set');
    const getAsBob = await c.bob.xsh(['db', 'connect', 'cache', '--', '--user', 'bob', '--pass', 'bob-pw', '--no-auth-warning', 'GET', 'greeting']);
    expect(getAsBob.stdout.trim()).toBe('hello');
  });

  it('audits every command with key names and redacted values, and AUTH masked', async () => {
    await waitFor('audit events', async () => {
      const r = await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=alice', '--format=json']);
      return (JSON.parse(r.stdout) as unknown[]).length >= 2;
    });
    const r = await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=alice', '--format=json']);
    const events = JSON.parse(r.stdout) as { query: string; command: string; keys?: string[]; success: boolean; code: string }[];
    const set = events.find((e) => e.command === 'set');
    expect(set).toMatchObject({ query: 'SET greeting ******', keys: ['greeting'], success: true, code: 'TDB02I' });
    expect(r.stdout).not.toContain('hello');
    expect(r.stdout).not.toContain('alice-pw');
    const bob = JSON.parse((await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=bob', '--format=json'])).stdout) as { command: string; success: boolean }[];
    expect(bob.find((e) => e.command === 'set')).toMatchObject({ success: false });
    const text = await c.svc.xctl(['audit', 'ls', '--type=db.session.start', '--user=alice']);
    expect(text.stdout).toMatch(/db\.session\.start\s+TDB00I\s+alice/);
  });

  it('keeps pipelined replies in order when allowed and denied commands mix, through xsh proxy db --tunnel', async () => {
    await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', 'greeting', 'hello']);
    const t = await startTunnel(c.bob, ['cache']);
    try {
      expect(t.output()).toContain('Started authenticated tunnel for the Redis database "cache" in cluster "xport" on 127.0.0.1:');
      const raw = await rawExchange(
        t.port,
        '*3\r\n$4\r\nAUTH\r\n$3\r\nbob\r\n$6\r\nbob-pw\r\n' +
          '*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n' +
          '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n' +
          '*2\r\n$6\r\nEXISTS\r\n$8\r\ngreeting\r\n' +
          '*1\r\n$8\r\nFLUSHALL\r\n' +
          '*1\r\n$4\r\nPING\r\n',
      );
      expect(raw).toBe('+OK\r\n$5\r\nhello\r\n-ERR xport: access denied to set\r\n:1\r\n-ERR xport: access denied to flushall\r\n+PONG\r\n');
      // ioredis pipelines the same way. Its ready check sends INFO, which bob's read-only role
      // denies (INFO is @dangerous), so it is turned off.
      const r = new Redis({ port: t.port, host: '127.0.0.1', username: 'bob', password: 'bob-pw', lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
      await r.connect();
      const results = await r.pipeline().get('greeting').set('a', 'b').get('greeting').exec();
      expect(results![0]).toEqual([null, 'hello']);
      expect(String(results![1]![0])).toContain('access denied to set');
      expect(results![2]).toEqual([null, 'hello']);
      r.disconnect();
    } finally {
      await t.stop();
    }
  });

  it('serves ioredis in RESP2 with pub/sub, MULTI/EXEC and many concurrent connections', async () => {
    const t = await startTunnel(c.alice, ['cache', '--db-user=alice']);
    try {
      const opts = { port: t.port, host: '127.0.0.1', username: 'alice', password: 'alice-pw', lazyConnect: true };
      const sub = new Redis(opts);
      const pub = new Redis(opts);
      await Promise.all([sub.connect(), pub.connect()]);
      const got = new Promise<[string, string]>((resolve) => sub.on('message', (ch: string, msg: string) => resolve([ch, msg])));
      await sub.subscribe('news');
      expect(await pub.publish('news', 'hi')).toBe(1);
      expect(await got).toEqual(['news', 'hi']);
      const tx = await pub.multi().set('tx', '1').incr('tx').get('tx').exec();
      expect(tx!.map((x) => x[1])).toEqual(['OK', 2, '2']);
      const many = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const r = new Redis(opts);
          await r.connect();
          await r.set(`k${i}`, String(i));
          const v = await r.get(`k${i}`);
          r.disconnect();
          return v;
        }),
      );
      expect(many).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      sub.disconnect();
      pub.disconnect();
    } finally {
      await t.stop();
    }
  });

  it('speaks RESP3 end to end (HELLO 3) with exact reply types', async () => {
    const t = await startTunnel(c.alice, ['cache', '--db-user=alice']);
    try {
      const raw = await rawExchange(t.port, '*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$8\r\nalice-pw\r\n*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n');
      expect(raw.startsWith('%')).toBe(true);
      expect(raw).toContain('$5\r\nproto\r\n:3\r\n');
      expect(raw.endsWith('_\r\n$2\r\nhi\r\n')).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it('answers malformed RESP with a protocol error and closes only that connection', async () => {
    const t = await startTunnel(c.alice, ['cache', '--db-user=alice']);
    try {
      const healthy = new Redis({ port: t.port, host: '127.0.0.1', username: 'alice', password: 'alice-pw', lazyConnect: true });
      await healthy.connect();
      const bad = await rawExchange(t.port, '*2\r\n$3\r\nGET\r\n$abc\r\n');
      // Redis's own answer, byte for byte (not an xport-made error), then the close.
      expect(bad).toBe('-ERR Protocol error: invalid bulk length\r\n');
      expect(await healthy.ping()).toBe('PONG');
      healthy.disconnect();
    } finally {
      await t.stop();
    }
  });

  it('streams large requests through the real binaries: a denied 500 MB SET is dropped, an allowed 200 MB one arrives, and xctl start stays small', async () => {
    const MiB = 1024 * 1024;
    /** peakRss reads the service process's high-water mark of resident memory (VmHWM) in bytes. */
    const peakRss = () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c.svc.pid}/status`, 'utf8'));
      if (!m) throw new Error('no VmHWM in /proc status');
      return Number(m[1]) * 1024;
    };
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < block.length; i++) block[i] = (i * 131) & 0xff;
    /** setLarge sends AUTH and a SET of `size` bytes at the pace the tunnel takes it, then ECHO, and returns the replies. */
    const setLarge = async (port: number, user: string, key: string, size: number) => {
      const s = connect(port, '127.0.0.1');
      await new Promise((r, j) => s.once('connect', r).once('error', j));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      const write = (b: Buffer) => (s.write(b) ? Promise.resolve() : new Promise<void>((r) => s.once('drain', () => r())));
      await write(Buffer.from(`*3\r\n$4\r\nAUTH\r\n$${user.length}\r\n${user}\r\n$${user.length + 3}\r\n${user}-pw\r\n`));
      await write(Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${size}\r\n`));
      for (let sent = 0; sent < size; sent += MiB) await write(block.subarray(0, Math.min(MiB, size - sent)));
      await write(Buffer.from('\r\n*2\r\n$4\r\nECHO\r\n$4\r\ndone\r\n'));
      await waitFor('the replies', async () => got.endsWith('$4\r\ndone\r\n'), 600_000);
      s.destroy();
      return got;
    };
    const before = peakRss();
    const denied = await startTunnel(c.bob, ['cache']);
    try {
      expect(await setLarge(denied.port, 'bob', 'huge:denied', 500 * MiB)).toBe('+OK\r\n-ERR xport: access denied to set\r\n$4\r\ndone\r\n');
    } finally {
      await denied.stop();
    }
    const allowed = await startTunnel(c.alice, ['cache', '--db-user=alice']);
    try {
      expect(await setLarge(allowed.port, 'alice', 'huge:allowed', 200 * MiB)).toBe('+OK\r\n+OK\r\n$4\r\ndone\r\n');
      const check = new Redis({ port: allowed.port, host: '127.0.0.1', username: 'alice', password: 'alice-pw', lazyConnect: true });
      await check.connect();
      expect(await check.strlen('huge:allowed')).toBe(200 * MiB);
      // Intact: the same digest as the 200 blocks sent, read back in 8 MiB ranges.
      const sent = createHash('sha256');
      for (let k = 0; k < 200; k++) sent.update(block);
      const stored = createHash('sha256');
      for (let at = 0; at < 200 * MiB; at += 8 * MiB) stored.update(await check.getrangeBuffer('huge:allowed', at, at + 8 * MiB - 1));
      expect(stored.digest('hex')).toBe(sent.digest('hex'));
      expect(await check.exists('huge:denied')).toBe(0);
      await check.del('huge:allowed');
      check.disconnect();
    } finally {
      await allowed.stop();
    }
    const grew = peakRss() - before;
    console.log(`xctl start VmHWM grew by ${(grew / MiB).toFixed(0)} MiB while 700 MiB of requests passed through it`);
    // The service runs auth, proxy and agent: it must not have held either request whole.
    expect(grew).toBeLessThan(150 * MiB);
  }, 900_000);

  it('gives a clear error while Redis is down, and the next session works once it is back', async () => {
    await c.redis.stop();
    const down = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING']);
    expect(down.stdout + down.stderr).toMatch(/failed to connect to the target database/);
    await c.restartRedis();
    const up = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING']);
    expect(up.stdout.trim()).toBe('PONG');
  });

  it('refuses a session once the user certificate has expired (exit 4)', async () => {
    const r = await c.alice.xsh(['login', `--proxy=${c.svc.addr}`, '--user=alice', '--password-stdin', '--ttl=3s'], { input: 'alice-long-password\n' });
    expect(r.code).toBe(0);
    await waitFor('the 3 s login to expire', async () => (await c.alice.xsh(['status'])).code === 4);
    const x = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', 'PING']);
    expect(x.code).toBe(4);
    expect(x.stderr).toContain('Run: xsh login');
    const again = await c.alice.xsh(['login', `--proxy=${c.svc.addr}`, '--user=alice', '--password-stdin'], { input: 'alice-long-password\n' });
    expect(again.code).toBe(0);
  });

  it('works from CI with an identity file and writes nothing to disk', async () => {
    const dir = await tmpDir('xport-ci-');
    const id = join(dir, 'ci.pem');
    expect((await c.svc.xctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${id}`, '--ttl=10m'])).code).toBe(0);
    const home = join(dir, 'empty-home');
    const r = await runCli('xsh', ['-i', id, `--proxy=${c.svc.addr}`, 'db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING'], {
      env: { XSH_HOME: home },
    });
    expect(r.stderr).not.toContain('ERROR');
    expect(r.stdout.trim()).toBe('PONG');
    const { readdir } = await import('node:fs/promises');
    await expect(readdir(home)).rejects.toThrow();
  });

  it('names the package when redis-cli is missing', async () => {
    const r = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice'], { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('redis-cli was not found');
    expect(r.stderr).toContain('redis-tools');
  });
});

describe('a second agent that joins with a token', () => {
  let agent: ChildProcess | undefined;
  let agentOut = '';
  afterAll(async () => {
    if (agent?.exitCode === null) {
      process.kill(agent.pid!, 'SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
  });

  it('joins through xctl db configure create, serves its database, and comes back after a proxy restart', async () => {
    const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const dir = await tmpDir('xport-agent-');
    const cfgPath = join(dir, 'agent.yaml');
    const port = c.redis.port;
    const gen = await runCli('xctl', [
      'db', 'configure', 'create', `--token=${token}`, `--proxy=${c.svc.addr}`, `--ca-pin=${c.svc.pin}`,
      '--name=cache2', '--protocol=redis', `--uri=rediss://127.0.0.1:${port}`, '--labels=env=dev',
      `--data-dir=${join(dir, 'data')}`, `--output=file://${cfgPath}`,
    ]);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toContain(`xctl start -c ${cfgPath}`);
    agent = spawn(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d: Buffer) => (agentOut += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentOut += d.toString()));
    await waitFor('cache2 online', async () => {
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache2' && d.status === 'online');
    });
    const set = await c.alice.xsh(['db', 'connect', 'cache2', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', 'greeting', 'hello']);
    expect(set.stdout.trim()).toBe('OK');
    // The remote agent's audit events reach the auth service.
    await waitFor('remote agent audit', async () => {
      const r = await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=alice', '--format=json']);
      return (JSON.parse(r.stdout) as { db_service?: string }[]).some((e) => e.db_service === 'cache2');
    });

    // Restart the proxy (the all-in-one service) on the same data dir and port: the remote
    // agent reconnects with backoff and serves again.
    const dataDir = c.svc.dataDir;
    const addr = c.svc.addr;
    await c.svc.stop();
    c.svc = await startXport({ dataDir, listenAddr: addr });
    await waitFor('cache2 back online after the proxy restart', async () => {
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache2' && d.status === 'online');
    }, 30_000);
    const after = await c.alice.xsh(['db', 'connect', 'cache2', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'GET', 'greeting']);
    expect(after.stdout.trim()).toBe('hello');
    expect(agentOut).toMatch(/reconnecting|lost the proxy connection/);
  }, 120_000);

  it('lets two agents serve one database and fails over when one dies', async () => {
    const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const dir = await tmpDir('xport-agent2-');
    const cfgPath = join(dir, 'agent.yaml');
    await runCli('xctl', [
      'db', 'configure', 'create', `--token=${token}`, `--proxy=${c.svc.addr}`, `--ca-pin=${c.svc.pin}`,
      '--name=cache', '--protocol=redis', `--uri=rediss://127.0.0.1:${c.redis.port}`, '--labels=env=dev',
      `--data-dir=${join(dir, 'data')}`, `--output=file://${cfgPath}`,
    ]);
    const second = spawn(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let secondOut = '';
    second.stdout!.on('data', (d: Buffer) => (secondOut += d.toString()));
    second.stderr!.on('data', (d: Buffer) => (secondOut += d.toString()));
    try {
      await waitFor('two agents serving cache', async () => {
        const r = await c.svc.xctl(['db', 'ls', '--format=json']);
        const db = (JSON.parse(r.stdout) as { name: string; agents: string[] }[]).find((d) => d.name === 'cache');
        if (second.exitCode !== null) throw new Error(`the second agent exited:\n${secondOut}`);
        return (db?.agents.length ?? 0) === 2;
      });
      process.kill(second.pid!, 'SIGKILL');
      await new Promise((r) => second.once('exit', r));
      for (let i = 0; i < 5; i++) {
        const r = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING']);
        expect(r.stdout.trim()).toBe('PONG');
      }
    } finally {
      if (second.exitCode === null && second.signalCode === null) process.kill(second.pid!, 'SIGKILL');
    }
  }, 60_000);
});


