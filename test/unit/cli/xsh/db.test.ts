/**
 * `xsh db …` and `xsh proxy db` driven through main(argv, ctx) against an in-process stand-in
 * proxy (real TLS, real certificates). redis-cli is never started: the context's spawn plays it,
 * connecting to the tunnel port xsh passed and reading what comes back through it.
 */
import { chmod, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../../src/cli/xsh/main.js';
import { identityFile, loggedInHome, startFakeProxy, type FakeProxy } from '../../../helpers/fake-proxy.js';
import { testContext, type Spawned, type TestContext } from './test-context.js';

let proxy: FakeProxy;
let binDir: string;
beforeAll(async () => {
  proxy = await startFakeProxy();
  // A PATH directory holding an executable named redis-cli; it is found, never run.
  binDir = await mkdtemp(join(tmpdir(), 'xsh-bin-'));
  await writeFile(join(binDir, 'redis-cli'), '#!/bin/sh\nexit 0\n');
  await chmod(join(binDir, 'redis-cli'), 0o755);
});
afterAll(async () => {
  await proxy.close();
});

/** portOf reads the -p value xsh gave redis-cli. */
function portOf(s: Spawned): number {
  return Number(s.args[s.args.indexOf('-p') + 1]);
}

/** talk connects to 127.0.0.1:port, sends data and returns the first reply line. */
function talk(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(data));
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString();
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        sock.destroy();
        resolve(buf.slice(0, i));
      }
    });
    sock.once('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

async function loggedIn(onSpawn?: (s: Spawned) => Promise<number> | number): Promise<TestContext> {
  return testContext({ home: await loggedInHome(proxy), env: { PATH: binDir }, ...(onSpawn ? { onSpawn } : {}) });
}

describe('xsh db connect', () => {
  it('runs redis-cli against the local tunnel, passes everything after -- untouched, and exits with its status', async () => {
    let line = '';
    const ctx = await loggedIn(async (s) => {
      line = await talk(portOf(s), 'PING\r\n');
      return 7;
    });
    const code = await main(['db', 'connect', 'cache', '--', '-n', '1', '--raw', '-3', '-v', 'GET', 'k'], ctx);
    expect(ctx.stderr()).toBe('');
    expect(code).toBe(7);
    expect(ctx.spawned).toHaveLength(1);
    const s = ctx.spawned[0]!;
    expect(s.cmd).toBe(join(binDir, 'redis-cli'));
    expect(s.args).toEqual(['-h', '127.0.0.1', '-p', String(portOf(s)), '-n', '1', '--raw', '-3', '-v', 'GET', 'k']);
    // The tunnel dialled the proxy with a certificate routed to the database.
    expect(line).toBe('+routed cache default -');
    // The tunnel is gone once redis-cli has exited.
    expect(await refused(portOf(s))).toBe(true);
  });

  it('selects the routed database number and RESP3 before the passed-through arguments', async () => {
    let line = '';
    const ctx = await loggedIn(async (s) => {
      line = await talk(portOf(s), 'PING\r\n');
      return 0;
    });
    const code = await main(['db', 'connect', '--db-user', 'alice', '--db-name', '2', '--resp3', 'cache', '--', '--raw', 'PING'], ctx);
    expect(code).toBe(0);
    expect(ctx.spawned[0]!.args.slice(4)).toEqual(['-n', '2', '-3', '--raw', 'PING']);
    expect(line).toBe('+routed cache alice 2');
  });

  it('reuses a saved database login instead of asking for a new certificate', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'login', 'cache'], ctx)).toBe(0);
    const before = proxy.dbCertRequests.length;
    expect(await main(['db', 'connect', 'cache'], ctx)).toBe(0);
    expect(proxy.dbCertRequests.length).toBe(before);
  });

  it('leaves Ctrl-C to redis-cli while it runs, and stops listening for it afterwards', async () => {
    let handlersDuringRun = 0;
    const ctx = await loggedIn(() => {
      handlersDuringRun = ctx.signalHandlers.size;
      ctx.raise('SIGINT');
      return 130;
    });
    expect(await main(['db', 'connect', 'cache'], ctx)).toBe(130);
    expect(handlersDuringRun).toBe(1);
    expect(ctx.signalHandlers.size).toBe(0);
  });

  it('reports a missing redis-cli with install hints before any network work', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'xsh-empty-bin-'));
    const ctx = testContext({ home: await loggedInHome(proxy), env: { PATH: empty } });
    const before = proxy.dbCertRequests.length;
    expect(await main(['db', 'connect', 'cache'], ctx)).toBe(1);
    expect(ctx.stderr()).toBe(
      'ERROR: redis-cli was not found on PATH\nInstall it: apt-get install redis-tools (Debian/Ubuntu), brew install redis (macOS).\n',
    );
    expect(ctx.spawned).toEqual([]);
    expect(proxy.dbCertRequests.length).toBe(before);
  });

  it('rejects an unknown flag before -- as a usage error', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'connect', 'cache', '--raw'], ctx)).toBe(2);
    expect(ctx.stderr()).toContain("unknown option '--raw'");
    expect(ctx.spawned).toEqual([]);
  });

  it('works from an identity file and writes nothing to the xsh home', async () => {
    const home = await mkdtemp(join(tmpdir(), 'xsh-ci-home-'));
    let line = '';
    const ctx = testContext({
      home,
      env: { PATH: binDir },
      onSpawn: async (s) => {
        line = await talk(portOf(s), 'PING\r\n');
        return 0;
      },
    });
    const id = await identityFile(proxy);
    expect(await main(['-i', id, '--proxy', proxy.addr, 'db', 'connect', 'cache', '--', 'PING'], ctx)).toBe(0);
    expect(line).toBe('+routed cache default -');
    expect(await readdir(home)).toEqual([]);
  });

  it('passes an access-denied answer through as the error', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'connect', '--db-user', 'admin', 'cache'], ctx)).toBe(1);
    expect(ctx.stderr()).toBe('ERROR: access to database "cache" as user "admin" denied\nAsk an administrator for a role that allows it.\n');
    expect(ctx.spawned).toEqual([]);
  });

  it('asks a user who is not logged in to log in (exit 4)', async () => {
    const ctx = testContext({ home: await mkdtemp(join(tmpdir(), 'xsh-nobody-')), env: { PATH: binDir } });
    expect(await main(['db', 'connect', 'cache'], ctx)).toBe(4);
    expect(ctx.stderr()).toBe('ERROR: not logged in\nRun: xsh login --proxy=HOST:PORT\n');
  });
});

