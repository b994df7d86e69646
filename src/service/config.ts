/**
 * service/config: the `xctl start` configuration file (ARCHITECTURE §5), validated with a schema.
 *
 * Unknown keys are errors that name the key and its line, so a typo such as `listen_adr` never
 * silently falls back to a default. zod gives the structural checks; the `yaml` document API gives
 * line numbers. Must not import auth, proxy or cli.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { badParameter, notFound } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { parseHostPort } from '../util/net.js';
import { awsBlockSchema, azureBlockSchema, AZURE_CLOUDS, type AwsMatcher, type AzureCloud, type AzureMatcher } from '../db/cloud.js';
import { TLS_MODES } from '../db/database.js';

/** DEFAULT_CONFIG_PATH is where xctl looks for its config when -c is not given. */
export const DEFAULT_CONFIG_PATH = '/etc/xport.yaml';
/** DEFAULT_DATA_DIR is the data dir when the config names none. */
export const DEFAULT_DATA_DIR = '/var/lib/xport';
/** DEFAULT_LISTEN_ADDR is the proxy's one public port. */
export const DEFAULT_LISTEN_ADDR = '0.0.0.0:3080';

const hostPort = z.string().refine(
  (s) => {
    try {
      parseHostPort(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be host:port' },
);
const duration = z.string().refine(
  (s) => {
    try {
      parseDuration(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a duration such as 30m or 12h' },
);
const labels = z.record(z.string(), z.string());

const databaseSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  protocol: z.literal('redis'),
  uri: z.string().min(1),
  static_labels: labels.optional(),
  tls: z
    .strictObject({
      mode: z.enum(TLS_MODES).optional(),
      ca_cert_file: z.string().optional(),
      server_name: z.string().optional(),
    })
    .optional(),
  aws: awsBlockSchema.optional(),
  azure: azureBlockSchema.optional(),
  /** Self-hosted: managed (the agent owns an ACL user per db user) or passthrough (default). */
  users: z.enum(['managed', 'passthrough']).optional(),
  /**
   * The agent's admin credential for managed users: a Redis ACL user with +acl, its password in a
   * file only the agent reads, or a secret in the backend (`xctl db secret set`) that the auth
   * service decrypts for agents serving the database. Exactly one of the two.
   */
  admin: z
    .strictObject({ user: z.string().min(1), password_file: z.string().min(1).optional(), password_secret: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a secret name (lowercase letters, digits, ".", "_" or "-")').optional() })
    .refine((a) => a.password_file !== undefined || a.password_secret !== undefined, {
      message: 'needs password_file (a file only the agent reads) or password_secret (a secret set with xctl db secret set NAME --password-stdin)',
    })
    .refine((a) => a.password_file === undefined || a.password_secret === undefined, {
      message: 'takes password_file or password_secret, not both',
    })
    .optional(),
  /** How often managed users' passwords rotate (default 1h). */
  password_rotation: duration.optional(),
});

const awsMatcherSchema = z.strictObject({
  types: z.array(z.enum(['elasticache', 'elasticache-serverless', 'memorydb'])).min(1),
  regions: z.array(z.string().min(1)).min(1),
  tags: labels.optional(),
  assume_role_arn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN').optional(),
  external_id: z.string().optional(),
});

const azureMatcherSchema = z.strictObject({
  types: z.array(z.enum(['redis', 'redis-enterprise'])).min(1),
  regions: z.array(z.string().min(1)).optional(),
  subscriptions: z.array(z.string().min(1)).optional(),
  resource_groups: z.array(z.string().min(1)).optional(),
  tags: labels.optional(),
  auth: z.enum(['access_key', 'entra_id']).optional(),
  identities: z.record(z.string().min(1), z.strictObject({ client_id: z.string().min(1) })).optional(),
});

const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an https:// URL');

const schema = z.strictObject({
  version: z.literal('v1'),
  cluster_name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'must be letters, digits, ".", "_" or "-"').optional(),
  data_dir: z.string().optional(),
  log: z.strictObject({ severity: z.enum(['debug', 'info', 'warn', 'error']).optional() }).optional(),
  auth_service: z
    .strictObject({
      enabled: z.boolean().optional(),
      storage: z
        .discriminatedUnion('type', [
          z.strictObject({ type: z.literal('sqlite'), path: z.string().optional() }),
          z.strictObject({
            type: z.literal('postgres'),
            conn_string: z.string().regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// URL'),
            ca_file: z.string().optional(),
            cert_file: z.string().optional(),
            key_file: z.string().optional(),
          }),
        ])
        .optional(),
      second_factor: z.enum(['off', 'otp']).optional(),
      ca_key_algorithm: z.enum(['ecdsa-p256', 'rsa-2048']).optional(),
      session_ttl: duration.optional(),
    })
    .optional(),
  proxy_service: z
    .strictObject({
      enabled: z.boolean().optional(),
      listen_addr: hostPort.optional(),
      public_addr: hostPort.optional(),
      limits: z
        .strictObject({
          handshake_timeout: duration.optional(),
          idle_timeout: duration.optional(),
          header_timeout: duration.optional(),
          body_timeout: duration.optional(),
          keep_alive_timeout: duration.optional(),
          max_anonymous_connections: z.number().int().positive().optional(),
          max_anonymous_connections_per_source: z.number().int().positive().optional(),
        })
        .optional(),
      advertise_addr: hostPort.optional(),
    })
    .optional(),
  db_service: z
    .strictObject({
      enabled: z.boolean().optional(),
      auth_token: z.string().optional(),
      proxy_server: hostPort.optional(),
      ca_pin: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>').optional(),
      databases: z.array(databaseSchema).optional(),
      resources: z.array(z.strictObject({ labels: labels })).optional(),
      aws: z.array(awsMatcherSchema).optional(),
      azure: z.array(azureMatcherSchema).optional(),
      azure_cloud: z
        .union([
          z.enum(['AzurePublicCloud', 'AzureChinaCloud', 'AzureUSGovernment']),
          z.strictObject({ authority_host: httpsUrl, resource_manager_endpoint: httpsUrl }),
        ])
        .optional(),
      discovery_interval: duration.optional(),
      health_check_interval: duration.optional(),
      connect_timeout: duration.optional(),
      limits: z
        .strictObject({
          max_bulk_length: z.number().int().positive().optional(),
          max_args: z.number().int().positive().optional(),
          max_inline_length: z.number().int().positive().optional(),
          max_request_bytes: z.number().int().positive().optional(),
          max_pending_replies: z.number().int().positive().optional(),
          session_buffer_bytes: z.number().int().min(65536).optional(),
          process_buffer_bytes: z.number().int().min(65536).optional(),
        })
        .optional(),
    })
    .optional(),
  audit: z
    .strictObject({
      redis_values: z.enum(['redact', 'full']).optional(),
      /** How often the write-ahead audit log is fsync'd (default 1s; 0 would be every write, not offered). */
      fsync_interval: duration.optional(),
      /** Rotate an audit log file at this many bytes (default 128 MiB); files also rotate daily. */
      max_file_size: z.number().int().min(1024).optional(),
    })
    .optional(),
});

/** FileConfig is the config file as written. */
export type FileConfig = z.infer<typeof schema>;
/** DatabaseConfig is one static database entry. */
export type DatabaseConfig = z.infer<typeof databaseSchema>;

/**
 * StorageConfig chooses the backend. With `postgres` several replicas (each with its own data dir)
 * share one cluster; the file paths are resolved against the working directory.
 */
export type StorageConfig =
  | { type: 'sqlite' }
  | { type: 'postgres'; connString: string; caFile?: string; certFile?: string; keyFile?: string };

/** ServiceConfig is the config with defaults applied and paths resolved. */
export interface ServiceConfig {
  source: string;
  clusterName: string;
  /**
   * Whether the config (or --cluster-name) names the cluster. A remote agent without it takes
   * the name from the join; with it, a different name is an error at join time.
   */
  clusterNameSet?: boolean;
  dataDir: string;
  logSeverity: 'debug' | 'info' | 'warn' | 'error';
  auth: {
    enabled: boolean;
    secondFactor: 'off' | 'otp';
    caKeyAlgorithm: 'ecdsa-p256' | 'rsa-2048';
    sessionTtlMs: number;
    /** Where the cluster state lives: the embedded SQLite file in the data dir, or a shared PostgreSQL. */
    storage: StorageConfig;
  };
  proxy: {
    enabled: boolean;
    listenAddr: string;
    publicAddr: string;
    limits: ProxyLimits;
    /**
     * advertiseAddr: this replica's own address, which it heartbeats into the backend for agents to
     * keep a tunnel to it (default: the listen address, or this host's name when listening on all).
     */
    advertiseAddr?: string;
  };
  db: {
    enabled: boolean;
    authToken?: string;
    proxyServer?: string;
    caPin?: string;
    databases: DatabaseConfig[];
    /** Serve `kind: db` resources whose labels match one of these selectors. */
    resources: Record<string, string>[];
    /** Cloud discovery matchers (`db_service.aws`, `db_service.azure`). */
    aws: AwsMatcher[];
    azure: AzureMatcher[];
    /** The Azure cloud (authority and ARM endpoint); AZURE_AUTHORITY_HOST overrides the authority. */
    azureCloud: AzureCloud;
    /** How often discovery runs (default 5 minutes). */
    discoveryIntervalMs: number;
    /** How often the agent checks its databases' reachability (and managed-mode rights); default 15 s. */
    healthCheckIntervalMs?: number;
    /**
     * How long a session waits to dial its database, finish the TLS handshake and get the set-up
     * replies (`db_service.connect_timeout`; absent: the engine's default, 15 s).
     */
    connectTimeoutMs?: number;
    /** RESP input bounds per client connection (defaults: Redis's own limits). */
    limits: {
      maxBulkLength?: number;
      maxArgs?: number;
      maxInlineLength?: number;
      maxBufferedBytes?: number;
      maxPendingReplies?: number;
      /** Most bytes of one request a session holds before judging it; larger ones stream. */
      sessionBufferBytes?: number;
      /** Most client input all sessions together hold before they stop reading. */
      processBufferBytes?: number;
    };
  };
  /**
   * Audit: value redaction, and the write-ahead log (`<data_dir>/audit/*.jsonl`): fsync interval
   * and rotation size.
   */
  audit: { redisValues: 'redact' | 'full'; fsyncIntervalMs: number; maxFileBytes?: number };
}

/**
 * ProxyLimits bound what a client without a verified certificate can hold on the public port
 * (`proxy_service.limits`). Durations in ms.
 */
export interface ProxyLimits {
  /** TCP accept to finished TLS handshake (covers a connection that never sends a byte). */
  handshakeTimeoutMs: number;
  /** After the handshake, until the first stream (database tunnel) or hello (agent tunnel). */
  idleTimeoutMs: number;
  /** Web API: a request's headers complete within this time of its first byte. */
  headersTimeoutMs: number;
  /** Web API: complete headers to response sent (bounds a slow body). */
  bodyTimeoutMs: number;
  /** Web API: an idle kept-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
  /** Connections without a verified client certificate, in total; past it the oldest is dropped. */
  maxAnonymousConnections: number;
  /** Connections without a verified client certificate from one source address (IPv6: per /64); past it new ones are reset. */
  maxAnonymousPerSource: number;
}

/** DEFAULT_PROXY_LIMITS fit a host with the common 1,024 file descriptors per process. */
export const DEFAULT_PROXY_LIMITS: ProxyLimits = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxAnonymousConnections: 512,
  maxAnonymousPerSource: 128,
};

function zodPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

/**
 * parseConfig validates YAML text. Errors name the file, the line and the key:
 * `xport.yaml:4: proxy_service.listen_adr: unknown key`.
 */
export function parseConfig(text: string, source = 'xport.yaml'): ServiceConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? (e.pos ? lc.linePos(e.pos[0]) : undefined);
    throw badParameter(`${source}:${pos ? `${pos.line}:${pos.col}: ` : ' '}${e.message.split('\n')[0]}`, {
      hint: 'Fix the YAML syntax; see the configuration reference in README.md.',
    });
  }
  const raw = doc.toJS() ?? {};
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    let path = zodPath(issue.path);
    let what = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      path = [...path, key];
      what = 'unknown key';
    }
    const node = doc.getIn(path, true);
    const range = isNode(node) ? node.range : undefined;
    // Unknown keys have no value node of their own that getIn can reach in all cases; fall back to the parent.
    const line = range ? lc.linePos(range[0]).line : lineOfParent(doc, path, lc);
    throw badParameter(`${source}:${line ? `${line}: ` : ' '}${path.join('.') || '(top level)'}: ${what}`, {
      hint: 'See the configuration reference in README.md.',
    });
  }
  return withDefaults(result.data, source);
}

