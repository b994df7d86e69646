/**
 * proxy/tunnel-protocol: the messages an agent sends the proxy over its reverse tunnel, and the
 * checks the proxy applies to them (they come from the network, so every field is validated and
 * bounded before it reaches the registry).
 *
 * The agent's first CONTROL message is a hello; heartbeats follow every few seconds and carry
 * the current database list, so databases the agent discovers later (cloud discovery, dynamic
 * resources) reach the proxy without a reconnect. Adverts hold what users may see in
 * `xsh db ls` — never credentials or CA material. Imports db types, errors and util only.
 */
import { DATABASE_TYPES, type DatabaseSpec, type DatabaseType, type RedisMode } from '../db/database.js';

/** Stream ids: the proxy opens streams (odd ids), the agent would use even ones. */
export const PROXY_STREAM_IDS = 'odd' as const;
/** AGENT_STREAM_IDS is the agent's id parity, see {@link PROXY_STREAM_IDS}. */
export const AGENT_STREAM_IDS = 'even' as const;

/** DEFAULT_HEARTBEAT_MS is how often an agent sends a heartbeat. */
export const DEFAULT_HEARTBEAT_MS = 5_000;
/** MISSED_HEARTBEATS is how many missed heartbeats make the proxy declare an agent dead. */
export const MISSED_HEARTBEATS = 3;

/** DatabaseAdvert is what an agent tells the proxy about one database it serves. */
export interface DatabaseAdvert {
  name: string;
  description?: string;
  protocol: 'redis';
  uri: string;
  labels: Record<string, string>;
  type: DatabaseType;
  mode: RedisMode;
  /** The agent's last check of the database itself (TLS dial + PING); absent until the first one. */
  health?: AdvertHealth;
}

/** AdvertHealth is an agent's last health check of one database. */
export interface AdvertHealth {
  ok: boolean;
  /** Why it failed (bounded; escaped before printing). */
  error?: string;
  /** When it was checked (ISO-8601). */
  checked: string;
}

/** HelloMessage opens an agent's session with the proxy. */
export interface HelloMessage {
  type: 'hello';
  hostId: string;
  version: string;
  databases: DatabaseAdvert[];
  /** The agent's heartbeat interval, so the proxy's dead-agent deadline matches it. */
  heartbeatMs?: number;
}

/** HeartbeatMessage says the agent is alive and what it serves now. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  databases: DatabaseAdvert[];
}

const MAX_DATABASES = 10_000;
const MAX_NAME = 253;
const MAX_TEXT = 4096;
const MAX_LABELS = 64;
const MAX_HEALTH_ERROR = 512;
const MODES: readonly RedisMode[] = ['standalone', 'cluster'];
const MIN_HEARTBEAT_MS = 10;
const MAX_HEARTBEAT_MS = 60_000;

/** advertFor describes spec for the proxy: no TLS material, no host/port beyond the URI. */
export function advertFor(spec: DatabaseSpec): DatabaseAdvert {
  const advert: DatabaseAdvert = {
    name: spec.name,
    protocol: spec.protocol,
    uri: spec.uri,
    labels: { ...spec.labels },
    type: spec.type,
    mode: spec.mode,
  };
  if (spec.description !== undefined) advert.description = spec.description;
  return advert;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;

/** advertProblem names what is wrong with an advert from the network, or returns undefined. */
export function advertProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  if (!isText(v.name, MAX_NAME) || v.name === '') return 'name must be a non-empty string';
  if (v.description !== undefined && !isText(v.description)) return 'description must be a string';
  if (v.protocol !== 'redis') return 'protocol must be "redis"';
  if (!isText(v.uri) || v.uri === '') return 'uri must be a non-empty string';
  if (!DATABASE_TYPES.includes(v.type as DatabaseType)) return `type must be one of ${DATABASE_TYPES.join(', ')}`;
  if (!MODES.includes(v.mode as RedisMode)) return `mode must be one of ${MODES.join(', ')}`;
  if (!isObject(v.labels)) return 'labels must be an object';
  const labels = Object.entries(v.labels);
  if (labels.length > MAX_LABELS) return `more than ${MAX_LABELS} labels`;
  if (labels.some(([k, val]) => !isText(k, MAX_NAME) || !isText(val))) return 'labels must map strings to strings';
  if (v.health !== undefined) {
    const h = v.health;
    if (!isObject(h) || typeof h.ok !== 'boolean' || !isText(h.checked, 64) || (h.error !== undefined && !isText(h.error, MAX_HEALTH_ERROR))) {
      return 'health must be { ok, checked, error? }';
    }
  }
  return undefined;
}

/** cleanAdvert copies only the known fields of a checked advert. */
function cleanAdvert(v: DatabaseAdvert): DatabaseAdvert {
  const out: DatabaseAdvert = { name: v.name, protocol: v.protocol, uri: v.uri, labels: { ...v.labels }, type: v.type, mode: v.mode };
  if (v.description !== undefined) out.description = v.description;
  if (v.health !== undefined) out.health = { ok: v.health.ok, checked: v.health.checked, ...(v.health.error !== undefined ? { error: v.health.error } : {}) };
  return out;
}

/**
 * parseAdverts checks a message's database list. Bad entries are dropped and reported in
 * `problems` (one misconfigured database must not take an agent's others offline); a list
 * that is not a list, or too long, is an error.
 */
export function parseAdverts(v: unknown): { databases: DatabaseAdvert[]; problems: string[] } | string {
  if (!Array.isArray(v)) return 'databases must be a list';
  if (v.length > MAX_DATABASES) return `more than ${MAX_DATABASES} databases`;
  const databases: DatabaseAdvert[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const problem = advertProblem(item);
    if (problem) problems.push(`database #${i + 1}: ${problem}`);
    else if (seen.has((item as DatabaseAdvert).name)) problems.push(`database "${(item as DatabaseAdvert).name}" is listed twice`);
    else {
      seen.add((item as DatabaseAdvert).name);
      databases.push(cleanAdvert(item as DatabaseAdvert));
    }
  });
  return { databases, problems };
}

/** parseHello checks a hello message; it returns the problem as a string when it is not one. */
export function parseHello(v: Record<string, unknown>): (HelloMessage & { problems: string[] }) | string {
  if (v.type !== 'hello') return `expected a hello, got ${JSON.stringify(String(v.type)).slice(0, 40)}`;
  if (!isText(v.hostId, MAX_NAME) || v.hostId === '') return 'hello.hostId must be a non-empty string';
  if (!isText(v.version, 64)) return 'hello.version must be a string';
  let heartbeatMs: number | undefined;
  if (v.heartbeatMs !== undefined) {
    if (typeof v.heartbeatMs !== 'number' || !Number.isFinite(v.heartbeatMs)) return 'hello.heartbeatMs must be a number';
    heartbeatMs = Math.min(MAX_HEARTBEAT_MS, Math.max(MIN_HEARTBEAT_MS, v.heartbeatMs));
  }
  const adverts = parseAdverts(v.databases);
  if (typeof adverts === 'string') return `hello.${adverts}`;
  const hello: HelloMessage & { problems: string[] } = {
    type: 'hello',
    hostId: v.hostId,
    version: v.version,
    databases: adverts.databases,
    problems: adverts.problems,
  };
  if (heartbeatMs !== undefined) hello.heartbeatMs = heartbeatMs;
  return hello;
}