describe('xsh db login / logout', () => {
  it("prints tsh's saved-connection text with the xsh commands", async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'login', 'cache', '--db-user', 'alice'], ctx)).toBe(0);
    expect(ctx.stdout()).toBe(
      'Connection information for database "cache" has been saved.\n\n' +
        'You can now connect to it using the following command:\n\n' +
        '  xsh db connect cache\n\n' +
        'Or start a local proxy for database GUI clients:\n\n' +
        '  xsh proxy db --db-user=alice --tunnel cache\n\n',
    );
  });

  it('says that nothing is saved for an identity-file session', async () => {
    const id = await identityFile(proxy);
    const ctx = testContext({ home: await mkdtemp(join(tmpdir(), 'xsh-ci-home-')) });
    expect(await main(['-i', id, '--proxy', proxy.addr, 'db', 'login', 'cache', '--db-user', 'ci-bot'], ctx)).toBe(0);
    expect(ctx.stdout()).toContain('Database "cache" accepted a login as user "ci-bot".\nNothing was saved');
    expect(await readdir(ctx.home)).toEqual([]);
  });

  it('logs out of one database, of all, and says when there was nothing to do', async () => {
    const ctx = await loggedIn();
    await main(['db', 'login', 'cache'], ctx);
    await main(['db', 'login', 'orders'], ctx);
    const before = ctx.stdout().length;
    expect(await main(['db', 'logout', 'cache'], ctx)).toBe(0);
    expect(await main(['db', 'login', 'cache'], ctx)).toBe(0);
    const mark = ctx.stdout().length;
    expect(await main(['db', 'logout'], ctx)).toBe(0);
    expect(await main(['db', 'logout'], ctx)).toBe(0);
    expect(ctx.stdout().slice(before, before + 'Logged out of database cache\n'.length)).toBe('Logged out of database cache\n');
    expect(ctx.stdout().slice(mark)).toBe('Logged out of all databases\nNot logged into any databases\n');
  });

  it('fails for a named database the user is not logged into', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'logout', 'orders'], ctx)).toBe(1);
    expect(ctx.stderr()).toContain('ERROR: not logged into database "orders"');
  });
});

