import { describe, expect, it } from 'vitest';
import { ReplyOrderer } from '../../../src/redis/reply-orderer.js';
import { ReplyScanner, RespProtocolError } from '../../../src/redis/resp/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (bufs: Buffer[] | undefined) => (bufs === undefined ? '' : Buffer.concat(bufs).toString('latin1'));
const DENIED = b('-ERR xport: access denied to set\r\n');

describe('ReplyOrderer: forwarding', () => {
  it('forwards pipelined replies as one view of the received chunk', () => {
    const o = new ReplyOrderer();
    o.forward(3);
    const chunk = b('+OK\r\n$1\r\na\r\n:1\r\n');
    o.push(chunk);
    const out = o.take()!;
    expect(out).toHaveLength(1);
    expect(out[0]!.buffer).toBe(chunk.buffer);
    expect(text(out)).toBe('+OK\r\n$1\r\na\r\n:1\r\n');
    expect(o.pendingReplies).toBe(0);
    expect(o.idle).toBe(true);
  });

  it('keeps reply bytes exactly: simple stays simple, bulk stays bulk, RESP3 types untouched', () => {
    const o = new ReplyOrderer();
    const wire = '+OK\r\n$2\r\nOK\r\n_\r\n$-1\r\n%1\r\n+a\r\n,1.5\r\n#t\r\n(1\r\n=7\r\ntxt:abc\r\n-ERR x\r\n';
    o.forward(10);
    o.push(b(wire));
    expect(text(o.take())).toBe(wire);
  });

  it('slots a local reply between the upstream replies of the requests around it', () => {
    const o = new ReplyOrderer();
    o.forward(1);
    o.local(DENIED);
    o.forward(1);
    expect(o.take()).toBeUndefined();
    o.push(b('+OK\r\n'));
    expect(text(o.take())).toBe('+OK\r\n-ERR xport: access denied to set\r\n');
    o.push(b('$1\r\nv\r\n'));
    expect(text(o.take())).toBe('$1\r\nv\r\n');
  });

  it('emits a local reply at once when nothing is pending', () => {
    const o = new ReplyOrderer();
    o.local(DENIED);
    expect(text(o.take())).toBe(DENIED.toString());
  });

  it('streams a large reply as it arrives instead of holding it', () => {
    const o = new ReplyOrderer();
    o.forward(1);
    o.push(b('$10\r\n01234'));
    expect(text(o.take())).toBe('$10\r\n01234');
    expect(o.idle).toBe(false); // half a reply is out
    o.push(b('56789\r\n'));
    expect(text(o.take())).toBe('56789\r\n');
    expect(o.idle).toBe(true);
  });

  it('passes RESP3 push frames through without counting them as replies', () => {
    const o = new ReplyOrderer();
    o.forward(1);
    o.local(DENIED);
    o.push(b('>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n'));
    expect(o.pendingReplies).toBe(1);
    o.push(b('+OK\r\n'));
    expect(o.pendingReplies).toBe(0);
    expect(text(o.take())).toBe('>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n+OK\r\n' + DENIED.toString());
  });

  it('reports each reply type to a hook (how HELLO tells RESP2 from RESP3)', () => {
    const o = new ReplyOrderer();
    const seen: string[] = [];
    o.forward(1);
    o.forward(1, (t) => seen.push(String.fromCharCode(t)));
    o.forward(1);
    o.push(b('+OK\r\n%1\r\n+proto\r\n:3\r\n:1\r\n'));
    expect(seen).toEqual(['%']);
    expect(o.pendingReplies).toBe(0);
  });

  it('forwards a reply nobody asked for rather than giving it to the next request', () => {
    const o = new ReplyOrderer();
    o.push(b('-ERR unsolicited\r\n'));
    expect(text(o.take())).toBe('-ERR unsolicited\r\n');
    expect(o.unexpectedReplies).toBe(1);
    o.forward(1);
    o.push(b('+OK\r\n'));
    expect(text(o.take())).toBe('+OK\r\n');
  });

  it('throws a protocol error on bytes that are not RESP', () => {
    const o = new ReplyOrderer();
    o.forward(1);
    expect(() => o.push(b('?what\r\n'))).toThrow(RespProtocolError);
  });

  it('gives the same frames in the same order whatever the chunking, never splitting a frame', () => {
    const replies = ['+OK\r\n', '$5\r\nhello\r\n', '>2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n', '*2\r\n:1\r\n$-1\r\n', '-ERR no\r\n', '%1\r\n+k\r\n$1\r\nv\r\n'];
    const wire = b(replies.join(''));
    // The push answers nothing, so it may land on either side of the local reply; replies may not move.
    const expectedReplies = ['+OK\r\n', '$5\r\nhello\r\n', DENIED.toString(), '*2\r\n:1\r\n$-1\r\n', '-ERR no\r\n', '%1\r\n+k\r\n$1\r\nv\r\n'];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 9) + 1;
    for (let round = 0; round < 200; round++) {
      const o = new ReplyOrderer();
      o.forward(2);
      o.local(DENIED);
      o.forward(3);
      const out: Buffer[] = [];
      for (let at = 0; at < wire.length; ) {
        const n = round === 0 ? 1 : rand();
        o.push(wire.subarray(at, at + n));
        at += n;
        out.push(...(o.take() ?? []));
      }
      const check = new ReplyScanner();
      check.push(Buffer.concat(out));
      const frames = [...(function* () { for (let f = check.next(); f; f = check.next()) yield f; })()];
      expect(check.bufferedBytes).toBe(0);
      expect(frames.filter((f) => !f.push).map((f) => f.raw.toString('latin1'))).toEqual(expectedReplies);
      expect(frames.filter((f) => f.push)).toHaveLength(1);
      expect(o.pendingReplies).toBe(0);
    }
  });
});

