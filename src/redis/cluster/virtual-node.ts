/**
 * redis/cluster/virtual-node: the read-only CLUSTER commands answered by the agent itself, as
 * if the whole cluster were ONE node owning slots 0–16383. The real topology is never passed
 * through: a cluster-aware client that learned the node addresses would connect to them
 * directly and bypass xport (no RBAC, no audit). The agent cannot know the address the client
 * dialled (a tunnel port on the user's machine), so the virtual node's address is unknown by
 * Redis's own conventions: endpoint `?` with port 0 in CLUSTER SLOTS and CLUSTER SHARDS, an
 * empty ip and port 0 in CLUSTER NODES. Clients should treat xport as a standalone Redis.
 *
 * `CLUSTER KEYSLOT` is computed locally and exactly (hash tags included), so applications can
 * still plan multi-key commands and transactions by slot.
 *
 * Pure: imports node:crypto (for the virtual node id), redis/resp encoders and the INFO text codec.
 */
import { createHash } from 'node:crypto';
import { array, encodeValue, integer, map, type ReplyValue } from '../resp/index.js';
import { decodeValue, RespMap } from '../resp/value.js';
import { infoReply, infoText } from './info.js';
import { SLOT_COUNT } from './slots.js';

/** VIRTUAL_ENDPOINT is the unknown-endpoint placeholder the virtual node is reported at. */
export const VIRTUAL_ENDPOINT = '?';

/** virtualNodeId is a stable 40-hex node id for a database's virtual node. */
export function virtualNodeId(database: string): string {
  return createHash('sha1').update(`xport virtual cluster node\0${database}`).digest('hex');
}

/** verbatimOrBulk encodes text as a RESP3 verbatim string or a RESP2 bulk string, as Redis does for CLUSTER INFO/NODES. */
function verbatimOrBulk(text: string, resp3: boolean): Buffer {
  const body = Buffer.from(resp3 ? `txt:${text}` : text, 'utf8');
  return Buffer.concat([Buffer.from(`${resp3 ? '=' : '$'}${body.length}\r\n`), body, Buffer.from('\r\n')]);
}

/**
 * clusterInfoReply answers CLUSTER INFO for the virtual node. cluster_state is the real
 * cluster's (ok only when every slot is served), so health checks stay meaningful.
 */
