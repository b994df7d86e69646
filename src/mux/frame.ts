/**
 * mux/frame: the tunnel multiplexer's wire format — frame layout, frame types, limits, and the
 * OPEN_ERR payload codec. Pure data and functions; imports only errors.
 *
 * Used on two connections: the agent's reverse tunnel to the proxy (ALPN `xport-tunnel`, the
 * proxy opens streams) and xsh's shared connection to the proxy (ALPN `xport-redis-mux`, xsh
 * opens streams). What the OPEN headers and CONTROL messages contain is the business of the
 * layers above (proxy/tunnel-protocol.ts); this file only defines how frames travel.
 *
 * ## Frame layout (all integers big-endian, no padding, no flags)
 *
 * ```
 *  byte 0        type       u8   one of FrameType below
 *  bytes 1..4    stream id  u32  0 = the connection itself; 1..0xffffffff = a stream
 *  bytes 5..8    length     u32  payload length in bytes (may be 0)
 *  bytes 9..     payload         `length` bytes, meaning set by the type
 * ```
 *
 * There is no flags field: a frame's kind is its type byte alone. Frames follow each other back to
 * back on the byte stream; one socket read may carry many frames and a frame may straddle reads.
 *
 * ## Frame types
 *
 * | type | name     | stream id | payload                                        | limit (receiver checks)      |
 * |------|----------|-----------|------------------------------------------------|------------------------------|
 * | 1    | OPEN     | ≠ 0       | JSON header of the new stream (UTF-8)          | `maxControlBytes` (1 MiB)    |
 * | 2    | OPEN_OK  | ≠ 0       | none                                           | exactly 0                    |
 * | 3    | OPEN_ERR | ≠ 0       | JSON `{message, kind?, hint?}` or plain UTF-8  | 16 KiB                       |
 * | 4    | DATA     | ≠ 0       | stream bytes                                   | 64 KiB                       |
 * | 5    | WINDOW   | ≠ 0       | u32 credit: more bytes the peer may send       | exactly 4                    |
 * | 6    | END      | ≠ 0       | none (half-close: no more DATA from this side) | exactly 0                    |
 * | 7    | RESET    | ≠ 0       | UTF-8 reason (sender truncates to 16 KiB)      | 16 KiB                       |
 * | 8    | CONTROL  | 0         | a JSON object (hello, heartbeats)              | `maxControlBytes` (1 MiB)    |
 * | 9    | PING     | 0         | 8 opaque bytes                                 | exactly 8                    |
 * | 10   | PONG     | 0         | the 8 bytes of the PING it answers             | exactly 8                    |
 *
 * The sender puts `performance.now()` as a float64 in a PING and reads it back from the PONG to
 * measure the round trip; the receiver treats the bytes as opaque and echoes them.
 *
 * ## Streams
 *
 * - Ids: each side allocates from its own parity (the opener of most streams, the proxy or xsh,
 *   uses odd ids from 1; the agent even ids from 2), each new id 2 above the last. A peer OPEN
 *   with our parity, or with an id not above the last one the peer used, is a violation. A side
 *   that runs past 0xffffffff opens no more streams (the caller must reconnect).
 * - Opening: the opener sends OPEN, then at once WINDOW with its receive window (no extra round
 *   trip). The acceptor answers OPEN_OK followed by its own WINDOW, or OPEN_ERR to refuse (no
 *   handler, over `maxStreams`, or the handler threw: the error's kind and hint travel in the
 *   JSON). Neither side sends DATA before OPEN_OK has gone out / come in. An opener that hears
 *   nothing within `openTimeoutMs` (10 s) gives up and sends RESET.
 * - Closing: END half-closes one direction; a stream is done when both sides sent END. RESET
 *   (or OPEN_ERR while the stream is still being accepted) aborts it in both directions.
 * - A frame for an id that was used before but is gone now (it raced a RESET or a timeout) is
 *   dropped; a DATA, WINDOW, END, OPEN_OK or OPEN_ERR for an id never opened is a violation
 *   (a RESET for an unknown id is always dropped).
 *
 * ## Flow control (credit)
 *
 * Per stream and per direction, a side may send only as many DATA bytes as its peer granted
 * in WINDOW frames (the initial window is 256 KiB unless configured; each side picks its own).
 * The receiver grants more as its consumer reads, batching credit until at least
 * min(window / 4, 32 KiB) is owed, so a stream nobody reads holds at most one window in memory
 * and never blocks its neighbours. Credit is additive; there is no connection-wide window on the
 * wire. On the sending side a local bound (`maxBufferedBytes`, 1 MiB) pauses writers while the
 * socket is backed up.
 *
 * ## Protocol violations
 *
 * The receiver checks each header before it buffers the payload (so a peer cannot make it hold
 * more than one frame's limit): an unknown type, a payload over its limit or of the wrong fixed
 * size, a connection frame on a stream id or a stream frame on id 0, DATA beyond the granted
 * credit or after END, an OPEN header or CONTROL payload that is not JSON (CONTROL: not a JSON
 * object), a reused or wrong-parity id, or a frame for a never-opened id. Any of these closes the
 * WHOLE connection with `tunnel protocol error from <peer>: <detail>`: the socket is destroyed,
 * every stream is aborted with that error and every pending open rejects. Nothing is answered.
 *
 * ## Liveness
 *
 * Optional: with `keepAliveMs` set, a side sends PING after that long without receiving
 * anything, and closes the connection after `idleTimeoutMs` (3 × keepAliveMs) of silence.
 */
