/**
 * e2e: the write-ahead audit log (issue 12 §1). No command reaches Redis before its event is in
 * the log, so killing `xctl start` (or a remote agent, or the auth service a remote agent ships
 * to) with SIGKILL under `redis-benchmark` load loses no event and, after a restart, stores none
 * twice: the SET events in the index equal Redis's own `cmdstat_set` calls. A log that cannot be
 * written refuses commands. Real redis-server (TLS, ACL), real redis-benchmark, real binaries.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrom } from '../../src/audit/tail.js';
import { ROOT, runCli, startXport, tmpDir, type XshUser, startTunnel, type Tunnel } from '../helpers/cli.js';
import { startDbCluster, waitFor, type DbCluster } from '../helpers/db-cluster.js';
import { freePort } from '../helpers/redis-server.js';

/** The tools this file drives; missing ones fail the file loudly rather than skipping it. */
for (const tool of ['redis-benchmark', 'redis-server', 'mount']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required for test/e2e/audit-wal.test.ts`);
}



/**
 * loadThenKill runs `redis-benchmark -t set` (bounded -n) through a tunnel and, once SETs are
 * flowing, kills the victim with SIGKILL; resolves when the benchmark has ended.
 */
async function loadThenKill(tunnelPort: number, victimPid: number, delayMs: number): Promise<void> {
  const bench = spawn(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(tunnelPort), '--user', 'alice', '-a', 'alice-pw', '-t', 'set', '-n', '300000', '-P', '16', '-c', '8', '-r', '100000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  bench.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  bench.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<void>((r) => bench.once('exit', () => r()));
  try {
    await waitFor('SETs flowing through the tunnel', async () => {
      if (bench.exitCode !== null) throw new Error(`redis-benchmark ended before the kill:\n${out}`);
      return /SET: rps=[1-9]/.test(out);
    }, 60_000);
    await new Promise((r) => setTimeout(r, delayMs));
    process.kill(victimPid, 'SIGKILL');
    // With its server gone, redis-benchmark ends (or hangs on a dead connection: stop it then).
    const t = setTimeout(() => bench.exitCode === null && bench.kill('SIGKILL'), 15_000);
    await ended;
    clearTimeout(t);
  } finally {
    if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGKILL');
  }
}

/** setCalls reads Redis's own count of executed SETs (INFO commandstats), through xport as alice. */
async function setCalls(alice: XshUser, db = 'cache'): Promise<number> {
  const r = await alice.xsh(['db', 'connect', db, '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'INFO', 'commandstats']);
  if (r.code !== 0) throw new Error(`INFO commandstats failed: ${r.stderr}`);
  const m = /cmdstat_set:calls=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/**
 * indexedSets counts the SET query events in the auth service's index, after `xctl audit ls` (the
 * admin's query) has made the index catch up with the log. Also returns how many distinct ids.
 */
async function indexedSets(c: DbCluster): Promise<{ n: number; ids: number }> {
  const ls = await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--limit=1', '--format=json']);
  if (ls.code !== 0) throw new Error(`xctl audit ls failed: ${ls.stderr}`);
  const db = new Database(join(c.svc.dataDir, 'xport.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events WHERE type = 'db.session.query' AND json_extract(data, '$.command') = 'set'")
      .get() as { n: number; ids: number };
    return row;
  } finally {
    db.close();
  }
}

describe('the write-ahead audit log under SIGKILL', () => {
  let c: DbCluster;
  let listenAddr: string;
  let tunnel: Tunnel | undefined;
  const agents: ChildProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    listenAddr = `127.0.0.1:${await freePort()}`;
    c = await startDbCluster({ listenAddr });
  }, 120_000);

  afterAll(async () => {
    await tunnel?.stop();
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    await c?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }, 60_000);

  /** restartService starts `xctl start` again on the same data dir and address. */
  async function restartService(): Promise<void> {
    c.svc = await startXport({ dataDir: c.svc.dataDir, listenAddr });
    await waitFor('database cache online again', async () => {
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache' && d.status === 'online');
    }, 60_000);
  }

  it('counts exactly as many SET events as Redis executed SETs after `xctl start` is SIGKILLed under load, three times', async () => {
    for (let round = 1; round <= 3; round++) {
      tunnel = await startTunnel(c.alice, ['cache', '--db-user=alice']);
      await loadThenKill(tunnel.port, c.svc.pid, 300 + 400 * round);
      await tunnel.stop();
      tunnel = undefined;
      await restartService();
      const calls = await setCalls(c.alice);
      const indexed = await indexedSets(c);
      console.info(`SIGKILL round ${round}: Redis ran ${calls} SETs, the index holds ${indexed.n} SET events`);
      expect(calls, `round ${round}: Redis ran SETs`).toBeGreaterThan(0);
      expect({ round, events: indexed.n }).toEqual({ round, events: calls });
      expect(indexed.ids).toBe(indexed.n);
    }
  }, 600_000);

  /** startRemoteAgent joins an agent serving `name` (same Redis) from its own data dir, or restarts it from cfgPath. */
  async function startRemoteAgent(name: string, cfgPath?: string): Promise<{ child: ChildProcess; cfgPath: string; dataDir: string; output(): string }> {
    let dataDir: string;
    if (cfgPath === undefined) {
      const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
      const dir = await tmpDir('xport-wal-agent-');
      dirs.push(dir);
      cfgPath = join(dir, 'agent.yaml');
      dataDir = join(dir, 'data');
      const gen = await runCli('xctl', [
        'db', 'configure', 'create', `--token=${token}`, `--proxy=${c.svc.addr}`, `--ca-pin=${c.svc.pin}`, `--name=${name}`,
        '--protocol=redis', `--uri=rediss://127.0.0.1:${c.redis.port}`, '--labels=env=dev', `--data-dir=${dataDir}`, `--output=file://${cfgPath}`,
      ]);
      if (gen.code !== 0) throw new Error(gen.stderr);
    } else {
      dataDir = /data_dir: (\S+)/.exec(readFileSync(cfgPath, 'utf8'))![1]!.replace(/^['"]|['"]$/g, '');
    }
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    agents.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(`${name} online`, async () => {
      if (child.exitCode !== null) throw new Error(`the agent exited:\n${out}`);
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === name && d.status === 'online');
    }, 60_000);
    return { child, cfgPath, dataDir, output: () => out };
  }

  /** shippedAll waits until the agent's shipper has acknowledged everything in its log. */
  async function shippedAll(dataDir: string): Promise<void> {
    const dir = join(dataDir, 'audit');
    await waitFor('the agent shipped its whole log', async () => {
      const saved = JSON.parse(readFileSync(join(dir, 'ship.offset'), 'utf8') as string) as { file: string; pos: number };
      return readFrom(dir, saved).events.length === 0;
    }, 60_000);
  }

  it('loses nothing and stores nothing twice when a remote agent is SIGKILLed under load and restarted', async () => {
    const agent = await startRemoteAgent('cache-remote');
    tunnel = await startTunnel(c.alice, ['cache-remote', '--db-user=alice']);
    await loadThenKill(tunnel.port, agent.child.pid!, 700);
    await tunnel.stop();
    tunnel = undefined;
    const again = await startRemoteAgent('cache-remote', agent.cfgPath);
    await shippedAll(again.dataDir);
    const calls = await setCalls(c.alice);
    const indexed = await indexedSets(c);
    expect(indexed.n).toBe(calls);
    expect(indexed.ids).toBe(indexed.n);
    again.child.kill('SIGTERM');
    await new Promise((r) => again.child.once('exit', r));
  }, 300_000);

  it('loses nothing and stores nothing twice when the auth service is SIGKILLed while a remote agent ships', async () => {
    const agent = await startRemoteAgent('cache-ship');
    tunnel = await startTunnel(c.alice, ['cache-ship', '--db-user=alice']);
    // The auth service (all-in-one: with the proxy) dies while the agent ships the load's events.
    await loadThenKill(tunnel.port, c.svc.pid, 900);
    await tunnel.stop();
    tunnel = undefined;
    await restartService();
    await waitFor('the agent back online', async () => {
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache-ship' && d.status === 'online');
    }, 60_000);
    await shippedAll(agent.dataDir);
    const calls = await setCalls(c.alice);
    const indexed = await indexedSets(c);
    expect(indexed.n).toBe(calls);
    expect(indexed.ids).toBe(indexed.n);
    agent.child.kill('SIGTERM');
    await new Promise((r) => agent.child.once('exit', r));
  }, 300_000);
});

