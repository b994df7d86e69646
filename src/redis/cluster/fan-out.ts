/**
 * redis/cluster/fan-out: the commands a cluster session serves from several masters and answers
 * as one Redis would —
 *
 *  - fanned out to every master and merged (DBSIZE, KEYS, FLUSHALL, SCRIPT …, INFO; WAIT asks
 *    the masters this session wrote to);
 *  - split by slot and merged in key order (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH);
 *  - scanned shard by shard behind one cursor (SCAN);
 *  - asked of masters in random order until one has an answer (RANDOMKEY).
 *
 * Replies are merged by merge.ts, never re-encoded when one node's reply is the answer.
 */
import type { ResolvedCommand } from '../commands.js';
import { bulk, command, error as errorReply, type Request } from '../resp/index.js';
import { decodeValue, valueText } from '../resp/value.js';
import { aggregateInfo, infoReply, infoText } from './info.js';
import { aggregateElements, mergeAllOk, mergeAllTrue, mergeAnyOk, mergeConcat, mergeInKeyOrder, mergeMin, mergeSum, type NodeReply } from './merge.js';
import type { ClusterRelayContext } from './relay-context.js';
import { DEFAULT_NODE } from './router.js';
import type { ClusterCommandRule, ClusterMerge } from './rules.js';
import { decodeScanCursor, encodeScanCursor, MAX_SCAN_SHARDS } from './scan-cursor.js';
import { groupBySlot, type SlotGroup } from './slots.js';

/** fanOut sends a command to every master (WAIT: the open data connections) and merges the replies. */
export function fanOut(ctx: ClusterRelayContext, req: Request, cmd: ResolvedCommand, rule: ClusterCommandRule): void {
  const entry = ctx.replies.entry();
  const merge = rule.merge!;
  withTopology(ctx, () => {
    const targets = cmd.name === 'wait' ? waitTargets(ctx) : ctx.router.shardTargets();
    ctx.router.callEach(req.raw, targets, (replies) => ctx.replies.complete(entry, mergeReplies(merge, replies, cmd.name)));
  });
}

/** waitTargets are the nodes WAIT must ask: every open data connection (the default node if none). */
function waitTargets(ctx: ClusterRelayContext): string[] {
  const router = ctx.router;
  const open = router.openAddresses().filter((a) => router.topology?.node(a)?.role !== 'replica');
  return open.length > 0 ? open : [router.defaultAddress()];
}

/** withTopology runs fn once a topology is known (fetching it if needed; fn runs anyway on failure). */
function withTopology(ctx: ClusterRelayContext, fn: () => void): void {
  if (ctx.router.topology !== undefined) {
    fn();
    return;
  }
  void ctx.router.refresh().then(() => {
    if (ctx.finished) return;
    fn();
    ctx.kick();
  });
}

/**
 * split sends a multi-key command to each slot's master with that slot's keys (and values, for
 * MSET) and merges the replies in the client's key order. One slot: forwarded as sent.
 */
export function split(ctx: ClusterRelayContext, req: Request, cmd: ResolvedCommand, keys: readonly number[], merge: ClusterMerge): void {
  const args = req.args;
  const pairs = cmd.name === 'mset';
  // Malformed calls go to one node so Redis answers them with its own error.
  if (args.length < 2 || (pairs && (args.length < 3 || (args.length - 1) % 2 !== 0)) || keys.length === 0) {
    ctx.forward(req.raw, DEFAULT_NODE);
    return;
  }
  const keyArgs = keys.map((i) => args[i]!);
  const groups = groupBySlot(keyArgs);
  if (groups.length === 1) {
    ctx.forward(req.raw, groups[0]!.slot);
    return;
  }
  const entry = ctx.replies.entry();
  const replies = new Array<NodeReply>(groups.length);
  let left = groups.length;
  groups.forEach((g: SlotGroup, gi) => {
    const sub: Buffer[] = [args[0]!];
    for (const k of g.indexes) {
      sub.push(args[keys[k]!]!);
      if (pairs) sub.push(args[keys[k]! + 1]!);
    }
    ctx.router.call(command(sub), g.slot, (reply) => {
      replies[gi] = reply;
      if (--left > 0) return;
      let out: Buffer;
      if (merge === 'key-order') out = mergeInKeyOrder(replies, groups, keys.length, cmd.name);
      else out = mergeReplies(merge, replies, cmd.name);
      ctx.replies.complete(entry, out);
    });
  });
}

