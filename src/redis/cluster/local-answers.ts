/**
 * redis/cluster/local-answers: the replies a cluster session makes itself, as one Redis would
 * make them — PING and ECHO (no node needs asking), and the CLUSTER commands of the virtual
 * single node the client sees (virtual-node.ts): KEYSLOT, INFO, SLOTS, SHARDS, NODES, MYID.
 */
import type { ResolvedCommand } from '../commands.js';
import { displayName } from '../display.js';
import { bulk, error as errorReply, type Request } from '../resp/index.js';
import { arrayReply } from './merge.js';
import { keySlot, SLOT_COUNT } from './slots.js';
import { clusterInfoReply, clusterKeySlotReply, clusterMyIdReply, clusterNodesReply, clusterShardsReply, clusterSlotsReply } from './virtual-node.js';

const PONG = Buffer.from('+PONG\r\n');
const EMPTY = Buffer.alloc(0);

/** arityError is Redis's own reply to a wrong number of arguments. */
export const arityError = (name: string): Buffer => errorReply(`ERR wrong number of arguments for '${name}' command`);

/** pingEcho answers PING or ECHO; a subscribed RESP2 connection gets PING's message-shaped array, as Redis sends. */
export function pingEcho(req: Request, resp3: boolean, subscribed: boolean): Buffer {
  const args = req.args;
  if (req.name === 'echo') return args.length === 2 ? bulk(args[1]!, resp3) : arityError('echo');
  if (args.length > 2) return arityError('ping');
  if (!resp3 && subscribed) return arrayReply([bulk('pong', false), bulk(args[1] ?? EMPTY, false)]);
  return args.length === 2 ? bulk(args[1]!, resp3) : PONG;
}

/** virtualCluster answers the CLUSTER commands the agent emulates (a single virtual node). */
export function virtualCluster(req: Request, cmd: ResolvedCommand, virtualId: string, assignedSlots: number, resp3: boolean): Buffer {
  switch (cmd.name) {
    case 'cluster|keyslot':
      return req.args.length === 3 ? clusterKeySlotReply(keySlot(req.args[2]!)) : arityError('cluster|keyslot');
    case 'cluster|info':
      return clusterInfoReply(assignedSlots, resp3);
    case 'cluster|slots':
      return clusterSlotsReply(virtualId, resp3);
    case 'cluster|shards':
      return clusterShardsReply(virtualId, resp3);
    case 'cluster|nodes':
      return clusterNodesReply(virtualId, resp3);
    case 'cluster|myid':
    case 'cluster|myshardid':
      return clusterMyIdReply(virtualId, resp3);
    default:
      return errorReply(`ERR xport: command not supported in cluster mode: ${displayName(cmd.name)}`);
  }
}

/** parseSlot reads a slot number argument; undefined when it is not one. */
export function parseSlot(arg: Buffer | undefined): number | undefined {
  if (arg === undefined || arg.length > 5) return undefined;
  const s = arg.toString('latin1');
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n < SLOT_COUNT ? n : undefined;
}
