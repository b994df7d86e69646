/**
 * e2e (issue 14): high availability with real parts only — PostgreSQL 15, three `xctl start`
 * replicas (auth + proxy) on it, Debian's HAProxy in TCP mode in front of them, two remote agents
 * joined with tokens through the balancer for one TLS redis-server, and a user logged in through
 * the balancer. Under redis-benchmark load through `xsh proxy db --tunnel` it SIGKILLs one
 * replica, then one agent, then restarts PostgreSQL: sessions through the dead replica fail with
 * an xport error, new sessions succeed again (polled, generous bound), the agents keep a tunnel to
 * every live replica, and `xctl backend check` finds nothing corrupt.
 *
 * Then the audit count: the SIGKILLed agent is restarted on its own data dir, so what its
 * write-ahead log holds and the dead replica never acknowledged ships now (to any live replica);
 * the restarted replica's index consumer resumes from its saved offset. Once every agent has
 * shipped its whole log and every replica's index consumer has reached the end of that replica's
 * log, the audited SET events in the PostgreSQL index equal Redis's `cmdstat_set` calls, and no
 * event id is stored twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { ApiClient } from '../../src/client/api.js';
import { loadPosition, readFrom } from '../../src/audit/tail.js';
import { join } from 'node:path';
import { ROOT, addUser, runCli, runProcess, startXport, tmpDir, type RunOptions, type XportService, type XshUser } from '../helpers/cli.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { ACL, redisTlsLines, waitFor } from '../helpers/db-cluster.js';

/** alive tells whether a process is still running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** requireTool fails loudly when a program the test drives is missing. */
function requireTool(cmd: string, args: string[], pkg: string): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    throw new Error(`${cmd} is missing: install ${pkg} (apt-get install ${pkg})`);
  }
}

const replicaConfig = (o: { dataDir: string; url: string; port: number; lb: string }) =>
  [
    'version: v1',
    'cluster_name: ha',
    `data_dir: ${o.dataDir}`,
    'auth_service:',
    '  storage:',
    '    type: postgres',
    `    conn_string: ${o.url}`,
    'proxy_service:',
    `  listen_addr: 127.0.0.1:${o.port}`,
    `  public_addr: ${o.lb}`,
    `  advertise_addr: 127.0.0.1:${o.port}`,
    'db_service:',
    '  enabled: false',
  ].join('\n') + '\n';

const agentConfig = (o: { dataDir: string; token: string; lb: string; pin: string; redisPort: number }) =>
  [
    'version: v1',
    `data_dir: ${o.dataDir}`,
    'auth_service: { enabled: false }',
    'proxy_service: { enabled: false }',
    'db_service:',
    '  enabled: true',
    `  auth_token: ${o.token}`,
    `  proxy_server: ${o.lb}`,
    `  ca_pin: ${o.pin}`,
    '  databases:',
    '    - name: cache',
    '      protocol: redis',
    `      uri: rediss://127.0.0.1:${o.redisPort}`,
    '      static_labels: { env: dev }',
  ].join('\n') + '\n';

