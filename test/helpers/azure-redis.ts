/**
 * test/helpers/azure-redis: a real TLS redis-server standing in for an Azure cache. Its server
 * certificate comes from the fake Azure endpoints' CA (the agent trusts it through
 * NODE_EXTRA_CA_CERTS, as it trusts Azure's public CAs through the system store), no client
 * certificates, and an ACL the test keeps in step with the fake Azure: the cache's access keys are
 * the `default` user's passwords; each Entra ID token issued becomes a password of the Redis user
 * named after the principal's object id, with the rights of its data access policy. Redis itself
 * accepts or refuses.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateKeyPair, type CertificateAuthority } from '../../src/pki/index.js';
import { runProcess, tmpDir } from './cli.js';
import { freePort, startRedis, type RedisServer } from './redis-server.js';

/** AccessPolicy is an Azure Cache for Redis data access policy. */
export type AccessPolicy = 'Data Owner' | 'Data Contributor' | 'Data Reader';

/** POLICY_RULES are the ACL rules of each built-in data access policy (Azure's documented permissions). */
export const POLICY_RULES: Record<AccessPolicy, string[]> = {
  'Data Owner': ['~*', '&*', '+@all'],
  'Data Contributor': ['~*', '&*', '+@all', '-@dangerous'],
  'Data Reader': ['~*', '&*', '+@read', '+@connection', '-@dangerous'],
};

/** TokenExpiryEnforcer plays Azure's rule that a connection must re-AUTH before its token expires. */
export interface TokenExpiryEnforcer {
  /** Connections killed, as `addr user`. */
  killed: string[];
  /** Times (ms since epoch) of every AUTH seen, by client address. */
  auths: Map<string, number[]>;
  /** The Redis user of each token user's connection seen, by client address. */
  users: Map<string, string>;
  stop(): void;
}

/** AzureRedis is a running cache stand-in. */
export interface AzureRedis {
  server: RedisServer;
  port: number;
  /** setKeys makes the access keys the default user's passwords (and only them). */
  setKeys(primary: string, secondary: string): Promise<void>;
  /** allowToken adds a token as a password of the object id's user, with the policy's rights. */
  allowToken(objectId: string, token: string, policy: AccessPolicy): Promise<void>;
  /**
   * enforceTokenExpiry watches AUTHs (MONITOR shows them, with the secrets redacted) and kills a
   * connection of a token user once the token it authenticated with has expired and no later AUTH
   * came: the token used is taken to be the newest one issued for that user before the AUTH
   * (`expiryAt(user, authTime)`), which is what an agent that fetches a token and sends it at once uses.
   */
  enforceTokenExpiry(users: () => Set<string>, expiryAt: (user: string, authTime: number) => number | undefined): Promise<TokenExpiryEnforcer>;
  /** admin runs a command as the test's own admin user. */
  admin(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** startAzureRedis starts a TLS-only redis-server with a certificate from ca. */
export async function startAzureRedis(ca: CertificateAuthority): Promise<AzureRedis> {
  const keys = generateKeyPair();
  const now = Date.now();
  const cert = ca.issue({
    publicKey: keys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth'],
  });
  const dir = await tmpDir('xport-azure-redis-');
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const caFile = join(dir, 'ca.crt');
  const aclFile = join(dir, 'users.acl');
  const adminPassword = randomBytes(16).toString('hex');
  await writeFile(certFile, cert.certPem, { mode: 0o600 });
  await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
  await writeFile(caFile, ca.certPem);
  await writeFile(aclFile, [`user xtest-admin on >${adminPassword} ~* &* +@all`, 'user default off'].join('\n') + '\n');
  const server = await startRedis(
    [`tls-cert-file ${certFile}`, `tls-key-file ${keyFile}`, `tls-ca-cert-file ${caFile}`, 'tls-auth-clients no', 'tls-protocols "TLSv1.2 TLSv1.3"', `aclfile ${aclFile}`],
    { tlsPort: true },
  );
  const client = new Redis({
    host: '127.0.0.1',
    port: server.port,
    username: 'xtest-admin',
    password: adminPassword,
    tls: { ca: ca.certPem, servername: 'localhost' },
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await client.connect();
  const admin = (...args: string[]) => client.call(args[0]!, ...args.slice(1));
  return {
    server,
    port: server.port,
    admin,
    async setKeys(primary, secondary) {
      await admin('ACL', 'SETUSER', 'default', 'on', 'resetpass', `>${primary}`, `>${secondary}`, '~*', '&*', '+@all');
    },
    async allowToken(objectId, token, policy) {
      await admin('ACL', 'SETUSER', objectId, 'on', `>${token}`, 'resetkeys', 'resetchannels', '-@all', ...POLICY_RULES[policy]);
    },
    async enforceTokenExpiry(users, expiryAt) {
      const auths = new Map<string, number[]>();
      const seen = new Map<string, string>();
      const killed: string[] = [];
      const monitor = await client.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        const cmd = args[0]?.toLowerCase();
        if (cmd === 'auth' || (cmd === 'hello' && args.some((a) => a.toLowerCase() === 'auth'))) {
          const list = auths.get(source) ?? [];
          list.push(Date.now());
          auths.set(source, list);
        }
      });
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        void (async () => {
          const list = String(await client.call('CLIENT', 'LIST'));
          for (const line of list.split('\n')) {
            const f = Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
            if (!f.user || !users().has(f.user)) continue;
            seen.set(f.addr!, f.user);
            const last = auths.get(f.addr!)?.at(-1);
            if (last === undefined) continue;
            const exp = expiryAt(f.user, last);
            if (exp !== undefined && Date.now() >= exp) {
              killed.push(`${f.addr} ${f.user}`);
              await client.call('CLIENT', 'KILL', 'ID', f.id!);
            }
          }
        })()
          .catch(() => {})
          .finally(() => (busy = false));
      }, 250);
      return {
        auths,
        users: seen,
        killed,
        stop() {
          clearInterval(timer);
          monitor.disconnect();
        },
      };
    },
    async stop() {
      client.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(server.dir, { recursive: true, force: true });
    },
  };
}