import { XError, connectionProblem, isErrorKind, isXError, messageOf } from '../errors.js';

/** FrameType numbers the mux frames on the wire. */
export const FrameType = {
  OPEN: 1,
  OPEN_OK: 2,
  OPEN_ERR: 3,
  DATA: 4,
  WINDOW: 5,
  END: 6,
  RESET: 7,
  CONTROL: 8,
  PING: 9,
  PONG: 10,
} as const;

/** FRAME_HEADER_BYTES is the fixed frame header: type, stream id, payload length. */
export const FRAME_HEADER_BYTES = 9;
/** MAX_DATA_PAYLOAD bounds one DATA frame; bigger writes are split. */
export const MAX_DATA_PAYLOAD = 64 * 1024;
/** DEFAULT_STREAM_WINDOW is the per-stream receive window each side grants initially. */
export const DEFAULT_STREAM_WINDOW = 256 * 1024;

/** MAX_STREAM_ID is the largest stream id; a side that has used it up opens no more streams. */
export const MAX_STREAM_ID = 0xffffffff;
/** MAX_REASON_BYTES bounds an OPEN_ERR or RESET payload. */
export const MAX_REASON_BYTES = 16 * 1024;
/** PING_BYTES is the fixed PING/PONG payload size. */
export const PING_BYTES = 8;

/** encodeOpenError turns a refusal into an OPEN_ERR payload that keeps an XError's kind and hint. */
export function encodeOpenError(err: unknown): Buffer {
  // Bounded in characters so the JSON stays under MAX_REASON_BYTES even if every one escapes.
  const body: { message: string; kind?: string; hint?: string } = { message: messageOf(err).slice(0, 2000) };
  if (isXError(err)) {
    body.kind = err.kind;
    if (err.hint) body.hint = err.hint.slice(0, 500);
  }
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** decodeOpenError reads an OPEN_ERR payload; plain text is taken as the message. */
export function decodeOpenError(payload: Buffer): XError {
  const text = payload.toString('utf8');
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') {
      const { message, kind, hint } = v as { message: string; kind?: unknown; hint?: unknown };
      return new XError(isErrorKind(kind) ? kind : 'connection-problem', message, typeof hint === 'string' ? { hint } : {});
    }
  } catch {
    // not JSON: a plain message
  }
  return connectionProblem(text || 'stream refused');
}

/** utf8Bounded encodes a reason, truncated to MAX_REASON_BYTES. */
export function utf8Bounded(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return b.length <= MAX_REASON_BYTES ? b : b.subarray(0, MAX_REASON_BYTES);
}