const haproxyConfig = (lbPort: number, replicas: number[]) =>
  [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  retries 3',
    '  option redispatch',
    'frontend xport',
    `  bind 127.0.0.1:${lbPort}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  default-server check inter 500ms fall 2 rise 2',
    ...replicas.map((p, i) => `  server r${i} 127.0.0.1:${p}`),
  ].join('\n') + '\n';

/** Proc is a long-running child process the test stops (or kills) by PID. */
interface Proc {
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

function launch(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, XSH_KEY_STORAGE: 'file', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, signal);
      const t = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const cmd = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');

/**
 * Session is one client connection through a local tunnel, speaking RESP with simple replies
 * (+OK, +PONG, -ERR …). `send` resolves with the reply line, or with `closed` when the
 * connection ends first.
 */
interface Session {
  send(...args: string[]): Promise<string>;
  close(): void;
}

function openSession(port: number): Promise<Session> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    let closed = false;
    const waiting: ((line: string) => void)[] = [];
    const drain = () => {
      for (let i = buf.indexOf('\r\n'); i >= 0 && waiting.length; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        waiting.shift()!(line);
      }
      if (closed) while (waiting.length) waiting.shift()!(buf ? buf : 'closed');
    };
    s.on('data', (d: Buffer) => ((buf += d.toString()), drain()));
    s.on('error', () => {});
    s.on('close', () => ((closed = true), drain()));
    s.once('connect', () =>
      resolve({
        send: (...args) =>
          new Promise((r) => {
            waiting.push(r);
            if (closed) return drain();
            s.write(cmd(...args));
          }),
        close: () => s.destroy(),
      }),
    );
    s.once('error', reject);
  });
}

/** oneShot opens a session, authenticates as alice and runs one SET; returns the replies. */
async function oneShot(port: number, key: string): Promise<string[]> {
  const s = await openSession(port);
  try {
    const auth = await s.send('AUTH', 'alice', 'alice-pw');
    if (!auth.startsWith('+')) return [auth];
    return [auth, await s.send('SET', key, 'v')];
  } finally {
    s.close();
  }
}

/** newSessionsWork polls until a fresh session through port runs a SET; returns the ms it took. */
async function newSessionsWork(port: number, what: string, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  let last: string[] = [];
  await waitFor(
    what,
    async () => {
      last = await oneShot(port, `probe:${Date.now()}`).catch((e: Error) => [e.message]);
      return last.length === 2 && last[1] === '+OK';
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last replies: ${JSON.stringify(last)}`);
  });
  return Date.now() - start;
}

requireTool('haproxy', ['-v'], 'haproxy');
requireTool('redis-benchmark', ['--version'], 'redis-tools');

