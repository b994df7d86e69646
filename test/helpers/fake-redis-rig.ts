/**
 * test/helpers/fake-redis-rig: the Redis engine (and so its relays) in front of an in-process fake
 * Redis (resp-server.ts), what the unit suites of redis/engine.ts, redis/relay.ts and
 * redis/cluster/* share: a change to the core is checked in seconds, no process spawned.
 */
import type { AuditFileWriter } from '../../src/audit/file-log.js';
import type { Role } from '../../src/auth/types.js';
import type { CredentialProvider } from '../../src/db/credentials.js';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { RedisEngineConfig } from '../../src/redis/engine.js';
import { ANY_DB, plainDatabase, rawConnect, role, startFront, StaticCredentials, type Front, type Raw } from './engine-front.js';
import { FakeCluster, memoryRedis, RespServer, type Handler } from './resp-server.js';

/** ALICE may use every command on dbs 0 and 1 as db user alice. */
export const ALICE = role('alice', { db_labels: ANY_DB, db_users: ['alice'], db_names: ['0', '1'] });
/** READER may only read. */
export const READER = role('reader', { db_labels: ANY_DB, db_users: ['alice'], db_names: ['0'], redis_commands: ['+@read'] });
/** NO_FLUSH may do anything but FLUSHALL and FLUSHDB. */
export const NO_FLUSH = role('no-flush', { db_labels: ANY_DB, db_users: ['alice'], db_names: ['0', '1'] }, { redis_commands: ['flushall', 'flushdb'] });

export interface Rig {
  server: RespServer;
  front: Front;
  creds: CredentialProvider;
  connect(): Promise<Raw>;
  close(): Promise<void>;
}

export interface RigPlan {
  roles?: Role[];
  handler?: Handler;
  creds?: CredentialProvider;
  dbName?: string;
  dbUser?: string;
  engine?: Partial<RedisEngineConfig>;
  /** A real write-ahead log for the sessions' events (see FrontPlan). */
  auditWriter?: AuditFileWriter;
}

/** rig starts a fake Redis and the engine in front of it; connect() opens a client session. */
export async function rig(plan: RigPlan = {}): Promise<Rig> {
  const server = await RespServer.start(plan.handler ?? memoryRedis());
  const creds = plan.creds ?? new StaticCredentials('alice', 'pw');
  const r = await frontFor(plainDatabase(server.port), plan, creds, () => server.close());
  return { server, creds, ...r };
}

/** frontFor starts the engine for db as plan says; connect() opens client sessions that close() ends with it. */
async function frontFor(db: DatabaseSpec, plan: Omit<RigPlan, 'handler'>, credentials: CredentialProvider, stopServers: () => Promise<void>) {
  const front = await startFront({
    roles: plan.roles ?? [ALICE],
    db,
    credentials,
    dbUser: plan.dbUser ?? 'alice',
    ...(plan.dbName !== undefined ? { dbName: plan.dbName } : {}),
    ...(plan.engine !== undefined ? { engine: plan.engine } : {}),
    ...(plan.auditWriter !== undefined ? { auditWriter: plan.auditWriter } : {}),
  });
  const clients: Raw[] = [];
  return {
    front,
    async connect(): Promise<Raw> {
      const c = await rawConnect(front.port);
      clients.push(c);
      return c;
    },
    async close(): Promise<void> {
      for (const c of clients) c.close();
      await front.close();
      await stopServers();
    },
  };
}

/** queries lists the audited query events as `command:success`. */
export function queries(front: Front): string[] {
  return front.events.filter((e) => e.type === 'db.session.query').map((e) => `${e.command}:${e.success}`);
}

/** waitFor polls a condition with a generous deadline (the machine may be loaded). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** ClusterRig is the engine in front of a {@link FakeCluster}. */
export interface ClusterRig {
  cluster: FakeCluster;
  front: Front;
  connect(): Promise<Raw>;
  close(): Promise<void>;
}

/** clusterRig starts a fake cluster of `nodes` masters and the engine in front of it (URI: node 0). */
export async function clusterRig(plan: Omit<RigPlan, 'handler'> & { nodes?: number } = {}): Promise<ClusterRig> {
  const cluster = await FakeCluster.start(plan.nodes ?? 3);
  const r = await frontFor(plainDatabase(cluster.nodes[0]!.port, 'cluster'), plan, plan.creds ?? new StaticCredentials('alice', 'pw'), () => cluster.close());
  return { cluster, ...r };
}