describe('ReplyOrderer: frame handlers, out-of-band frames, pass-through and close', () => {
  it('hands every frame to a handler until it says done, then forwards as usual', () => {
    const o = new ReplyOrderer();
    const got: string[] = [];
    o.frames((f, emit) => {
      got.push(f.raw.toString('latin1'));
      if (f.isError) return false;
      emit(b('-EXECABORT Transaction discarded because of previous errors.\r\n'));
      return true;
    });
    o.forward(1);
    o.push(b('-ERR first\r\n+OK\r\n$1\r\nx\r\n'));
    expect(got).toEqual(['-ERR first\r\n', '+OK\r\n']);
    expect(text(o.take())).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n$1\r\nx\r\n');
    expect(o.pendingReplies).toBe(0);
  });

  it('does not count out-of-band frames (RESP2 pub/sub messages) as replies', () => {
    const o = new ReplyOrderer();
    o.setOutOfBand((f) => f.raw.includes('message'));
    o.forward(1);
    o.local(DENIED);
    o.push(b('*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n'));
    expect(o.pendingReplies).toBe(1);
    o.push(b('*2\r\n$4\r\npong\r\n$0\r\n\r\n'));
    expect(text(o.take())).toBe('*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n' + DENIED.toString());
    o.setOutOfBand(undefined);
  });

  it('forwards everything once pass-through starts (MONITOR), emitting queued local replies in order', () => {
    const o = new ReplyOrderer();
    o.forward(1, (t) => {
      if (t === 0x2b) o.startPassthrough();
    });
    o.local(DENIED);
    o.forward(1);
    o.push(b('+OK\r\n+1700000000.1 [0 127.0.0.1:1] "get" "k"\r\n+17'));
    expect(text(o.take())).toBe('+OK\r\n' + DENIED.toString() + '+1700000000.1 [0 127.0.0.1:1] "get" "k"\r\n+17');
    expect(o.passthrough).toBe(true);
    expect(o.pendingReplies).toBe(0);
    o.local(DENIED);
    expect(text(o.take())).toBe(DENIED.toString());
  });

  it('reaches close only after everything queued before it', () => {
    const o = new ReplyOrderer();
    o.forward(1);
    o.local(b('-ERR xport: Protocol error: invalid bulk length\r\n'));
    o.close();
    expect(o.closeReached).toBe(false);
    o.push(b('+OK\r\n'));
    expect(o.closeReached).toBe(true);
    expect(text(o.take())).toBe('+OK\r\n-ERR xport: Protocol error: invalid bulk length\r\n');
  });

  it('counts pending replies across merged items and keeps memory flat over a long session', () => {
    const o = new ReplyOrderer();
    for (let i = 0; i < 5000; i++) {
      o.forward(1);
      if (i % 10 === 0) o.local(DENIED);
    }
    expect(o.pendingReplies).toBe(5000);
    o.push(b('+OK\r\n'.repeat(5000)));
    expect(o.pendingReplies).toBe(0);
    expect(o.idle).toBe(true);
    expect(text(o.take()).split('-ERR').length - 1).toBe(500);
  });
});
