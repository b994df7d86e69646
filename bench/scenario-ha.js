// bench/scenario-ha: high availability (issue 14). Its own fixture, torn down after: PostgreSQL 15
// (initdb in the work dir; as root run as nobody), three `xctl start` replicas (auth + proxy) on
// it, HAProxy in TCP mode with two frontends — one over replica 0 only, one over all three — one
// remote agent joined through the balancer, one mutual-TLS redis-server, user alice.
//   ha.logins.*      logins/s (POST /v1/webapi/login, scrypt and all) through 1 vs 3 replicas
//   ha.sessions.*    new sessions/s (connect, AUTH, PING, close) through `xsh proxy db --tunnel`
//   ha.failover.*    SIGKILL of one replica while new sessions are opened back to back: the
//                    longest gap between two successful sessions, the sessions that failed, and
//                    how long until the agent's tunnels to the dead replica were dropped
// Must not import from test/ (plain ESM over dist/ and node:*).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { freePort, sleep, waitForPort } from './processes.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'alice-long-password';

/** session opens one client connection through a local tunnel, runs AUTH and PING, and closes. */
function session(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(10_000, () => done(false));
    s.on('error', () => done(false));
    s.on('close', () => done(buf === '+OK\r\n+PONG\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.split('\r\n').length > 2) done(buf === '+OK\r\n+PONG\r\n');
    });
    s.write('*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$8\r\nalice-pw\r\n*1\r\n$4\r\nPING\r\n');
  });
}

/** rate runs fn with `concurrency` loops for ms and returns successes per second and failures. */
async function rate(fn, { concurrency, ms }) {
  let ok = 0;
  let failed = 0;
  const end = Date.now() + ms;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        if (await fn().catch(() => false)) ok++;
        else failed++;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSecond: ok / s, failed };
}