describe('xsh db ls', () => {
  it('lists the databases with the active login marked', async () => {
    const ctx = await loggedIn();
    await main(['db', 'login', 'cache', '--db-user', 'alice', '--db-name', '2'], ctx);
    const from = ctx.stdout().length;
    expect(await main(['db', 'ls'], ctx)).toBe(0);
    expect(ctx.stdout().slice(from)).toBe(
      [
        'Name                          Description    Allowed Users         Labels            Connect',
        '----------------------------  -------------  --------------------  ----------------  --------------------',
        '> cache (user: alice, db: 2)  Session cache  [alice default]       env=dev,team=web  xsh db connect cache',
        'orders                                       [*], except: [admin]  env=prod',
        '',
      ].join('\n'),
    );
  });

  it('filters by labels and prints json for scripts', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'ls', 'env=prod', '--format', 'json'], ctx)).toBe(0);
    expect(JSON.parse(ctx.stdout())).toEqual([
      {
        name: 'orders',
        description: '',
        protocol: 'redis',
        type: 'elasticache',
        uri: 'rediss://orders.abc.cache.amazonaws.com:6379?mode=cluster',
        mode: 'cluster',
        labels: { env: 'prod' },
        allowed_users: ['*'],
        denied_users: ['admin'],
        status: 'online',
        agents: 2,
        active: null,
      },
    ]);
  });

  it('rejects a label filter that is not key=value as a usage error', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'ls', 'envprod'], ctx)).toBe(2);
    expect(ctx.stderr()).toContain('labels must look like key=value, got "envprod"');
  });
});

describe('xsh db config', () => {
  it("prints tsh's block with the paths of the login's files", async () => {
    const ctx = await loggedIn();
    await main(['db', 'login', 'cache', '--db-user', 'alice'], ctx);
    const from = ctx.stdout().length;
    expect(await main(['db', 'config', 'cache'], ctx)).toBe(0);
    const keys = join(ctx.home, 'keys', '127.0.0.1');
    expect(ctx.stdout().slice(from)).toBe(
      [
        'Name:      cache',
        'Host:      127.0.0.1',
        `Port:      ${proxy.addr.split(':')[1]}`,
        'User:      alice',
        'Database:',
        `CA:        ${join(keys, 'certs.pem')}`,
        `Cert:      ${join(keys, 'alice-db', 'example', 'cache.crt')}`,
        `Key:       ${join(keys, 'alice.key')}`,
        '',
      ].join('\n'),
    );
  });

  it('prints the tunnel and redis-cli commands with --format=cmd', async () => {
    const ctx = await loggedIn();
    await main(['db', 'login', 'cache', '--db-user', 'alice', '--db-name', '4'], ctx);
    const from = ctx.stdout().length;
    expect(await main(['db', 'config', '--format=cmd', '--port=6380', 'cache'], ctx)).toBe(0);
    expect(ctx.stdout().slice(from)).toBe('xsh proxy db --db-user=alice --db-name=4 --tunnel --port=6380 cache\nredis-cli -h 127.0.0.1 -p 6380 -n 4\n');
  });

  it('describes an identity-file login, whose certificate is never written', async () => {
    const id = await identityFile(proxy);
    const ctx = testContext({ home: await mkdtemp(join(tmpdir(), 'xsh-ci-home-')) });
    expect(await main(['-i', id, '--proxy', proxy.addr, 'db', 'config', '--format', 'json', 'cache'], ctx)).toBe(0);
    expect(JSON.parse(ctx.stdout())).toMatchObject({ name: 'cache', host: '127.0.0.1', user: 'default', database: '', ca: id, cert: '', key: id });
    expect(await readdir(ctx.home)).toEqual([]);
  });

  it('asks for a database login first', async () => {
    const ctx = await loggedIn();
    expect(await main(['db', 'config', 'orders'], ctx)).toBe(1);
    expect(ctx.stderr()).toBe('ERROR: not logged into database "orders"\nRun: xsh db login orders\n');
  });
});

