/**
 * test/helpers/engine-front: the standalone Redis engine in-process in front of a real TLS
 * redis-server. A plain-TCP listener on 127.0.0.1 hands each connection to engine.handle() with a
 * session built from real roles (the real AccessChecker), and `Raw` sockets read whole reply
 * frames. Used by the RBAC/verdict suites and `npm run fuzz`-style tests.
 */
import type { AuditFileWriter } from '../../src/audit/file-log.js';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { AccessChecker } from '../../src/auth/rbac.js';
import type { Role, RoleConditions } from '../../src/auth/types.js';
import type { CredentialProvider, UpstreamCredentials } from '../../src/db/credentials.js';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { Session, SessionAuditEvent, SessionChecker } from '../../src/db/session.js';
import { RedisEngine, type RedisEngineConfig } from '../../src/redis/engine.js';
import { ReplyScanner } from '../../src/redis/resp/index.js';
import type { Logger } from '../../src/util/log.js';
import type { TlsRedis } from './redis-tls.js';

/** role builds a role from allow (and deny) conditions. */
export const role = (name: string, allow: RoleConditions, deny?: RoleConditions): Role => ({
  kind: 'role',
  version: 'v1',
  metadata: { name },
  spec: { allow, deny },
});

/** ANY_DB matches every database's labels. */
export const ANY_DB = { '*': '*' };

