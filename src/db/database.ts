/**
 * db/database: what a database is to xport, protocol-agnostic (Teleport's types.Database):
 * its name, address, mode, labels and how to verify its TLS. Static databases come from the
 * config, dynamic ones from `xctl create -f db.yaml`. Imports only errors and util.
 */
import { badParameter } from '../errors.js';
import type { AwsDatabase, AzureDatabase, CloudType } from './cloud.js';

/** DatabaseProtocol is the wire protocol a database speaks; each has one engine (db/engine). */
export type DatabaseProtocol = 'redis';
/**
 * DATABASE_PROTOCOLS lists every {@link DatabaseProtocol}: the protocols a database may name, and
 * so the engines an agent must have registered before it serves anything.
 */
export const DATABASE_PROTOCOLS: readonly DatabaseProtocol[] = ['redis'];

/** DatabaseType says who runs the database and so how the agent authenticates to it. */
export type DatabaseType = 'self-hosted' | CloudType;
/** DATABASE_TYPES lists every {@link DatabaseType}, for validation of input from the network. */
export const DATABASE_TYPES: readonly DatabaseType[] = ['self-hosted', 'elasticache', 'elasticache-serverless', 'memorydb', 'azure-redis', 'azure-redis-enterprise'];
/** RedisMode is standalone or cluster (`?mode=` in the URI). */
export type RedisMode = 'standalone' | 'cluster';
/**
 * TlsMode is how the agent verifies the database's certificate; `disabled` is a plaintext
 * upstream, only when a database says so explicitly (the agent warns at start).
 */
export type TlsMode = 'verify-full' | 'verify-ca' | 'insecure' | 'disabled';
/** TLS_MODES lists every {@link TlsMode}, for schemas. */
export const TLS_MODES = ['verify-full', 'verify-ca', 'insecure', 'disabled'] as const;

/** DatabaseSpec is one database an agent serves. */
export interface DatabaseSpec {
  name: string;
  description?: string;
  protocol: DatabaseProtocol;
  uri: string;
  host: string;
  port: number;
  mode: RedisMode;
  labels: Record<string, string>;
  type: DatabaseType;
  /**
   * Self-hosted only: `managed` — the agent owns an ACL user per db user, with rules derived from
   * the roles and a password only it knows; `passthrough` (default) — the client's AUTH goes to
   * Redis as today.
   */
  users?: 'managed' | 'passthrough';
  /** Set for ElastiCache, ElastiCache Serverless and MemoryDB databases. */
  aws?: AwsDatabase;
  /** Set for Azure Cache for Redis and Redis Enterprise / Azure Managed Redis databases. */
  azure?: AzureDatabase;
  tls: {
    mode: TlsMode;
    /** PEM of the CA that signed the database's server certificate (read from tls.ca_cert_file). */
    caCertPem?: string;
    /** Name to verify in the server certificate (defaults to the URI host). */
    serverName?: string;
  };
}

/**
 * DatabaseSummary is what listings say about a database, secrets and CA material left out: the
 * common part of the web API's `GET /v1/databases` answer (the server adds the agents serving it,
 * and for users the formatted allowed db users and an online status).
 */
export interface DatabaseSummary {
  name: string;
  description?: string;
  protocol: string;
  /** A {@link DatabaseType}: `self-hosted`, `elasticache`, `memorydb`, `azure-redis`, … */
  type: string;
  uri: string;
  mode: string;
  labels: Record<string, string>;
}

/** DEFAULT_REDIS_PORT is used when the URI names no port. */
export const DEFAULT_REDIS_PORT = 6379;

/**
 * parseRedisUri reads `redis://host:port?mode=cluster`, `rediss://…` or a bare `host:port`.
 * Both schemes mean TLS: xport never talks plaintext to Redis (as Teleport). Messages follow
 * Teleport's so users searching for them find the same advice.
 */
export function parseRedisUri(uri: string): { host: string; port: number; mode: RedisMode } {
  let u: URL;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `rediss://${uri}`;
  try {
    u = new URL(withScheme);
  } catch (err) {
    throw badParameter(`Redis connection string is incorrect "${uri}": ${(err as Error).message}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw badParameter(`failed to parse Redis address "${uri}", invalid Redis URI scheme: "${u.protocol.replace(/:$/, '')}". Expected "redis" or "rediss".`);
  }
  const mode = u.searchParams.get('mode') ?? 'standalone';
  if (mode !== 'standalone' && mode !== 'cluster') {
    throw badParameter(`incorrect connection mode "${mode}", supported are: standalone and cluster`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw badParameter(`Redis connection string is incorrect "${uri}": no host`);
  const port = u.port ? Number(u.port) : DEFAULT_REDIS_PORT;
  return { host, port, mode };
}
