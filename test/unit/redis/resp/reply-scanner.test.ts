import { describe, expect, it } from 'vitest';
import {
  ReplyScanner,
  RespProtocolError,
  type ReplyFrame,
  type ReplyScannerOptions,
} from '../../../../src/redis/resp/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** framesOf scans chunks (pushed one by one, drained after each) into frames. */
function framesOf(chunks: (string | Buffer)[], opts?: ReplyScannerOptions): ReplyFrame[] {
  const s = new ReplyScanner(opts);
  const out: ReplyFrame[] = [];
  for (const c of chunks) {
    s.push(typeof c === 'string' ? b(c) : c);
    for (let f = s.next(); f; f = s.next()) out.push(f);
  }
  return out;
}

const rawsOf = (frames: ReplyFrame[]) => frames.map((f) => f.raw.toString('latin1'));

function errorOf(chunks: string[], opts?: ReplyScannerOptions): RespProtocolError {
  try {
    framesOf(chunks, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(RespProtocolError);
    return err as RespProtocolError;
  }
  throw new Error('expected a protocol error');
}

describe('ReplyScanner: every RESP2 and RESP3 type', () => {
  const cases: [string, string, string][] = [
    ['simple string', '+OK\r\n', '+'],
    ['simple error', '-ERR unknown command\r\n', '-'],
    ['integer', ':-42\r\n', ':'],
    ['bulk string', '$3\r\nbar\r\n', '$'],
    ['empty bulk string', '$0\r\n\r\n', '$'],
    ['RESP2 null bulk', '$-1\r\n', '$'],
    ['bulk string holding CRLF', '$4\r\n\r\n\r\n\r\n', '$'],
    ['array', '*2\r\n$1\r\na\r\n:1\r\n', '*'],
    ['empty array', '*0\r\n', '*'],
    ['RESP2 null array', '*-1\r\n', '*'],
    ['null', '_\r\n', '_'],
    ['double', ',3.14\r\n', ','],
    ['boolean', '#t\r\n', '#'],
    ['big number', '(3492890328409238509324850943850943825024385\r\n', '('],
    ['verbatim string', '=15\r\ntxt:Some string\r\n', '='],
    ['blob error', '!21\r\nSYNTAX invalid syntax\r\n', '!'],
    ['map', '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n', '%'],
    ['empty map', '%0\r\n', '%'],
    ['set', '~3\r\n+a\r\n+b\r\n+c\r\n', '~'],
    ['push', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', '>'],
    ['attribute before a value', '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2039\r\n', '*'],
    ['streamed string', '$?\r\n;4\r\nHell\r\n;6\r\no worl\r\n;1\r\nd\r\n;0\r\n', '$'],
    ['streamed array', '*?\r\n:1\r\n*?\r\n+x\r\n.\r\n$1\r\ny\r\n.\r\n', '*'],
    ['streamed map', '%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n', '%'],
    ['streamed set', '~?\r\n.\r\n', '~'],
  ];
  for (const [what, wire, type] of cases) {
    it(`frames a ${what}`, () => {
      for (const split of [[wire], [...wire]]) {
        const frames = framesOf([...split, '+NEXT\r\n']);
        expect(rawsOf(frames)).toEqual([wire, '+NEXT\r\n']);
        expect(frames[0]!.type).toBe(type);
        expect(frames[0]!.push).toBe(type === '>');
        expect(frames[0]!.isError).toBe(type === '-' || type === '!');
      }
    });
  }

  it('frames nested aggregates of every kind', () => {
    const wire = '*3\r\n%1\r\n~2\r\n:1\r\n:2\r\n*1\r\n_\r\n*0\r\n*2\r\n$-1\r\n*-1\r\n';
    expect(rawsOf(framesOf([wire, ':7\r\n']))).toEqual([wire, ':7\r\n']);
  });
});

describe('ReplyScanner: attributes and push frames', () => {
  it('attaches a top-level attribute to the reply that follows it', () => {
    const frames = framesOf(['|1\r\n+ttl\r\n:3600\r\n', '$1\r\nv\r\n+OK\r\n']);
    expect(rawsOf(frames)).toEqual(['|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n', '+OK\r\n']);
    expect(frames[0]!.type).toBe('$');
  });

  it('does not count an attribute inside an aggregate as one of its elements', () => {
    const wire = '*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n|0\r\n:2\r\n';
    expect(rawsOf(framesOf([wire, '+OK\r\n']))).toEqual([wire, '+OK\r\n']);
  });

  it('flags push frames interleaved with replies', () => {
    const frames = framesOf(['+OK\r\n>2\r\n+pong\r\n$0\r\n\r\n:1\r\n>3\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n_\r\n']);
    expect(frames.map((f) => [f.type, f.push])).toEqual([
      ['+', false],
      ['>', true],
      [':', false],
      ['>', true],
    ]);
  });

  it('flags an attributed push as a push', () => {
    const [f] = framesOf(['|1\r\n+k\r\n+v\r\n>1\r\n+x\r\n']);
    expect(f!.push).toBe(true);
  });
});

describe('ReplyScanner: malformed replies', () => {
  const cases: [string, string, string][] = [
    ['an unknown type byte', '?x\r\n', "Protocol error: invalid reply type byte '?'"],
    ['a line ending in CR without LF', '+OK\rX', 'Protocol error: expected LF after CR'],
    ['a non-numeric bulk length', '$x\r\n', 'Protocol error: invalid bulk length'],
    ['a negative bulk length other than -1', '$-2\r\n', 'Protocol error: invalid bulk length'],
    ['a null verbatim string', '=-1\r\n', 'Protocol error: invalid bulk length'],
    ['a bulk longer than announced', '$2\r\nabc\r\n', 'Protocol error: bulk reply not terminated by CRLF'],
    ['a non-numeric count', '*x\r\n', 'Protocol error: invalid aggregate length'],
    ['a negative count other than -1', '*-2\r\n', 'Protocol error: invalid aggregate length'],
    ['a null map', '%-1\r\n', 'Protocol error: invalid aggregate length'],
    ['a streamed push', '>?\r\n', 'Protocol error: invalid aggregate length'],
    ['a streamed verbatim string', '=?\r\n', 'Protocol error: invalid bulk length'],
    ['a digit after ?', '*?1\r\n', 'Protocol error: invalid aggregate length'],
    ['a stray end marker', '.\r\n', "Protocol error: unexpected '.' outside a streamed aggregate"],
    ['a non-chunk inside a streamed string', '$?\r\n+x\r\n', "Protocol error: expected ';' in a streamed string, got '+'"],
    ['a chunk outside a streamed string', ';3\r\nabc\r\n', "Protocol error: invalid reply type byte ';'"],
  ];
  for (const [what, wire, message] of cases) {
    it(`rejects ${what}`, () => {
      const err = errorOf([wire]);
      expect(err.message).toBe(message);
      expect(err.kind).toBe('connection-problem');
      expect(errorOf([...wire]).message).toBe(message);
    });
  }

  it('keeps failing after a protocol error', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n@\r\n'));
    expect(s.next()!.type).toBe('+');
    expect(() => s.next()).toThrow(RespProtocolError);
    s.push(b('+OK\r\n'));
    expect(() => s.next()).toThrow(RespProtocolError);
    expect(() => s.takeReplies(1)).toThrow(RespProtocolError);
    // Bytes pushed after the error are dropped, not buffered.
    expect(s.bufferedBytes).toBe(3);
  });
});

describe('ReplyScanner: bounds', () => {
  it('rejects nesting deeper than maxDepth, attributes and streamed strings included', () => {
    expect(() => framesOf(['*1\r\n*1\r\n*1\r\n:1\r\n'], { maxDepth: 2 })).toThrow(
      'Protocol error: reply nested deeper than 2 levels',
    );
    expect(framesOf(['*1\r\n*1\r\n:1\r\n'], { maxDepth: 2 })).toHaveLength(1);
    expect(() => framesOf(['*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n'], { maxDepth: 1 })).toThrow('nested deeper');
    expect(() => framesOf(['*1\r\n$?\r\n;0\r\n'], { maxDepth: 1 })).toThrow('nested deeper');
  });

  it('frames replies from the database nested 100,000 levels deep by default: bounded by size, not depth', () => {
    const deep = '*1\r\n'.repeat(100_000) + ':1\r\n';
    const frames = framesOf([deep]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.raw.length).toBe(deep.length);
    // Split anywhere, the scan resumes without recursion.
    const parts: string[] = [];
    for (let at = 0; at < deep.length; at += 7) parts.push(deep.slice(at, at + 7));
    expect(framesOf(parts)).toHaveLength(1);
    // The byte budget still bounds it.
    const err = errorOf([deep], { maxBufferedBytes: 1000 });
    expect(err.kind).toBe('limit-exceeded');
  });

  it('rejects a bulk longer than maxBulkLength at its header', () => {
    expect(() => framesOf(['$11\r\n'], { maxBulkLength: 10 })).toThrow('Protocol error: invalid bulk length');
    expect(() => framesOf(['$?\r\n;11\r\n'], { maxBulkLength: 10 })).toThrow('Protocol error: invalid bulk length');
  });

  it('rejects an aggregate longer than maxAggregateLength', () => {
    expect(() => framesOf(['*4\r\n'], { maxAggregateLength: 3 })).toThrow('Protocol error: invalid aggregate length');
    expect(framesOf(['%3\r\n' + ':1\r\n'.repeat(6)], { maxAggregateLength: 3 })).toHaveLength(1);
  });

  it('rejects a simple line longer than maxLineLength, split or not', () => {
    const line = '-ERR ' + 'x'.repeat(20) + '\r\n';
    expect(() => framesOf([line], { maxLineLength: 16 })).toThrow('Protocol error: reply line longer than 16 bytes');
    expect(() => framesOf([line.slice(0, 19)], { maxLineLength: 16 })).toThrow('reply line longer');
    expect(framesOf(['-ERR xxxxxxxxxxxx\r\n'], { maxLineLength: 16 })).toHaveLength(1);
  });

  it('rejects a frame over maxBufferedBytes whether it arrives whole or in pieces', () => {
    const wire = '*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n';
    expect(framesOf([wire], { maxBufferedBytes: wire.length })).toHaveLength(1);
    expect(() => framesOf([wire], { maxBufferedBytes: wire.length - 1 })).toThrow(
      `Protocol error: reply exceeds the buffer limit of ${wire.length - 1} bytes`,
    );
    expect(() => framesOf([wire.slice(0, 40), wire.slice(40)], { maxBufferedBytes: 39 })).toThrow('buffer limit');
  });
});

describe('ReplyScanner: takeReplies', () => {
  it('takes up to max replies as one slice of the received chunk', () => {
    const chunk = b('+OK\r\n$3\r\nbar\r\n:1\r\n+OK\r\n');
    const s = new ReplyScanner();
    s.push(chunk);
    const t = s.takeReplies(3);
    expect(t.replies).toBe(3);
    expect(t.pushes).toBe(0);
    expect(t.bytes).toHaveLength(1);
    expect(t.bytes[0]!.buffer).toBe(chunk.buffer);
    expect(Buffer.concat(t.bytes).toString()).toBe('+OK\r\n$3\r\nbar\r\n:1\r\n');
    expect(t.byteLength).toBe(18);
    expect(t.partial).toBe(false);
    // The fourth reply stays for the next request.
    expect(s.takeReplies(5).replies).toBe(1);
    expect(s.bufferedBytes).toBe(0);
  });

  it('leaves incomplete replies in place and completes them on later pushes', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n$5\r\nhel'));
    const t1 = s.takeReplies(2);
    expect(t1.replies).toBe(1);
    expect(Buffer.concat(t1.bytes).toString()).toBe('+OK\r\n');
    expect(s.inProgress).toBe(true);
    s.push(b('lo\r\n'));
    const t2 = s.takeReplies(1);
    expect(t2.replies).toBe(1);
    expect(t2.bytes.map(String)).toEqual(['$5\r\nhel', 'lo\r\n']);
    expect(s.stats.copied).toBe(0);
  });

  it('takes push frames whenever they are reached and does not count them as replies', () => {
    const s = new ReplyScanner();
    s.push(b('>2\r\n+a\r\n+b\r\n+OK\r\n>1\r\n+c\r\n:5\r\n>1\r\n+d\r\n'));
    const t = s.takeReplies(1);
    expect([t.replies, t.pushes]).toEqual([1, 2]);
    expect(Buffer.concat(t.bytes).toString()).toBe('>2\r\n+a\r\n+b\r\n+OK\r\n>1\r\n+c\r\n');
    // With no request outstanding only pushes are taken.
    const none = s.takeReplies(0);
    expect([none.replies, none.pushes, none.byteLength]).toEqual([0, 0, 0]);
    const last = s.takeReplies(1);
    expect([last.replies, last.pushes]).toEqual([1, 1]);
  });

  it('takes leading pushes with max 0', () => {
    const s = new ReplyScanner();
    s.push(b('>1\r\n+x\r\n+OK\r\n'));
    const t = s.takeReplies(0);
    expect([t.replies, t.pushes]).toEqual([0, 1]);
    expect(s.next()!.raw.toString()).toBe('+OK\r\n');
  });

  it('counts errors and reports reply types when asked', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n-ERR no\r\n!3\r\nbad\r\n>1\r\n+p\r\n|1\r\n+a\r\n+b\r\n:1\r\n'));
    const types: number[] = [];
    const t = s.takeReplies(10, { types });
    expect(t.errors).toBe(2);
    expect(String.fromCharCode(...types)).toBe('+-!:');
  });

  it('mixes with next(): both consume the same stream in order', () => {
    const s = new ReplyScanner();
    s.push(b('+A\r\n+B\r\n+C\r\n'));
    expect(s.next()!.raw.toString()).toBe('+A\r\n');
    expect(Buffer.concat(s.takeReplies(1).bytes).toString()).toBe('+B\r\n');
    expect(s.next()!.raw.toString()).toBe('+C\r\n');
    expect(s.next()).toBeUndefined();
  });

  it('streams a large reply with partial takes, holding no more than a chunk', () => {
    const body = Buffer.alloc(1000, 0x7a);
    const wire = Buffer.concat([b('$1000\r\n'), body, b('\r\n+OK\r\n')]);
    const s = new ReplyScanner({ maxBufferedBytes: 200 });
    const out: Buffer[] = [];
    let replies = 0;
    for (let at = 0; at < wire.length; at += 100) {
      s.push(wire.subarray(at, at + 100));
      const t = s.takeReplies(1 - replies, { partial: true });
      replies += t.replies;
      out.push(...t.bytes);
      expect(s.bufferedBytes).toBeLessThanOrEqual(100);
    }
    expect(replies).toBe(1);
    expect(Buffer.concat(out).equals(wire.subarray(0, wire.length - 5))).toBe(true);
    expect(s.takeReplies(1).replies).toBe(1);
    expect(s.stats.copied).toBe(0);
  });

  it('does not take part of a reply beyond max, but does take part of a push', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n$10\r\n01234'));
    const t = s.takeReplies(1, { partial: true });
    expect([t.replies, t.partial]).toEqual([1, false]);
    expect(Buffer.concat(t.bytes).toString()).toBe('+OK\r\n');
    const s2 = new ReplyScanner();
    s2.push(b('>2\r\n+message\r\n$10\r\n01234'));
    const t2 = s2.takeReplies(0, { partial: true });
    expect([t2.replies, t2.pushes, t2.partial]).toEqual([0, 0, true]);
    expect(t2.byteLength).toBe(24);
    s2.push(b('56789\r\n'));
    expect(s2.takeReplies(0).pushes).toBe(1);
  });

  it('refuses a max that is not a count', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n'));
    expect(() => s.takeReplies(Number.NaN)).toThrow('count of zero or more');
    expect(() => s.takeReplies(-1)).toThrow('count of zero or more');
    expect(s.takeReplies(1).replies).toBe(1);
  });

  it('refuses next() on a frame whose start was already taken', () => {
    const s = new ReplyScanner();
    s.push(b('$4\r\nab'));
    s.takeReplies(1, { partial: true });
    s.push(b('cd\r\n'));
    expect(() => s.next()).toThrow('partly taken');
  });

  it('hands over the replies before a protocol error, then throws', () => {
    const s = new ReplyScanner();
    s.push(b('+OK\r\n:1\r\n@oops\r\n'));
    const t = s.takeReplies(5);
    expect(t.replies).toBe(2);
    expect(Buffer.concat(t.bytes).toString()).toBe('+OK\r\n:1\r\n');
    expect(() => s.takeReplies(5)).toThrow("invalid reply type byte '@'");
  });
});

