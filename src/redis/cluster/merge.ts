/**
 * redis/cluster/merge: turning the replies of one command run on several nodes (a fan-out) or
 * split by slot (MGET, DEL…) into the one reply the client expects, as a single Redis would
 * have sent it. Elements are spliced as the nodes sent them (never re-encoded), so bulk strings,
 * nulls and RESP3 types stay byte for byte; only the aggregate header and summed integers are
 * written anew.
 *
 * The rule for errors is the same everywhere: the first error, in node (or slot group) order,
 * is the reply, passed through unchanged.
 *
 * Pure: imports redis/resp only.
 */
import { ReplyScanner } from '../resp/index.js';
import type { SlotGroup } from './slots.js';

/** NodeReply is one node's complete reply (a `ReplyFrame` fits). */
export interface NodeReply {
  readonly raw: Buffer;
  readonly isError: boolean;
}

const CR = 0x0d;

/** firstError returns the first error reply, if any. */
export function firstError(replies: readonly NodeReply[]): NodeReply | undefined {
  for (const r of replies) if (r.isError) return r;
  return undefined;
}

/**
 * aggregateElements splits an array (`*`) or set (`~`) reply into its elements' raw bytes;
 * undefined for a null array or any other type.
 */
export function aggregateElements(raw: Buffer): Buffer[] | undefined {
  const t = raw[0];
  if (t !== 0x2a && t !== 0x7e) return undefined;
  const eol = raw.indexOf(CR);
  if (eol < 0) return undefined;
  const count = Number(raw.toString('latin1', 1, eol));
  if (!Number.isSafeInteger(count) || count < 0) return undefined;
  const out: Buffer[] = [];
  if (count === 0) return out;
  const sc = new ReplyScanner();
  sc.push(raw.subarray(eol + 2));
  for (let i = 0; i < count; i++) {
    const f = sc.next();
    if (f === undefined) return undefined;
    out.push(f.raw);
  }
  return out;
}

/** readInteger reads an integer reply (`:n`); undefined for anything else. */
export function readInteger(raw: Buffer): bigint | undefined {
  if (raw[0] !== 0x3a) return undefined;
  const s = raw.toString('latin1', 1, raw.length - 2);
  return /^-?\d+$/.test(s) ? BigInt(s) : undefined;
}

/** integerReply encodes `:n`. */
export function integerReply(n: bigint | number): Buffer {
  return Buffer.from(`:${n.toString()}\r\n`);
}

/** arrayReply encodes `*n` followed by the raw elements. */
export function arrayReply(elements: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${elements.length}\r\n`), ...elements]);
}

const unexpectedReply = (what: string) => Buffer.from(`-ERR xport: unexpected reply from a cluster node to ${what}\r\n`);

/** mergeSum adds integer replies (DBSIZE, DEL, UNLINK, EXISTS, TOUCH). */
export function mergeSum(replies: readonly NodeReply[], what: string): Buffer {
  const err = firstError(replies);
  if (err !== undefined) return err.raw;
  let sum = 0n;
  for (const r of replies) {
    const n = readInteger(r.raw);
    if (n === undefined) return unexpectedReply(what);
    sum += n;
  }
  return integerReply(sum);
}

/** mergeMin keeps the smallest integer reply (WAIT: the replica count every shard reached). */
export function mergeMin(replies: readonly NodeReply[], what: string): Buffer {
  const err = firstError(replies);
  if (err !== undefined) return err.raw;
  let min: bigint | undefined;
  for (const r of replies) {
    const n = readInteger(r.raw);
    if (n === undefined) return unexpectedReply(what);
    if (min === undefined || n < min) min = n;
  }
  return integerReply(min ?? 0n);
}

/** mergeConcat concatenates array replies (KEYS): all of the first node's elements, then the next's. */
export function mergeConcat(replies: readonly NodeReply[], what: string): Buffer {
  const err = firstError(replies);
  if (err !== undefined) return err.raw;
  const all: Buffer[] = [];
  for (const r of replies) {
    const els = aggregateElements(r.raw);
    if (els === undefined) return unexpectedReply(what);
    for (const e of els) all.push(e);
  }
  return arrayReply(all);
}

/** mergeAllOk is the first error, else the first node's reply (FLUSHALL → +OK, SCRIPT LOAD → the sha). */
export function mergeAllOk(replies: readonly NodeReply[]): Buffer {
  return (firstError(replies) ?? replies[0]!).raw;
}

/** mergeAnyOk is the first success, else the first error (SCRIPT KILL, FUNCTION KILL: whichever node ran it). */
export function mergeAnyOk(replies: readonly NodeReply[]): Buffer {
  for (const r of replies) if (!r.isError) return r.raw;
  return replies[0]!.raw;
}

/** mergeAllTrue ANDs arrays of 0/1 integers element by element (SCRIPT EXISTS: 1 only where every master has the script). */
export function mergeAllTrue(replies: readonly NodeReply[], what: string): Buffer {
  const err = firstError(replies);
  if (err !== undefined) return err.raw;
  let acc: boolean[] | undefined;
  for (const r of replies) {
    const els = aggregateElements(r.raw);
    if (els === undefined || (acc !== undefined && els.length !== acc.length)) return unexpectedReply(what);
    const flags = els.map((e) => readInteger(e) === 1n);
    acc = acc === undefined ? flags : acc.map((v, i) => v && flags[i]!);
  }
  return arrayReply((acc ?? []).map((v) => integerReply(v ? 1 : 0)));
}

/**
 * mergeInKeyOrder puts the elements of per-slot array replies (MGET split by slot) back in the
 * client's key order: group g's reply element j answers key groups[g].indexes[j].
 */
export function mergeInKeyOrder(replies: readonly NodeReply[], groups: readonly SlotGroup[], keyCount: number, what: string): Buffer {
  const err = firstError(replies);
  if (err !== undefined) return err.raw;
  const out = new Array<Buffer>(keyCount);
  for (let g = 0; g < groups.length; g++) {
    const els = aggregateElements(replies[g]!.raw);
    const idx = groups[g]!.indexes;
    if (els === undefined || els.length !== idx.length) return unexpectedReply(what);
    for (let j = 0; j < idx.length; j++) out[idx[j]!] = els[j]!;
  }
  return arrayReply(out);
}
