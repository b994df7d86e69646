/**
 * e2e: issue 11, the newcomer's path — each place a new user got stuck following the README,
 * walked again through the real binaries (`node bin/xctl.js`, `node bin/xsh.js`), a real
 * `xctl start`, a real TLS redis-server and redis-cli.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT, inviteToken, runCli, runProcess, tmpDir, type RunOptions, type XshUser } from '../helpers/cli.js';
import { hasRedis, startRedis } from '../helpers/redis-server.js';
import { startDbCluster, waitFor, type DbCluster } from '../helpers/db-cluster.js';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';

const redisCli = ['--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning'];

/** Spawned is a long-running child whose output the test watches. */
interface Spawned {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  exit(): Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function spawnBin(cmd: string, args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, XSH_KEY_STORAGE: 'file', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return {
    child,
    output: () => out,
    async waitFor(re, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exit: () => exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** talk sends one RESP command to a local port and returns the first reply line. */
function talk(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply on ${port}; got ${JSON.stringify(buf)}`));
    }, 20_000);
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(buf.split('\r\n')[0]!);
      }
    });
    s.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    s.write(command);
  });
}

/** loginUser completes an invite the way the printed command says, in a fresh XSH_HOME. */
async function freshHome(): Promise<{ home: string; xsh: (args: string[], o?: RunOptions) => ReturnType<typeof runCli> }> {
  const home = join(await tmpDir(), 'xsh');
  return { home, xsh: (args, o = {}) => runCli('xsh', args, { ...o, env: { XSH_HOME: home, ...o.env } }) };
}

/** shellWords splits a printed command line (no quoting in the commands xctl prints). */
const shellWords = (line: string) => line.trim().split(/\s+/);

describe('the newcomer path (issue 11)', () => {
  let c: DbCluster;
  const started: Spawned[] = [];
  beforeAll(async () => {
    if (!hasRedis()) throw new Error('redis-server and redis-cli are required for this e2e test (apt-get install redis-server redis-tools)');
    c = await startDbCluster();
  }, 120_000);
  afterAll(async () => {
    for (const s of started) await s.stop('SIGKILL');
    await c?.stop();
  });

  // ─── item 3: AUTH as another user ─────────────────────────────────────────────────────────────

  it('names --db-user in the error when AUTH asks for a user the session is not routed to, and does not save the route it picked', async () => {
    const add = await c.svc.xctl(['users', 'add', 'carol', '--roles=dev-all', '--db-users=alice,default']);
    expect(add.code).toBe(0);
    const { xsh } = await freshHome();
    const login = await xsh(['login', `--proxy=${c.svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${c.svc.pin}`, '--password-stdin'], { input: 'carol-long-password\n' });
    expect(login.code, login.stderr).toBe(0);

    // No --db-user: the server picks "default" (carol may use two), then redis-cli sends AUTH alice.
    const r = await xsh(['db', 'connect', 'cache', ...redisCli, 'PING']);
    expect(r.stdout + r.stderr).toContain('failed to authenticate as alice user');
    expect(r.stdout + r.stderr).toContain('xsh db connect cache --db-user=alice');
    // The pick was never the user's choice: no saved database login…
    const ls = JSON.parse((await xsh(['db', 'ls', '--format=json'])).stdout) as { name: string; active: unknown }[];
    expect(ls.find((d) => d.name === 'cache')!.active).toBeNull();
    // …so the command the error names works at once, without xsh db logout.
    const ok = await xsh(['db', 'connect', 'cache', '--db-user=alice', ...redisCli, 'PING']);
    expect(ok.stdout.trim()).toBe('PONG');
    // A db user the user named is remembered, as tsh does.
    const after = JSON.parse((await xsh(['db', 'ls', '--format=json'])).stdout) as { name: string; active: { db_user: string } | null }[];
    expect(after.find((d) => d.name === 'cache')!.active).toMatchObject({ db_user: 'alice' });
    // The denial is audited with the same message.
    const audit = JSON.parse((await c.svc.xctl(['audit', 'ls', '--type=db.session.query', '--user=carol', '--format=json'])).stdout) as { error?: string }[];
    expect(audit.some((e) => e.error?.includes('--db-user=alice'))).toBe(true);
  }, 60_000);

  // ─── item 4: CA pin ───────────────────────────────────────────────────────────────────────────

  it('prints --ca-pin in the invite command, and keeps the cluster CA across xsh logout unless --forget-ca', async () => {
    const add = await c.svc.xctl(['users', 'add', 'dave', '--roles=dev-all', '--db-users=alice']);
    const line = add.stdout.split('\n').find((l) => l.trim().startsWith('xsh login '));
    expect(line).toContain(`--ca-pin=${c.svc.pin}`);
    const { xsh } = await freshHome();
    // The printed command, as pasted (plus --password-stdin instead of the prompts).
    const first = await xsh([...shellWords(line!).slice(1), '--password-stdin'], { input: 'dave-long-password\n' });
    expect(first.code, first.stderr).toBe(0);
    expect((await xsh(['logout'])).code).toBe(0);
    // The README's "later logins" command: no pin, and the proxy's certificate is self-signed.
    const later = await xsh(['login', `--proxy=${c.svc.addr}`, '--user=dave', '--password-stdin'], { input: 'dave-long-password\n' });
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toContain('Logged in as:       dave');
    const forget = await xsh(['logout', '--forget-ca', `--proxy=${c.svc.addr}`]);
    expect(forget.stdout).toContain('Forgot the cluster CA');
    const refused = await xsh(['login', `--proxy=${c.svc.addr}`, '--user=dave', '--password-stdin'], { input: 'dave-long-password\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--ca-pin');
    // Reset links carry the pin too.
    const reset = await c.svc.xctl(['users', 'reset', 'dave']);
    expect(reset.stdout).toContain(`--ca-pin=${c.svc.pin}`);
  }, 60_000);

  // ─── item 5: a running tunnel picks up a new login ────────────────────────────────────────────

  it('xsh proxy db --tunnel keeps working after the certificate expired and the user logged in again, and says so', async () => {
    const add = await c.svc.xctl(['users', 'add', 'erin', '--roles=dev-all', '--db-users=alice']);
    const { home, xsh } = await freshHome();
    // A login that expires within seconds.
    const login = await xsh(['login', `--proxy=${c.svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${c.svc.pin}`, '--ttl=8s', '--password-stdin'], { input: 'erin-long-password\n' });
    expect(login.code, login.stderr).toBe(0);
    const tunnel = spawnBin(process.execPath, [join(ROOT, 'bin', 'xsh.js'), 'proxy', 'db', 'cache', '--db-user=alice', '--tunnel'], { XSH_HOME: home });
    started.push(tunnel);
    const port = Number((await tunnel.waitFor(/redis-cli -h 127\.0\.0\.1 -p (\d+)/, 'the tunnel banner'))[1]);
    expect(await talk(port, 'AUTH alice alice-pw\r\n')).toBe('+OK');
    await waitFor('the login to expire', async () => (await xsh(['status'])).code === 4, 60_000);
    // Before the new login: the tunnel says what is wrong.
    expect(await talk(port, 'PING\r\n')).toMatch(/^-ERR xport: .*expired/);
    const again = await xsh(['login', `--proxy=${c.svc.addr}`, '--user=erin', '--password-stdin'], { input: 'erin-long-password\n' });
    expect(again.code, again.stderr).toBe(0);
    expect(await talk(port, 'AUTH alice alice-pw\r\n')).toBe('+OK');
    expect(tunnel.output()).toContain('Picked up the new login of erin');
    // Ctrl-C exits 130, as the README's exit codes say.
    expect(await tunnel.stop('SIGINT')).toBe(130);
  }, 120_000);

  // ─── item 6: audit ls ─────────────────────────────────────────────────────────────────────────

  it('audit ls shows the newest events (newest last), says how many it left out, and pages past 10,000 events', async () => {
    // 10,500 audited commands through the real path, so the listing must cross pages.
    const many = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', ...redisCli, '-r', '10500', 'PING'], { timeoutMs: 240_000 });
    expect(many.code, many.stderr).toBe(0);
    const all = JSON.parse((await c.svc.xctl(['audit', 'ls', '--format=json', '--limit=100000'], { timeoutMs: 120_000 })).stdout) as { id: string; time: string; type: string }[];
    expect(all.length).toBeGreaterThan(10_500);
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids); // oldest first, newest last

    const three = await c.svc.xctl(['audit', 'ls', '--limit=3']);
    expect(three.code).toBe(0);
    const rows = three.stdout.trim().split('\n').slice(2);
    expect(rows).toHaveLength(3);
    expect(three.stderr).toMatch(/^Showing the newest 3 of \d+ events; use --since or --limit to see others\.$/m);
    const newest = JSON.parse((await c.svc.xctl(['audit', 'ls', '--limit=1', '--format=json'])).stdout) as { time: string; type: string }[];
    expect(rows[2]).toContain(newest[0]!.time);
    // The default is the newest 100, not the oldest 500.
    const dflt = JSON.parse((await c.svc.xctl(['audit', 'ls', '--format=json'])).stdout) as { id: string }[];
    expect(dflt).toHaveLength(100);
    expect(dflt.at(-1)!.id >= all.at(-1)!.id).toBe(true);
    expect((await c.svc.xctl(['audit', 'ls', '--limit=0'])).code).toBe(2);
  }, 300_000);

  it('audit ls --follow prints events as they happen and exits 130 on Ctrl-C', async () => {
    const follow = spawnBin(process.execPath, [join(ROOT, 'bin', 'xctl.js'), '--data-dir', c.svc.dataDir, 'audit', 'ls', '--follow', '--type=user.login', '--limit=1']);
    started.push(follow);
    await follow.waitFor(/Following new events/, 'the follow banner');
    const before = follow.output();
    const login = await c.bob.xsh(['login', `--proxy=${c.svc.addr}`, '--user=bob', '--password-stdin'], { input: `${c.bob.password}\n` });
    expect(login.code).toBe(0);
    await follow.waitFor(new RegExp(`[\\s\\S]{${before.length}}[\\s\\S]*user\\.login\\s+T1000I\\s+bob`), 'the new login event');
    expect(await follow.stop('SIGINT')).toBe(130);
  }, 60_000);

  // ─── item 2: Redis Cluster node certificates (the full set-up runs in readme-cluster.test.ts) ─

  it('auth sign --cluster reuses the cluster CA for the next node and signs server+client certificates', async () => {
    const { X509Certificate } = await import('node:crypto');
    const dir = await tmpDir();
    const first = await c.svc.xctl(['auth', 'sign', '--format=redis', '--cluster', '--host=10.0.0.1', `--out=${join(dir, 'node1')}`]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`The cluster CA has been created in ${join(dir, 'cluster-ca')}.crt`);
    const second = await c.svc.xctl(['auth', 'sign', '--format=redis', '--cluster', '--host=node2.internal,10.0.0.2', `--out=${join(dir, 'node2')}`, `--cluster-ca=${join(dir, 'cluster-ca')}`]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`Signed with the cluster CA ${join(dir, 'cluster-ca')}.crt`);
    const ca = new X509Certificate(await readFile(join(dir, 'cluster-ca.crt')));
    for (const [n, san] of [['node1', 'IP Address:10.0.0.1'], ['node2', 'DNS:node2.internal']] as const) {
      const cert = new X509Certificate(await readFile(join(dir, `${n}.crt`)));
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subjectAltName).toContain(san);
      expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
      // The bundle: this cluster's CA and xport's db_client CA, not xport's db CA.
      const cas = await readFile(join(dir, `${n}.cas`), 'utf8');
      const dbClient = (await c.svc.xctl(['auth', 'export', '--type=db-client'])).stdout;
      const dbCa = (await c.svc.xctl(['auth', 'export', '--type=db'])).stdout;
      expect(cas).toBe(ca.toString() + dbClient);
      expect(cas).not.toContain(dbCa.trim());
    }
    // Existing node files are not overwritten, and the flags only go with --format=redis.
    const again = await c.svc.xctl(['auth', 'sign', '--format=redis', '--cluster', '--host=10.0.0.1', `--out=${join(dir, 'node1')}`]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect((await c.svc.xctl(['auth', 'sign', '--format=file', '--user=alice', `--out=${join(dir, 'x.pem')}`, '--cluster'])).code).toBe(2);
  });

  // ─── item 8: -o stdout ────────────────────────────────────────────────────────────────────────

  it('-o stdout prints in install systemd as in db configure create, and file:// writes', async () => {
    const unit = await runCli('xctl', ['install', 'systemd', '-o', 'stdout']);
    expect(unit.code).toBe(0);
    expect(unit.stdout).toContain('ExecStart=/usr/local/bin/xctl start -c /etc/xport.yaml');
    expect(existsSync(join(ROOT, 'stdout'))).toBe(false);
    const dir = await tmpDir();
    const written = await runCli('xctl', ['install', 'systemd', '-o', `file://${join(dir, 'xport.service')}`]);
    expect(written.stdout).toContain(`Wrote systemd unit to ${join(dir, 'xport.service')}`);
    expect(await readFile(join(dir, 'xport.service'), 'utf8')).toContain('[Service]');
    const cfg = await runCli('xctl', ['db', 'configure', 'create', '--token=abc', '--proxy=127.0.0.1:3080', '-o', 'stdout']);
    expect(cfg.stdout).toContain('auth_token: abc');
    expect(existsSync(join(ROOT, 'stdout'))).toBe(false);
  });

  // ─── item 9 (+ 11: clean SIGTERM): output shapes, a remote agent ──────────────────────────────

  it('gives json lists, a real addr.remote, a code for agent.join, and an editable kind: db from xctl get', async () => {
    const json = JSON.parse((await c.bob.xsh(['db', 'ls', '--format=json'])).stdout) as { allowed_users: unknown; denied_users: unknown }[];
    expect(json[0]!.allowed_users).toEqual(['bob']);
    expect(json[0]!.denied_users).toEqual([]);

    const starts = JSON.parse((await c.svc.xctl(['audit', 'ls', '--type=db.session.start', '--format=json'])).stdout) as Record<string, unknown>[];
    expect(starts.length).toBeGreaterThan(0);
    for (const e of starts) expect(e['addr.remote']).toMatch(/^127\.0\.0\.1:\d+$/);

    // xctl get db/cache > file, edit, create --force, get again.
    const got = await c.svc.xctl(['get', 'db/cache']);
    expect(got.stdout).toMatch(/^kind: db\nversion: v1\nmetadata:\n {2}name: cache\n/);
    const dir = await tmpDir();
    const file = join(dir, 'cache.yaml');
    await writeFile(file, got.stdout.replace('description: test cache', 'description: edited cache'));
    const apply = await c.svc.xctl(['create', '-f', file, '--force']);
    expect(apply.stdout).toContain('database "cache" has been updated');
    expect((await c.svc.xctl(['get', 'db/cache'])).stdout).toContain('description: edited cache');
    await writeFile(file, got.stdout);
    await c.svc.xctl(['create', '-f', file, '--force']);
    const missing = await c.svc.xctl(['get', 'db/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('database "nope" does not exist');

    // A remote agent joins: agent.join has its code; a clean SIGTERM does not say "lost the proxy connection".
    const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const cfgPath = join(dir, 'agent.yaml');
    const gen = await runCli('xctl', [
      'db', 'configure', 'create', `--token=${token}`, `--proxy=${c.svc.addr}`, `--ca-pin=${c.svc.pin}`,
      '--name=cache3', '--protocol=redis', `--uri=rediss://127.0.0.1:${c.redis.port}`, '--labels=env=dev',
      `--data-dir=${join(dir, 'data')}`, `--output=file://${cfgPath}`,
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    const agent = spawnBin(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfgPath]);
    started.push(agent);
    await agent.waitFor(/connected to the proxy/, 'the remote agent to connect');
    await waitFor('agent.join audited', async () => {
      const r = await c.svc.xctl(['audit', 'ls', '--type=agent.join', '--format=json']);
      return (JSON.parse(r.stdout) as unknown[]).length > 0;
    });
    const joins = JSON.parse((await c.svc.xctl(['audit', 'ls', '--type=agent.join', '--format=json'])).stdout) as { code: string }[];
    expect(joins[0]!.code).toBe('TJ001I');
    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(agent.output()).not.toContain('lost the proxy connection');
  }, 90_000);

  // ─── item 11: the smaller ones ────────────────────────────────────────────────────────────────

  it('xctl db ls shows a database whose TLS fails as unhealthy, with the reason', async () => {
    // A Redis whose certificate another CA signed, and that trusts only that CA (not xport's
    // db_client CA): sessions would fail the TLS handshake.
    const dir = await tmpDir();
    const prefix = join(dir, 'foreign');
    const otherCa = CertificateAuthority.create({ type: 'db', clusterName: 'another-cluster' });
    const keys = generateKeyPair();
    const cert = otherCa.issue({
      publicKey: keys.publicKey,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      extKeyUsage: ['serverAuth', 'clientAuth'],
    });
    await writeFile(`${prefix}.crt`, cert.certPem);
    await writeFile(`${prefix}.key`, keys.privateKeyPem, { mode: 0o600 });
    await writeFile(`${prefix}.cas`, otherCa.certPem);
    const bad = await startRedis([`tls-cert-file ${prefix}.crt`, `tls-key-file ${prefix}.key`, `tls-ca-cert-file ${prefix}.cas`, 'tls-auth-clients yes'], { tlsPort: true });
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, `kind: db\nversion: v1\nmetadata:\n  name: badtls\n  labels: { env: dev }\nspec:\n  protocol: redis\n  uri: rediss://127.0.0.1:${bad.port}\n`);
      expect((await c.svc.xctl(['create', '-f', file])).code).toBe(0);
      await waitFor('badtls unhealthy', async () => {
        const r = await c.svc.xctl(['db', 'ls', '--format=json']);
        return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'badtls' && d.status === 'unhealthy');
      }, 60_000);
      const text = await c.svc.xctl(['db', 'ls']);
      expect(text.stdout).toMatch(/badtls .*unhealthy: failed to connect to the target database: .*certificate/);
      expect(text.stdout).toMatch(/cache .*online/);
      await c.svc.xctl(['rm', 'db/badtls']);
    } finally {
      await bad.stop();
    }
  }, 120_000);

  it('says the 12-character minimum before asking to confirm the password', async () => {
    const add = await c.svc.xctl(['users', 'add', 'frank', '--roles=dev-all']);
    const { home } = await freshHome();
    // The prompts need a terminal: script(1) gives xsh a pseudo-terminal and types the input.
    const cmd = [process.execPath, join(ROOT, 'bin', 'xsh.js'), 'login', `--proxy=${c.svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${c.svc.pin}`].join(' ');
    const r = await runProcess('script', ['-qec', cmd, '/dev/null'], { input: 'short\r', env: { XSH_HOME: home } });
    expect(r.stdout).toContain('Password:');
    expect(r.stdout).toContain('password must be at least 12 characters long');
    expect(r.stdout).not.toContain('Confirm password');
    expect(r.code).toBe(1);
  }, 30_000);

  it('xsh status lists database logins, and answers --format json when not logged in', async () => {
    const login = await c.alice.xsh(['db', 'login', 'cache', '--db-user=alice']);
    expect(login.code).toBe(0);
    const text = await c.alice.xsh(['status']);
    expect(text.stdout).toMatch(/Databases:\s+cache \(user: alice\)/);
    const json = JSON.parse((await c.alice.xsh(['status', '--format=json'])).stdout) as { logged_in: boolean; databases: { name: string; db_user: string }[] };
    expect(json.logged_in).toBe(true);
    expect(json.databases).toEqual([expect.objectContaining({ name: 'cache', db_user: 'alice' })]);
    const { xsh } = await freshHome();
    const none = await xsh(['status', '--format=json']);
    expect(none.code).toBe(4);
    expect(JSON.parse(none.stdout)).toMatchObject({ logged_in: false });
  });

  it('xsh db ls --search and --query filter the listing, and a bad query says what works', async () => {
    const hit = JSON.parse((await c.alice.xsh(['db', 'ls', '--search=CACHE,dev', '--format=json'])).stdout) as { name: string }[];
    expect(hit.map((d) => d.name)).toContain('cache');
    const miss = JSON.parse((await c.alice.xsh(['db', 'ls', '--search=nothing-like-it', '--format=json'])).stdout) as unknown[];
    expect(miss).toEqual([]);
    const q = JSON.parse((await c.alice.xsh(['db', 'ls', '--query=labels["env"] == "dev" && name == "cache"', '--format=json'])).stdout) as { name: string }[];
    expect(q.map((d) => d.name)).toEqual(['cache']);
    const qn = JSON.parse((await c.alice.xsh(['db', 'ls', '--query=name != "cache"', '--format=json'])).stdout) as { name: string }[];
    expect(qn.map((d) => d.name)).not.toContain('cache');
    const bad = await c.alice.xsh(['db', 'ls', '--query=env=dev']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Supported: name == "x"');
  });
});

describe('npm run demo, interrupted', () => {
  it('stops the xctl start and redis-server it started and exits 130', async () => {
    if (!hasRedis()) throw new Error('redis-server is required for this e2e test');
    const demo = spawnBin(process.execPath, [join(ROOT, 'scripts', 'demo.js')]);
    try {
      const svcPid = Number((await demo.waitFor(/\[xctl start pid (\d+)\]/, 'xctl start', 60_000))[1]);
      const redisPid = Number((await demo.waitFor(/\[redis-server pid (\d+)\]/, 'redis-server', 90_000))[1]);
      const work = /--data-dir (\/\S+)\/data/.exec(demo.output())?.[1];
      process.kill(demo.child.pid!, 'SIGINT');
      expect(await demo.exit()).toBe(130);
      const gone = (pid: number) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      };
      await waitFor('the demo children to be gone', async () => gone(svcPid) && gone(redisPid), 20_000);
      expect(demo.output()).toContain('demo interrupted (SIGINT): stopping what it started');
      if (work) await expect(stat(work)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await demo.stop('SIGKILL');
    }
  }, 150_000);
});

