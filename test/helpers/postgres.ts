/**
 * test/helpers/postgres: start a real PostgreSQL 15 on a free loopback port in a temp dir, wait until
 * it accepts connections, and stop it by PID.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server runs as `nobody`
 * (setpriv drops the uid and gid and then execs, so the PID we hold is the postmaster's own). The
 * unix socket lives in the temp dir. With `tls: true` the server also gets a CA, a server
 * certificate for 127.0.0.1/localhost and a client certificate for the role `xport_cert`, made with
 * openssl, and pg_hba accepts only TLS connections on TCP. Missing binaries fail loudly.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.js';

/** PG_BIN is where Debian's postgresql-15 puts the server binaries. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The superuser role initdb creates (trusted on loopback). */
const SUPERUSER = 'xport';
/** The role that logs in with a client certificate when tls is on. */
export const CERT_ROLE = 'xport_cert';

/** PostgresTls are the PEM files of a TLS-enabled server. */
export interface PostgresTls {
  caFile: string;
  /** A CA that did not sign the server certificate (for the refusal tests). */
  otherCaFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** PostgresServer is a running PostgreSQL. */
export interface PostgresServer {
  port: number;
  dir: string;
  pid: number;
  tls?: PostgresTls;
  /** url returns a connection string for database (default `postgres`) as the superuser. */
  url(database?: string): string;
  /** createDatabase creates a fresh, empty database and returns its connection string. */
  createDatabase(name?: string): Promise<string>;
  /** query runs one statement as the superuser on database (default `postgres`). */
  query(sql: string, database?: string): Promise<pg.QueryResult>;
  /** restart stops the server (fast shutdown) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * requirePostgres throws when the PostgreSQL 15 server binaries are missing: the tests that need
 * them never skip silently.
 */
export function requirePostgres(): void {
  for (const b of ['initdb', 'postgres']) {
    if (!existsSync(join(PG_BIN, b))) {
      throw new Error(`${join(PG_BIN, b)} is missing: install postgresql-15 (apt-get install postgresql-15; .ci/run does this)`);
    }
  }
}

/** runAs returns the command prefix that runs a program as the unprivileged user when we are root. */
function runAs(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  // nobody/nogroup on Debian.
  return { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'], uid: 65534, gid: 65534 };
}

let dbCounter = 0;

/** startPostgres initialises a cluster in a temp dir and starts it on a free loopback port. */
export async function startPostgres(opts: { tls?: boolean } = {}): Promise<PostgresServer> {
  requirePostgres();
  const user = runAs();
  // As root, under /tmp: nobody must be able to reach the dir, and TMPDIR may be private to root.
  const dir = await mkdtemp(join(user ? '/tmp' : tmpdir(), 'xport-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const run = (bin: string, args: string[]) => {
    const argv = [...(user?.prefix ?? []), join(PG_BIN, bin), ...args];
    return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  };
  try {
    run('initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  } catch (err) {
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  let tls: PostgresTls | undefined;
  const hba = ['local all all trust'];
  if (opts.tls) {
    tls = await makeCerts(dir, user);
    hba.push(`hostssl all ${CERT_ROLE} 127.0.0.0/8 cert`, 'hostssl all all 127.0.0.0/8 trust', 'host all all 127.0.0.0/8 reject');
  } else {
    hba.push('host all all 127.0.0.1/32 trust');
  }
  await writeFile(join(data, 'pg_hba.conf'), hba.join('\n') + '\n');
  const port = await freePort();
  // With TLS also 127.0.0.2, an address the server certificate does not name.
  const listen = tls ? '127.0.0.1,127.0.0.2' : '127.0.0.1';
  const settings = [
    `port=${port}`,
    // With TLS also 127.0.0.2, an address the server certificate does not name.
    `listen_addresses=${listen}`,
    `unix_socket_directories=${dir}`,
    // A test server: durability is not under test, speed on a shared 2-core machine is.
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    'max_connections=200',
    'shared_buffers=32MB',
    ...(tls ? ['ssl=on', `ssl_cert_file=${join(dir, 'server.crt')}`, `ssl_key_file=${join(dir, 'server.key')}`, `ssl_ca_file=${tls.caFile}`] : []),
  ];
  await writeFile(join(data, 'postgresql.auto.conf'), settings.map((s) => s.replace('=', " = '") + "'").join('\n') + '\n');

  let child: ChildProcess;
  const launch = async () => {
    const argv = [...(user?.prefix ?? []), join(PG_BIN, 'postgres'), '-D', data];
    child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`postgres exited while starting: ${stderr}`);
      const c = new pg.Client({ host: dir, port, user: SUPERUSER, database: 'postgres' });
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
      }
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 60s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const halt = async () => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    // SIGINT is PostgreSQL's fast shutdown: it ends the sessions instead of waiting for them.
    c.kill('SIGINT');
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  if (tls) {
    const c = new pg.Client({ host: dir, port, user: SUPERUSER, database: 'postgres' });
    await c.connect();
    await c.query(`CREATE ROLE ${CERT_ROLE} LOGIN SUPERUSER`);
    await c.end();
  }

  const url = (database = 'postgres') => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  const query = async (sql: string, database = 'postgres') => {
    const c = new pg.Client({ host: dir, port, user: SUPERUSER, database });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    dir,
    get pid() {
      return child.pid!;
    },
    ...(tls ? { tls } : {}),
    url,
    query,
    async createDatabase(name?: string) {
      const db = name ?? `t${process.pid}_${++dbCounter}`;
      await query(`CREATE DATABASE ${db}`);
      return url(db);
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** makeCerts writes a CA, a server certificate and a client certificate with openssl. */
async function makeCerts(dir: string, user: ReturnType<typeof runAs>): Promise<PostgresTls> {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  try {
    ssl('version');
  } catch {
    throw new Error('openssl is missing: the PostgreSQL TLS tests make their certificates with it');
  }
  const key = (n: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(n));
  for (const ca of ['ca', 'other-ca']) {
    key(`${ca}.key`);
    ssl('req', '-x509', '-new', '-key', f(`${ca}.key`), '-subj', `/CN=xport test ${ca}`, '-days', '2', '-out', f(`${ca}.crt`));
  }
  const sign = (name: string, subj: string, ext: string) => {
    key(`${name}.key`);
    ssl('req', '-new', '-key', f(`${name}.key`), '-subj', subj, '-out', f(`${name}.csr`));
    return writeFile(f(`${name}.ext`), ext).then(() =>
      ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`)),
    );
  };
  await sign('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await sign('client', `/CN=${CERT_ROLE}`, 'extendedKeyUsage=clientAuth\n');
  // PostgreSQL insists that its key is private to the user running it.
  await chmod(f('server.key'), 0o600);
  if (user) {
    for (const n of ['server.key', 'server.crt', 'ca.crt']) await chown(f(n), user.uid, user.gid);
  }
  await chmod(f('client.key'), 0o600);
  return { caFile: f('ca.crt'), otherCaFile: f('other-ca.crt'), clientCertFile: f('client.crt'), clientKeyFile: f('client.key') };
}
