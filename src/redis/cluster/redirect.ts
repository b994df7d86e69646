/**
 * redis/cluster/redirect: reading the cluster errors a node answers instead of running a
 * command — `-MOVED <slot> <host>:<port>` (the slot lives elsewhere now), `-ASK <slot>
 * <host>:<port>` (it is being migrated: ask there once, after ASKING), `-TRYAGAIN …` (a
 * multi-key command during a migration) and `-CLUSTERDOWN …` (the cluster cannot serve) — so
 * the agent can follow or retry them and never show them to the client.
 *
 * Pure: imports nothing with I/O.
 */
import { parseAddress } from './topology.js';

/** ClusterRedirect is a MOVED or ASK error read from a reply. */
export interface ClusterRedirect {
  kind: 'moved' | 'ask';
  slot: number;
  /** The host as the node wrote it: '' means "the node that answered" (Redis 7, unknown endpoint). */
  host: string;
  port: number;
}

/** ClusterRetry is a TRYAGAIN or CLUSTERDOWN error: retry later, same node (after a refresh for CLUSTERDOWN). */
export interface ClusterRetry {
  kind: 'tryagain' | 'clusterdown';
}

/** ClusterErrorReply is what {@link parseClusterError} recognises. */
export type ClusterErrorReply = ClusterRedirect | ClusterRetry;

const MINUS = 0x2d;
/** No redirect line is near this long; a longer error is never one. */
const MAX_REDIRECT_LINE = 600;

function startsWith(raw: Buffer, prefix: string): boolean {
  if (raw.length < prefix.length + 1) return false;
  for (let i = 0; i < prefix.length; i++) if (raw[i + 1] !== prefix.charCodeAt(i)) return false;
  return true;
}

/**
 * parseClusterError recognises the cluster errors in one reply frame (its raw bytes) and returns
 * undefined for anything else, including malformed redirects (which then pass to the client
 * like any other error rather than steer the agent).
 */
export function parseClusterError(raw: Buffer): ClusterErrorReply | undefined {
  if (raw[0] !== MINUS) return undefined;
  if (startsWith(raw, 'TRYAGAIN')) return { kind: 'tryagain' };
  if (startsWith(raw, 'CLUSTERDOWN')) return { kind: 'clusterdown' };
  let kind: 'moved' | 'ask';
  if (startsWith(raw, 'MOVED ')) kind = 'moved';
  else if (startsWith(raw, 'ASK ')) kind = 'ask';
  else return undefined;
  if (raw.length > MAX_REDIRECT_LINE) return undefined;
  const line = raw.toString('latin1', 1).replace(/\r\n$/, '');
  const parts = line.split(' ');
  if (parts.length !== 3 || !/^\d{1,5}$/.test(parts[1]!)) return undefined;
  const slot = Number(parts[1]);
  if (slot >= 16384) return undefined;
  const addr = parseAddress(parts[2]!);
  if (addr === undefined) return undefined;
  return { kind, slot, host: addr.host, port: addr.port };
}
