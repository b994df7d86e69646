/**
 * service/proxy-heartbeat: each proxy replica announces itself in the shared backend, under
 * `proxies/<id>`, with the address agents can dial it at and the agents whose tunnels it holds.
 * The item expires after {@link PROXY_TTL_MS}, so a replica that dies without saying goodbye drops
 * out of the list by itself; one that stops cleanly deletes its item at once.
 *
 * Agents read the list (through any proxy: `GET /v1/agent/proxies`) and keep one tunnel to each
 * replica (agent/pool), so whichever replica a user lands on can reach every database —
 * Teleport's proxy heartbeats and agent pool. `xctl status` shows the same list.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Backend } from '../store/backend.js';

/** PROXY_PREFIX is where proxies heartbeat in the backend. */
export const PROXY_PREFIX = 'proxies/';
/** PROXY_HEARTBEAT_MS is how often a proxy renews its heartbeat. */
export const PROXY_HEARTBEAT_MS = 2_000;
/** PROXY_TTL_MS is how long a heartbeat counts: a replica silent this long is gone. */
export const PROXY_TTL_MS = 10_000;
/** MAX_PROXIES bounds what one listing returns (the list is read by agents every few seconds). */
const MAX_PROXIES = 256;

/** ProxyTunnel is one agent tunnel a proxy holds. */
export interface ProxyTunnel {
  host_id: string;
  databases: string[];
}

/** ProxyHeartbeat is what a proxy replica writes about itself. */
export interface ProxyHeartbeat {
  id: string;
  /** `host:port` agents dial to reach this very replica (not the balancer). */
  addr: string;
  /** The cluster's public address (the balancer) as this replica is configured. */
  public_addr: string;
  version: string;
  started: string;
  last_seen: string;
  /** The agents whose tunnels this replica holds right now. */
  tunnels: ProxyTunnel[];
}

/** proxyIdentity returns this replica's id, kept in its data dir so a restart keeps it. */
export async function proxyIdentity(dataDir: string): Promise<string> {
  const file = join(dataDir, 'proxy_id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[A-Za-z0-9._-]{1,80}$/.test(id)) return id;
  } catch {
    // first start: make one below
  }
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60) || 'proxy';
  const id = `${host}-${randomBytes(4).toString('hex')}`;
  await writeFileAtomic(file, id + '\n', 0o600);
  return id;
}

/** ProxyHeartbeatOptions configures {@link startProxyHeartbeat}. */
export interface ProxyHeartbeatOptions {
  backend: Backend;
  id: string;
  addr: string;
  publicAddr: string;
  version: string;
  tunnels: () => ProxyTunnel[];
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  ttlMs?: number;
}

/** RunningHeartbeat is a started heartbeat. */
export interface RunningHeartbeat {
  stop(): Promise<void>;
}

/**
 * startProxyHeartbeat writes the first heartbeat (so agents learn of the replica before it
 * serves) and renews it until stop(), which deletes it. A failed write (the backend restarting)
 * is logged once per outage and retried at the next beat.
 */
export async function startProxyHeartbeat(o: ProxyHeartbeatOptions): Promise<RunningHeartbeat> {
  const intervalMs = o.intervalMs ?? PROXY_HEARTBEAT_MS;
  const ttlMs = o.ttlMs ?? PROXY_TTL_MS;
  const key = PROXY_PREFIX + o.id;
  const started = o.clock.now().toISOString();
  let failing = false;
  let stopped = false;
  let inflight: Promise<void> = Promise.resolve();
  const beat = async () => {
    const now = o.clock.now();
    const hb: ProxyHeartbeat = {
      id: o.id,
      addr: o.addr,
      public_addr: o.publicAddr,
      version: o.version,
      started,
      last_seen: now.toISOString(),
      tunnels: o.tunnels(),
    };
    try {
      await o.backend.put(key, hb, { expires: new Date(now.getTime() + ttlMs) });
      if (failing) o.log.info('proxy heartbeat restored', { id: o.id });
      failing = false;
    } catch (err) {
      if (!failing) o.log.warn('could not write the proxy heartbeat; agents may drop this proxy until it is back', { err: messageOf(err) });
      failing = true;
    }
  };
  await beat();
  const timer = setInterval(() => {
    if (stopped) return;
    inflight = beat();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inflight;
      try {
        await o.backend.delete(key);
      } catch (err) {
        o.log.warn('could not remove the proxy heartbeat; it expires by itself', { err: messageOf(err) });
      }
    },
  };
}

/** listProxies returns the live proxies' heartbeats, sorted by id. */
export async function listProxies(backend: Backend): Promise<ProxyHeartbeat[]> {
  const items = await backend.list<ProxyHeartbeat>(PROXY_PREFIX);
  return items
    .slice(0, MAX_PROXIES)
    .map((i) => i.value)
    .filter((v): v is ProxyHeartbeat => typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.addr === 'string');
}
