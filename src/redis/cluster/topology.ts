/**
 * redis/cluster/topology: the shape of a Redis Cluster as the agent routes by it — its shards
 * (a master, its replicas, the slot ranges it serves) and which node owns each of the 16,384
 * slots — read from `CLUSTER SHARDS` (Redis ≥ 7) or `CLUSTER SLOTS` (older servers, and the
 * 4-element node entries of Redis 7: host, port, id, metadata map), in RESP2 or RESP3.
 *
 * The set of known node addresses is also what a MOVED or ASK redirect is checked against: the
 * agent never follows a redirect to an address outside the discovered topology.
 *
 * Pure: imports redis/resp and errors only; no I/O.
 */
import { RespErrorReply, RespMap, valueText, type RespValue } from '../resp/value.js';
import { SLOT_COUNT } from './slots.js';

/** ClusterNode is one node as the topology names it. */
export interface ClusterNode {
  /** The address the agent dials: the node's preferred endpoint (an IP or a host name). */
  host: string;
  /** The port the agent dials: the TLS port when the node has one. */
  port: number;
  /** `host:port`, the key the agent uses for the node (and what redirects name). */
  address: string;
  /** The 40-hex node id, when the server said. */
  id?: string;
  role: 'master' | 'replica';
  /** False when the server reports the node failed or still loading. */
  healthy: boolean;
}

/** ClusterShard is a master, its replicas and the slot ranges they serve. */
export interface ClusterShard {
  master: ClusterNode;
  replicas: ClusterNode[];
  /** Inclusive [start, end] slot ranges, ascending. */
  ranges: Array<[number, number]>;
}

/** UNASSIGNED marks a slot no shard serves in {@link ClusterTopology.slotOwners}. */
const UNASSIGNED = 0xffff;

/**
 * nodeAddress is the key of a node: `host:port` (IPv6 hosts unbracketed, as Redis writes them in
 * MOVED/ASK errors).
 */
