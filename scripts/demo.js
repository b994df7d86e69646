#!/usr/bin/env node
// npm run demo: start an embedded xport cluster in a temp dir, add a user, complete the invite
// non-interactively, log in, print `xsh status`; then (when redis-server is installed) start a TLS
// Redis, register it, run SET/GET and one denied command through `xsh db connect`, show the audit
// lines, and stop everything it started (by PID).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// npm run demo -- --azure: the Azure Cache for Redis walk-through instead (scripts/demo-azure.js).
if (process.argv.includes('--azure')) {
  await import('./demo-azure.js');
  process.exit();
}
if (process.argv.includes('--aws')) {
  // The AWS walk-through lives in its own module (against moto, a local AWS emulator).
  process.exit(await (await import('./demo-aws.js')).runAwsDemo());
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'xport-demo-'));
const dataDir = join(work, 'data');
const env = { ...process.env, XSH_HOME: join(work, 'xsh'), XSH_KEY_STORAGE: 'file' };
const bin = (name) => join(root, 'bin', `${name}.js`);

function show(title) {
  process.stdout.write(`\n\x1b[1m$ ${title}\x1b[0m\n`);
}
function run(name, args, input, { allowFail = false } = {}) {
  show(`${name} ${args.join(' ')}${input ? '   (password on stdin)' : ''}`);
  const r = spawnSync(process.execPath, [bin(name), ...args], { env, input: input ?? '', encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && !allowFail) throw new Error(`${name} ${args[0]} exited with ${r.status}`);
  return r.stdout;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

const has = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const withRedis = has('redis-server') && has('redis-cli');
// The agent manages the Redis ACL users of the demo database: it gets one admin credential (a
// file only it can read) and nobody else ever types a Redis password.
const redisPort = withRedis ? await freePort() : 0;
const adminPwFile = join(work, 'redis-admin.pw');
const adminPw = randomBytes(24).toString('base64url');
writeFileSync(adminPwFile, `${adminPw}\n`, { mode: 0o600 });
const configPath = join(work, 'xport.yaml');
writeFileSync(
  configPath,
  [
    'version: v1',
    `data_dir: ${dataDir}`,
    'proxy_service: { listen_addr: 127.0.0.1:0 }',
    'db_service:',
    '  enabled: true',
    ...(withRedis
      ? [
          '  databases:',
          '    - name: cache',
          '      description: Demo Redis',
          '      protocol: redis',
          `      uri: rediss://127.0.0.1:${redisPort}`,
          '      static_labels: { env: dev }',
          '      users: managed          # the agent owns the ACL users; passthrough = the client AUTHs',
          `      admin: { user: xport-admin, password_file: ${adminPwFile} }`,
        ]
      : []),
    '',
  ].join('\n'),
);
show(`cat ${configPath}`);
process.stdout.write(readFileSync(configPath, 'utf8'));
show(`xctl start -c ${configPath} &`);
const svc = spawn(process.execPath, [bin('xctl'), 'start', '-c', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
process.stdout.write(`[xctl start pid ${svc.pid}]\n`);
let out = '';
svc.stdout.on('data', (d) => (out += d));
svc.stderr.on('data', (d) => (out += d));
let redis;
const stop = async () => {
  if (redis && redis.exitCode === null) {
    process.kill(redis.pid, 'SIGTERM');
    await new Promise((r) => redis.once('exit', r));
  }
  if (svc.exitCode === null) {
    process.kill(svc.pid, 'SIGTERM');
    await new Promise((r) => svc.once('exit', r));
  }
};

// Interrupted (Ctrl-C, kill): stop what the demo started, by PID, wait for each to exit (SIGKILL
// after 10 s), remove the temp dir, and exit 130 (SIGINT) or 143.
let interrupted = false;
const onSignal = async (signal) => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\ndemo interrupted (${signal}): stopping what it started\n`);
  const children = [redis, svc].filter((c) => c && c.exitCode === null && c.signalCode === null);
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          const kill = setTimeout(() => process.kill(c.pid, 'SIGKILL'), 10_000);
          c.once('exit', () => clearTimeout(kill));
          try {
            process.kill(c.pid, 'SIGTERM');
          } catch {
            resolve();
          }
        }),
    ),
  );
  rmSync(work, { recursive: true, force: true });
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);

try {
  const ready = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`xctl start did not become ready:\n${out}`)), 30_000);
    const check = () => {
      const m = /Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    svc.stdout.on('data', check);
    svc.stderr.on('data', check);
    svc.once('exit', (c) => reject(new Error(`xctl start exited with ${c}:\n${out}`)));
  });
  process.stdout.write(out.split('\n').filter((l) => l.startsWith('xport') || l.startsWith('Proxy')).join('\n') + '\n');
  const [, addr, pin] = ready;

  run('xctl', ['--data-dir', dataDir, 'status']);
  const add = run('xctl', ['--data-dir', dataDir, 'users', 'add', 'alice', '--roles=access,auditor', '--db-users=alice']);
  const token = /--invite=([0-9a-f]+)/.exec(add)[1];
  run('xsh', ['login', `--proxy=${addr}`, '--user=alice', `--invite=${token}`, `--ca-pin=${pin}`, '--password-stdin'], 'a-long-demo-password\n');
  run('xsh', ['status']);

  if (!withRedis) {
    process.stdout.write('\nredis-server/redis-cli are not installed: skipping the database part of the demo.\n' +
      'Install them (apt-get install redis-server redis-tools) and run npm run demo again to see xsh db connect.\n');
  } else {
    // A TLS Redis that trusts xport's db_client CA, with one ACL user for the agent and no anonymous access.
    const prefix = join(work, 'redis');
    run('xctl', ['--data-dir', dataDir, 'auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${prefix}`]);
    const port = redisPort;
    writeFileSync(join(work, 'users.acl'), `user xport-admin on >${adminPw} ~* &* +@all\nuser default off\n`, { mode: 0o600 });
    writeFileSync(
      join(work, 'redis.conf'),
      [`port 0`, `tls-port ${port}`, 'bind 127.0.0.1', `dir ${work}`, 'save ""', 'appendonly no', `aclfile ${join(work, 'users.acl')}`,
        `tls-cert-file ${prefix}.crt`, `tls-key-file ${prefix}.key`, `tls-ca-cert-file ${prefix}.cas`, 'tls-auth-clients yes'].join('\n') + '\n',
    );
    show(`redis-server ${join(work, 'redis.conf')} &        # TLS on 127.0.0.1:${port}, trusting the db_client CA`);
    redis = spawn('redis-server', [join(work, 'redis.conf')], { stdio: 'ignore' });
    process.stdout.write(`[redis-server pid ${redis.pid}]\n`);
    await waitPort(port);
    writeFileSync(join(work, 'role.yaml'), 'kind: role\nversion: v1\nmetadata: { name: dev }\nspec:\n  allow:\n    db_labels: { env: dev }\n    db_users: [\'{{internal.db_users}}\']\n  deny:\n    redis_commands: [flushall]\n');
    run('xctl', ['--data-dir', dataDir, 'create', '-f', join(work, 'role.yaml')]);
    run('xctl', ['--data-dir', dataDir, 'users', 'update', 'alice', '--set-roles=access,auditor,dev']);
    run('xsh', ['login', `--proxy=${addr}`, '--user=alice', '--password-stdin'], 'a-long-demo-password\n');
    for (let i = 0; i < 40; i++) {
      const r = spawnSync(process.execPath, [bin('xctl'), '--data-dir', dataDir, 'db', 'ls', '--format=json'], { env, encoding: 'utf8' });
      if (r.status === 0 && JSON.parse(r.stdout).some((d) => d.name === 'cache' && d.status === 'online')) break;
      await sleep(250);
    }
    run('xctl', ['--data-dir', dataDir, 'db', 'ls']);
    run('xsh', ['db', 'ls']);
    // No --user/--pass: the agent created the Redis ACL user alice from her roles and authenticates as it.
    const cli = ['--'];
    run('xsh', ['db', 'connect', 'cache', ...cli, 'SET', 'greeting', 'hello']);
    run('xsh', ['db', 'connect', 'cache', ...cli, 'GET', 'greeting']);
    run('xsh', ['db', 'connect', 'cache', ...cli, 'FLUSHALL'], undefined, { allowFail: true });
    await sleep(300);
    run('xctl', ['--data-dir', dataDir, 'db', 'users', 'ls', 'cache']);
    run('xctl', ['--data-dir', dataDir, 'audit', 'ls', '--type=db.session.query']);
  }
  run('xctl', ['--data-dir', dataDir, 'audit', 'ls', '--type=user.login']);
  show('kill -TERM <xctl start pid>');
  await stop();
  process.stdout.write(out.split('\n').filter((l) => l.startsWith('xport stopped')).join('\n') + '\n');
  process.stdout.write(`\nDemo finished; files were in ${work} (removed).\n`);
} catch (err) {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  await stop();
  rmSync(work, { recursive: true, force: true });
}
