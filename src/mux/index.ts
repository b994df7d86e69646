/**
 * mux: the tunnel's stream multiplexer. `frame` is the wire format (written down there),
 * `stream` one flow-controlled stream, `session` the connection that owns the streams.
 */
export { DEFAULT_STREAM_WINDOW, FRAME_HEADER_BYTES, FrameType, MAX_DATA_PAYLOAD } from './frame.js';
export { MuxStream } from './stream.js';
export { Mux } from './session.js';
export type { MuxOptions, MuxStats, StreamHandler } from './session.js';
