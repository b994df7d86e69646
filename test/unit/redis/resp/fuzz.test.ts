import { describe, expect, it } from 'vitest';
import { ReplyScanner, RequestParser, RespProtocolError } from '../../../../src/redis/resp/index.js';

// Seeded fuzzing: each seed builds a long stream of mixed frames, then checks that any way of
// splitting it into chunks (1-byte chunks included) yields exactly the frames of the unsplit
// parse, and that the frames' raw bytes put together are the input.

/** rng returns a deterministic generator of floats in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: () => number, n: number) => Math.floor(r() * n);
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** randomBytes mixes printable text with the bytes a parser could trip on. */
function randomBytes(r: () => number, max: number): string {
  const tricky = ['\r', '\n', '\r\n', '*', '$', '"', '\x00', '\xff', ' '];
  let s = '';
  const len = int(r, max + 1);
  while (s.length < len) s += r() < 0.2 ? pick(r, tricky) : String.fromCharCode(0x61 + int(r, 26));
  return s.slice(0, len);
}

/** split cuts data into chunks: random sizes, all single bytes, or a mix of large and tiny. */
function split(r: () => number, data: Buffer): Buffer[] {
  const mode = int(r, 3);
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = mode === 0 ? 1 + int(r, 64) : mode === 1 ? 1 : r() < 0.5 ? 1 + int(r, 3) : 1 + int(r, 4096);
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

interface GenRequest {
  args: string[];
  inline: boolean;
}

const NAMES = ['GET', 'set', 'Hset', 'PING', 'mget', 'CLIENT', 'xadd'];

function genRequests(r: () => number, count: number): { wire: Buffer; expected: GenRequest[] } {
  let wire = '';
  const expected: GenRequest[] = [];
  for (let k = 0; k < count; k++) {
    if (r() < 0.7) {
      const args = [pick(r, NAMES)];
      const n = int(r, 5);
      for (let a = 0; a < n; a++) args.push(randomBytes(r, r() < 0.05 ? 3000 : 40));
      wire += `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
      expected.push({ args, inline: false });
    } else {
      const args = [pick(r, NAMES)];
      const words = [args[0]!];
      const n = int(r, 4);
      for (let a = 0; a < n; a++) {
        if (r() < 0.3) {
          // Quoted words exercise escapes: \n stands for LF (which cannot appear raw in a line),
          // \" and \\ for themselves, \xHH for any byte.
          const content = [...randomBytes(r, 12)].filter((c) => c !== '\x00').join('');
          let quoted = '"';
          for (const c of content) {
            if (c === '\n') quoted += '\\n';
            else if (c === '"' || c === '\\') quoted += '\\' + c;
            else if (r() < 0.1) quoted += '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
            else quoted += c;
          }
          words.push(quoted + '"');
          args.push(content);
        } else {
          const word = randomBytes(r, 10).replace(/[\s"'\x00]/g, '') || 'x';
          words.push(word);
          args.push(word);
        }
      }
      wire += words.join(pick(r, [' ', '  ', '\t'])) + pick(r, ['\r\n', '\n']);
      expected.push({ args, inline: true });
    }
  }
  return { wire: Buffer.from(wire, 'latin1'), expected };
}

interface GenFrame {
  type: string;
  push: boolean;
}

/** genValue is a random value, sometimes carrying an attribute. */
function genValue(r: () => number, depth: number): string {
  return attributed(r, depth, genBare(r, depth));
}

/** genBare is a random value without an attribute of its own (its elements may have some). */
function genBare(r: () => number, depth: number): string {
  const scalar = () => {
    switch (int(r, 12)) {
      case 0: return `+${randomBytes(r, 10).replace(/[\r\n]/g, '')}\r\n`;
      case 1: return `-ERR ${randomBytes(r, 10).replace(/[\r\n]/g, '')}\r\n`;
      case 2: return `:${int(r, 1e6) - 5e5}\r\n`;
      case 3: { const s = randomBytes(r, 30); return `$${s.length}\r\n${s}\r\n`; }
      case 4: return pick(r, ['$-1\r\n', '*-1\r\n', '_\r\n']);
      case 5: return `,${(r() * 100).toFixed(3)}\r\n`;
      case 6: return pick(r, ['#t\r\n', '#f\r\n']);
      case 7: return `(${int(r, 1e9)}${int(r, 1e9)}\r\n`;
      case 8: { const s = 'txt:' + randomBytes(r, 20); return `=${s.length}\r\n${s}\r\n`; }
      case 9: { const s = 'ERR ' + randomBytes(r, 20); return `!${s.length}\r\n${s}\r\n`; }
      case 10: {
        let s = '$?\r\n';
        for (let c = int(r, 3); c > 0; c--) { const p = randomBytes(r, 8) || 'x'; s += `;${p.length}\r\n${p}\r\n`; }
        return s + ';0\r\n';
      }
      default: return `$0\r\n\r\n`;
    }
  };
  if (depth >= 4 || r() < 0.6) return scalar();
  const n = int(r, 4);
  const items = () => Array.from({ length: n }, () => genValue(r, depth + 1)).join('');
  switch (int(r, 5)) {
    case 0: return `*${n}\r\n${items()}`;
    case 1: return `~${n}\r\n${items()}`;
    case 2: {
      let s = `%${n}\r\n`;
      for (let k = 0; k < n; k++) s += genValue(r, depth + 1) + genValue(r, depth + 1);
      return s;
    }
    case 3: return `${pick(r, ['*', '~'])}?\r\n${items()}.\r\n`;
    default: return `%?\r\n${items()}${items()}.\r\n`; // n keys and n values
  }
}

/** attributed sometimes prefixes a value with an attribute map, which belongs to the value. */
function attributed(r: () => number, depth: number, value: string): string {
  if (r() >= 0.1 || depth > 3) return value;
  const n = int(r, 3);
  let attr = `|${n}\r\n`;
  for (let k = 0; k < n; k++) attr += `+key${k}\r\n` + genValue(r, depth + 1);
  return attr + value;
}

function genReplies(r: () => number, count: number): { wire: Buffer; expected: GenFrame[] } {
  let wire = '';
  const expected: GenFrame[] = [];
  for (let k = 0; k < count; k++) {
    const push = r() < 0.15;
    const n = 1 + int(r, 3);
    const bare = push ? `>${n}\r\n` + Array.from({ length: n }, () => genValue(r, 1)).join('') : genBare(r, 0);
    // A top-level attribute belongs to the frame; the frame's type is the value's.
    const frame = attributed(r, 0, bare);
    expected.push({ type: bare[0]!, push });
    wire += frame;
  }
  return { wire: Buffer.from(wire, 'latin1'), expected };
}

/** parseRequests feeds chunks to a parser and records the requests and the final error. */
function parseRequests(chunks: Buffer[]) {
  const p = new RequestParser();
  const reqs: { raw: Buffer; args: string[]; name: string; inline: boolean }[] = [];
  let error: string | undefined;
  try {
    for (const c of chunks) {
      p.push(c);
      for (const q of p) reqs.push({ raw: q.raw, args: q.args.map((a) => a.toString('latin1')), name: q.name, inline: q.inline });
    }
  } catch (err) {
    if (!(err instanceof RespProtocolError)) throw err;
    error = err.message;
  }
  return { reqs, error };
}

function scanReplies(chunks: Buffer[]) {
  const s = new ReplyScanner();
  const frames: { raw: Buffer; type: string; push: boolean; isError: boolean }[] = [];
  let error: string | undefined;
  try {
    for (const c of chunks) {
      s.push(c);
      for (let f = s.next(); f; f = s.next()) frames.push(f);
    }
  } catch (err) {
    if (!(err instanceof RespProtocolError)) throw err;
    error = err.message;
  }
  return { frames, error, inProgress: s.inProgress };
}

const SEEDS = Array.from({ length: 60 }, (_, k) => k + 1);

describe('fuzz: request streams split at random', () => {
  it('yields the same requests however the stream is split, and raw bytes rebuild the input', () => {
    for (const seed of SEEDS) {
      const r = rng(seed);
      const { wire, expected } = genRequests(r, 120);
      const whole = parseRequests([wire]);
      expect(whole.error, `seed ${seed}`).toBeUndefined();
      expect(whole.reqs.map((q) => ({ args: q.args, inline: q.inline })), `seed ${seed}`).toEqual(expected);
      expect(whole.reqs.map((q) => q.name)).toEqual(expected.map((e) => e.args[0]!.toLowerCase()));
      expect(Buffer.concat(whole.reqs.map((q) => q.raw)).equals(wire), `seed ${seed}`).toBe(true);
      for (let attempt = 0; attempt < 3; attempt++) {
        const parts = parseRequests(split(r, wire));
        expect(parts.reqs.length, `seed ${seed}`).toBe(whole.reqs.length);
        const differ = parts.reqs.findIndex((q, k) => {
          const w = whole.reqs[k]!;
          return !q.raw.equals(w.raw) || q.inline !== w.inline || q.args.join('\u0001') !== w.args.join('\u0001');
        });
        expect(differ, `seed ${seed}: first request that differs`).toBe(-1);
      }
    }
  });

  it('fails the same way however a corrupted stream is split, with protocol errors only', () => {
    for (const seed of SEEDS) {
      const r = rng(1000 + seed);
      const { wire } = genRequests(r, 40);
      const bad = Buffer.from(wire);
      for (let m = 1 + int(r, 3); m > 0; m--) bad[int(r, bad.length)] = pick(r, [0x2a, 0x24, 0x0d, 0x0a, 0x2d, 0x22, 0x31, 0x78]);
      const whole = parseRequests([bad]);
      const parts = parseRequests(split(r, bad));
      expect(parts.error, `seed ${seed}`).toBe(whole.error);
      expect(parts.reqs.map((q) => q.raw.toString('latin1'))).toEqual(whole.reqs.map((q) => q.raw.toString('latin1')));
    }
  });
});

describe('fuzz: streamed requests split at random', () => {
  it('hands out every byte exactly once, heads with a prefix of the arguments, holding at most the bound, one chunk and one header or inline line', () => {
    for (const seed of SEEDS) {
      const r = rng(3000 + seed);
      const { wire } = genRequests(r, 120);
      const whole = parseRequests([wire]);
      const streamAbove = 20 + int(r, 400);
      const p = new RequestParser({ streamAbove });
      const out: Buffer[] = [];
      const seen: { args: string[]; streamed: boolean }[] = [];
      for (const c of split(r, wire)) {
        p.push(c);
        for (;;) {
          if (p.streamingRequest) {
            if (!p.takeStream(out)) break;
            continue;
          }
          const q = p.next();
          if (q === undefined) break;
          out.push(q.raw);
          seen.push({ args: q.args.map((a) => a.toString('latin1')), streamed: q.stream !== undefined });
        }
        expect(p.bufferedBytes, `seed ${seed}`).toBeLessThanOrEqual(streamAbove + c.length + 64 * 1024);
      }
      expect(Buffer.concat(out).equals(wire), `seed ${seed}`).toBe(true);
      expect(seen.length, `seed ${seed}`).toBe(whole.reqs.length);
      seen.forEach((q, k) => {
        const w = whole.reqs[k]!.args;
        if (q.streamed) expect(q.args, `seed ${seed} request ${k}`).toEqual(w.slice(0, q.args.length));
        else expect(q.args, `seed ${seed} request ${k}`).toEqual(w);
      });
    }
  });
});

describe('fuzz: reply streams split at random', () => {
  it('yields the same frames however the stream is split, and raw bytes rebuild the input', () => {
    for (const seed of SEEDS) {
      const r = rng(2000 + seed);
      const { wire, expected } = genReplies(r, 150);
      const whole = scanReplies([wire]);
      expect(whole.error, `seed ${seed}`).toBeUndefined();
      expect(whole.frames.map((f) => ({ type: f.type, push: f.push }))).toEqual(expected);
      expect(Buffer.concat(whole.frames.map((f) => f.raw)).equals(wire), `seed ${seed}`).toBe(true);
      for (let attempt = 0; attempt < 3; attempt++) {
        const parts = scanReplies(split(r, wire));
        expect(parts.error).toBeUndefined();
        expect(parts.frames.length, `seed ${seed}`).toBe(whole.frames.length);
        const differ = parts.frames.findIndex((f, k) => {
          const w = whole.frames[k]!;
          return !f.raw.equals(w.raw) || f.type !== w.type || f.push !== w.push || f.isError !== w.isError;
        });
        expect(differ, `seed ${seed}: first frame that differs`).toBe(-1);
      }
    }
  });

  it('takeReplies hands over every byte in order and counts replies and pushes exactly', () => {
    for (const seed of SEEDS) {
      const r = rng(3000 + seed);
      const { wire, expected } = genReplies(r, 150);
      const s = new ReplyScanner();
      const out: Buffer[] = [];
      let replies = 0;
      let pushes = 0;
      let outstanding = 0;
      const totalReplies = expected.filter((e) => !e.push).length;
      for (const chunk of split(r, wire)) {
        s.push(chunk);
        // The proxy has sent some more requests; take what answers them.
        outstanding = Math.min(totalReplies - replies, outstanding + int(r, 4));
        const t = s.takeReplies(outstanding, { partial: r() < 0.5 });
        if (t.replies > outstanding) expect.fail(`seed ${seed}: took ${t.replies} replies for ${outstanding} requests`);
        outstanding -= t.replies;
        replies += t.replies;
        pushes += t.pushes;
        out.push(...t.bytes);
      }
      const rest = s.takeReplies(Infinity);
      replies += rest.replies;
      pushes += rest.pushes;
      out.push(...rest.bytes);
      expect(Buffer.concat(out).equals(wire), `seed ${seed}`).toBe(true);
      expect([replies, pushes]).toEqual([totalReplies, expected.length - totalReplies]);
      expect(s.bufferedBytes).toBe(0);
    }
  });

  it('fails the same way however a corrupted stream is split, with protocol errors only', () => {
    for (const seed of SEEDS) {
      const r = rng(4000 + seed);
      const { wire } = genReplies(r, 60);
      const bad = Buffer.from(wire);
      for (let m = 1 + int(r, 3); m > 0; m--) bad[int(r, bad.length)] = pick(r, [0x2a, 0x24, 0x0d, 0x0a, 0x2d, 0x3f, 0x2e, 0x7c, 0x3e, 0x31]);
      const whole = scanReplies([bad]);
      const parts = scanReplies(split(r, bad));
      expect(parts.error, `seed ${seed}`).toBe(whole.error);
      expect(parts.inProgress).toBe(whole.inProgress);
      expect(parts.frames.map((f) => f.raw.toString('latin1'))).toEqual(whole.frames.map((f) => f.raw.toString('latin1')));
    }
  });
});