function lineOfParent(doc: ReturnType<typeof parseDocument>, path: (string | number)[], lc: LineCounter): number | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const node = doc.getIn(path.slice(0, i), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/** DEFAULT_DISCOVERY_INTERVAL_MS is how often cloud discovery runs unless `db_service.discovery_interval` says otherwise. */
export const DEFAULT_DISCOVERY_INTERVAL_MS = 5 * 60_000;

function azureCloudOf(c: NonNullable<FileConfig['db_service']>['azure_cloud']): AzureCloud {
  if (c === undefined) return AZURE_CLOUDS.AzurePublicCloud;
  if (typeof c === 'string') return AZURE_CLOUDS[c];
  return { name: 'custom', authorityHost: c.authority_host.replace(/\/+$/, ''), resourceManagerEndpoint: c.resource_manager_endpoint.replace(/\/+$/, '') };
}

function storageOf(s: NonNullable<FileConfig['auth_service']>['storage']): StorageConfig {
  if (s?.type !== 'postgres') return { type: 'sqlite' };
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(p));
  return {
    type: 'postgres',
    connString: s.conn_string,
    ...(s.ca_file !== undefined ? { caFile: abs(s.ca_file) } : {}),
    ...(s.cert_file !== undefined ? { certFile: abs(s.cert_file) } : {}),
    ...(s.key_file !== undefined ? { keyFile: abs(s.key_file) } : {}),
  };
}