describe('xsh proxy db', () => {
  it('refuses to run without --tunnel and says why', async () => {
    const ctx = await loggedIn();
    expect(await main(['proxy', 'db', 'cache'], ctx)).toBe(2);
    expect(ctx.stderr()).toBe(
      'ERROR: xsh proxy db needs --tunnel: Redis is only reachable through an authenticated local tunnel\n' +
        'The tunnel does the TLS with the proxy, so clients need no certificates: xsh proxy db --tunnel cache\n',
    );
  });

  it("prints tsh's tunnel banner, serves clients until SIGTERM, then exits 0", async () => {
    const ctx = await loggedIn();
    const done = main(['proxy', 'db', '--tunnel', 'cache'], ctx);
    const m = await ctx.waitForStdout(/on 127\.0\.0\.1:(\d+)\.\n/);
    const port = Number(m[1]);
    expect(ctx.stdout()).toBe(
      `Started authenticated tunnel for the Redis database "cache" in cluster "example" on 127.0.0.1:${port}.\n` +
        'To avoid port randomization, you can choose the listening port using the --port flag.\n\n' +
        'Use the following command to connect to the database or to the address above using other database GUI/CLI clients:\n' +
        `  $ redis-cli -h 127.0.0.1 -p ${port}\n` +
        '\n' +
        'Connection string for GUI clients (RedisInsight, Another Redis Desktop Manager); the agent authenticates the db user, so leave the password empty\n' +
        '(a managed user) or type the Redis password of the db user (passthrough):\n' +
        `  redis://default@127.0.0.1:${port}\n` +
        'Or, for applications: eval "$(xsh db env cache)"\n',
    );
    const [a, b] = await Promise.all([talk(port, 'PING\r\n'), talk(port, 'PING\r\n')]);
    expect([a, b]).toEqual(['+routed cache default -', '+routed cache default -']);
    ctx.raise('SIGTERM');
    expect(await done).toBe(0);
    expect(await refused(port)).toBe(true);
    expect(ctx.signalHandlers.size).toBe(0);
  });

  it('listens on the --port given and drops the port-randomization line', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ctx = await loggedIn();
    const done = main(['proxy', 'db', '--tunnel', '-p', String(port), 'cache'], ctx);
    await ctx.waitForStdout(/redis-cli/);
    expect(ctx.stdout()).not.toContain('port randomization');
    expect(ctx.stdout()).toContain(`on 127.0.0.1:${port}.\n`);
    ctx.raise('SIGINT');
    // Ctrl-C is an interruption: 130, as the README's exit codes say (SIGTERM above exits 0).
    expect(await done).toBe(130);
  });

  it('renews a routed certificate that is about to expire when a client connects', async () => {
    const ctx = await loggedIn();
    proxy.dbCertTtlMs = 30_000; // always within the one-minute renewal margin
    try {
      const before = proxy.dbCertRequests.length;
      const done = main(['proxy', 'db', '--tunnel', 'cache'], ctx);
      const port = Number((await ctx.waitForStdout(/on 127\.0\.0\.1:(\d+)\.\n/))[1]);
      expect(proxy.dbCertRequests.length).toBe(before + 1);
      expect(await talk(port, 'PING\r\n')).toBe('+routed cache default -');
      expect(proxy.dbCertRequests.length).toBe(before + 2);
      ctx.raise('SIGTERM');
      expect(await done).toBe(0);
    } finally {
      proxy.dbCertTtlMs = 3600_000;
    }
  });

  it('answers a client with a RESP error when the certificate cannot be renewed', async () => {
    const ctx = await loggedIn();
    proxy.dbCertTtlMs = 30_000;
    try {
      const done = main(['proxy', 'db', '--tunnel', 'cache'], ctx);
      const port = Number((await ctx.waitForStdout(/on 127\.0\.0\.1:(\d+)\.\n/))[1]);
      proxy.denyDbCerts = true;
      expect(await talk(port, 'PING\r\n')).toBe('-ERR xport: access to database "cache" denied');
      ctx.raise('SIGTERM');
      expect(await done).toBe(0);
    } finally {
      proxy.denyDbCerts = false;
      proxy.dbCertTtlMs = 3600_000;
    }
  });
});