describe('three replicas on PostgreSQL behind HAProxy, two agents, one TLS Redis', () => {
  let pg: PostgresServer;
  let url: string;
  let lb: string;
  let lbPort: number;
  let ports: number[];
  const replicas: XportService[] = [];
  const configs: string[] = [];
  const killed = new Set<XportService>();
  let haproxy: Proc;
  let redis: RedisServer;
  const agents: Proc[] = [];
  const agentCfgs: string[] = [];
  const agentDirs: string[] = [];
  let alice: XshUser;
  let aliceAtC: XshUser;
  let tunnel: Proc;
  let tunnelPort: number;
  let tunnelC: Proc;
  let tunnelCPort: number;
  const timings: Record<string, number> = {};

  /** Any live replica, for admin commands. */
  const admin = () => replicas.find((r) => !killed.has(r))!;
  type Status = { proxies: { id: string; addr: string; tunnels: { host_id: string }[] }[] };
  const status = async (): Promise<Status> => {
    const r = await admin().xctl(['status', '--format=json']);
    if (r.code !== 0) throw new Error(`xctl status failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Status;
  };
  /** statusHolds polls: a failed status (say, right after PostgreSQL restarted) is a "not yet". */
  const statusHolds = (cond: (s: Status) => boolean) => async () => {
    try {
      return cond(await status());
    } catch (err) {
      // A replica that died on its own is a failure to report with its last words, not a "not yet".
      for (const r of replicas) {
        if (killed.has(r) || !(err as Error).message.includes(r.addr)) continue;
        let alive = true;
        try {
          process.kill(r.pid, 0);
        } catch {
          alive = false;
        }
        if (!alive) throw new Error(`replica ${r.addr} exited unexpectedly:\n${r.output().slice(-4000)}`);
      }
      console.log((err as Error).message);
      return false;
    }
  };

  /** logUnread: how many events a consumer (offset file) has not yet delivered from the log in dir. */
  const logUnread = (dir: string, offsetFile: string) => readFrom(dir, loadPosition(join(dir, offsetFile)), 100_000, 64 * 1024 * 1024).events.length;

  async function startTunnel(u: XshUser, args: string[] = []): Promise<[Proc, number]> {
    const p = launch(process.execPath, [join(ROOT, 'bin', 'xsh.js'), ...args, 'proxy', 'db', 'cache', '--db-user=alice', '--tunnel'], { XSH_HOME: u.home });
    let port = 0;
    await waitFor('xsh proxy db --tunnel', async () => {
      port = Number(/redis-cli -h 127\.0\.0\.1 -p (\d+)/.exec(p.output())?.[1] ?? 0);
      if (!port && /ERROR/.test(p.output())) throw new Error(p.output());
      return port > 0;
    });
    return [p, port];
  }

  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('xport_ha3');
    [lbPort, ...ports] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    lb = `127.0.0.1:${lbPort}`;
    const dir = await tmpDir('xport-ha-');
    // The first replica creates the CAs; the others start together against it.
    configs.push(...ports.map((port, i) => replicaConfig({ dataDir: join(dir, `r${i}`), url, port, lb })));
    replicas.push(await startXport({ config: configs[0]! }));
    replicas.push(...(await Promise.all(configs.slice(1).map((config) => startXport({ config })))));

    const haCfg = join(dir, 'haproxy.cfg');
    await writeFile(haCfg, haproxyConfig(lbPort, ports));
    haproxy = launch('haproxy', ['-db', '-f', haCfg]);
    await waitFor('haproxy listening', async () => {
      if (/ALERT/.test(haproxy.output())) throw new Error(haproxy.output());
      return portOpen(lbPort);
    });

    // A TLS-only redis-server with certificates from the cluster's db CA.
    const a = replicas[0]!;
    const certPrefix = join(dir, 'redis');
    const sign = await a.xctl(['auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${certPrefix}`, '--ttl=24h']);
    expect(sign.stderr).toBe('');
    const aclPath = join(dir, 'users.acl');
    await writeFile(aclPath, ACL.join('\n') + '\n');
    redis = await startRedis(redisTlsLines(certPrefix, aclPath), { tlsPort: true });

    const roles = join(dir, 'roles.yaml');
    await writeFile(
      roles,
      ['kind: role', 'version: v1', 'metadata: { name: dev-all }', 'spec:', '  allow:', '    db_labels: { env: dev }', "    db_users: ['{{internal.db_users}}']", ''].join('\n'),
    );
    expect((await a.xctl(['create', '-f', roles])).code).toBe(0);

    // Two agents, each joined with its own token through the balancer.
    for (let i = 0; i < 2; i++) {
      const token = (await a.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
      const agentDir = join(dir, `agent${i}`);
      const cfg = join(dir, `agent${i}.yaml`);
      await writeFile(cfg, agentConfig({ dataDir: agentDir, token, lb, pin: a.pin, redisPort: redis.port }));
      agentCfgs.push(cfg);
      agentDirs.push(agentDir);
      agents.push(launch(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfg]));
    }

    // alice: invited on replica 0, logged in through the balancer; and once more directly at
    // replica 2, whose sessions the test watches die with it.
    const throughLb = { ...a, addr: lb };
    alice = await addUser(throughLb, 'alice', ['--roles=dev-all', '--db-users=alice'], 'alice-long-password');
    const homeC = join(await tmpDir(), 'xsh');
    const c = replicas[2]!;
    const loginC = await runCli('xsh', ['login', `--proxy=${c.addr}`, `--ca-pin=${c.pin}`, '--user=alice', '--password-stdin'], { input: 'alice-long-password\n', env: { XSH_HOME: homeC } });
    expect(loginC.stderr).toBe('');
    aliceAtC = { ...alice, home: homeC, xsh: (args: string[], o: RunOptions = {}) => runCli('xsh', args, { ...o, env: { XSH_HOME: homeC, ...o.env } }) };

    await waitFor(
      'both agents with a tunnel to all three replicas',
      statusHolds((s) => s.proxies.length === 3 && s.proxies.every((p) => p.tunnels.length === 2)),
      60_000,
    );
    [tunnel, tunnelPort] = await startTunnel(alice);
    [tunnelC, tunnelCPort] = await startTunnel(aliceAtC);
  }, 240_000);

  afterAll(async () => {
    await tunnel?.kill('SIGTERM');
    await tunnelC?.kill('SIGTERM');
    for (const a of agents) await a.kill('SIGTERM');
    for (const r of replicas) if (!killed.has(r)) await r.stop();
    await haproxy?.kill('SIGTERM');
    await redis?.stop();
    await pg?.stop();
    if (Object.keys(timings).length) console.log('HA fail-over timings (ms):', JSON.stringify(timings));
  });

  it('joins both agents through the balancer to every replica; xctl status and xctl db ls show proxies, agents and tunnels', async () => {
    const s = await status();
    expect(s.proxies.map((p) => p.addr).sort()).toEqual(ports.map((p) => `127.0.0.1:${p}`).sort());
    const hostIds = new Set(s.proxies.flatMap((p) => p.tunnels.map((t) => t.host_id)));
    expect(hostIds.size).toBe(2);
    const text = (await admin().xctl(['status'])).stdout;
    expect(text).toMatch(/^Proxies\s+3$/m);
    expect(text).toMatch(/^Agents\s+2$/m);
    expect(text.match(/tunnels up to 3\/3 proxies/g)).toHaveLength(2);
    const ls = (await admin().xctl(['db', 'ls'])).stdout;
    expect(ls).toMatch(/Tunnels/);
    expect(ls.match(/ 3\/3/g)).toHaveLength(2);
    // Every replica can reach the database, not only the one the agents first dialled.
    for (const r of replicas) {
      const dbs = JSON.parse((await r.xctl(['db', 'ls', '--format=json'])).stdout) as { name: string; agents: string[]; status: string }[];
      expect(dbs.find((d) => d.name === 'cache')).toMatchObject({ status: 'online', agents: [...hostIds].sort() });
    }
  });

  it('serves sessions through the balancer and through a replica directly', async () => {
    expect(await oneShot(tunnelPort, 'k:lb')).toEqual(['+OK', '+OK']);
    expect(await oneShot(tunnelCPort, 'k:c')).toEqual(['+OK', '+OK']);
  });

  it("asks the replica that opened a session, not any replica, for the session's db_client certificate", async () => {
    // A fresh login per replica: a new proof, so no cached db_client certificate. Only the
    // replica whose proxy opened the stream knows the session is live; were the agent to ask
    // through the balancer, two times in three it would be refused.
    for (const [i, r] of replicas.entries()) {
      const home = join(await tmpDir(), 'xsh');
      const env = { XSH_HOME: home };
      const login = await runCli('xsh', ['login', `--proxy=${r.addr}`, `--ca-pin=${r.pin}`, '--user=alice', '--password-stdin'], { input: 'alice-long-password\n', env });
      expect(login.code).toBe(0);
      for (let n = 0; n < 2; n++) {
        const set = await runCli('xsh', ['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', `direct:${i}:${n}`, 'v'], { env });
        expect(set.stderr).toBe('');
        expect(set.stdout.trim()).toBe('OK');
      }
    }
  });

  it('lists the replicas to agents only, not to users', async () => {
    const keys = join(alice.home, 'keys', (await readdir(join(alice.home, 'keys')))[0]!);
    const api = new ApiClient({
      addr: lb,
      caPin: replicas[0]!.pin,
      credentials: { certPem: await readFile(join(keys, 'alice.crt'), 'utf8'), keyPem: await readFile(join(keys, 'alice.key'), 'utf8') },
    });
    const err = await api.request('GET', '/v1/agent/proxies').then(
      () => undefined,
      (e: { kind?: string; message: string }) => e,
    );
    expect(err?.kind).toBe('access-denied');
  });

  it('under load, survives SIGKILL of a replica, then of an agent, then a PostgreSQL restart', async () => {
    // Load: bounded redis-benchmark runs, one after another, until the scenario ends.
    let loading = true;
    const runs: { code: number; out: string }[] = [];
    const load = (async () => {
      while (loading) {
        const r = await runProcess('redis-benchmark', ['-h', '127.0.0.1', '-p', String(tunnelPort), '--user', 'alice', '-a', 'alice-pw', '-n', '3000', '-c', '4', '-t', 'set', '-r', '1000', '-q'], { timeoutMs: 120_000 });
        runs.push({ code: r.code, out: r.stdout + r.stderr });
      }
    })();
    await waitFor('load running', async () => runs.length > 0, 120_000);

    // 1. SIGKILL replica 2 while sessions through it are open.
    const victim = replicas[2]!;
    const held = await openSession(tunnelCPort);
    expect(await held.send('AUTH', 'alice', 'alice-pw')).toBe('+OK');
    expect(await held.send('PING')).toBe('+PONG');
    process.kill(victim.pid, 'SIGKILL');
    killed.add(victim);
    await waitFor('the replica gone', async () => !(await portOpen(Number(victim.addr.split(':')[1]))));
    // The open session through it ends instead of hanging; a new one gets an xport error.
    expect(await held.send('PING')).toBe('closed');
    const refused = await oneShot(tunnelCPort, 'k:dead');
    expect(refused[0]).toBe(`-ERR xport: cannot connect to the proxy at ${victim.addr}: connection refused`);
    timings.replicaKill_newSession = await newSessionsWork(tunnelPort, 'a new session through the balancer after the replica died');
    // The agents drop the dead replica and keep their tunnels to the others.
    await waitFor(
      'the dead replica out of the list',
      statusHolds((s) => s.proxies.length === 2 && s.proxies.every((p) => p.tunnels.length === 2)),
      60_000,
    );

    // 2. SIGKILL one agent: the other serves every new session.
    const dead = agents[0]!;
    await dead.kill('SIGKILL');
    timings.agentKill_newSession = await newSessionsWork(tunnelPort, 'a new session through the balancer after an agent died');
    await waitFor(
      'the dead agent gone from every replica',
      statusHolds((s) => s.proxies.every((p) => p.tunnels.length === 1)),
    );

    // 3. Restart PostgreSQL: sessions resume, and logins work again.
    await pg.restart();
    timings.postgresRestart_newSession = await newSessionsWork(tunnelPort, 'a new session through the balancer after PostgreSQL restarted');
    await waitFor('a login through the balancer after PostgreSQL restarted', async () => {
      const r = await alice.xsh(['login', `--proxy=${lb}`, '--user=alice', '--password-stdin'], { input: 'alice-long-password\n' });
      return r.code === 0;
    }, 60_000);

    loading = false;
    await load;
    // The load ran through every phase; the runs the kills cut short said why.
    expect(runs.length).toBeGreaterThan(1);
    for (const r of runs.filter((x) => x.code !== 0)) expect(r.out).toMatch(/closed the connection|Error|ERR/);
    // A last bounded run completes.
    const final = await runProcess('redis-benchmark', ['-h', '127.0.0.1', '-p', String(tunnelPort), '--user', 'alice', '-a', 'alice-pw', '-n', '2000', '-c', '4', '-t', 'set', '-q'], { timeoutMs: 120_000 });
    expect(final.code).toBe(0);
    expect(final.stdout).toMatch(/SET: [\d.]+ requests per second/);
  }, 600_000);

  it('joins the killed replica again once it is restarted on its data dir', async () => {
    // What the dead replica had acknowledged to agents but not yet indexed waits in its own log.
    console.log(`HA audit: the SIGKILLed replica left ${logUnread(join(replicas[2]!.dataDir, 'audit'), 'index.offset')} unindexed log lines`);
    const back = await startXport({ config: configs[2]! });
    replicas.push(back);
    expect(back.addr).toBe(replicas[2]!.addr);
    await waitFor(
      'the live agent with a tunnel to the restarted replica',
      statusHolds((s) => s.proxies.length === 3 && s.proxies.every((p) => p.tunnels.length === 1)),
      60_000,
    );
    // The replica keeps its id across the restart (DATA_DIR/proxy_id): no stale twin is listed.
    const listed = (await status()).proxies;
    expect(new Set(listed.map((p) => p.id)).size).toBe(3);
    expect(listed.find((p) => p.addr === back.addr)?.id).toBe((await readFile(join(back.dataDir, 'proxy_id'), 'utf8')).trim());
    expect(await oneShot(tunnelCPort, 'k:c-again')).toEqual(['+OK', '+OK']);
  }, 180_000);

  it('leaves nothing corrupt in the backend (xctl backend check)', async () => {
    const r = await runCli('xctl', ['backend', 'check', `--storage=${url}`, '--format=json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { problems: string[]; keys: number };
    expect(report.problems).toEqual([]);
    expect(report.keys).toBeGreaterThan(0);
  });

  it("counts as many audited SETs as Redis's cmdstat_set once the SIGKILLed agent is back on its data dir and has shipped its log", async () => {
    const info = await runProcess('redis-cli', ['-p', String(tunnelPort), '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'INFO', 'commandstats']);
    const calls = Number(/cmdstat_set:calls=(\d+)/.exec(info.stdout)?.[1]);
    expect(calls).toBeGreaterThan(0);

    // The agent killed under load restarts on its own data dir: its unshipped log goes now.
    const dead = agents[0]!;
    await dead.exited;
    const unshipped = logUnread(join(agentDirs[0]!, 'audit'), 'ship.offset');
    const again = launch(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', agentCfgs[0]!]);
    agents[0] = again;
    let exitCode: number | null | undefined;
    void again.exited.then((c) => (exitCode = c));
    let seen: Status | undefined;
    const tunnelsUp = statusHolds((s) => ((seen = s), s.proxies.length === 3 && s.proxies.every((p) => p.tunnels.length === 2)));
    await waitFor('the restarted agent with a tunnel to every replica', async () => {
      if (exitCode !== undefined) throw new Error(`the restarted agent exited with ${exitCode}:\n${again.output().slice(-4000)}`);
      return tunnelsUp();
    }, 120_000).catch((err: Error) => {
      // A replica that died says why in its own output.
      const dead = replicas.filter((r) => !killed.has(r) && !alive(r.pid)).map((r) => `replica ${r.addr} (pid ${r.pid}) is gone; its output:\n${r.output().slice(-3000)}`);
      throw new Error(`${err.message}; last status: ${JSON.stringify(seen)}\n${dead.join('\n')}\nagent output:\n${again.output().slice(-4000)}`);
    });
    for (const d of agentDirs) await waitFor(`the agent in ${d} to ship its whole log`, async () => logUnread(join(d, 'audit'), 'ship.offset') === 0, 120_000);
    // Every live replica's index consumer reaches the end of its own log (the restarted one
    // resumes from its saved offset).
    for (const r of replicas.filter((x) => !killed.has(x))) {
      await waitFor(`replica ${r.addr}'s index to catch up with its log`, async () => logUnread(join(r.dataDir, 'audit'), 'index.offset') === 0, 120_000);
    }
    const audited = async () =>
      (await pg.query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM xport_events WHERE type = 'db.session.query' AND lower(data::json->>'command') = 'set'`, 'xport_ha3')).rows[0] as { n: string; ids: string };
    // Poll until two reads a while apart agree (generous bound): nothing is in flight any more.
    let last = '';
    let row = { n: '0', ids: '0' };
    await waitFor('the audit count to settle', async () => {
      row = await audited();
      const settled = row.n === last;
      last = row.n;
      if (!settled) await new Promise((r) => setTimeout(r, 1000));
      return settled;
    }, 120_000);
    console.log(`HA audit: Redis cmdstat_set calls=${calls}, audited SETs=${row.n} (distinct ids ${row.ids}); the killed agent had ${unshipped} unshipped log lines`);
    expect(Number(row.n)).toBe(calls);
    expect(Number(row.ids)).toBe(Number(row.n));
  }, 600_000);
});
