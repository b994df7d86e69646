// bench/fixture: brings up what the access-path, certificate, start-up and memory scenarios need,
// all on 127.0.0.1 and all through a ProcessGroup (stopped by PID):
//
//   xctl start (all-in-one: auth + proxy + in-process agent) in a temp data dir
//   redis-server with a plain port (for the stunnel pair) and a mutual-TLS port that trusts
//     xport's db_client CA (for the agent) and a bench-only client CA (for redis-benchmark --tls)
//   user alice (role bench-dev: allow env=dev as alice, deny FLUSHALL), logged in with xsh
//   database "cache" (rediss://127.0.0.1:<tls port>), online
//   on demand: `xsh proxy db cache --tunnel --port P` and a stunnel pair
//
// Why a bench client CA: Redis must check redis-benchmark's client certificate the way it checks
// the agent's, but the db_client CA's key lives inside xport's SQLite store and xport has no
// command that issues a bare db_client certificate. So the bench makes its own ECDSA P-256 CA with
// xport's pki (dist/pki) and appends it to the CA file Redis trusts; both paths are mutual TLS.
// Must not import from test/ or src/; uses only dist/ and node:*.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';
import { freePort, sleep, waitForPort } from './processes.js';

/** PASSWORDS used by the fixture (loopback-only throwaway values). */
export const ALICE_PASSWORD = 'bench-alice-long-password';
/** REDIS_PASSWORD is alice's Redis ACL password (redis-benchmark sends it with --user alice -a). */
export const REDIS_PASSWORD = 'alice-redis-pw';

/** xportEnv is the environment the xsh/xctl children get. */
function xportEnv(work) {
  // NODE_OPTIONS from the caller's shell (a debugger, --inspect) must not leak into measured processes.
  return { ...process.env, XSH_HOME: join(work, 'xsh'), XSH_KEY_STORAGE: 'file', NODE_OPTIONS: '' };
}

/**
 * Fixture is the running cluster. Create it with {@link startFixture}; everything it starts is in
 * the ProcessGroup the caller passes, which stops it.
 */
export class Fixture {
  constructor(group, root, work) {
    this.group = group;
    this.root = root;
    this.work = work;
    this.dataDir = join(work, 'data');
    this.env = xportEnv(work);
    this.files = {};
  }

  bin(name) {
    return join(this.root, 'bin', `${name}.js`);
  }