/** withDefaults fills defaults the way an embedded all-in-one start expects. */
export function withDefaults(c: FileConfig, source = '(defaults)'): ServiceConfig {
  const dataDir = c.data_dir ?? DEFAULT_DATA_DIR;
  const listenAddr = c.proxy_service?.listen_addr ?? DEFAULT_LISTEN_ADDR;
  // The embedded all-in-one default (no db_service section) runs an agent too, serving the
  // dynamic databases created with `xctl create -f db.yaml`.
  const dbEnabled = c.db_service?.enabled ?? c.db_service === undefined;
  const authEnabled = c.auth_service?.enabled ?? true;
  if (dbEnabled && !authEnabled && (!c.db_service?.auth_token || !c.db_service?.proxy_server)) {
    throw badParameter(`${source}: db_service needs auth_token and proxy_server when auth_service is disabled`, {
      hint: 'Generate an agent config with: xctl db configure create --token=... --proxy=HOST:PORT ...',
    });
  }
  return {
    source,
    clusterName: c.cluster_name ?? 'xport',
    clusterNameSet: c.cluster_name !== undefined,
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    logSeverity: c.log?.severity ?? 'info',
    auth: {
      enabled: authEnabled,
      secondFactor: c.auth_service?.second_factor ?? 'off',
      caKeyAlgorithm: c.auth_service?.ca_key_algorithm ?? 'ecdsa-p256',
      sessionTtlMs: c.auth_service?.session_ttl ? parseDuration(c.auth_service.session_ttl) : 12 * 3_600_000,
      storage: storageOf(c.auth_service?.storage),
    },
    proxy: {
      enabled: c.proxy_service?.enabled ?? authEnabled,
      listenAddr,
      publicAddr: c.proxy_service?.public_addr ?? listenAddr.replace(/^0\.0\.0\.0:|^\[::\]:/, 'localhost:'),
      limits: proxyLimits(c.proxy_service?.limits),
      ...(c.proxy_service?.advertise_addr !== undefined ? { advertiseAddr: c.proxy_service.advertise_addr } : {}),
    },
    db: {
      enabled: dbEnabled,
      ...(c.db_service?.auth_token !== undefined ? { authToken: c.db_service.auth_token } : {}),
      ...(c.db_service?.proxy_server !== undefined ? { proxyServer: c.db_service.proxy_server } : {}),
      ...(c.db_service?.ca_pin !== undefined ? { caPin: c.db_service.ca_pin } : {}),
      databases: c.db_service?.databases ?? [],
      resources: c.db_service?.resources?.map((r) => r.labels) ?? (c.db_service === undefined ? [{ '*': '*' }] : []),
      aws: (c.db_service?.aws ?? []).map((m) => ({
        types: m.types,
        regions: m.regions,
        tags: m.tags ?? { '*': '*' },
        ...(m.assume_role_arn ? { assumeRoleArn: m.assume_role_arn } : {}),
        ...(m.external_id ? { externalId: m.external_id } : {}),
      })),
      azure: (c.db_service?.azure ?? []).map((m) => ({
        types: m.types,
        regions: m.regions ?? ['*'],
        subscriptions: m.subscriptions ?? ['*'],
        resourceGroups: m.resource_groups ?? ['*'],
        tags: m.tags ?? { '*': '*' },
        ...(m.auth ? { auth: m.auth } : {}),
        ...(m.identities ? { identities: Object.fromEntries(Object.entries(m.identities).map(([u, v]) => [u, { clientId: v.client_id }])) } : {}),
      })),
      azureCloud: azureCloudOf(c.db_service?.azure_cloud),
      discoveryIntervalMs: c.db_service?.discovery_interval ? parseDuration(c.db_service.discovery_interval) : DEFAULT_DISCOVERY_INTERVAL_MS,
      ...(c.db_service?.health_check_interval ? { healthCheckIntervalMs: Math.max(1000, parseDuration(c.db_service.health_check_interval)) } : {}),
      ...(c.db_service?.connect_timeout ? { connectTimeoutMs: parseDuration(c.db_service.connect_timeout, 'db_service.connect_timeout', 's') } : {}),
      limits: {
        ...(c.db_service?.limits?.max_bulk_length ? { maxBulkLength: c.db_service.limits.max_bulk_length } : {}),
        ...(c.db_service?.limits?.max_args ? { maxArgs: c.db_service.limits.max_args } : {}),
        ...(c.db_service?.limits?.max_inline_length ? { maxInlineLength: c.db_service.limits.max_inline_length } : {}),
        ...(c.db_service?.limits?.max_request_bytes ? { maxBufferedBytes: c.db_service.limits.max_request_bytes } : {}),
        ...(c.db_service?.limits?.max_pending_replies ? { maxPendingReplies: c.db_service.limits.max_pending_replies } : {}),
        ...(c.db_service?.limits?.session_buffer_bytes ? { sessionBufferBytes: c.db_service.limits.session_buffer_bytes } : {}),
        ...(c.db_service?.limits?.process_buffer_bytes ? { processBufferBytes: c.db_service.limits.process_buffer_bytes } : {}),
      },
    },
    audit: {
      redisValues: c.audit?.redis_values ?? 'redact',
      fsyncIntervalMs: c.audit?.fsync_interval ? Math.min(parseDuration(c.audit.fsync_interval, 'audit.fsync_interval', 's'), 60_000) : 1000,
      ...(c.audit?.max_file_size ? { maxFileBytes: c.audit.max_file_size } : {}),
    },
  };
}