/** enc encodes one command as a RESP array of bulk strings. */
export const enc = (...args: (string | Buffer)[]): Buffer =>
  Buffer.concat([
    Buffer.from(`*${args.length}\r\n`),
    ...args.flatMap((a) => {
      const body = typeof a === 'string' ? Buffer.from(a) : a;
      return [Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')];
    }),
  ]);

/** sessionChecker adapts the real AccessChecker to the engine's SessionChecker contract (as the agent does). */
export function sessionChecker(roles: Role[], db: DatabaseSpec, dbUser: string): SessionChecker {
  const ac = AccessChecker.fromRoles(roles, { db_users: [], db_names: [] });
  const ref = { name: db.name, labels: db.labels, mode: db.mode };
  const scoped = ac.scopeTo(ref, dbUser);
  return {
    checkDbUser: (u) => ac.checkDatabaseAccess(ref, u),
    checkDbName: (n) => ac.checkDatabaseAccess(ref, dbUser, n),
    commandAllowed: (c, cats) => scoped.commandAllowed(c, cats),
  };
}

/** Raw is a socket that collects complete reply frames (as latin1 strings). */
export class Raw {
  readonly frames: string[] = [];
  readonly #scanner = new ReplyScanner();
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];
  constructor(readonly socket: Socket | TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.#scanner.push(d);
      for (let f = this.#scanner.next(); f; f = this.#scanner.next()) this.frames.push(f.raw.toString('latin1'));
      for (const w of this.#waiters) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }
  send(...cmds: Buffer[]): void {
    this.socket.write(Buffer.concat(cmds));
  }
  /** take waits (polling, generous deadline) until n frames have arrived and removes and returns the first n. */
  async take(n: number, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} frames; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
      this.#waiters = [];
    }
    return this.frames.splice(0, n);
  }
  /** call sends one command and returns its one reply. */
  async call(...args: (string | Buffer)[]): Promise<string> {
    this.send(enc(...args));
    return (await this.take(1))[0]!;
  }
  close(): void {
    this.socket.destroy();
  }
}

/** rawConnect opens a plain TCP connection to a front. */
export async function rawConnect(port: number): Promise<Raw> {
  const s = netConnect(port, '127.0.0.1');
  await new Promise((r, j) => s.once('connect', r).once('error', j));
  return new Raw(s);
}

/** directConnect opens an authenticated TLS connection straight to Redis (what Redis itself does). */
export async function directConnect(fx: TlsRedis, user: string, password: string): Promise<Raw> {
  const c = fx.issueClient(user);
  const s = tlsConnect({ host: '127.0.0.1', port: fx.port, ca: fx.dbCa.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' });
  await new Promise((r, j) => s.once('secureConnect', r).once('error', j));
  const raw = new Raw(s);
  const ok = await raw.call('AUTH', user, password);
  if (ok !== '+OK\r\n') throw new Error(`AUTH ${user} failed: ${ok}`);
  return raw;
}

/** tlsDatabase describes a TLS redis-server fixture as a database spec. */
export function tlsDatabase(fx: TlsRedis, name = 'cache'): DatabaseSpec {
  return {
    name,
    protocol: 'redis',
    uri: `rediss://127.0.0.1:${fx.port}`,
    host: '127.0.0.1',
    port: fx.port,
    mode: 'standalone',
    labels: { env: 'dev' },
    type: 'self-hosted',
    tls: { mode: 'verify-full', caCertPem: fx.dbCa.certPem },
  };
}

/** passwordCredentials issues db_client certificates for the session's db user, with its password when inject. */
export function passwordCredentials(fx: TlsRedis, passwords: Record<string, string>, inject: boolean): CredentialProvider {
  const cache = new Map<string, UpstreamCredentials>();
  return {
    async credentials(db, dbUser, opts) {
      const key = `${dbUser}@${opts.notAfter.getTime()}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const c = fx.issueClient(dbUser, opts.notAfter);
      const pw = inject ? passwords[dbUser] : undefined;
      const creds: UpstreamCredentials = {
        username: pw === undefined ? undefined : dbUser,
        password: pw,
        tls: { certPem: c.certPem, keyPem: c.keyPem, caPem: db.tls.caCertPem, rejectUnauthorized: true, checkServerName: true },
        expiresAt: opts.notAfter,
      };
      cache.set(key, creds);
      return creds;
    },
  };
}

/** FrontPlan says how sessions of a front are made. */
export interface FrontPlan {
  roles: Role[];
  dbUser?: string;
  dbName?: string;
  db: DatabaseSpec;
  credentials: CredentialProvider;
  log?: Logger;
  engine?: Partial<RedisEngineConfig>;
  /** Reuse an engine (its command-table cache) across fronts. */
  shared?: RedisEngine;
  /**
   * A real write-ahead log for the sessions' events (flushed before each forward, as xctl start
   * does); without it events are only kept in `events` and flush fails while `failAudit` is set.
   */
  auditWriter?: AuditFileWriter;
}

/** Front is a listening engine front. */
export interface Front {
  port: number;
  engine: RedisEngine;
  events: SessionAuditEvent[];
  /** Set to make every session's audit flush fail (an audit log that cannot be written). */
  failAudit: boolean;
  close(): Promise<void>;
}

/** startFront serves engine sessions on a loopback port; close() aborts them and stops listening. */
export async function startFront(plan: FrontPlan): Promise<Front> {
  const { nullLogger } = await import('../../src/util/log.js');
  const engine = plan.shared ?? new RedisEngine({ credentials: plan.credentials, log: plan.log ?? nullLogger, ...plan.engine });
  const events: SessionAuditEvent[] = [];
  const controllers: AbortController[] = [];
  const sockets = new Set<Socket>();
  let n = 0;
  const expires = new Date(Date.now() + 3600_000);
  const dbUser = plan.dbUser ?? 'alice';
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.setNoDelay(true);
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    const id = `s${++n}`;
    const session: Session = {
      id,
      user: 'tester',
      roles: plan.roles.map((r) => r.metadata.name),
      database: plan.db,
      dbUser,
      dbName: plan.dbName,
      expires,
      checker: sessionChecker(plan.roles, plan.db, dbUser),
      audit: plan.auditWriter
        ? {
            emit: (e) => {
              events.push({ ...e, session: id });
              plan.auditWriter!.append({ ...e, sid: id });
            },
            flush: () => plan.auditWriter!.commit(),
          }
        : {
            emit: (e) => events.push({ ...e, session: id }),
            flush: () => {
              if (front.failAudit) throw new Error('disk full');
            },
          },
    };
    const ctl = new AbortController();
    controllers.push(ctl);
    void engine.handle(sock, session, ctl.signal);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const front: Front = {
    port: (server.address() as { port: number }).port,
    engine,
    events,
    failAudit: false,
    close: async () => {
      for (const c of controllers) c.abort();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return front;
}

/** plainDatabase describes a fake (plaintext, loopback) Redis as a database spec; cluster mode when asked. */
export function plainDatabase(port: number, mode: 'standalone' | 'cluster' = 'standalone', name = 'fake'): DatabaseSpec {
  return {
    name,
    protocol: 'redis',
    uri: `redis://127.0.0.1:${port}${mode === 'cluster' ? '?mode=cluster' : ''}`,
    host: '127.0.0.1',
    port,
    mode,
    labels: { env: 'dev' },
    type: 'self-hosted',
    tls: { mode: 'disabled' },
  };
}

/**
 * StaticCredentials hands every session the same AUTH (or none), with no TLS material (for
 * plaintext fake servers). `calls` counts requests; `invalidated` counts cache drops after WRONGPASS.
 */
export class StaticCredentials implements CredentialProvider {
  calls = 0;
  invalidated = 0;
  constructor(
    public username?: string,
    public password?: string,
    readonly localAuth = false,
  ) {}
  async credentials(): Promise<UpstreamCredentials> {
    this.calls++;
    return {
      ...(this.password !== undefined ? { username: this.username, password: this.password } : {}),
      tls: { rejectUnauthorized: true, checkServerName: false },
      ...(this.localAuth ? { localAuth: true } : {}),
    };
  }
  invalidate(): void {
    this.invalidated++;
  }
}