async function startPostgres(group, work) {
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(root ? '/tmp' : work, 'xport-ha-pg-'));
  if (root) chownSync(dir, 65534, 65534);
  chmodSync(dir, 0o700);
  const prefix = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  const run = (bin, args) => {
    const argv = [...prefix, join(PG_BIN, bin), ...args];
    execFileSync(argv[0], argv.slice(1), { stdio: 'pipe', cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'xport', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const conf = [`port = '${port}'`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, "fsync = 'off'", "synchronous_commit = 'off'", "max_connections = '200'"];
  writeFileSync(join(data, 'postgresql.auto.conf'), conf.join('\n') + '\n');
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  if (root) execFileSync('chown', ['-R', '65534:65534', data]);
  const argv = [...prefix, join(PG_BIN, 'postgres'), '-D', data];
  const proc = group.start('postgres', argv[0], argv.slice(1), { cwd: dir });
  await waitForPort(port, 'postgres', 30_000, proc);
  return { url: `postgres://xport@127.0.0.1:${port}/postgres`, proc };
}

/** runHa measures the HA scenario and returns report rows. */
export async function runHa({ group, root, work, quick, reps = 3, log }) {
  for (const b of ['initdb', 'postgres']) {
    try {
      execFileSync('test', ['-x', join(PG_BIN, b)]);
    } catch {
      throw new Error(`${join(PG_BIN, b)} is missing: install postgresql-15`);
    }
  }
  const { ApiClient } = await import(pathToFileURL(join(root, 'dist/client/api.js')).href);
  const { generateKeyPair } = await import(pathToFileURL(join(root, 'dist/pki/index.js')).href);
  const dir = join(work, 'ha');
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, XSH_HOME: join(dir, 'xsh'), XSH_KEY_STORAGE: 'file', NODE_OPTIONS: '' };
  const xctlBin = join(root, 'bin', 'xctl.js');
  const xshBin = join(root, 'bin', 'xsh.js');
  const cli = async (bin, args, opts = {}) => {
    const r = await group.run(process.execPath, [bin, ...args], { env, ...opts });
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r;
  };

  log('ha: starting PostgreSQL …');
  const pg = await startPostgres(group, work);
  const [lb1Port, lb3Port, ...ports] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const lb3 = `127.0.0.1:${lb3Port}`;
  const replicas = [];
  log('ha: starting three replicas …');
  for (let i = 0; i < 3; i++) {
    const cfg = join(dir, `r${i}.yaml`);
    writeFileSync(
      cfg,
      [
        'version: v1',
        'cluster_name: ha-bench',
        `data_dir: ${join(dir, `r${i}`)}`,
        'auth_service:',
        '  storage: { type: postgres, conn_string: ' + pg.url + ' }',
        'proxy_service:',
        `  listen_addr: 127.0.0.1:${ports[i]}`,
        `  public_addr: ${lb3}`,
        'db_service: { enabled: false }',
        '',
      ].join('\n'),
    );
    const p = group.start(`xctl start r${i}`, process.execPath, [xctlBin, 'start', '-c', cfg], { env });
    const m = await p.waitFor(/CA pin (sha256:[0-9a-f]{64})/, 60_000);
    replicas.push({ proc: p, port: ports[i], dataDir: join(dir, `r${i}`), pin: m[1] });
  }
  const r0 = replicas[0];
  const xctl = (args, opts) => cli(xctlBin, ['--data-dir', r0.dataDir, ...args], opts);

  const haCfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    haCfg,
    [
      'global',
      '  maxconn 4000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 1h',
      '  timeout server 1h',
      '  retries 3',
      '  option redispatch',
      'frontend one',
      `  bind 127.0.0.1:${lb1Port}`,
      '  default_backend one',
      'frontend three',
      `  bind ${lb3}`,
      '  default_backend three',
      'backend one',
      `  server r0 127.0.0.1:${ports[0]} check inter 500ms fall 2 rise 2`,
      'backend three',
      '  balance roundrobin',
      '  default-server check inter 500ms fall 2 rise 2',
      ...ports.map((p, i) => `  server r${i} 127.0.0.1:${p}`),
      '',
    ].join('\n'),
  );
  const haproxy = group.start('haproxy', 'haproxy', ['-db', '-f', haCfg]);
  await waitForPort(lb3Port, 'haproxy', 10_000, haproxy);

  log('ha: redis, agent, alice …');
  const prefix = join(dir, 'redis');
  await xctl(['auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${prefix}`, '--ttl=24h']);
  writeFileSync(join(dir, 'users.acl'), 'user alice on >alice-pw ~* &* +@all\nuser default off\n');
  const redisPort = await freePort();
  writeFileSync(
    join(dir, 'redis.conf'),
    ['bind 127.0.0.1', 'port 0', `tls-port ${redisPort}`, `dir ${dir}`, 'save ""', 'appendonly no', 'maxclients 10000', `tls-cert-file ${prefix}.crt`, `tls-key-file ${prefix}.key`, `tls-ca-cert-file ${prefix}.cas`, 'tls-auth-clients yes', `aclfile ${join(dir, 'users.acl')}`, ''].join('\n'),
  );
  const redis = group.start('redis-server', 'redis-server', [join(dir, 'redis.conf')]);
  await waitForPort(redisPort, 'redis-server', 10_000, redis);
  writeFileSync(join(dir, 'role.yaml'), ['kind: role', 'version: v1', 'metadata: { name: dev }', 'spec:', '  allow:', '    db_labels: { env: dev }', "    db_users: ['{{internal.db_users}}']", ''].join('\n'));
  await xctl(['create', '-f', join(dir, 'role.yaml')]);
  const token = (await xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
  writeFileSync(
    join(dir, 'agent.yaml'),
    ['version: v1', `data_dir: ${join(dir, 'agent')}`, 'auth_service: { enabled: false }', 'proxy_service: { enabled: false }', 'db_service:', '  enabled: true', `  auth_token: ${token}`, `  proxy_server: ${lb3}`, `  ca_pin: ${r0.pin}`, '  databases:', '    - name: cache', '      protocol: redis', `      uri: rediss://127.0.0.1:${redisPort}`, '      static_labels: { env: dev }', ''].join('\n'),
  );
  group.start('xctl start agent', process.execPath, [xctlBin, 'start', '-c', join(dir, 'agent.yaml')], { env });
  const add = await xctl(['users', 'add', 'alice', '--roles=dev', '--db-users=alice']);
  const invite = /--invite=([0-9a-f]+)/.exec(add.stdout)?.[1];
  await cli(xshBin, ['login', `--proxy=${lb3}`, '--user=alice', `--invite=${invite}`, `--ca-pin=${r0.pin}`, '--password-stdin'], { input: `${PASSWORD}\n` });
  // A second profile for the balancer over replica 0 alone.
  await cli(xshBin, ['login', `--proxy=127.0.0.1:${lb1Port}`, '--user=alice', `--ca-pin=${r0.pin}`, '--password-stdin'], { input: `${PASSWORD}\n` });
  const status = async () => JSON.parse((await xctl(['status', '--format=json'])).stdout);
  const waitTunnels = async (n, what) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await status();
      if (s.proxies?.length === n && s.proxies.every((p) => p.tunnels.length === 1)) return;
      if (Date.now() > deadline) throw new Error(`ha: ${what}: ${JSON.stringify(s.proxies)}`);
      await sleep(100);
    }
  };
  await waitTunnels(3, 'the agent did not reach all three replicas');

  const tunnels = {};
  for (const [name, port] of [['one', lb1Port], ['three', lb3Port]]) {
    const local = await freePort();
    const p = group.start(`xsh proxy db (${name})`, process.execPath, [xshBin, `--proxy=127.0.0.1:${port}`, 'proxy', 'db', 'cache', '--db-user=alice', '--tunnel', '--port', String(local)], { env });
    await waitForPort(local, 'xsh proxy db', 20_000, p);
    tunnels[name] = local;
  }

  // Logins and new sessions through 1 vs 3 replicas, interleaved in rounds (the machine is shared,
  // so a slow moment hits both paths alike); the figure is the median over rounds.
  // A login is one scrypt verification plus a certificate.
  const kp = generateKeyPair('ecdsa-p256');
  const ms = quick ? 2_000 : 3_000;
  const concurrency = 8;
  const paths = { one: lb1Port, three: lb3Port };
  const samples = { logins: { one: [], three: [] }, sessions: { one: [], three: [] } };
  const failed = { logins: 0, sessions: 0 };
  const loginFn = (port) => {
    const api = new ApiClient({ addr: `127.0.0.1:${port}`, caPin: r0.pin });
    return async () => (await api.request('POST', '/v1/webapi/login', { user: 'alice', password: PASSWORD, public_key: kp.publicKeyPem }), true);
  };
  for (const name of Object.keys(paths)) {
    await rate(loginFn(paths[name]), { concurrency: 2, ms: 500 }); // warm-up
    await rate(() => session(tunnels[name]), { concurrency: 2, ms: 500 });
  }
  for (let round = 0; round < reps; round++) {
    for (const name of round % 2 ? ['three', 'one'] : ['one', 'three']) {
      const l = await rate(loginFn(paths[name]), { concurrency, ms });
      const n = await rate(() => session(tunnels[name]), { concurrency, ms });
      samples.logins[name].push(l.perSecond);
      samples.sessions[name].push(n.perSecond);
      failed.logins += l.failed;
      failed.sessions += n.failed;
      log(`ha: round ${round + 1}/${reps} through ${name}: ${l.perSecond.toFixed(1)} logins/s, ${n.perSecond.toFixed(1)} new sessions/s`);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const stat = (xs) => ({ perSecond: med(xs), min: Math.min(...xs), max: Math.max(...xs) });
  const logins = { one: stat(samples.logins.one), three: stat(samples.logins.three) };
  const sessions = { one: stat(samples.sessions.one), three: stat(samples.sessions.three) };

  // Fail-over: new sessions back to back through the balancer of three; SIGKILL replica 2.
  log('ha: fail-over: SIGKILL replica 2 under new sessions …');
  let stop = false;
  let lastOk = Date.now();
  let maxGap = 0;
  let failedAfterKill = 0;
  let killedAt = 0;
  const prober = (async () => {
    while (!stop) {
      const ok = await session(tunnels.three);
      const now = Date.now();
      if (ok) {
        if (killedAt) maxGap = Math.max(maxGap, now - lastOk);
        lastOk = now;
      } else if (killedAt) failedAfterKill++;
    }
  })();
  await sleep(1_000);
  killedAt = Date.now();
  lastOk = killedAt;
  process.kill(replicas[2].proc.pid, 'SIGKILL');
  await waitTunnels(2, 'the agent did not drop the dead replica');
  const dropMs = Date.now() - killedAt;
  await sleep(1_000);
  stop = true;
  await prober;
  log(`ha: fail-over: longest gap between new sessions ${maxGap} ms, ${failedAfterKill} failed, tunnels to the dead replica dropped after ${dropMs} ms`);

  const note = `${concurrency} concurrent clients, ${reps} rounds of ${ms / 1000} s; all replicas share this machine's CPUs; ${failed.logins + failed.sessions} failed`;
  const rows = [
    { id: 'ha.logins.one', scenario: 'HA: logins/s through HAProxy → 1 replica (PostgreSQL backend)', unit: 'logins/s', median: logins.one.perSecond, min: logins.one.min, max: logins.one.max, note },
    { id: 'ha.logins.three', scenario: 'HA: logins/s through HAProxy → 3 replicas', unit: 'logins/s', median: logins.three.perSecond, min: logins.three.min, max: logins.three.max, note, baseline: { id: 'ha.logins.one', label: '1 replica', ratio: logins.three.perSecond / logins.one.perSecond } },
    { id: 'ha.sessions.one', scenario: 'HA: new sessions/s (connect, AUTH, PING, close) via xsh tunnel → HAProxy → 1 replica', unit: 'sessions/s', median: sessions.one.perSecond, min: sessions.one.min, max: sessions.one.max, note },
    { id: 'ha.sessions.three', scenario: 'HA: new sessions/s via xsh tunnel → HAProxy → 3 replicas', unit: 'sessions/s', median: sessions.three.perSecond, min: sessions.three.min, max: sessions.three.max, note, baseline: { id: 'ha.sessions.one', label: '1 replica', ratio: sessions.three.perSecond / sessions.one.perSecond } },
    { id: 'ha.failover.gap', scenario: 'HA: SIGKILL of a replica — longest gap between successful new sessions', unit: 'ms', lowerIsBetter: true, median: maxGap, note: `${failedAfterKill} new sessions failed` },
    { id: 'ha.failover.drop', scenario: "HA: SIGKILL of a replica — until the agent's tunnels to it are dropped (heartbeat TTL 10 s)", unit: 'ms', lowerIsBetter: true, median: dropMs },
  ];
  return { rows, raw: { samples, failover: { maxGapMs: maxGap, failedAfterKill, dropMs } } };
}