/** scan runs SCAN on one master at a time behind one cursor that says which (scan-cursor.ts). */
export function scan(ctx: ClusterRelayContext, req: Request): void {
  const args = req.args;
  if (args.length < 2) {
    ctx.forward(req.raw, DEFAULT_NODE);
    return;
  }
  const pos = decodeScanCursor(args[1]!.toString('latin1'));
  const entry = ctx.replies.entry();
  withTopology(ctx, () => {
    const shards = ctx.router.shardTargets();
    if (pos === undefined || pos.shard >= shards.length || shards.length > MAX_SCAN_SHARDS) {
      ctx.replies.complete(entry, errorReply('ERR invalid cursor'));
      return;
    }
    const nodeArgs = [...args];
    nodeArgs[1] = Buffer.from(pos.nodeCursor.toString());
    ctx.router.call(command(nodeArgs), shards[pos.shard]!, (reply) => {
      ctx.replies.complete(entry, scanReply(reply, pos.shard, shards.length));
    });
  });
}

/** randomKey asks the masters in random order until one is not empty. */
export function randomKey(ctx: ClusterRelayContext, req: Request): void {
  const entry = ctx.replies.entry();
  withTopology(ctx, () => {
    const order = shuffle(ctx.router.shardTargets());
    const next = (i: number): void => {
      ctx.router.call(req.raw, order[i]!, (reply) => {
        // A nil answer only means that master is empty: ask another one.
        if (!reply.isError && isNil(reply.raw) && i + 1 < order.length) next(i + 1);
        else ctx.replies.complete(entry, reply.raw);
      });
      if (i > 0) ctx.router.flush();
    };
    next(0);
  });
}

/** mergeReplies applies a merge rule to fan-out replies (in shard order). */
export function mergeReplies(merge: ClusterMerge, replies: readonly NodeReply[], what: string): Buffer {
  switch (merge) {
    case 'sum':
      return mergeSum(replies, what);
    case 'concat':
      return mergeConcat(replies, what);
    case 'all-ok':
      return mergeAllOk(replies);
    case 'any-ok':
      return mergeAnyOk(replies);
    case 'all-true':
      return mergeAllTrue(replies, what);
    case 'min':
      return mergeMin(replies, what);
    case 'info':
      return mergeInfo(replies);
    case 'key-order':
      return mergeAllOk(replies);
  }
}

function mergeInfo(replies: readonly NodeReply[]): Buffer {
  const err = replies.find((r) => r.isError);
  if (err !== undefined) return err.raw;
  const texts = replies.map((r) => infoText(r.raw));
  if (texts.some((t) => t === undefined)) return replies[0]!.raw;
  return infoReply(aggregateInfo(texts as string[]), replies[0]!.raw[0] === 0x3d);
}

/**
 * scanReply turns one master's SCAN reply into the cluster-wide one: its keys, and a cursor
 * that continues on this shard, moves to the next, or is 0 after the last.
 */
export function scanReply(reply: NodeReply, shard: number, shards: number): Buffer {
  if (reply.isError) return reply.raw;
  const els = aggregateElements(reply.raw);
  const cursorText = els === undefined || els.length !== 2 ? undefined : valueText(decodeValue(els[0]!));
  if (els === undefined || cursorText === undefined || !/^\d+$/.test(cursorText)) {
    return errorReply('ERR xport: unexpected reply from a cluster node to scan');
  }
  const nodeCursor = BigInt(cursorText);
  let next: string;
  if (nodeCursor !== 0n) next = encodeScanCursor({ shard, nodeCursor });
  else if (shard + 1 < shards) next = encodeScanCursor({ shard: shard + 1, nodeCursor: 0n });
  else next = '0';
  return Buffer.concat([Buffer.from('*2\r\n'), bulk(next, false), els[1]!]);
}

function isNil(raw: Buffer): boolean {
  return (raw[0] === 0x24 && raw[1] === 0x2d) || raw[0] === 0x5f || (raw[0] === 0x2a && raw[1] === 0x2d);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
