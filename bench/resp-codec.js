// bench/resp-codec: micro-benchmark of the RESP codec (src/redis/resp), pipelined the way a
// proxy sees traffic: chunks of 16 requests or replies. Build first: npx tsc -p tsconfig.json
// Usage: node bench/resp-codec.js [seconds per case, default 1]
import { ReplyScanner, RequestParser } from '../dist/redis/resp/index.js';

const seconds = Number(process.argv[2] ?? 1);
const PER_CHUNK = 16;

/** chunks builds 256 distinct chunks of PER_CHUNK frames each from frame(k). */
function chunks(frame) {
  const out = [];
  for (let c = 0; c < 256; c++) {
    let s = '';
    for (let k = 0; k < PER_CHUNK; k++) s += frame(c * PER_CHUNK + k);
    out.push(Buffer.from(s, 'latin1'));
  }
  return out;
}

/** measure runs fn(chunk) over the chunks for about `seconds` and returns frames per second. */
function measure(name, data, fn) {
  // Warm up so the JIT has settled before timing.
  for (let k = 0; k < 2000; k++) fn(data[k % data.length]);
  const runs = [];
  for (let run = 0; run < 5; run++) {
    let frames = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round((seconds / 5) * 1e9));
    let now = start;
    while (now < until) {
      for (let k = 0; k < data.length; k++) frames += fn(data[k]);
      now = process.hrtime.bigint();
    }
    runs.push(frames / (Number(now - start) / 1e9));
  }
  runs.sort((a, b) => a - b);
  const perSec = runs[2];
  console.log(`${name.padEnd(52)} ${(perSec / 1e6).toFixed(2).padStart(7)} M/s  ${(1e9 / perSec).toFixed(0).padStart(5)} ns/op`);
  return perSec;
}

const key = (k) => `key:${String(k % 1000).padStart(3, '0')}`;
const setChunks = chunks((k) => `*3\r\n$3\r\nSET\r\n$7\r\n${key(k)}\r\n$5\r\nvalue\r\n`);
const inlineChunks = chunks((k) => `SET ${key(k)} value\r\n`);
const okChunks = chunks(() => '+OK\r\n');
const bulkChunks = chunks(() => '$3\r\nbar\r\n');

console.log(`RESP codec, ${PER_CHUNK} frames per chunk, Node ${process.version}`);

const requests = new RequestParser();
let sink = 0;
measure('requests: SET key:NNN value, next()', setChunks, (chunk) => {
  requests.push(chunk);
  let n = 0;
  for (let r = requests.next(); r !== undefined; r = requests.next()) {
    sink += r.args.length + r.name.length;
    n++;
  }
  return n;
});

const inline = new RequestParser();
measure('requests: inline SET key:NNN value, next()', inlineChunks, (chunk) => {
  inline.push(chunk);
  let n = 0;
  for (let r = inline.next(); r !== undefined; r = inline.next()) n++;
  return n;
});

for (const [label, data] of [
  ['+OK', okChunks],
  ['$3 bar', bulkChunks],
]) {
  const byFrame = new ReplyScanner();
  measure(`replies: ${label}, next()`, data, (chunk) => {
    byFrame.push(chunk);
    let n = 0;
    for (let f = byFrame.next(); f !== undefined; f = byFrame.next()) n++;
    return n;
  });
  const bulk = new ReplyScanner();
  measure(`replies: ${label}, takeReplies(${PER_CHUNK})`, data, (chunk) => {
    bulk.push(chunk);
    const t = bulk.takeReplies(PER_CHUNK);
    sink += t.bytes.length;
    return t.replies;
  });
}

// One 1 MiB bulk reply in 64 KiB chunks: the scanner skips bodies by length.
const big = Buffer.concat([Buffer.from(`$${1 << 20}\r\n`), Buffer.alloc(1 << 20, 0x61), Buffer.from('\r\n')]);
const bigChunks = [];
for (let at = 0; at < big.length; at += 65536) bigChunks.push(big.subarray(at, at + 65536));
const bigScanner = new ReplyScanner();
measure('replies: 1 MiB bulk in 64 KiB chunks (body skipped)', [bigChunks], (list) => {
  let n = 0;
  for (const c of list) {
    bigScanner.push(c);
    n += bigScanner.takeReplies(1).replies;
  }
  return n;
});

// One 16 MiB SET in 64 KiB chunks through a parser that streams requests above 1 MiB: the head
// is judged, the rest handed out as views (what the agent forwards or drops), nothing held.
const streamed = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${16 << 20}\r\n`), Buffer.alloc(16 << 20, 0x61), Buffer.from('\r\n')]);
const streamedChunks = [];
for (let at = 0; at < streamed.length; at += 65536) streamedChunks.push(streamed.subarray(at, at + 65536));
const streaming = new RequestParser({ streamAbove: 1 << 20 });
const pieces = [];
measure('requests: 16 MiB SET streamed in 64 KiB chunks', [streamedChunks], (list) => {
  let n = 0;
  for (const c of list) {
    streaming.push(c);
    for (;;) {
      if (streaming.streamingRequest) {
        pieces.length = 0;
        if (!streaming.takeStream(pieces)) break;
        n++;
        continue;
      }
      const r = streaming.next();
      if (r === undefined) break;
      sink += r.args.length;
    }
  }
  return n;
});
if (sink < 0) console.log(sink);
