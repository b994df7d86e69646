/**
 * test/helpers/db-cluster: an xport cluster with a real TLS redis-server behind it, as the
 * access-path e2e tests need: certificates from `xctl auth sign --format=redis`,
 * `tls-auth-clients yes`, and an ACL file with alice (+@all), bob (+@read) and default off.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, runCli, startXport, tmpDir, type StartXportOptions, type XportService, type XshUser } from './cli.js';
import { startRedis, type RedisServer } from './redis-server.js';

/** DbCluster is a running xport + redis pair with users. */
export interface DbCluster {
  /** The all-in-one service (tests that restart it assign the new one here). */
  svc: XportService;
  redis: RedisServer;
  certPrefix: string;
  alice: XshUser;
  bob: XshUser;
  /** restartRedis stops redis and starts it again on the same port. */
  restartRedis(): Promise<void>;
  stop(): Promise<void>;
}

export const ACL = ['user alice on >alice-pw ~* &* +@all', 'user bob on >bob-pw ~* &* +@read +@connection', 'user default off'];

/** redisConfigLines are the TLS lines for a redis-server using xport's certificates. */
export function redisTlsLines(prefix: string, aclPath: string): string[] {
  return [
    `tls-cert-file ${prefix}.crt`,
    `tls-key-file ${prefix}.key`,
    `tls-ca-cert-file ${prefix}.cas`,
    'tls-auth-clients yes',
    'tls-protocols "TLSv1.2 TLSv1.3"',
    `aclfile ${aclPath}`,
  ];
}

/**
 * startSignedRedis starts a TLS redis-server whose certificate the running xport signed
 * (`xctl auth sign --format=redis` into dir), with the given ACL file lines and extra config lines.
 */
export async function startSignedRedis(
  svc: { xctl(args: string[]): Promise<{ code: number | null; stderr: string }> },
  dir: string,
  acl: readonly string[],
  opts: { port?: number; extra?: readonly string[] } = {},
): Promise<RedisServer> {
  const certPrefix = join(dir, 'server');
  const sign = await svc.xctl(['auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${certPrefix}`, '--ttl=24h']);
  if (sign.code !== 0 || sign.stderr !== '') throw new Error(`xctl auth sign failed: ${sign.stderr}`);
  const aclPath = join(dir, 'users.acl');
  await writeFile(aclPath, acl.join('\n') + '\n');
  return startRedis([...redisTlsLines(certPrefix, aclPath), ...(opts.extra ?? [])], { tlsPort: true, ...(opts.port !== undefined ? { port: opts.port } : {}) });
}

/** waitFor polls fn until it returns true. */
export async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * startDbCluster builds the whole fixture and registers database "cache" (env=dev). opts go to
 * {@link startXport} (a config with small limits, a file-descriptor limit).
 */
export async function startDbCluster(opts: StartXportOptions = {}): Promise<DbCluster> {
  const svc = await startXport(opts);
  const dir = await tmpDir('xport-db-');
  let redis = await startSignedRedis(svc, dir, ACL);
  const port = redis.port;

  const roles = join(dir, 'roles.yaml');
  await writeFile(
    roles,
    [
      'kind: role',
      'version: v1',
      'metadata: { name: dev-all }',
      'spec:',
      '  allow:',
      '    db_labels: { env: dev }',
      "    db_users: ['{{internal.db_users}}']",
      "    db_names: ['0']",
      '---',
      'kind: role',
      'version: v1',
      'metadata: { name: reader }',
      'spec:',
      '  allow:',
      '    db_labels: { env: dev }',
      '    db_users: [bob]',
      "    redis_commands: ['+@read', '+@connection']",
      '',
    ].join('\n'),
  );
  const cr = await svc.xctl(['create', '-f', roles]);
  if (cr.code !== 0) throw new Error(cr.stderr);
  const dbFile = join(dir, 'db.yaml');
  await writeFile(
    dbFile,
    `kind: db\nversion: v1\nmetadata:\n  name: cache\n  description: test cache\n  labels: { env: dev }\nspec:\n  protocol: redis\n  uri: rediss://127.0.0.1:${port}\n`,
  );
  const cd = await svc.xctl(['create', '-f', dbFile]);
  if (cd.code !== 0) throw new Error(cd.stderr);
  const alice = await addUser(svc, 'alice', ['--roles=dev-all', '--db-users=alice'], 'alice-long-password');
  const bob = await addUser(svc, 'bob', ['--roles=reader'], 'bob-long-password');
  await waitFor('database cache online', async () => {
    const r = await svc.xctl(['db', 'ls', '--format=json']);
    return r.code === 0 && (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache' && d.status === 'online');
  });
  return {
    svc,
    get redis() {
      return redis;
    },
    certPrefix: join(dir, 'server'),
    alice,
    bob,
    async restartRedis() {
      await redis.stop();
      redis = await startRedis(redisTlsLines(join(dir, 'server'), join(dir, 'users.acl')), { tlsPort: true, port });
    },
    async stop() {
      await redis.stop();
      await this.svc.stop();
    },
  } as DbCluster;
}

export { runCli };