function proxyLimits(l: NonNullable<NonNullable<FileConfig['proxy_service']>['limits']> | undefined): ProxyLimits {
  const d = DEFAULT_PROXY_LIMITS;
  const ms = (v: string | undefined, dflt: number) => (v !== undefined ? parseDuration(v) : dflt);
  return {
    handshakeTimeoutMs: ms(l?.handshake_timeout, d.handshakeTimeoutMs),
    idleTimeoutMs: ms(l?.idle_timeout, d.idleTimeoutMs),
    headersTimeoutMs: ms(l?.header_timeout, d.headersTimeoutMs),
    bodyTimeoutMs: ms(l?.body_timeout, d.bodyTimeoutMs),
    keepAliveTimeoutMs: ms(l?.keep_alive_timeout, d.keepAliveTimeoutMs),
    maxAnonymousConnections: l?.max_anonymous_connections ?? d.maxAnonymousConnections,
    maxAnonymousPerSource: l?.max_anonymous_connections_per_source ?? d.maxAnonymousPerSource,
  };
}

/**
 * applyEnvironment applies the standard variables the config defers to: `AZURE_AUTHORITY_HOST`
 * (the Azure SDKs' own) replaces the Entra ID authority of `db_service.azure_cloud`.
 */
export function applyEnvironment(config: ServiceConfig, env: Record<string, string | undefined>): ServiceConfig {
  const authority = env.AZURE_AUTHORITY_HOST?.trim().replace(/\/+$/, '');
  if (!authority || authority === config.db.azureCloud.authorityHost) return config;
  return { ...config, db: { ...config.db, azureCloud: { ...config.db.azureCloud, name: 'custom', authorityHost: authority } } };
}

/** loadConfig reads and validates a config file. A missing file is a not-found error with a hint. */
export async function loadConfig(path: string): Promise<ServiceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw notFound(`config file ${path} does not exist`, {
        hint: 'Pass one with -c FILE, or start the embedded default with: xctl start --data-dir DIR',
      });
    }
    throw badParameter(`cannot read config file ${path}: ${code ?? String(err)}`);
  }
  return parseConfig(text, path);
}
