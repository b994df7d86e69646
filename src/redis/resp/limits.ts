/**
 * resp/limits: the default bounds of the RESP decoders. They are no looser than Redis's own, so
 * a request the agent accepts is one Redis would accept too, and option checking shared by both
 * decoders.
 */
import { badParameter } from '../../errors.js';

/** DEFAULT_MAX_BULK_LENGTH is Redis's `proto-max-bulk-len` default: 512 MiB per bulk string. */
export const DEFAULT_MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** DEFAULT_MAX_ARGS is the largest multibulk count Redis accepts from a client (1024 × 1024). */
export const DEFAULT_MAX_ARGS = 1024 * 1024;
/** DEFAULT_MAX_INLINE_LENGTH is Redis's `PROTO_INLINE_MAX_SIZE`: 64 KiB per inline command line. */
export const DEFAULT_MAX_INLINE_LENGTH = 64 * 1024;
/** DEFAULT_MAX_BUFFERED_BYTES is Redis's `client-query-buffer-limit` default: 1 GiB per frame. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024 * 1024;
/**
 * STREAMED_MAX_HELD_ARGS: a relay that streams holds at most this many arguments of a request as
 * views (about 150 bytes each) before judging it; the rest streams.
 */
export const STREAMED_MAX_HELD_ARGS = 16 * 1024;
/** ROUTED_MAX_HELD_ARGS: a relay that routes requests whole (cluster) refuses requests with more arguments. */
export const ROUTED_MAX_HELD_ARGS = 64 * 1024;
/** DEFAULT_MAX_DEPTH bounds the nesting of aggregate replies (Redis itself stays far below it). */
export const DEFAULT_MAX_DEPTH = 1024;
/** DEFAULT_MAX_AGGREGATE_LENGTH bounds the element count of one reply aggregate (2^32 − 1, like hiredis). */
export const DEFAULT_MAX_AGGREGATE_LENGTH = 2 ** 32 - 1;

/** limitOption returns opts[name] when it is a positive safe integer, fallback when absent. */
export function limitOption(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw badParameter(`RESP limit ${name} must be a positive integer, got ${String(value)}`, {
      hint: `Pass a whole number of bytes or elements greater than zero for ${name}.`,
    });
  }
  return value;
}