describe('a log that cannot be written', () => {
  let c: DbCluster | undefined;
  let mounted: string | undefined;

  afterAll(async () => {
    await c?.stop();
    if (mounted) spawnSync('umount', [mounted]);
  }, 60_000);

  it('refuses commands with a clear error while the disk is full, and serves them again once there is room', async () => {
    // The audit dir is a 256 KiB tmpfs: the service starts, then a filler takes the space.
    const dataDir = join(await tmpDir(), 'data');
    const auditDir = join(dataDir, 'audit');
    mkdirSync(auditDir, { recursive: true, mode: 0o700 });
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', auditDir], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`this test mounts a small tmpfs and must run as root: ${m.stderr}`);
    mounted = auditDir;
    c = await startDbCluster({ dataDir });
    const set = (k: string) => c!.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', k, 'v']);
    expect((await set('before')).stdout.trim()).toBe('OK');
    const filler = join(auditDir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
    // The log file's last page still has slack (up to 4 KiB): sessions fill it, then one is refused.
    let refused: { key: string; out: string } | undefined;
    const ran: string[] = [];
    for (let i = 0; i < 20 && !refused; i++) {
      const key = `while-full-${i}`;
      const r = await set(key);
      if (r.stdout.trim() === 'OK') ran.push(key);
      else refused = { key, out: `${r.stdout}${r.stderr}` };
    }
    expect(refused?.out).toContain('xport: audit log unavailable: no space left on the device of');
    await rm(filler);
    expect((await set('after')).stdout.trim()).toBe('OK');
    // Redis never ran the refused SET; it ran every one that was answered OK.
    const exists = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'EXISTS', refused!.key, 'before', 'after', ...ran]);
    expect(exists.stdout.trim()).toBe(String(2 + ran.length));
  }, 180_000);
});
