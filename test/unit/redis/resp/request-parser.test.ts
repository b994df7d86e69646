import { describe, expect, it } from 'vitest';
import { isXError } from '../../../../src/errors.js';
import { RequestParser, RespProtocolError, type Request, type RequestParserOptions } from '../../../../src/redis/resp/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** parseAll pushes each chunk and drains the parser after every push. */
function parseAll(chunks: (string | Buffer)[], opts?: RequestParserOptions): Request[] {
  const p = new RequestParser(opts);
  const out: Request[] = [];
  for (const c of chunks) {
    p.push(typeof c === 'string' ? b(c) : c);
    for (const r of p) out.push(r);
  }
  return out;
}

/** errorOf returns the protocol error parsing chunks raises. */
function errorOf(chunks: (string | Buffer)[], opts?: RequestParserOptions): RespProtocolError {
  try {
    parseAll(chunks, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(RespProtocolError);
    return err as RespProtocolError;
  }
  throw new Error('expected a protocol error');
}

const argsOf = (r: Request) => r.args.map((a) => a.toString('latin1'));

describe('RequestParser: multibulk requests', () => {
  it('reads the name, arguments and exact bytes of a request', () => {
    const wire = '*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n';
    const [r, ...rest] = parseAll([wire]);
    expect(rest).toHaveLength(0);
    expect(r!.name).toBe('set');
    expect(argsOf(r!)).toEqual(['SET', 'foo', 'bar']);
    expect(r!.raw.toString('latin1')).toBe(wire);
    expect(r!.inline).toBe(false);
  });

  it('splits pipelined requests and returns views of the received chunk, not copies', () => {
    const chunk = b('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nQUIT\r\n');
    const p = new RequestParser();
    p.push(chunk);
    const reqs = [...p];
    expect(reqs.map((r) => r.name)).toEqual(['ping', 'get', 'quit']);
    for (const r of reqs) {
      expect(r.raw.buffer).toBe(chunk.buffer);
      for (const a of r.args) expect(a.buffer).toBe(chunk.buffer);
    }
    expect(Buffer.concat(reqs.map((r) => r.raw)).equals(chunk)).toBe(true);
    expect(p.stats.copied).toBe(0);
    expect(p.bufferedBytes).toBe(0);
  });

  it('copies a request once when it spans chunks, and its arguments are views of that copy', () => {
    const p = new RequestParser();
    p.push(b('*2\r\n$3\r\nGET\r\n$5\r\nhel'));
    expect(p.next()).toBeUndefined();
    expect(p.inProgress).toBe(true);
    p.push(b('lo\r\n'));
    const r = p.next()!;
    expect(argsOf(r)).toEqual(['GET', 'hello']);
    expect(r.args[1]!.buffer).toBe(r.raw.buffer);
    expect(p.stats.copied).toBe(r.raw.length);
    expect(p.inProgress).toBe(false);
  });

  it('keeps binary arguments intact, CRLF and star bytes included', () => {
    const value = Buffer.from([0x2a, 0x0d, 0x0a, 0x24, 0x00, 0xff, 0x0d]);
    const wire = Buffer.concat([b('*2\r\n$4\r\nECHO\r\n$7\r\n'), value, b('\r\n')]);
    const [r] = parseAll([wire]);
    expect(r!.args[1]!.equals(value)).toBe(true);
  });

  it('accepts empty arguments', () => {
    const [r] = parseAll(['*2\r\n$4\r\nECHO\r\n$0\r\n\r\n']);
    expect(argsOf(r!)).toEqual(['ECHO', '']);
  });

  it('lower-cases only ASCII letters of the name', () => {
    const [r] = parseAll([Buffer.concat([b('*1\r\n$5\r\nFLU'), Buffer.from([0xc0]), b('H\r\n')])]);
    expect(r!.name).toBe('flu\u00c0h');
  });

  it('caps the name at 1 KiB of the first argument', () => {
    const long = 'X'.repeat(5000);
    const [r] = parseAll([`*1\r\n$5000\r\n${long}\r\n`]);
    expect(r!.name).toBe('x'.repeat(1024));
    expect(r!.args[0]!.length).toBe(5000);
  });

  it('skips *0 and *-1 as Redis does and counts their bytes as ignored', () => {
    const p = new RequestParser();
    p.push(b('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n'));
    const reqs = [...p];
    expect(reqs.map((r) => r.name)).toEqual(['ping']);
    expect(p.stats.ignored).toBe(9);
  });

  it('parses a request fed one byte at a time', () => {
    const wire = '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n';
    const reqs = parseAll([...wire]);
    expect(reqs).toHaveLength(1);
    expect(argsOf(reqs[0]!)).toEqual(['SET', 'key', '0123456789']);
    expect(reqs[0]!.raw.toString('latin1')).toBe(wire);
  });
});

describe('RequestParser: inline commands', () => {
  it('splits an inline command on spaces and keeps the line as raw', () => {
    const [r] = parseAll(['SET  foo\tbar\r\n']);
    expect(argsOf(r!)).toEqual(['SET', 'foo', 'bar']);
    expect(r!.name).toBe('set');
    expect(r!.inline).toBe(true);
    expect(r!.raw.toString('latin1')).toBe('SET  foo\tbar\r\n');
  });

  it('accepts a bare LF as the line end', () => {
    expect(argsOf(parseAll(['PING\n'])[0]!)).toEqual(['PING']);
  });

  it('handles double quotes with escapes, like sdssplitargs', () => {
    const [r] = parseAll(['set "a b" "say \\"hi\\"\\n" "\\x41\\x7a"\r\n']);
    expect(argsOf(r!)).toEqual(['set', 'a b', 'say "hi"\n', 'Az']);
  });

  it('handles single quotes, where only \\\' is an escape', () => {
    const [r] = parseAll(["set 'it\\'s' 'a\\nb'\r\n"]);
    expect(argsOf(r!)).toEqual(['set', "it's", 'a\\nb']);
  });

  it('ignores empty and blank lines as Redis does', () => {
    const p = new RequestParser();
    p.push(b('\r\n\n   \r\nPING\r\n'));
    expect([...p].map((r) => r.name)).toEqual(['ping']);
    expect(p.stats.ignored).toBe(8);
  });

  it('rejects unbalanced quotes', () => {
    expect(errorOf(['GET "abc\r\n']).message).toBe('Protocol error: unbalanced quotes in request');
    expect(errorOf(["GET 'abc\r\n"]).message).toBe('Protocol error: unbalanced quotes in request');
  });

  it('rejects a closing quote glued to the next word', () => {
    expect(errorOf(['GET "a"b\r\n']).message).toBe('Protocol error: unbalanced quotes in request');
  });

  it('mixes inline and multibulk requests on one connection', () => {
    const reqs = parseAll(['PING\r\n*1\r\n$4\r\nPING\r\nECHO x\r\n']);
    expect(reqs.map((r) => [r.name, r.inline])).toEqual([
      ['ping', true],
      ['ping', false],
      ['echo', true],
    ]);
  });
});

describe('RequestParser: framing exactly as Redis frames', () => {
  // Each of these was sent to redis-server 7.0 (test/e2e/protocol-errors.test.ts compares the
  // live answers): Redis skips the byte after a header CR and the two bytes after a body without
  // looking at them, and skips counts of zero or less. The agent must split the stream where Redis
  // does, or it would judge one command while Redis runs another.
  const cases: [string, string, string[][]][] = [
    ['skips a negative count', '*-2\r\nPING\r\n', [['PING']]],
    ['does not look at the byte after the count line CR', '*1\rX$4\r\nPING\r\n', [['PING']]],
    ['does not look at the byte after the length line CR', '*1\r\n$4\r\rPING\r\n', [['PING']]],
    ['does not look at the two bytes after a body', '*1\r\n$4\r\nPINGxx*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', [['PING'], ['GET', 'k']]],
    ['takes exactly the announced body, the rest starts the next request', '*1\r\n$3\r\nPING\r\nECHO x\r\n', [['PIN'], ['ECHO', 'x']]],
  ];
  for (const [what, wire, expected] of cases) {
    it(what, () => {
      expect(parseAll([wire]).map(argsOf)).toEqual(expected);
      expect(parseAll([...wire]).map(argsOf)).toEqual(expected);
    });
  }

  it('never ends a header line that has a NUL before its CR, and refuses it past 64 KiB as Redis does', () => {
    const p = new RequestParser();
    p.push(b('*1\x00\r\n$4\r\nPING\r\n'));
    expect(p.next()).toBeUndefined();
    p.push(Buffer.alloc(64 * 1024, 0x41));
    expect(() => p.next()).toThrow('Protocol error: too big mbulk count string');
  });

  it('never ends an inline line that has a NUL before its LF, and refuses it past 64 KiB', () => {
    const p = new RequestParser();
    p.push(b('PI\x00NG\r\n'));
    expect(p.next()).toBeUndefined();
    p.push(Buffer.alloc(64 * 1024, 0x41));
    expect(() => p.next()).toThrow('Protocol error: too big inline request');
  });

  it('refuses a count line or a length line without CR past 64 KiB, before looking at its type byte', () => {
    expect(errorOf([`*${'1'.repeat(64 * 1024 + 1)}`]).message).toBe('Protocol error: too big mbulk count string');
    expect(errorOf([`*1\r\n${'X'.repeat(70000)}`]).message).toBe('Protocol error: too big bulk count string');
    // With its CR inside the bound the line is judged on its content instead.
    expect(errorOf([`*1\r\n${'X'.repeat(60000)}\r\n`]).message).toBe("Protocol error: expected '$', got 'X'");
  });
});

describe('RequestParser: malformed input', () => {
  const cases: [string, string, string][] = [
    ['a non-numeric count', '*abc\r\n', 'Protocol error: invalid multibulk length'],
    ['an empty count', '*\r\n', 'Protocol error: invalid multibulk length'],
    ['a count with a leading zero', '*01\r\n', 'Protocol error: invalid multibulk length'],
    ['a count of 16 digits', '*1234567890123456\r\n', 'Protocol error: invalid multibulk length'],
    ['an argument without $', '*1\r\n+PING\r\n', "Protocol error: expected '$', got '+'"],
    ['an argument line that is empty', '*1\r\n\r\n', "Protocol error: expected '$', got ' '"],
    ['an argument starting with LF', '*1\r\n\n4\r\n', "Protocol error: expected '$', got ' '"],
    ['an argument starting with a high byte', '*1\r\n\xff4\r\n', "Protocol error: expected '$', got '\xff'"],
    ['a bulk length with trailing junk', '*1\r\n$1x\r\n', 'Protocol error: invalid bulk length'],
    ['a count with a plus sign', '*+1\r\n', 'Protocol error: invalid multibulk length'],
    ['a bulk length with a leading zero', '*1\r\n$04\r\nPING\r\n', 'Protocol error: invalid bulk length'],
    ['a non-numeric bulk length', '*1\r\n$x\r\n', 'Protocol error: invalid bulk length'],
    ['a null bulk in a request', '*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
    ['a bulk length of -0', '*1\r\n$-0\r\n', 'Protocol error: invalid bulk length'],
  ];
  for (const [what, wire, message] of cases) {
    it(`rejects ${what}`, () => {
      const err = errorOf([wire]);
      expect(err.message).toBe(message);
      expect(isXError(err)).toBe(true);
      expect(err.kind).toBe('bad-parameter');
      // The outcome does not depend on how the bytes were split.
      expect(errorOf([...wire]).message).toBe(message);
    });
  }

  it('returns the requests before the bad one, then throws the same error on every call', () => {
    const p = new RequestParser();
    p.push(b('*1\r\n$4\r\nPING\r\n*1\r\n%4\r\n'));
    expect(p.next()!.name).toBe('ping');
    const first = (() => {
      try {
        p.next();
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(first).toBeInstanceOf(RespProtocolError);
    p.push(b('*1\r\n$4\r\nPING\r\n'));
    expect(() => p.next()).toThrow(first as Error);
  });
});

describe('RequestParser: bounds', () => {
  it('rejects a bulk longer than maxBulkLength, at its header', () => {
    expect(() => parseAll(['*1\r\n$11\r\n'], { maxBulkLength: 10 })).toThrow('Protocol error: invalid bulk length');
    expect(argsOf(parseAll(['*1\r\n$10\r\n0123456789\r\n'], { maxBulkLength: 10 })[0]!)).toEqual(['0123456789']);
  });

  it('rejects a count above maxArgs', () => {
    expect(() => parseAll(['*4\r\n'], { maxArgs: 3 })).toThrow('Protocol error: invalid multibulk length');
    expect(parseAll(['*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'], { maxArgs: 3 })).toHaveLength(1);
  });

  it('rejects a count above 1,048,576 by default', () => {
    expect(() => parseAll(['*1048577\r\n'])).toThrow('Protocol error: invalid multibulk length');
  });

  it('rejects an inline line longer than maxInlineLength, split or not', () => {
    const line = 'GET ' + 'k'.repeat(20);
    expect(() => parseAll([line + '\r\n'], { maxInlineLength: 16 })).toThrow('Protocol error: too big inline request');
    // Without a line end yet, the parser gives up as soon as the bound is passed.
    expect(() => parseAll([line.slice(0, 10), line.slice(10)], { maxInlineLength: 16 })).toThrow(
      'Protocol error: too big inline request',
    );
    // The bound counts every byte before the LF, the CR included.
    expect(parseAll(['GET kkkkkkkkkkk\r\n'], { maxInlineLength: 16 })).toHaveLength(1);
    expect(() => parseAll(['GET kkkkkkkkkkkk\r\n'], { maxInlineLength: 16 })).toThrow('too big inline request');
  });

  it('rejects a request over maxBufferedBytes as soon as an announced length cannot fit', () => {
    const p = new RequestParser({ maxBufferedBytes: 64 });
    p.push(b('*2\r\n$3\r\nSET\r\n$100\r\n'));
    let err: unknown;
    try {
      p.next();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RespProtocolError);
    expect((err as RespProtocolError).message).toBe(
      'request larger than 64 bytes, the most the agent holds of one request; send smaller requests or raise db_service.limits.session_buffer_bytes',
    );
    expect((err as RespProtocolError).reply.toString('latin1')).toMatch(/^-ERR xport: request larger than 64 bytes/);
    expect((err as RespProtocolError).kind).toBe('limit-exceeded');
  });

  it('rejects a request of many small arguments over maxBufferedBytes', () => {
    const wire = '*100\r\n' + '$1\r\nx\r\n'.repeat(100);
    expect(() => parseAll([wire], { maxBufferedBytes: 200 })).toThrow('the most the agent holds of one request');
    expect(parseAll([wire], { maxBufferedBytes: 706 })).toHaveLength(1);
  });

  it('accepts a request of exactly maxBufferedBytes', () => {
    const wire = '*1\r\n$4\r\nPING\r\n';
    expect(parseAll([wire], { maxBufferedBytes: wire.length })).toHaveLength(1);
    expect(() => parseAll([wire], { maxBufferedBytes: wire.length - 1 })).toThrow('the most the agent holds of one request');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new RequestParser({ maxArgs: 0 })).toThrow('maxArgs must be a positive integer');
    expect(() => new RequestParser({ maxBulkLength: 1.5 })).toThrow('maxBulkLength');
  });
});

describe('RequestParser: cost', () => {
  it('parses a 10 MiB bulk arriving in 64 KiB chunks with one copy and no re-scan', () => {
    const size = 10 * 1024 * 1024;
    const body = Buffer.alloc(size, 0x61);
    const wire = Buffer.concat([b(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${size}\r\n`), body, b('\r\n')]);
    const p = new RequestParser();
    let req: Request | undefined;
    for (let at = 0; at < wire.length; at += 64 * 1024) {
      p.push(wire.subarray(at, at + 64 * 1024));
      const r = p.next();
      if (r) req = r;
    }
    expect(req).toBeDefined();
    expect(req!.args[2]!.length).toBe(size);
    expect(req!.raw.equals(wire)).toBe(true);
    // Headers and CRLFs are examined; the body is skipped by length; the frame is joined once.
    expect(p.stats.scanned).toBeLessThan(64);
    expect(p.stats.skipped).toBe(size + 6);
    expect(p.stats.copied).toBe(wire.length);
  });

  it('copies nothing for pipelined requests that arrive whole', () => {
    const one = '*3\r\n$3\r\nSET\r\n$7\r\nkey:001\r\n$5\r\nvalue\r\n';
    const p = new RequestParser();
    for (let k = 0; k < 100; k++) {
      p.push(b(one.repeat(16)));
      expect([...p]).toHaveLength(16);
    }
    expect(p.stats.copied).toBe(0);
    expect(p.stats.scanned + p.stats.skipped).toBe(one.length * 1600);
  });

  it('holds incomplete requests by reference, without joining chunks on push', () => {
    const p = new RequestParser();
    p.push(b('*2\r\n$3\r\nGET\r\n$1000\r\n'));
    for (let k = 0; k < 99; k++) {
      p.push(Buffer.alloc(10, 0x62));
      expect(p.next()).toBeUndefined();
    }
    expect(p.stats.copied).toBe(0);
    expect(p.bufferedBytes).toBe(20 + 990);
    p.push(b('bbbbbbbbbb\r\n'));
    expect(p.next()!.args[1]!.length).toBe(1000);
    expect(p.stats.copied).toBe(1022);
  });
});

describe('RequestParser: streaming large requests', () => {
  const body = Buffer.alloc(300, 0x61);
  const big = Buffer.concat([b('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$300\r\n'), body, b('\r\n')]);
  const after = b('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n');
  const wire = Buffer.concat([b('PING\r\n'), big, after]);

  /** run feeds chunks and records every request, head and streamed piece, as a relay would. */
  function run(chunks: Buffer[], opts: RequestParserOptions) {
    const p = new RequestParser(opts);
    const events: { req?: Request; streamed?: Buffer; ended?: boolean }[] = [];
    let streamed: Buffer[] = [];
    for (const c of chunks) {
      p.push(c);
      for (;;) {
        if (p.streamingRequest) {
          const done = p.takeStream(streamed);
          if (!done) break;
          events.push({ streamed: Buffer.concat(streamed), ended: true });
          streamed = [];
          continue;
        }
        const r = p.next();
        if (r === undefined) break;
        events.push({ req: r });
      }
    }
    return { p, events };
  }

  it('hands out the head with the arguments before the large one, at every split point', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const { p, events } = run([wire.subarray(0, cut), wire.subarray(cut)], { streamAbove: 100 });
      const reqs = events.filter((e) => e.req).map((e) => e.req!);
      expect(reqs.map((r) => r.name)).toEqual(['ping', 'set', 'get']);
      const head = reqs[1]!;
      expect(head.stream).toEqual({ argc: 3 });
      expect(argsOf(head)).toEqual(['SET', 'key']);
      const streamed = events.find((e) => e.streamed)!.streamed!;
      // The head and the streamed bytes are the request, byte for byte, and nothing else.
      expect(Buffer.concat([head.raw, streamed]).equals(big)).toBe(true);
      expect(reqs[2]!.raw.equals(after)).toBe(true);
      expect(reqs[2]!.stream).toBeUndefined();
      expect(p.bufferedBytes).toBe(0);
    }
  });

  it('streams the same bytes when fed one byte at a time, holding at most the bound', () => {
    const p = new RequestParser({ streamAbove: 100 });
    const out: Buffer[] = [];
    const reqs: Request[] = [];
    let maxHeld = 0;
    for (const byte of wire) {
      p.push(Buffer.from([byte]));
      for (;;) {
        if (p.streamingRequest) {
          if (!p.takeStream(out)) break;
          continue;
        }
        const r = p.next();
        if (r === undefined) break;
        reqs.push(r);
      }
      maxHeld = Math.max(maxHeld, p.bufferedBytes);
    }
    expect(reqs.map((r) => r.name)).toEqual(['ping', 'set', 'get']);
    expect(Buffer.concat([reqs[1]!.raw, ...out]).equals(big)).toBe(true);
    expect(maxHeld).toBeLessThanOrEqual(100);
  });

  it('streams a request of many small arguments once it passes the bound, with the complete arguments so far', () => {
    const parts = ['*40\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n'];
    for (let i = 0; i < 38; i++) parts.push('$5\r\nvalue\r\n');
    const many = b(parts.join(''));
    for (let cut = 1; cut < many.length; cut += 7) {
      const { events } = run([many.subarray(0, cut), many.subarray(cut)], { streamAbove: 64 });
      const head = events[0]!.req!;
      expect(head.stream).toEqual({ argc: 40 });
      const full = ['RPUSH', 'k', ...Array<string>(38).fill('value')];
      // The head's arguments are exactly the ones complete in its bytes: a prefix of the request's.
      expect(argsOf(head)).toEqual(full.slice(0, head.args.length));
      expect(head.args.length).toBeGreaterThanOrEqual(2);
      const rest = events[1]!.streamed!;
      expect(Buffer.concat([head.raw, rest]).equals(many)).toBe(true);
      // Nothing of the frame is held beyond the bound plus the chunk that crossed it.
      expect(head.raw.length).toBeLessThanOrEqual(Math.max(64, cut) + 11);
    }
  });

  it('gives a head without arguments when the command name itself is too large', () => {
    const huge = Buffer.concat([b('*1\r\n$500\r\n'), Buffer.alloc(500, 0x41), b('\r\n')]);
    const { events } = run([huge], { streamAbove: 100 });
    expect(events[0]!.req!.args).toEqual([]);
    expect(events[0]!.req!.name).toBe('');
    expect(Buffer.concat([events[0]!.req!.raw, events[1]!.streamed!]).equals(huge)).toBe(true);
  });

  it('raises a protocol error in the streamed tail where Redis would, having handed out only the bytes before it', () => {
    const bad = Buffer.concat([b('*3\r\n$3\r\nSET\r\n$300\r\n'), body, b('\r\n%3\r\nabc\r\n')]);
    const p = new RequestParser({ streamAbove: 100 });
    p.push(bad);
    const head = p.next()!;
    expect(argsOf(head)).toEqual(['SET']);
    const out: Buffer[] = [];
    expect(() => p.takeStream(out)).toThrow("Protocol error: expected '$', got '%'");
    expect(() => p.takeStream(out)).toThrow(RespProtocolError);
  });

  it('streams the request in progress early when asked to (the process budget is spent)', () => {
    const p = new RequestParser({ streamAbove: 1_000_000 });
    p.push(big.subarray(0, 40));
    expect(p.next()).toBeUndefined();
    p.streamSoon();
    p.push(big.subarray(40, 50));
    const head = p.next()!;
    expect(head.stream).toEqual({ argc: 3 });
    const out: Buffer[] = [];
    expect(p.takeStream(out)).toBe(false);
    p.push(big.subarray(50));
    expect(p.takeStream(out)).toBe(true);
    expect(Buffer.concat([head.raw, ...out]).equals(big)).toBe(true);
  });

  it('holds at most maxHeldArgs arguments: past them the request streams, at every split point', () => {
    const wire = b('*12\r\n$4\r\nMSET\r\n' + Array.from({ length: 11 }, (_, k) => `$2\r\nk${k % 10}\r\n`).join('') + 'PING\r\n');
    for (let cut = 0; cut <= wire.length; cut++) {
      const { events } = run([wire.subarray(0, cut), wire.subarray(cut)], { streamAbove: 1_000_000, maxHeldArgs: 4 });
      const head = events[0]!.req!;
      expect(head.stream).toEqual({ argc: 12 });
      expect(argsOf(head)).toEqual(['MSET', 'k0', 'k1', 'k2']);
      expect(Buffer.concat([head.raw, events[1]!.streamed!]).toString('latin1')).toBe(wire.toString('latin1').replace('PING\r\n', ''));
      expect(events[2]!.req!.name).toBe('ping');
    }
  });

  it('refuses a request over maxHeldArgs when it cannot stream, with an error of its own', () => {
    const err = errorOf(['*6\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n'], { maxHeldArgs: 4 });
    expect(err.message).toBe('request with more than 4 arguments, the most the agent holds of one request; send fewer arguments per request');
    expect(err.reply.toString('latin1')).toMatch(/^-ERR xport: request with more than 4 arguments/);
    expect(parseAll(['*4\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'], { maxHeldArgs: 4 }).map(argsOf)).toEqual([['DEL', 'a', 'b', 'c']]);
  });

  it('refuses next() while a request is streaming, so no byte is judged twice', () => {
    const p = new RequestParser({ streamAbove: 100 });
    p.push(big.subarray(0, 200));
    expect(p.next()!.stream).toBeDefined();
    expect(() => p.next()).toThrow('takeStream');
  });
});
