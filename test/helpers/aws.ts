/**
 * test/helpers/aws: the AWS side of the tests — moto (a real, independent AWS emulator) with the
 * add-on in aws_emulator.py, TLS fronts that judge AUTH like ElastiCache/MemoryDB against moto's
 * state and forward to real redis-servers, and the environment the agent (and the SDK clients in
 * the test) use to reach it (`AWS_ENDPOINT_URL`, static test credentials).
 *
 * Fails loudly when python3 cannot import moto: there is no silent skip.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateUserCommand, type ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import { ROOT, tmpDir, type XportService } from './cli.js';
import { waitFor } from './db-cluster.js';

/** The static test identity the SDK clients sign with (moto accepts any; the fronts know this one). */
export const TEST_AKID = 'AKIAXPORTTEST0000001';
export const TEST_SECRET = 'xport-test-secret-key-0000000000000000000';
export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'us-east-1';

/**
 * TEST_IAM_TOKEN_TTL_S is the IAM token lifetime the agents in these tests sign with
 * (XPORT_AWS_IAM_TOKEN_TTL, see {@link agentEnv}) and the fronts' `max_auth_age`: short, so a live
 * session is re-authenticated within seconds. The agent re-AUTHs a fifth of a token's remaining
 * life before it expires, so a connection is refreshed about every 8 s, at least 2 s before the
 * front would drop it.
 */
export const TEST_IAM_TOKEN_TTL_S = 10;

/** FrontSpec is one TLS front: what it stands for and where its redis-server is. */
export interface FrontSpec {
  name: string;
  /** Replication group id, serverless cache name or MemoryDB cluster name (the token's host). */
  target: string;
  service: 'elasticache' | 'memorydb';
  serverless?: boolean;
  /** More targets this front also stands for (one Redis Cluster behind two AWS resources). */
  alsoTargets?: Array<{ target: string; service: 'elasticache' | 'memorydb'; serverless?: boolean }>;
  region?: string;
  /** The plaintext redis-server behind the front. */
  upstream: string;
  /** The password every ACL user has on that redis-server (the front swaps it in after a good AUTH). */
  redisPassword: string;
  /** Close connections whose last good AUTH was an IAM token older than this many seconds (as ElastiCache does after 12 h). */
  maxAuthAge?: number;
}

/** AuthEvent is a front's verdict on one AUTH. */
export interface AuthEvent {
  event: 'auth' | 'dropped';
  front: string;
  user?: string;
  kind?: 'iam' | 'password';
  ok?: boolean;
  why?: string;
  /** The access key id an IAM token was signed with. */
  akid?: string;
}