export function clusterInfoReply(assignedSlots: number, resp3: boolean): Buffer {
  const ok = assignedSlots === SLOT_COUNT;
  const lines = [
    `cluster_state:${ok ? 'ok' : 'fail'}`,
    `cluster_slots_assigned:${SLOT_COUNT}`,
    `cluster_slots_ok:${ok ? SLOT_COUNT : assignedSlots}`,
    'cluster_slots_pfail:0',
    `cluster_slots_fail:${ok ? 0 : SLOT_COUNT - assignedSlots}`,
    'cluster_known_nodes:1',
    'cluster_size:1',
    'cluster_current_epoch:1',
    'cluster_my_epoch:1',
    'cluster_stats_messages_sent:0',
    'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  return verbatimOrBulk(lines.join('\r\n') + '\r\n', resp3);
}

/** clusterMyIdReply answers CLUSTER MYID (and MYSHARDID) with the virtual node's id. */
export function clusterMyIdReply(id: string, resp3: boolean): Buffer {
  return encodeValue(id, resp3);
}

/** clusterSlotsReply answers CLUSTER SLOTS: one range 0–16383 served by the virtual node. */
export function clusterSlotsReply(id: string, resp3: boolean): Buffer {
  const node: ReplyValue[] = [VIRTUAL_ENDPOINT, 0, id, { raw: map([], resp3) }];
  return array([[0, SLOT_COUNT - 1, node]], resp3);
}

/** clusterShardsReply answers CLUSTER SHARDS: one shard with the virtual node as its only master. */
export function clusterShardsReply(id: string, resp3: boolean): Buffer {
  const node = map(
    [
      ['id', id],
      ['port', 0],
      ['ip', VIRTUAL_ENDPOINT],
      ['endpoint', VIRTUAL_ENDPOINT],
      ['role', 'master'],
      ['replication-offset', 0],
      ['health', 'online'],
    ],
    resp3,
  );
  const shard = map(
    [
      ['slots', [0, SLOT_COUNT - 1]],
      ['nodes', [{ raw: node }]],
    ],
    resp3,
  );
  return array([{ raw: shard }], resp3);
}

/** clusterNodesReply answers CLUSTER NODES: the virtual node, myself, master of every slot. */
export function clusterNodesReply(id: string, resp3: boolean): Buffer {
  return verbatimOrBulk(`${id} :0@0 myself,master - 0 0 1 connected 0-${SLOT_COUNT - 1}\n`, resp3);
}

/** clusterKeySlotReply answers CLUSTER KEYSLOT. */
export function clusterKeySlotReply(slot: number): Buffer {
  return integer(slot);
}

const MODE_CLUSTER = Buffer.from('$4\r\nmode\r\n$7\r\ncluster\r\n');
const MODE_STANDALONE = Buffer.from('$4\r\nmode\r\n$10\r\nstandalone\r\n');

/**
 * hideClusterMode rewrites the `mode` field of a HELLO reply from `cluster` to `standalone`
 * (RESP2 and RESP3 encode the pair the same way): the client talks to what behaves as one Redis.
 */
export function hideClusterMode(raw: Buffer): Buffer {
  const at = raw.indexOf(MODE_CLUSTER);
  if (at < 0) return raw;
  return Buffer.concat([raw.subarray(0, at), MODE_STANDALONE, raw.subarray(at + MODE_CLUSTER.length)]);
}

const LADDR = /(^| )laddr=\S*/gm;

/**
 * hideNodeAddress rewrites a CLIENT LIST / CLIENT INFO reply from the node that answered it so it
 * does not say which node that was: every `laddr=` (the node's own address) becomes `laddr=?:0`,
 * the virtual node's address. Anything that is not a text reply passes through unchanged.
 */
export function hideNodeAddress(raw: Buffer): Buffer {
  const text = infoText(raw);
  if (text === undefined) return raw;
  return infoReply(text.replace(LADDR, `$1laddr=${VIRTUAL_ENDPOINT}:0`), raw[0] === 0x3d);
}

/**
 * NODE_CONFIG are CONFIG GET parameters that say where one node runs (ports, addresses, files),
 * with what the virtual node reports instead.
 */
const NODE_CONFIG: ReadonlyMap<string, string> = new Map([
  ['port', '0'],
  ['tls-port', '0'],
  ['cluster-port', '0'],
  ['cluster-announce-port', '0'],
  ['cluster-announce-tls-port', '0'],
  ['cluster-announce-bus-port', '0'],
  ['cluster-announce-ip', ''],
  ['cluster-announce-hostname', ''],
  ['cluster-config-file', ''],
  ['bind', ''],
  ['bind-source-addr', ''],
  ['unixsocket', ''],
  ['dir', ''],
  ['pidfile', ''],
  ['logfile', ''],
  ['aclfile', ''],
  ['tls-cert-file', ''],
  ['tls-key-file', ''],
  ['tls-ca-cert-file', ''],
  ['tls-client-cert-file', ''],
  ['tls-client-key-file', ''],
  ['replicaof', ''],
  ['slaveof', ''],
]);

/**
 * hideNodeConfig rewrites a CONFIG GET reply from the node that answered it so it does not say
 * where that node runs: the values of {@link NODE_CONFIG} parameters are replaced (the names stay,
 * so clients that read them find them). A RESP2 array of name/value pairs or a RESP3 map; any
 * other reply (an error, say) passes through unchanged.
 */
export function hideNodeConfig(raw: Buffer): Buffer {
  const t = raw[0];
  if (t !== 0x2a && t !== 0x25) return raw; // '*' or '%'
  let v;
  try {
    v = decodeValue(raw, { maxDepth: 2 });
  } catch {
    return raw;
  }
  const pairs: Array<[ReplyValue, ReplyValue]> = [];
  const items = v instanceof RespMap ? v.entries.flat() : Array.isArray(v) ? v : undefined;
  if (items === undefined || items.length % 2 !== 0) return raw;
  let changed = false;
  for (let i = 0; i < items.length; i += 2) {
    const name = items[i];
    const value = items[i + 1];
    if (!(Buffer.isBuffer(name) || typeof name === 'string') || !(Buffer.isBuffer(value) || typeof value === 'string')) return raw;
    const hidden = NODE_CONFIG.get(name.toString().toLowerCase());
    if (hidden !== undefined) changed = true;
    pairs.push([name, hidden ?? value]);
  }
  return changed ? map(pairs, t === 0x25) : raw;
}
