#!/usr/bin/env node
// npm run demo -- --azure: the seed guide "Database Access with Azure Cache for Redis", step by step,
// with xport commands, against a local Entra ID authority, managed identity endpoint and Azure
// Resource Manager over HTTPS (the fakes the e2e tests use, bundled from test/helpers with esbuild)
// and real TLS redis-servers standing in for the caches. Every process it starts is stopped by PID.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { parse, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'xport-demo-azure-'));
const baseEnv = { ...process.env, XSH_HOME: join(work, 'xsh'), XSH_KEY_STORAGE: 'file' };
const bin = (name) => join(root, 'bin', `${name}.js`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function show(title) {
  process.stdout.write(`\n\x1b[1m$ ${title}\x1b[0m\n`);
}
function step(title) {
  process.stdout.write(`\n\x1b[1;36m== ${title}\x1b[0m\n`);
}
// Asynchronous on purpose: the fake Azure endpoints live in this process and must keep answering.
function run(name, args, { input, env = baseEnv, allowFail = false, quiet = false } = {}) {
  if (!quiet) show(`${name} ${args.join(' ')}${input ? '   (password on stdin)' : ''}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin(name), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input ?? '');
    child.once('error', reject);
    child.once('close', (code) => {
      if (!quiet) {
        process.stdout.write(stdout);
        process.stderr.write(stderr);
      }
      if (code !== 0 && !allowFail) reject(new Error(`${name} ${args.slice(0, 3).join(' ')} exited with ${code}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
function startService(args, env, ready) {
  const child = spawn(process.execPath, [bin('xctl'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const started = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`xctl ${args[0]} did not become ready:\n${out}`)), 30_000);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (c) => reject(new Error(`xctl ${args[0]} exited with ${c}:\n${out}`)));
  });
  return {
    child,
    started,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        process.kill(child.pid, 'SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

for (const tool of ['redis-server', 'redis-cli']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write(`demo --azure needs ${tool}: apt-get install redis-server redis-tools\n`);
    process.exit(1);
  }
}

// The fakes are TypeScript test helpers; bundle them next to node_modules so their imports resolve.
const helpers = join(root, 'node_modules', '.cache', 'xport-demo-azure');
mkdirSync(helpers, { recursive: true });
await build({
  entryPoints: [join(root, 'test/helpers/azure-endpoints.ts'), join(root, 'test/helpers/azure-redis.ts')],
  outdir: helpers,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const { startAzureEndpoints } = await import(pathToFileURL(join(helpers, 'azure-endpoints.js')).href);
const { startAzureRedis } = await import(pathToFileURL(join(helpers, 'azure-redis.js')).href);

const stops = [];
try {
  step('Azure, played locally: an Entra ID authority, ARM and two caches (real TLS redis-servers)');
  const az = await startAzureEndpoints();
  stops.push(() => az.stop());
  const [ossRedis, entraRedis] = await Promise.all([startAzureRedis(az.ca), startAzureRedis(az.ca)]);
  stops.push(() => ossRedis.stop(), () => entraRedis.stop());
  const SUB = '3e4f5a6b-0000-4000-8000-00000000d3e0';
  const agent = { clientId: 'd3e0-agent-app', objectId: 'aaaaaaaa-0000-4000-8000-00000000a9e1', secret: 'agent-app-secret', assignments: [] };
  const admin = {
    clientId: 'd3e0-admin-app',
    objectId: 'bbbbbbbb-0000-4000-8000-00000000ad31',
    secret: 'admin-app-secret',
    assignments: [{ scope: `/subscriptions/${SUB}`, actions: ['Microsoft.Resources/subscriptions/read', 'Microsoft.Authorization/roleDefinitions/write', 'Microsoft.Authorization/roleAssignments/write'] }],
  };
  const reader = { clientId: 'd3e0-reader-identity', objectId: 'cccccccc-0000-4000-8000-0000000ead00', managed: true, assignments: [] };
  // Until bootstrap, the agent may only see that the subscription exists.
  agent.assignments.push({ scope: `/subscriptions/${SUB}`, actions: ['Microsoft.Resources/subscriptions/read'] });
  az.principals.push(agent, admin, reader);
  az.subscriptions.push({ id: SUB, state: 'Enabled' });
  const myCache = {
    subscription: SUB, resourceGroup: 'rg-demo', name: 'my-azure-redis', location: 'East US', tags: { env: 'dev' },
    hostName: '127.0.0.1', sslPort: ossRedis.port, redisVersion: '6.0', primaryKey: 'demo-primary-key', secondaryKey: 'demo-secondary-key',
  };
  az.caches.push(
    myCache,
    { ...myCache, name: 'orders-cache', sslPort: entraRedis.port, tags: { env: 'dev', XportDatabaseName: 'orders' }, disableAccessKeyAuthentication: true, primaryKey: 'unused-1', secondaryKey: 'unused-2' },
    { ...myCache, name: 'still-creating', provisioningState: 'Creating' },
  );
  await ossRedis.setKeys(myCache.primaryKey, myCache.secondaryKey);
  await entraRedis.admin('SET', 'order:1', 'shipped');
  az.onToken(async (t) => {
    if (t.audience === 'https://redis.azure.com') await entraRedis.allowToken(t.principal.objectId, t.token, t.principal === reader ? 'Data Reader' : 'Data Owner');
  });
  process.stdout.write(`authority and ARM at ${az.url} (CA ${az.caFile}); caches: my-azure-redis (access keys), orders-cache (Entra ID only), still-creating\n`);

  const dataDir = join(work, 'auth');
  show(`xctl start --data-dir ${dataDir} --listen-addr 127.0.0.1:0 &        # the auth service and proxy`);
  const auth = startService(['start', '--data-dir', dataDir, '--listen-addr', '127.0.0.1:0'], baseEnv, /Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/);
  stops.push(() => auth.stop());
  const [, addr, pin] = await auth.started;

  step('Step 1/5. Create a user');
  const add = await run('xctl', ['--data-dir', dataDir, 'users', 'add', 'alice', '--roles=access', '--db-users=default,reader']);
  const invite = /--invite=([0-9a-f]+)/.exec(add)[1];

  step('Step 2/5. Create a Database Service configuration with Azure discovery');
  const token = (await run('xctl', ['--data-dir', dataDir, 'tokens', 'add', '--type=db', '--format=text'])).trim();
  const agentConfig = join(work, 'xport-agent.yaml');
  await run('xctl', ['db', 'configure', 'create', `--token=${token}`, `--proxy=${addr}`, `--ca-pin=${pin}`, `--data-dir=${join(work, 'agent')}`, '--azure-redis-discovery=eastus', `-o`, `file://${agentConfig}`]);
  // This machine's "Azure" is local: point the config at it, and give the reader db user its identity.
  const cfg = parse(readFileSync(agentConfig, 'utf8'));
  cfg.db_service.azure_cloud = { authority_host: az.url, resource_manager_endpoint: az.url };
  cfg.db_service.azure[0].identities = { reader: { client_id: reader.clientId } };
  writeFileSync(agentConfig, stringify(cfg), { mode: 0o600 });
  show(`cat ${agentConfig}   # after adding azure_cloud (the local endpoints) and identities`);
  process.stdout.write(stringify({ db_service: { azure: cfg.db_service.azure, azure_cloud: cfg.db_service.azure_cloud } }));

  step('Step 3/5. Configure IAM permissions: a custom role with exactly what the config needs');
  await run('xctl', ['-c', agentConfig, 'db', 'configure', 'bootstrap', '--azure', '--manual']);
  process.stdout.write('\n# Applied as an administrator (an app registration with User Access Administrator here):\n');
  await run('xctl', ['-c', agentConfig, 'db', 'configure', 'bootstrap', '--azure', `--assignee=${agent.objectId}`], { env: { ...baseEnv, ...az.env(admin) } });

  step('Step 4/5. Start the Database Service (environment: the app registration of the agent)');
  show(`AZURE_TENANT_ID=${az.tenant} AZURE_CLIENT_ID=${agent.clientId} AZURE_CLIENT_SECRET=… NODE_EXTRA_CA_CERTS=${az.caFile} xctl start -c ${agentConfig} &`);
  const agentSvc = startService(['start', '-c', agentConfig], { ...baseEnv, ...az.env(agent) }, /connected to the proxy/);
  stops.push(() => agentSvc.stop());
  await agentSvc.started;
  for (let i = 0; i < 80; i++) {
    const listed = await run('xctl', ['--data-dir', dataDir, 'db', 'ls', '--format=json'], { quiet: true, allowFail: true });
    if (listed && JSON.parse(listed).length >= 2) break;
    await sleep(250);
  }
  process.stdout.write(agentSvc.output().split('\n').filter((l) => /azure|Azure|joined/.test(l)).join('\n') + '\n');

  step('Step 5/5. Connect');
  await run('xsh', ['login', `--proxy=${addr}`, `--invite=${invite}`, `--ca-pin=${pin}`, '--password-stdin'], { input: 'a-long-demo-password\n' });
  await run('xsh', ['db', 'ls']);
  await run('xsh', ['db', 'connect', 'my-azure-redis', '--', 'SET', 'greeting', 'hello from xport']);
  await run('xsh', ['db', 'connect', 'my-azure-redis', '--', 'GET', 'greeting']);
  process.stdout.write('\n# orders has access keys disabled: Entra ID, as the reader identity (Data Reader), so Redis refuses the write:\n');
  await run('xsh', ['db', 'connect', 'orders', '--db-user=reader', '--', 'GET', 'order:1']);
  await run('xsh', ['db', 'connect', 'orders', '--db-user=reader', '--', 'SET', 'order:1', 'cancelled'], { allowFail: true });
  await run('xsh', ['db', 'logout', 'orders']);
  await run('xctl', ['--data-dir', dataDir, 'audit', 'ls', '--type=db.session.start']);
  process.stdout.write(`\nDemo finished; files were in ${work} (removed).\n`);
} catch (err) {
  process.stderr.write(`demo --azure failed: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  for (const s of stops.reverse()) await s().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