  /** xctl runs `xctl --data-dir D …` to completion and throws unless it exits 0. */
  async xctl(args, opts = {}) {
    const r = await this.group.run(process.execPath, [this.bin('xctl'), '--data-dir', this.dataDir, ...args], { env: this.env, ...opts });
    if (r.code !== 0 && !opts.allowFail) throw new Error(`xctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /** xsh runs `xsh …` with the fixture's XSH_HOME and throws unless it exits 0. */
  async xsh(args, opts = {}) {
    const r = await this.group.run(process.execPath, [this.bin('xsh'), ...args], { env: this.env, ...opts });
    if (r.code !== 0 && !opts.allowFail) throw new Error(`xsh ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /**
   * startService starts `xctl start` (again) on the fixture's data dir and proxy address. nodeArgs
   * go to node itself (--cpu-prof is not allowed in NODE_OPTIONS).
   */
  async startService(nodeArgs = []) {
    const svc = this.group.start(
      'xctl start',
      process.execPath,
      [...nodeArgs, this.bin('xctl'), 'start', '--data-dir', this.dataDir, '--listen-addr', this.proxyAddr ?? '127.0.0.1:0'],
      { env: this.env },
    );
    const m = await svc.waitFor(/Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/);
    this.svc = svc;
    this.proxyAddr = m[1];
    this.caPin = m[2];
    return svc;
  }

  /** stopService stops `xctl start` (SIGTERM: it flushes the audit log and exits cleanly). */
  async stopService() {
    await this.svc?.stop(30_000);
    this.svc = undefined;
  }

  /** waitOnline polls `xctl db ls` until database cache is online. */
  async waitOnline(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.xctl(['db', 'ls', '--format=json'], { allowFail: true });
      if (r.code === 0 && JSON.parse(r.stdout).some((d) => d.name === 'cache' && d.status === 'online')) return;
      if (Date.now() > deadline) throw new Error(`database cache did not come online:\n${r.stdout}${r.stderr}`);
      await sleep(200);
    }
  }

  /** startTunnel starts `xsh proxy db cache --tunnel --port P --db-user alice` and waits for its banner. */
  async startTunnel(nodeArgs = []) {
    const port = await freePort();
    const t = this.group.start(
      'xsh proxy db',
      process.execPath,
      [...nodeArgs, this.bin('xsh'), 'proxy', 'db', 'cache', '--tunnel', '--port', String(port), '--db-user', 'alice'],
      { env: this.env },
    );
    await t.waitFor(/Started authenticated tunnel/);
    await waitForPort(port, 'xsh proxy db', 10_000, t);
    this.tunnel = t;
    this.tunnelPort = port;
    return t;
  }

  /** stopTunnel stops the local tunnel (SIGTERM: it closes its listener and exits cleanly). */
  async stopTunnel() {
    await this.tunnel?.stop(15_000);
    this.tunnel = undefined;
  }

  /** restartRedis stops redis-server and starts it again with the same config (same ports). */
  async restartRedis() {
    await this.redis.stop();
    this.redis = this.group.start('redis-server', 'redis-server', [join(this.work, 'redis', 'redis.conf')]);
    await waitForPort(this.redisTlsPort, 'redis-server', 10_000, this.redis);
  }

  /**
   * startStunnelPair starts the generic alternative: a client stunnel (plain in, TLS out with the
   * bench client certificate) and a server stunnel (TLS in, verifying that certificate, plain out
   * to Redis's plain port). Returns the client side's plain port.
   */
  async startStunnelPair() {
    const dir = join(this.work, 'stunnel');
    mkdirSync(dir, { recursive: true });
    const serverPort = await freePort();
    const clientPort = await freePort();
    const f = this.files;
    const server = [
      'foreground = yes',
      'pid =',
      'debug = 3',
      '[redis-server-side]',
      `accept = 127.0.0.1:${serverPort}`,
      `connect = 127.0.0.1:${this.redisPlainPort}`,
      `cert = ${f.serverCert}`,
      `key = ${f.serverKey}`,
      `CAfile = ${f.benchClientCa}`,
      'verifyChain = yes',
      'requireCert = yes',
      'sslVersionMin = TLSv1.2',
    ];
    const client = [
      'foreground = yes',
      'pid =',
      'debug = 3',
      '[redis-client-side]',
      'client = yes',
      `accept = 127.0.0.1:${clientPort}`,
      `connect = 127.0.0.1:${serverPort}`,
      `cert = ${f.benchClientCert}`,
      `key = ${f.benchClientKey}`,
      `CAfile = ${f.dbCa}`,
      'verifyChain = yes',
      'checkIP = 127.0.0.1',
      'sslVersionMin = TLSv1.2',
    ];
    writeFileSync(join(dir, 'server.conf'), server.join('\n') + '\n');
    writeFileSync(join(dir, 'client.conf'), client.join('\n') + '\n');
    const s = this.group.start('stunnel (server side)', 'stunnel4', [join(dir, 'server.conf')]);
    await waitForPort(serverPort, 'stunnel server side', 10_000, s);
    const c = this.group.start('stunnel (client side)', 'stunnel4', [join(dir, 'client.conf')]);
    await waitForPort(clientPort, 'stunnel client side', 10_000, c);
    this.stunnelPort = clientPort;
    return clientPort;
  }

  /**
   * startNodePair starts the Node floor: two `bench/node-pair.js` processes (plain in, TLS out with
   * the bench client certificate; TLS in, verifying it, plain out to Redis) that only pipe bytes.
   * Returns the client port.
   */
  async startNodePair() {
    const serverPort = await freePort();
    const clientPort = await freePort();
    const f = this.files;
    const script = join(this.root, 'bench', 'node-pair.js');
    const s = this.group.start('node pair (server side)', process.execPath, [script, 'server', String(serverPort), String(this.redisPlainPort), f.serverCert, f.serverKey, f.benchClientCa]);
    await waitForPort(serverPort, 'node pair server side', 10_000, s);
    const c = this.group.start('node pair (client side)', process.execPath, [script, 'client', String(clientPort), String(serverPort), f.benchClientCert, f.benchClientKey, f.dbCa]);
    await waitForPort(clientPort, 'node pair client side', 10_000, c);
    this.nodePairPort = clientPort;
    return clientPort;
  }

  /**
   * startHaproxyPair starts what a user who only wants "TLS to Redis" picks: Debian's HAProxy in
   * `mode tcp`, a client side (plain in, TLS out with the bench client certificate, verifying the
   * server) and a server side (TLS in, requiring that client certificate, plain out to Redis's plain
   * port) — the same shape and the same certificates as the stunnel pair. Returns the client port.
   */
  async startHaproxyPair() {
    const dir = join(this.work, 'haproxy');
    mkdirSync(dir, { recursive: true });
    const serverPort = await freePort();
    const clientPort = await freePort();
    const f = this.files;
    // HAProxy wants certificate and key in one PEM file.
    const serverPem = join(dir, 'server.pem');
    const clientPem = join(dir, 'client.pem');
    writeFileSync(serverPem, readFileSync(f.serverCert, 'utf8') + readFileSync(f.serverKey, 'utf8'), { mode: 0o600 });
    writeFileSync(clientPem, readFileSync(f.benchClientCert, 'utf8') + readFileSync(f.benchClientKey, 'utf8'), { mode: 0o600 });
    const common = ['global', '  maxconn 4000', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 5m', '  timeout server 5m'];
    const server = [
      ...common,
      'frontend redis-server-side',
      `  bind 127.0.0.1:${serverPort} ssl crt ${serverPem} ca-file ${f.benchClientCa} verify required ssl-min-ver TLSv1.2`,
      '  default_backend redis',
      'backend redis',
      `  server redis 127.0.0.1:${this.redisPlainPort}`,
    ];
    const client = [
      ...common,
      'frontend redis-client-side',
      `  bind 127.0.0.1:${clientPort}`,
      '  default_backend tls-out',
      'backend tls-out',
      `  server s 127.0.0.1:${serverPort} ssl crt ${clientPem} ca-file ${f.dbCa} verify required verifyhost localhost sni str(localhost) ssl-min-ver TLSv1.2`,
    ];
    writeFileSync(join(dir, 'server.cfg'), server.join('\n') + '\n');
    writeFileSync(join(dir, 'client.cfg'), client.join('\n') + '\n');
    const s = this.group.start('haproxy (server side)', 'haproxy', ['-db', '-f', join(dir, 'server.cfg')]);
    await waitForPort(serverPort, 'haproxy server side', 10_000, s);
    const c = this.group.start('haproxy (client side)', 'haproxy', ['-db', '-f', join(dir, 'client.cfg')]);
    await waitForPort(clientPort, 'haproxy client side', 10_000, c);
    this.haproxyPort = clientPort;
    return clientPort;
  }
}

/**
 * startFixture builds the whole cluster in work (a fresh temp dir) and returns the Fixture.
 * log(msg) reports progress.
 */
export async function startFixture(group, root, work, log = () => {}) {
  const fx = new Fixture(group, root, work);
  const redisDir = join(work, 'redis');
  mkdirSync(redisDir, { recursive: true });

  log('starting xctl start (all-in-one) …');
  // BENCH_XCTL_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") profiles xctl start through a
  // whole scenario, such as the cluster one, which the profile group does not cover.
  await fx.startService((process.env.BENCH_XCTL_NODE_ARGS ?? '').split(' ').filter(Boolean));

  // Redis server certificate (db CA) and the db_client CA, exactly as an admin would get them.
  const prefix = join(redisDir, 'server');
  await fx.xctl(['auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${prefix}`, '--ttl=24h']);
  const dbCa = (await fx.xctl(['auth', 'export', '--type=db'])).stdout;

  // The bench's own client CA and one client certificate (CN alice) for redis-benchmark/stunnel.
  const benchCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'bench' });
  const keys = generateKeyPair('ecdsa-p256');
  const now = Date.now();
  const clientCert = benchCa.issue({
    publicKey: keys.publicKey,
    commonName: 'alice',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['clientAuth'],
  });
  const file = (name, body) => {
    const p = join(redisDir, name);
    writeFileSync(p, body, { mode: 0o600 });
    return p;
  };
  fx.files = {
    serverCert: `${prefix}.crt`,
    serverKey: `${prefix}.key`,
    dbCa: file('db-ca.pem', dbCa),
    benchClientCa: file('bench-client-ca.pem', benchCa.certPem),
    benchClientCert: file('bench-client.crt', clientCert.certPem),
    benchClientKey: file('bench-client.key', keys.privateKeyPem),
    // Redis trusts xport's db_client CA (for the agent) and the bench CA (for redis-benchmark).
    trustedClients: file('trusted-clients.pem', readFileSync(`${prefix}.cas`, 'utf8').trimEnd() + '\n' + benchCa.certPem),
    acl: file('users.acl', `user alice on >${REDIS_PASSWORD} ~* &* +@all\nuser default off\n`),
  };

  fx.redisPlainPort = await freePort();
  fx.redisTlsPort = await freePort();
  const conf = [
    'bind 127.0.0.1',
    `port ${fx.redisPlainPort}`,
    `tls-port ${fx.redisTlsPort}`,
    `dir ${redisDir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'loglevel warning',
    'maxclients 10000',
    `tls-cert-file ${fx.files.serverCert}`,
    `tls-key-file ${fx.files.serverKey}`,
    `tls-ca-cert-file ${fx.files.trustedClients}`,
    'tls-auth-clients yes',
    'tls-protocols "TLSv1.2 TLSv1.3"',
    `aclfile ${fx.files.acl}`,
  ];
  writeFileSync(join(redisDir, 'redis.conf'), conf.join('\n') + '\n');
  log('starting redis-server (plain + mutual TLS) …');
  fx.redis = group.start('redis-server', 'redis-server', [join(redisDir, 'redis.conf')]);
  await waitForPort(fx.redisTlsPort, 'redis-server', 10_000, fx.redis);

  // One role rule active on the measured path: alice may not FLUSHALL.
  const roleFile = join(work, 'role.yaml');
  writeFileSync(
    roleFile,
    [
      'kind: role',
      'version: v1',
      'metadata: { name: bench-dev }',
      'spec:',
      '  allow:',
      '    db_labels: { env: dev }',
      "    db_users: ['{{internal.db_users}}']",
      '  deny:',
      '    redis_commands: [flushall]',
      '',
    ].join('\n'),
  );
  await fx.xctl(['create', '-f', roleFile]);
  const dbFile = join(work, 'cache.yaml');
  writeFileSync(
    dbFile,
    `kind: db\nversion: v1\nmetadata:\n  name: cache\n  description: bench redis\n  labels: { env: dev }\nspec:\n  protocol: redis\n  uri: rediss://127.0.0.1:${fx.redisTlsPort}\n`,
  );
  await fx.xctl(['create', '-f', dbFile]);

  log('adding and logging in alice …');
  const add = await fx.xctl(['users', 'add', 'alice', '--roles=bench-dev', '--db-users=alice']);
  const invite = /--invite=([0-9a-f]+)/.exec(add.stdout)?.[1];
  if (!invite) throw new Error(`no invite in xctl users add output:\n${add.stdout}`);
  await fx.xsh(['login', `--proxy=${fx.proxyAddr}`, '--user=alice', `--invite=${invite}`, `--ca-pin=${fx.caPin}`, '--password-stdin'], {
    input: `${ALICE_PASSWORD}\n`,
  });
  await fx.waitOnline();
  return fx;
}
