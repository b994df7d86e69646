/**
 * redis/cluster/slots: which of the 16,384 hash slots a key lives in (CRC16 of the key, or of its
 * `{hash tag}`, via `cluster-key-slot`), and grouping a command's keys by slot so that a
 * multi-key command can be split into one command per slot and its replies merged back in the
 * client's key order.
 *
 * Pure: imports only `cluster-key-slot`; must not import auth/, cloud/ or anything with I/O.
 */
import calculateSlot from 'cluster-key-slot';

/** SLOT_COUNT is the number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

/** NO_KEYS is what {@link commonSlot} returns for a command without keys. */
export const NO_KEYS = -1;
/** CROSS_SLOT is what {@link commonSlot} returns when the keys hash to different slots. */
export const CROSS_SLOT = -2;

/** keySlot returns the hash slot of a key (hash tags honoured, as Redis does). */
export function keySlot(key: Buffer | string): number {
  return calculateSlot(key);
}

/**
 * commonSlot returns the one slot all the keys at `positions` of `args` hash to,
 * {@link NO_KEYS} when there are none, or {@link CROSS_SLOT} when they differ.
 */
export function commonSlot(args: readonly Buffer[], positions: readonly number[]): number {
  if (positions.length === 0) return NO_KEYS;
  const first = keySlot(args[positions[0]!]!);
  for (let i = 1; i < positions.length; i++) {
    if (keySlot(args[positions[i]!]!) !== first) return CROSS_SLOT;
  }
  return first;
}

/** SlotGroup is the keys of one slot: their indexes in the key list, in the order given. */
export interface SlotGroup {
  slot: number;
  /** Indexes into the key list passed to {@link groupBySlot}, ascending. */
  indexes: number[];
}

/**
 * groupBySlot groups keys by slot. Groups come in the order of their first key, and each group
 * keeps its keys in the client's order, so a merge can put every reply element back in place.
 * Duplicate keys stay duplicated (EXISTS k k counts 2, as Redis does).
 */
export function groupBySlot(keys: readonly Buffer[]): SlotGroup[] {
  const groups: SlotGroup[] = [];
  const bySlot = new Map<number, SlotGroup>();
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i]!);
    let g = bySlot.get(slot);
    if (g === undefined) {
      g = { slot, indexes: [] };
      bySlot.set(slot, g);
      groups.push(g);
    }
    g.indexes.push(i);
  }
  return groups;
}