export function nodeAddress(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * parseAddress splits `host:port` at its last colon (so IPv6 hosts work); an empty host is
 * returned as ''. Undefined when the port is not a valid TCP port.
 */
export function parseAddress(addr: string): { host: string; port: number } | undefined {
  const colon = addr.lastIndexOf(':');
  if (colon < 0) return undefined;
  const portText = addr.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host: addr.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

/** TopologyError says why a CLUSTER SHARDS/SLOTS reply could not be used. */
export class TopologyError extends Error {}

/**
 * ClusterTopology is an immutable view of a cluster. Shards are ordered by the lowest slot they
 * serve, so the shard serving slot 0 comes first and shard indexes stay the same across a
 * failover (the SCAN cursor relies on that).
 */
export class ClusterTopology {
  readonly shards: readonly ClusterShard[];
  /** For each slot, the index into {@link nodes} of the master serving it, or 0xffff. */
  readonly slotOwners: Uint16Array;
  /** Every known node (masters and replicas), masters first. */
  readonly nodes: readonly ClusterNode[];
  readonly #byAddress: ReadonlyMap<string, number>;

  private constructor(shards: ClusterShard[], nodes: ClusterNode[], slotOwners: Uint16Array) {
    this.shards = shards;
    this.nodes = nodes;
    this.slotOwners = slotOwners;
    const m = new Map<string, number>();
    nodes.forEach((n, i) => m.set(n.address, i));
    this.#byAddress = m;
  }

  /** fromShards builds a topology from shards (ordering them and indexing the slots). */
  static fromShards(input: readonly ClusterShard[]): ClusterTopology {
    const shards = input.filter((s) => s.ranges.length > 0).map((s) => ({ ...s, ranges: [...s.ranges].sort((a, b) => a[0] - b[0]) }));
    shards.sort((a, b) => a.ranges[0]![0] - b.ranges[0]![0]);
    if (shards.length === 0) throw new TopologyError('the cluster serves no slots');
    const nodes: ClusterNode[] = [];
    const index = new Map<string, number>();
    const add = (n: ClusterNode) => {
      if (!index.has(n.address)) {
        index.set(n.address, nodes.length);
        nodes.push(n);
      }
      return index.get(n.address)!;
    };
    const owners = new Uint16Array(SLOT_COUNT).fill(UNASSIGNED);
    for (const s of shards) {
      const i = add(s.master);
      for (const [start, end] of s.ranges) owners.fill(i, start, end + 1);
    }
    for (const s of shards) for (const r of s.replicas) add(r);
    return new ClusterTopology(shards, nodes, owners);
  }

  /**
   * parseShards reads a `CLUSTER SHARDS` reply. `seedHost` replaces an empty or unknown (`?`)
   * endpoint only for a node whose ip is also unknown; nodes without any usable address are
   * skipped. A shard's master is its online node with role master (a failed one only when no
   * other is left).
   */
  static parseShards(reply: RespValue, seedHost: string): ClusterTopology {
    if (reply instanceof RespErrorReply) throw new TopologyError(reply.message);
    if (!Array.isArray(reply)) throw new TopologyError('the CLUSTER SHARDS reply is not an array');
    const shards: ClusterShard[] = [];
    for (const raw of reply) {
      const f = fields(raw);
      if (f === undefined) throw new TopologyError('a CLUSTER SHARDS entry is not a map');
      const slots = f.get('slots');
      const ranges: Array<[number, number]> = [];
      if (Array.isArray(slots)) {
        for (let i = 0; i + 1 < slots.length; i += 2) ranges.push(slotRange(slots[i], slots[i + 1]));
      }
      const nodes: ClusterNode[] = [];
      const nodeList = f.get('nodes');
      if (Array.isArray(nodeList)) {
        for (const n of nodeList) {
          const node = shardNode(n, seedHost);
          if (node !== undefined) nodes.push(node);
        }
      }
      if (ranges.length === 0) continue;
      const masters = nodes.filter((n) => n.role === 'master');
      const master = masters.find((n) => n.healthy) ?? masters[0];
      if (master === undefined) throw new TopologyError(`no master for slots ${ranges[0]![0]}-${ranges[0]![1]}`);
      shards.push({ master, replicas: nodes.filter((n) => n !== master && n.role === 'replica'), ranges });
    }
    return ClusterTopology.fromShards(shards);
  }

  /**
   * parseSlots reads a `CLUSTER SLOTS` reply: `[start, end, master, replica…]` per range, each
   * node `[host, port, id?, metadata?]` (Redis 7 adds the 4th element). An empty host means the
   * node answering (seedHost); `?` or null is an unknown endpoint and the node is skipped.
   */
  static parseSlots(reply: RespValue, seedHost: string): ClusterTopology {
    if (reply instanceof RespErrorReply) throw new TopologyError(reply.message);
    if (!Array.isArray(reply)) throw new TopologyError('the CLUSTER SLOTS reply is not an array');
    const byMaster = new Map<string, ClusterShard>();
    for (const entry of reply) {
      if (!Array.isArray(entry) || entry.length < 3) throw new TopologyError('a CLUSTER SLOTS entry has fewer than 3 elements');
      const range = slotRange(entry[0], entry[1]);
      const master = slotsNode(entry[2], 'master', seedHost);
      if (master === undefined) continue;
      let shard = byMaster.get(master.address);
      if (shard === undefined) {
        shard = { master, replicas: [], ranges: [] };
        byMaster.set(master.address, shard);
      }
      shard.ranges.push(range);
      for (let i = 3; i < entry.length; i++) {
        const r = slotsNode(entry[i], 'replica', seedHost);
        if (r !== undefined && !shard.replicas.some((x) => x.address === r.address)) shard.replicas.push(r);
      }
    }
    return ClusterTopology.fromShards([...byMaster.values()]);
  }

  /** assignedSlots counts the slots some shard serves (16384 when the cluster is fully covered). */
  get assignedSlots(): number {
    let n = 0;
    for (const o of this.slotOwners) if (o !== UNASSIGNED) n++;
    return n;
  }

  /** masterForSlot returns the node serving a slot, if any. */
  masterForSlot(slot: number): ClusterNode | undefined {
    const i = this.slotOwners[slot];
    return i === undefined || i === UNASSIGNED ? undefined : this.nodes[i];
  }

  /** masters lists each shard's master, in shard order. */
  masters(): ClusterNode[] {
    return this.shards.map((s) => s.master);
  }

  /** node returns a known node by address. */
  node(address: string): ClusterNode | undefined {
    const i = this.#byAddress.get(address);
    return i === undefined ? undefined : this.nodes[i];
  }

  /** knows tells whether an address is a node of this topology (master or replica). */
  knows(address: string): boolean {
    return this.#byAddress.has(address);
  }

  /**
   * withSlotOwner returns a topology where one slot is served by a known node (after MOVED),
   * or this one unchanged when the address is unknown. Shards are not recomputed: a full
   * refresh follows every MOVED.
   */
  withSlotOwner(slot: number, address: string): ClusterTopology {
    const i = this.#byAddress.get(address);
    if (i === undefined || this.slotOwners[slot] === i) return this;
    const owners = this.slotOwners.slice();
    owners[slot] = i;
    return new ClusterTopology(this.shards as ClusterShard[], this.nodes as ClusterNode[], owners);
  }
}

// ─── Reply helpers ─────────────────────────────────────────────────────────────────────────────

/** fields reads a RESP3 map or a RESP2 flat key/value array into a lookup by lower-case key. */
function fields(v: RespValue | undefined): Map<string, RespValue> | undefined {
  const m = new Map<string, RespValue>();
  if (v instanceof RespMap) {
    for (const [k, val] of v.entries) {
      const key = valueText(k);
      if (key !== undefined) m.set(key.toLowerCase(), val);
    }
    return m;
  }
  if (!Array.isArray(v) || v.length % 2 !== 0) return undefined;
  for (let i = 0; i < v.length; i += 2) {
    const key = valueText(v[i]);
    if (key !== undefined) m.set(key.toLowerCase(), v[i + 1]!);
  }
  return m;
}

function asInt(v: RespValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const s = valueText(v);
  return s !== undefined && /^\d{1,10}$/.test(s) ? Number(s) : undefined;
}

function slotRange(a: RespValue | undefined, b: RespValue | undefined): [number, number] {
  const start = asInt(a);
  const end = asInt(b);
  if (start === undefined || end === undefined || start < 0 || end >= SLOT_COUNT || start > end) {
    throw new TopologyError(`invalid slot range ${String(a)}-${String(b)}`);
  }
  return [start, end];
}

/** usableHost returns an endpoint the agent can dial, or undefined for an unknown one. */
function usableHost(v: RespValue | undefined): string | undefined {
  const s = valueText(v);
  return s === undefined || s === '' || s === '?' ? undefined : s;
}

function shardNode(raw: RespValue, seedHost: string): ClusterNode | undefined {
  const f = fields(raw);
  if (f === undefined) return undefined;
  // The agent always speaks TLS: prefer the TLS port; `port` is the plaintext one when both exist.
  const port = asInt(f.get('tls-port')) ?? asInt(f.get('port'));
  if (port === undefined || port === 0) return undefined;
  const endpoint = usableHost(f.get('endpoint'));
  const ip = usableHost(f.get('ip'));
  const host = endpoint ?? ip ?? (valueText(f.get('endpoint')) === '' ? seedHost : undefined);
  if (host === undefined) return undefined;
  const role = valueText(f.get('role')) === 'master' ? 'master' : 'replica';
  const health = valueText(f.get('health'));
  const id = valueText(f.get('id'));
  return { host, port, address: nodeAddress(host, port), ...(id ? { id } : {}), role, healthy: health === undefined || health === 'online' };
}

function slotsNode(raw: RespValue | undefined, role: 'master' | 'replica', seedHost: string): ClusterNode | undefined {
  if (!Array.isArray(raw) || raw.length < 2) throw new TopologyError('a CLUSTER SLOTS node has fewer than 2 elements');
  const text = valueText(raw[0]);
  // An empty host means "the node you asked"; null or "?" means the endpoint is unknown.
  const host = text === '' ? seedHost : usableHost(raw[0]);
  const port = asInt(raw[1]);
  if (host === undefined || port === undefined || port === 0) return undefined;
  const id = valueText(raw[2]);
  return { host, port, address: nodeAddress(host, port), ...(id ? { id } : {}), role, healthy: true };
}