describe('ReplyScanner: cost', () => {
  it('frames a 10 MiB bulk reply arriving in 64 KiB chunks without re-scanning or copying', () => {
    const size = 10 * 1024 * 1024;
    const wire = Buffer.concat([b(`$${size}\r\n`), Buffer.alloc(size, 0x41), b('\r\n')]);
    const s = new ReplyScanner();
    let taken = 0;
    let bytes = 0;
    for (let at = 0; at < wire.length; at += 64 * 1024) {
      s.push(wire.subarray(at, at + 64 * 1024));
      const t = s.takeReplies(1);
      taken += t.replies;
      bytes += t.byteLength;
    }
    expect(taken).toBe(1);
    expect(bytes).toBe(wire.length);
    expect(s.stats.scanned).toBeLessThan(16);
    expect(s.stats.skipped).toBe(size);
    expect(s.stats.copied).toBe(0);
  });

  it('copies a spanning frame exactly once when next() needs it whole', () => {
    const size = 10 * 1024 * 1024;
    const wire = Buffer.concat([b(`$${size}\r\n`), Buffer.alloc(size, 0x41), b('\r\n')]);
    const s = new ReplyScanner();
    let frame: ReplyFrame | undefined;
    for (let at = 0; at < wire.length; at += 64 * 1024) {
      s.push(wire.subarray(at, at + 64 * 1024));
      frame = s.next() ?? frame;
    }
    expect(frame!.raw.equals(wire)).toBe(true);
    expect(s.stats.copied).toBe(wire.length);
  });
});
