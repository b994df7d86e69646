/**
 * redis/cluster/scan-cursor: one opaque SCAN cursor for a whole cluster. The client's cursor
 * encodes which shard is being scanned and that shard master's own cursor:
 *
 *     cursor = nodeCursor × 1024 + shardIndex
 *
 * so cursor 0 is "shard 0 from the start" and, as in Redis, also "done". Shards are indexed by
 * the lowest slot they serve (see topology.ts), which a failover does not change. The result
 * stays below 2^64, so clients that keep cursors as unsigned 64-bit integers (go-redis) work:
 * node cursors are bounded by the size of a node's hash table, far below 2^54.
 *
 * Pure: no imports.
 */

/** SCAN_SHARD_BITS is how many low bits of the cursor name the shard (up to 1024 shards). */
export const SCAN_SHARD_BITS = 10;
/** MAX_SCAN_SHARDS is the most shards the cursor can name. */
export const MAX_SCAN_SHARDS = 1 << SCAN_SHARD_BITS;
const SHIFT = BigInt(SCAN_SHARD_BITS);
const MAX_U64 = (1n << 64n) - 1n;
const MAX_NODE_CURSOR = MAX_U64 >> SHIFT;

/** ScanPosition is where a cluster-wide SCAN stands. */
export interface ScanPosition {
  shard: number;
  /** The shard master's own cursor (a decimal string in Redis's replies). */
  nodeCursor: bigint;
}

/**
 * encodeScanCursor renders a position as the client's decimal cursor. Throws a RangeError when
 * the shard index or node cursor cannot be represented (never with real Redis cursors).
 */
export function encodeScanCursor(pos: ScanPosition): string {
  if (!Number.isInteger(pos.shard) || pos.shard < 0 || pos.shard >= MAX_SCAN_SHARDS) throw new RangeError(`shard index ${pos.shard} out of range`);
  if (pos.nodeCursor < 0n || pos.nodeCursor > MAX_NODE_CURSOR) throw new RangeError(`node cursor ${pos.nodeCursor} too large to encode`);
  return ((pos.nodeCursor << SHIFT) | BigInt(pos.shard)).toString();
}

/**
 * decodeScanCursor reads a client's cursor (decimal digits, at most 2^64 − 1, like Redis);
 * undefined for anything else (Redis answers `-ERR invalid cursor`).
 */
export function decodeScanCursor(text: string): ScanPosition | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const v = BigInt(text);
  if (v > MAX_U64) return undefined;
  return { shard: Number(v & BigInt(MAX_SCAN_SHARDS - 1)), nodeCursor: v >> SHIFT };
}
