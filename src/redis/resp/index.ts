/**
 * redis/resp: the streaming RESP2/RESP3 codec of the agent — pure, fuzzed, fast.
 *
 * - {@link RequestParser}: request boundaries and arguments from a client (multibulk and inline),
 *   with the original bytes kept for forwarding.
 * - {@link ReplyScanner}: reply boundaries from Redis for every RESP3 type, push frames flagged,
 *   and a bulk path (`takeReplies`) that forwards many replies as a few slices.
 * - `encode`: the replies and commands the agent makes itself.
 *
 * Must not import anything above `errors` and `util` (ARCHITECTURE §2): no sockets, no engine.
 */
export { RequestParser, MAX_NAME_BYTES, type Request, type RequestParserOptions } from './request-parser.js';
export {
  ReplyScanner,
  type ReplyFrame,
  type ReplyScannerOptions,
  type TakeRepliesOptions,
  type TakenReplies,
} from './reply-scanner.js';
export { RespProtocolError } from './protocol-error.js';
export { coalesceSlices, type DecoderStats } from './chunked-input.js';
export { splitInlineArgs } from './inline.js';
export {
  DEFAULT_MAX_AGGREGATE_LENGTH,
  DEFAULT_MAX_ARGS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_BULK_LENGTH,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_INLINE_LENGTH,
  ROUTED_MAX_HELD_ARGS,
  STREAMED_MAX_HELD_ARGS,
} from './limits.js';
export {
  OK,
  array,
  boolean,
  bulk,
  command,
  double,
  encodeValue,
  error,
  integer,
  map,
  nullValue,
  push,
  set,
  simpleString,
  type RawReply,
  type ReplyValue,
} from './encode.js';