/** AzureRedisCluster is a 3-master TLS Redis Cluster standing in for an Enterprise database with the OSSCluster policy. */
export interface AzureRedisCluster {
  ports: number[];
  /** setKeys makes the access keys the default user's passwords on every node. */
  setKeys(primary: string, secondary: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * startAzureRedisCluster starts three TLS nodes (certificate from ca, no client certificates, the
 * cluster bus over TLS) and joins them with `redis-cli --cluster create`, waiting for
 * `cluster_state:ok` on each.
 */
export async function startAzureRedisCluster(ca: CertificateAuthority): Promise<AzureRedisCluster> {
  const keys = generateKeyPair();
  const now = Date.now();
  const cert = ca.issue({
    publicKey: keys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    // Nodes are each other's TLS clients on the cluster bus.
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const dir = await tmpDir('xport-azure-cluster-');
  const certFile = join(dir, 'node.crt');
  const keyFile = join(dir, 'node.key');
  const caFile = join(dir, 'ca.crt');
  const aclFile = join(dir, 'users.acl');
  const adminPassword = randomBytes(16).toString('hex');
  await writeFile(certFile, cert.certPem, { mode: 0o600 });
  await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
  await writeFile(caFile, ca.certPem);
  await writeFile(aclFile, [`user xtest-admin on >${adminPassword} ~* &* +@all`, 'user default off'].join('\n') + '\n');
  const used = new Set<number>();
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  const plan: { port: number; bus: number }[] = [];
  for (let i = 0; i < 3; i++) plan.push({ port: await pick(), bus: await pick() });
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([dir, ...servers.map((s) => s.dir)].map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    for (const p of plan) {
      servers.push(
        await startRedis(
          [
            `tls-cert-file ${certFile}`,
            `tls-key-file ${keyFile}`,
            `tls-ca-cert-file ${caFile}`,
            'tls-auth-clients no',
            'tls-cluster yes',
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            `cluster-port ${p.bus}`,
            'cluster-node-timeout 2000',
            `aclfile ${aclFile}`,
          ],
          { tlsPort: true, port: p.port },
        ),
      );
    }
    const tlsArgs = ['--tls', '--cacert', caFile, '--user', 'xtest-admin', '--pass', adminPassword, '--no-auth-warning'];
    const cli = (port: number, args: string[]) => runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...tlsArgs, ...args], { timeoutMs: 60_000 });
    const create = await runProcess('redis-cli', [...tlsArgs, '--cluster', 'create', ...plan.map((p) => `127.0.0.1:${p.port}`), '--cluster-yes'], { timeoutMs: 60_000 });
    if (create.code !== 0 || !/All 16384 slots covered/.test(create.stdout)) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    const deadline = Date.now() + 30_000;
    for (const p of plan) {
      for (;;) {
        const info = await cli(p.port, ['CLUSTER', 'INFO']);
        if (/cluster_state:ok/.test(info.stdout)) break;
        if (Date.now() > deadline) throw new Error(`node ${p.port} did not reach cluster_state:ok:\n${info.stdout}${info.stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      ports: plan.map((p) => p.port),
      async setKeys(primary, secondary) {
        for (const p of plan) {
          const r = await cli(p.port, ['ACL', 'SETUSER', 'default', 'on', 'resetpass', `>${primary}`, `>${secondary}`, '~*', '&*', '+@all']);
          if (r.stdout.trim() !== 'OK') throw new Error(`ACL SETUSER on ${p.port}: ${r.stdout}${r.stderr}`);
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
