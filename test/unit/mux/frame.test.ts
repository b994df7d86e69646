/**
 * The multiplexer's wire format as written down in src/mux/frame.ts: the numbers on the wire and
 * the OPEN_ERR payload, which must carry an XError's kind and hint across and stay within the
 * receiver's limit whatever the message holds.
 */
import { describe, expect, it } from 'vitest';
import { accessDenied, connectionProblem, limitExceeded } from '../../../src/errors.js';
import {
  DEFAULT_STREAM_WINDOW,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_DATA_PAYLOAD,
  MAX_REASON_BYTES,
  MAX_STREAM_ID,
  PING_BYTES,
  decodeOpenError,
  encodeOpenError,
  utf8Bounded,
} from '../../../src/mux/frame.js';

describe('mux wire format', () => {
  it('numbers the frame types and sizes the header and limits as the wire notes say', () => {
    expect(FrameType).toEqual({ OPEN: 1, OPEN_OK: 2, OPEN_ERR: 3, DATA: 4, WINDOW: 5, END: 6, RESET: 7, CONTROL: 8, PING: 9, PONG: 10 });
    expect(FRAME_HEADER_BYTES).toBe(1 + 4 + 4);
    expect(MAX_DATA_PAYLOAD).toBe(64 * 1024);
    expect(DEFAULT_STREAM_WINDOW).toBe(256 * 1024);
    expect(MAX_REASON_BYTES).toBe(16 * 1024);
    expect(MAX_STREAM_ID).toBe(0xffffffff);
    expect(PING_BYTES).toBe(8);
  });

  it("carries a refusal's kind, message and hint through OPEN_ERR", () => {
    const err = decodeOpenError(encodeOpenError(accessDenied('role dev may not reach db prod', { hint: 'Ask for the prod role.' })));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toBe('role dev may not reach db prod');
    expect(err.hint).toBe('Ask for the prod role.');
    expect(JSON.parse(encodeOpenError(limitExceeded('too many')).toString('utf8'))).toEqual({ message: 'too many', kind: 'limit-exceeded' });
  });

  it('reads a plain-text OPEN_ERR, an unknown kind and an empty payload as connection problems', () => {
    const plain = decodeOpenError(Buffer.from('agent is shutting down'));
    expect([plain.kind, plain.message]).toEqual(['connection-problem', 'agent is shutting down']);
    const unknownKind = decodeOpenError(Buffer.from(JSON.stringify({ message: 'odd', kind: 'root-shell' })));
    expect([unknownKind.kind, unknownKind.message]).toEqual(['connection-problem', 'odd']);
    const notAnObject = decodeOpenError(Buffer.from('[1,2]'));
    expect([notAnObject.kind, notAnObject.message]).toEqual(['connection-problem', '[1,2]']);
    expect(decodeOpenError(Buffer.alloc(0)).message).toBe('stream refused');
  });

  it('keeps an OPEN_ERR under the receiver limit even when every character needs escaping', () => {
    const worst = connectionProblem('\u0001'.repeat(50_000), { hint: '"'.repeat(50_000) });
    const payload = encodeOpenError(worst);
    expect(payload.length).toBeLessThanOrEqual(MAX_REASON_BYTES);
    const back = decodeOpenError(payload);
    expect(back.message).toBe('\u0001'.repeat(2000));
    expect(back.hint).toBe('"'.repeat(500));
  });

  it('truncates a RESET reason to the receiver limit', () => {
    expect(utf8Bounded('short').toString('utf8')).toBe('short');
    expect(utf8Bounded('é'.repeat(MAX_REASON_BYTES)).length).toBe(MAX_REASON_BYTES);
  });
});