/** AwsEmulator is a running moto with its fronts. */
export interface AwsEmulator {
  port: number;
  endpoint: string;
  fronts: Record<string, number>;
  /** PEM of the CA that signed the fronts' certificate (the agent's tls.ca_cert_file). */
  caPem: string;
  caFile: string;
  events: AuthEvent[];
  /** env for processes that talk to this emulator (the agent, xctl bootstrap). */
  env: Record<string, string>;
  /** clientConfig is what the SDK clients in a test are built with: moto's endpoint and the static test identity. */
  clientConfig: { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** enforceIam turns on moto's SigV4 and IAM policy checks for every request from now on. */
  enforceIam(): Promise<void>;
  /** waitEvent resolves with the first event (from now on, or already seen when since=0) that matches. */
  waitEvent(match: (e: AuthEvent) => boolean, timeoutMs?: number, since?: number): Promise<AuthEvent>;
  stop(): Promise<void>;
}

/** requireMoto throws unless python3 can import moto (the AWS tests must not skip silently). */
export function requireMoto(): void {
  try {
    execFileSync('python3', ['-c', 'import moto, botocore'], { stdio: 'ignore' });
  } catch {
    throw new Error('python3 cannot import moto: install it (pip install "moto[server]==5.2.1"); the AWS tests need a real AWS emulator');
  }
}

/** startAwsEmulator starts moto and the fronts; endpoints maps resource ids to front names. */
export async function startAwsEmulator(o: { fronts?: FrontSpec[]; endpoints?: Record<string, string | string[]>; env?: Record<string, string> } = {}): Promise<AwsEmulator> {
  requireMoto();
  const dir = await tmpDir('xport-aws-');
  const ca = CertificateAuthority.create({ type: 'db', clusterName: 'aws-test' });
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
  const certFile = join(dir, 'front.crt');
  const keyFile = join(dir, 'front.key');
  const caFile = join(dir, 'ca.crt');
  await writeFile(certFile, cert.certPem, { mode: 0o600 });
  await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
  await writeFile(caFile, ca.certPem, { mode: 0o600 });

  const child: ChildProcess = spawn('python3', [join(ROOT, 'test/helpers/aws_emulator.py')], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MOTO_ACCOUNT_ID: TEST_ACCOUNT, ...(o.env ?? {}) },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const events: AuthEvent[] = [];
  const waiters = new Set<{ since: number; match: (e: AuthEvent) => boolean; resolve: (e: AuthEvent) => void }>();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<{ port: number; fronts: Record<string, number> }>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.ready) resolve(msg as unknown as { port: number; fronts: Record<string, number> });
      else if (msg.event) {
        const e = msg as unknown as AuthEvent;
        events.push(e);
        for (const w of [...waiters]) {
          if (events.length - 1 >= w.since && w.match(e)) {
            waiters.delete(w);
            w.resolve(e);
          }
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`the AWS emulator exited (${code}) before it was ready:\n${stderr}`)));
  });
  child.stdin!.write(
    JSON.stringify({
      static_credentials: { [TEST_AKID]: TEST_SECRET },
      fronts: (o.fronts ?? []).map((f) => ({
        name: f.name,
        target: f.target,
        service: f.service,
        serverless: f.serverless ?? false,
        targets: [{ target: f.target, service: f.service, serverless: f.serverless ?? false }, ...(f.alsoTargets ?? []).map((t) => ({ ...t, serverless: t.serverless ?? false }))],
        region: f.region ?? TEST_REGION,
        upstream: f.upstream,
        cert: certFile,
        key: keyFile,
        redis_password: f.redisPassword,
        ...(f.maxAuthAge ? { max_auth_age: f.maxAuthAge } : {}),
      })),
      endpoints: o.endpoints ?? {},
    }) + '\n',
  );
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const r = await ready.finally(() => clearTimeout(timeout));
  const endpoint = `http://127.0.0.1:${r.port}`;
  return {
    port: r.port,
    endpoint,
    fronts: r.fronts,
    caPem: ca.certPem,
    caFile,
    events,
    clientConfig: { region: TEST_REGION, endpoint, credentials: { accessKeyId: TEST_AKID, secretAccessKey: TEST_SECRET } },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: TEST_AKID,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET,
      AWS_REGION: TEST_REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async enforceIam() {
      const r = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
      if (!r.ok) throw new Error(`moto reset-auth failed: ${r.status} ${await r.text()}`);
    },
    waitEvent(match, timeoutMs = 30_000, since = events.length) {
      for (let i = since; i < events.length; i++) if (match(events[i]!)) return Promise.resolve(events[i]!);
      return new Promise((resolve, reject) => {
        const w = { since, match, resolve: (e: AuthEvent) => (clearTimeout(t), resolve(e)) };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching AWS front event within ${timeoutMs} ms; events so far: ${JSON.stringify(events.slice(-10))}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/**
 * frontAcl is the ACL of a redis-server behind fronts: each user gets the front's password (the
 * front swaps it in after a good AUTH) and every key, channel and command; `default` is off.
 */
export function frontAcl(users: string[], password: string): string[] {
  return [...users.map((u) => `user ${u} on >${password} ~* &* +@all`), 'user default off'];
}

/** agentEnv is the environment of an `xctl start` whose agent reaches the emulator and signs {@link TEST_IAM_TOKEN_TTL_S} tokens. */
export function agentEnv(emu: AwsEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, XPORT_AWS_IAM_TOKEN_TTL: String(TEST_IAM_TOKEN_TTL_S), ...extra };
}

/** createIamUsers creates ElastiCache users with IAM authentication and full access in moto. */
export async function createIamUsers(ec: ElastiCacheClient, ids: string[]): Promise<void> {
  for (const id of ids) {
    await ec.send(new CreateUserCommand({ UserId: id, UserName: id, Engine: 'redis', AccessString: 'on ~* +@all', AuthenticationMode: { Type: 'iam' } }));
  }
}

/** createRole writes a role whose `allow` holds allowLines (YAML, two-space indented) and creates it with xctl. */
export async function createRole(svc: XportService, dir: string, name: string, allowLines: string[]): Promise<void> {
  const file = join(dir, `role-${name}.yaml`);
  await writeFile(file, ['kind: role', 'version: v1', `metadata: { name: ${name} }`, 'spec:', '  allow:', ...allowLines.map((l) => `    ${l}`), ''].join('\n'));
  const r = await svc.xctl(['create', '-f', file]);
  if (r.code !== 0) throw new Error(`xctl create -f ${file} failed: ${r.stderr}`);
}

/**
 * waitForReauths polls until the fronts saw `count` good AUTHs of user (on each front named in
 * `fronts`, or in all when none is named) since event index `since`, running `between` (the
 * session's traffic and its checks) before each look.
 */
export async function waitForReauths(
  emu: AwsEmulator,
  o: { since: number; user: string; count: number; fronts?: string[]; between: () => Promise<void>; timeoutMs?: number },
): Promise<void> {
  const good = () => emu.events.slice(o.since).filter((e) => e.event === 'auth' && e.user === o.user && e.ok);
  await waitFor(
    `${o.count} good AUTHs of ${o.user}${o.fronts ? ` on each of ${o.fronts.join(', ')}` : ''}`,
    async () => {
      await o.between();
      const auths = good();
      return o.fronts ? o.fronts.every((f) => auths.filter((e) => e.front === f).length >= o.count) : auths.length >= o.count;
    },
    o.timeoutMs ?? 4 * TEST_IAM_TOKEN_TTL_S * 1000,
  );
}
