// npm run demo -- --aws: the README's "AWS ElastiCache and MemoryDB" walk-through against moto (a
// local AWS emulator) instead of a real account — seed 003's five steps with xport's commands:
//   1. a user (xctl users add … --db-users), 2. the agent config (xctl db configure create with
//   tctl's AWS flags, plus a discovery matcher), 3. the IAM policy (xctl db configure bootstrap),
//   4. start (xctl start -c), 5. connect (xsh db ls, xsh db connect) as an IAM-enabled user and as
//   a managed user whose password xport rotates in Secrets Manager (xctl db users ls).
// ElastiCache's side is a TLS front (test/helpers/aws_emulator.py) that checks IAM tokens with
// botocore and passwords against moto, in front of a real redis-server. Everything it starts is
// stopped by PID at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'bin', `${name}.js`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function show(title) {
  process.stdout.write(`\n\x1b[1m$ ${title}\x1b[0m\n`);
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

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
  throw new Error(`nothing listens on ${port}`);
}

/** runAwsDemo runs the walk-through and resolves with the exit code. */
export async function runAwsDemo() {
  const need = [
    ['python3', ['-c', 'import moto, botocore'], 'python3 with moto (pip install "moto[server]==5.2.1")'],
    ['redis-server', ['--version'], 'redis-server (apt-get install redis-server)'],
    ['redis-cli', ['--version'], 'redis-cli (apt-get install redis-tools)'],
  ];
  for (const [cmd, args, what] of need) {
    if (spawnSync(cmd, args, { stdio: 'ignore' }).status !== 0) {
      process.stderr.write(`ERROR: the AWS demo needs ${what}.\n`);
      return 1;
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'xport-demo-aws-'));
  const children = [];
  const env = { ...process.env, XSH_HOME: join(work, 'xsh'), XSH_KEY_STORAGE: 'file', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const run = (name, args, input, { allowFail = false, extraEnv = {} } = {}) => {
    show(`${name} ${args.join(' ')}${input ? '   (password on stdin)' : ''}`);
    const r = spawnSync(process.execPath, [bin(name), ...args], { env: { ...env, ...extraEnv }, input: input ?? '', encoding: 'utf8' });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    if (r.status !== 0 && !allowFail) throw new Error(`${name} ${args.slice(0, 3).join(' ')} exited with ${r.status}`);
    return r.stdout;
  };
  try {
    // A real redis-server with the ACL users the ElastiCache user group holds.
    const redisPort = await freePort();
    const frontPw = 'front-side-password-demo';
    writeFileSync(join(work, 'redis.conf'), [`port ${redisPort}`, 'bind 127.0.0.1', `dir ${work}`, 'save ""', 'appendonly no', `user iam-user on >${frontPw} ~* &* +@all`, `user app-user on >${frontPw} ~* &* +@all`, 'user default off'].join('\n') + '\n');
    const redis = spawn('redis-server', [join(work, 'redis.conf')], { stdio: 'ignore' });
    children.push(redis);
    await waitPort(redisPort);

    // The front's certificate, from xport's own pki (built by npm run build).
    const { CertificateAuthority, generateKeyPair } = await import(join(root, 'dist', 'pki', 'index.js'));
    const ca = CertificateAuthority.create({ type: 'db', clusterName: 'demo-aws' });
    const keys = generateKeyPair();
    const cert = ca.issue({ publicKey: keys.publicKey, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), extKeyUsage: ['serverAuth'] });
    writeFileSync(join(work, 'front.crt'), cert.certPem, { mode: 0o600 });
    writeFileSync(join(work, 'front.key'), keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(work, 'aws-ca.crt'), ca.certPem, { mode: 0o600 });

    show('python3 test/helpers/aws_emulator.py        # moto + an ElastiCache-like TLS front');
    const emu = spawn('python3', [join(root, 'test', 'helpers', 'aws_emulator.py')], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MOTO_ACCOUNT_ID: '123456789012' } });
    children.push(emu);
    const lines = createInterface({ input: emu.stdout });
    const ready = new Promise((resolve, reject) => {
      lines.on('line', (l) => {
        try {
          const m = JSON.parse(l);
          if (m.ready) resolve(m);
          else if (m.event === 'auth') process.stdout.write(`  [ElastiCache front] AUTH ${m.user} (${m.kind}): ${m.ok ? 'accepted' : `refused: ${m.why}`}\n`);
        } catch {
          /* not ours */
        }
      });
      emu.once('exit', (c) => reject(new Error(`the AWS emulator exited with ${c}`)));
    });
    emu.stdin.write(
      JSON.stringify({
        static_credentials: { AKIADEMO000000000001: 'demo-secret-key-not-real-000000000000000' },
        fronts: [{ name: 'demo', target: 'demo-group', service: 'elasticache', targets: [{ target: 'demo-group', service: 'elasticache', serverless: false }], region: 'us-east-1', upstream: `127.0.0.1:${redisPort}`, cert: join(work, 'front.crt'), key: join(work, 'front.key'), redis_password: frontPw }],
        endpoints: { 'demo-group': ['demo', 'demo'] },
      }) + '\n',
    );
    const { port: motoPort, fronts } = await ready;
    const awsEnv = { AWS_ENDPOINT_URL: `http://127.0.0.1:${motoPort}`, AWS_ACCESS_KEY_ID: 'AKIADEMO000000000001', AWS_SECRET_ACCESS_KEY: 'demo-secret-key-not-real-000000000000000', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    Object.assign(env, awsEnv);
    // The SDK client below (the "admin" creating resources) reads the same variables.
    Object.assign(process.env, awsEnv, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

    // What an AWS admin would have done with the aws CLI (seed 003, step 5), through the SDK.
    const ecm = await import('@aws-sdk/client-elasticache');
    const ec = new ecm.ElastiCacheClient({ region: 'us-east-1' });
    show('aws elasticache create-user --user-id iam-user --authentication-mode Type=iam …   (and app-user, tagged xport.dev/managed=true)');
    await ec.send(new ecm.CreateUserCommand({ UserId: 'iam-user', UserName: 'iam-user', Engine: 'redis', AccessString: 'on ~* +@all', AuthenticationMode: { Type: 'iam' } }));
    await ec.send(new ecm.CreateUserCommand({ UserId: 'app-user', UserName: 'app-user', Engine: 'redis', AccessString: 'on ~* +@all', Passwords: ['set-by-the-admin-once'], Tags: [{ Key: 'xport.dev/managed', Value: 'true' }] }));
    show('aws elasticache create-user-group --user-group-id demo-users --user-ids default iam-user app-user');
    await ec.send(new ecm.CreateUserGroupCommand({ UserGroupId: 'demo-users', Engine: 'redis', UserIds: ['default', 'iam-user', 'app-user'] }));
    show('aws elasticache create-replication-group --replication-group-id demo-group --transit-encryption-enabled --user-group-ids demo-users --tags Key=env,Value=demo');
    await ec.send(new ecm.CreateReplicationGroupCommand({ ReplicationGroupId: 'demo-group', ReplicationGroupDescription: 'demo', Engine: 'redis', EngineVersion: '7.1', TransitEncryptionEnabled: true, UserGroupIds: ['demo-users'], Tags: [{ Key: 'env', Value: 'demo' }] }));

    // Step 2: the agent config. configure create writes the database part; this demo runs auth,
    // proxy and agent in one process, so it adds the two service blocks configure create leaves off.
    const cfg = join(work, 'xport.yaml');
    const agentPart = run('xctl', ['db', 'configure', 'create', '--token=/tmp/token', '--proxy=127.0.0.1:3080', '--name=elasticache', '--protocol=redis', `--uri=rediss://127.0.0.1:${fronts.demo}`, '--aws-region=us-east-1', '--aws-elasticache-group-id=demo-group', `--ca-cert-file=${join(work, 'aws-ca.crt')}`, '--elasticache-discovery=us-east-1', '--aws-tags=env=demo']);
    const yaml = await import('yaml');
    const c = yaml.parse(agentPart);
    c.cluster_name = 'demo-aws';
    c.data_dir = join(work, 'data');
    c.auth_service = { enabled: true };
    c.proxy_service = { enabled: true, listen_addr: '127.0.0.1:0' };
    delete c.db_service.auth_token;
    delete c.db_service.proxy_server;
    c.db_service.discovery_interval = '5s';
    writeFileSync(cfg, yaml.stringify(c));
    show(`cat ${cfg}`);
    process.stdout.write(readFileSync(cfg, 'utf8'));

    // Step 3: the IAM policy the agent needs (printed; a real account would use --attach-to-role).
    run('xctl', ['-c', cfg, 'db', 'configure', 'bootstrap', '--manual', '--attach-to-role', 'arn:aws:iam::123456789012:role/XportAgent']);

    // Step 4: start.
    show(`xctl start -c ${cfg} &`);
    const svc = spawn(process.execPath, [bin('xctl'), 'start', '-c', cfg], { env: { ...env, NODE_EXTRA_CA_CERTS: join(work, 'aws-ca.crt'), XPORT_AWS_ROTATION_INTERVAL_MS: '5000' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(svc);
    let out = '';
    svc.stdout.on('data', (d) => (out += d));
    svc.stderr.on('data', (d) => (out += d));
    const m = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`xctl start did not become ready:\n${out}`)), 30_000);
      const check = () => {
        const r = /Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/.exec(out);
        if (r) {
          clearTimeout(t);
          resolve(r);
        }
      };
      svc.stdout.on('data', check);
      svc.stderr.on('data', check);
      svc.once('exit', (code) => reject(new Error(`xctl start exited with ${code}:\n${out}`)));
    });
    const [, addr, pin] = m;

    // Step 1 (needs the running auth service): the user, with the db users they may become.
    writeFileSync(join(work, 'role.yaml'), "kind: role\nversion: v1\nmetadata: { name: aws-access }\nspec:\n  allow:\n    db_labels: { '*': '*' }\n    db_users: ['{{internal.db_users}}']\n");
    run('xctl', ['-c', cfg, 'create', '-f', join(work, 'role.yaml')]);
    const add = run('xctl', ['-c', cfg, 'users', 'add', 'alice', '--roles=aws-access', '--db-users=iam-user,app-user']);
    const invite = /--invite=([0-9a-f]+)/.exec(add)[1];
    run('xsh', ['login', `--proxy=${addr}`, '--user=alice', `--invite=${invite}`, `--ca-pin=${pin}`, '--password-stdin'], 'a-long-demo-password\n');

    // Step 5: connect.
    for (let i = 0; i < 60; i++) {
      const r = spawnSync(process.execPath, [bin('xctl'), '-c', cfg, 'db', 'ls', '--format=json'], { env, encoding: 'utf8' });
      if (r.status === 0 && JSON.parse(r.stdout).filter((d) => d.status === 'online').length >= 3) break;
      await sleep(250);
    }
    run('xsh', ['db', 'ls']);
    run('xsh', ['db', 'connect', 'elasticache', '--db-user=iam-user', '--', 'SET', 'greeting', 'hello from IAM']);
    run('xsh', ['db', 'connect', 'demo-group', '--db-user=iam-user', '--', 'GET', 'greeting']);
    run('xsh', ['db', 'connect', 'elasticache', '--db-user=app-user', '--', 'INCR', 'visits']);
    show('sleep 12   # the agent rotates app-user\'s password (every 5 s in this demo, 15 min normally)');
    await sleep(12_000);
    run('xsh', ['db', 'connect', 'elasticache', '--db-user=app-user', '--', 'INCR', 'visits']);
    run('xctl', ['-c', cfg, 'db', 'users', 'ls']);
    process.stdout.write('\nAWS demo finished.\n');
    return 0;
  } catch (err) {
    process.stderr.write(`AWS demo failed: ${err.message}\n`);
    return 1;
  } finally {
    for (const ch of children.reverse()) {
      if (ch.exitCode === null && ch.pid) {
        try {
          process.kill(ch.pid, 'SIGTERM');
          await Promise.race([new Promise((r) => ch.once('exit', r)), sleep(5000)]);
          if (ch.exitCode === null) process.kill(ch.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}
