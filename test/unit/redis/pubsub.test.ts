import { describe, expect, it } from 'vitest';
import { PubSubState, PUBSUB_COMMANDS } from '../../../src/redis/pubsub.js';
import { ReplyOrderer } from '../../../src/redis/reply-orderer.js';
import { ReplyScanner } from '../../../src/redis/resp/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const DENIED = '-ERR xport: access denied to publish\r\n';

/** session wires an orderer and a pub/sub state the way the relay does. */
function session(resp3: boolean) {
  const o = new ReplyOrderer();
  const ps = new PubSubState();
  const update = () => o.setOutOfBand(!resp3 && ps.subscribed ? (f) => ps.isMessage(f) : undefined);
  const send = (...words: string[]) => {
    const name = words[0]!.toLowerCase();
    if (PUBSUB_COMMANDS.has(name)) o.frames(ps.handler(name, words.length - 1, update));
    else o.forward(1);
  };
  return { o, ps, send, deny: () => o.local(b(DENIED)) };
}

/** framesOf splits output into frames, to compare sequences. */
function framesOf(bytes: Buffer): string[] {
  const sc = new ReplyScanner();
  sc.push(bytes);
  const out: string[] = [];
  for (let f = sc.next(); f; f = sc.next()) out.push(f.raw.toString('latin1'));
  expect(sc.bufferedBytes).toBe(0);
  return out;
}

// Bytes captured from redis-server 7.0.15 for the command sequences below (RESP2).
const SUB_A = '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n';
const SUB_B = '*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n';
const MSG = '*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n';
const PONG = '*2\r\n$4\r\npong\r\n$2\r\nhi\r\n';
const PSUB = '*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n';
const UNSUB_A = '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n';
const UNSUB_B = '*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n';
const PUNSUB = '*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n';
const NIL = '$-1\r\n';

describe('PubSubState on RESP2', () => {
  it('matches N confirmations to SUBSCRIBE with N channels and lets messages through uncounted', () => {
    const { o, ps, send, deny } = session(false);
    send('SUBSCRIBE', 'a', 'b');
    deny();
    send('PING', 'hi');
    o.push(b(SUB_A + MSG + SUB_B + MSG));
    expect(ps.subscribed).toBe(true);
    o.push(b(MSG + PONG));
    expect(framesOf(Buffer.concat(o.take()!))).toEqual([SUB_A, MSG, SUB_B, DENIED, MSG, MSG, PONG]);
    expect(o.pendingReplies).toBe(0);
  });

  it('counts the confirmations of an argument-less UNSUBSCRIBE from the channels held, and leaves pub/sub mode at zero', () => {
    const { o, ps, send } = session(false);
    send('SUBSCRIBE', 'a', 'b');
    send('PSUBSCRIBE', 'p*');
    send('UNSUBSCRIBE');
    send('PUNSUBSCRIBE');
    send('GET', 'x');
    o.push(b(SUB_A + SUB_B + PSUB + UNSUB_A + MSG + UNSUB_B));
    expect(ps.counts).toEqual({ channels: 0, patterns: 1, shardChannels: 0 });
    expect(ps.subscribed).toBe(true);
    o.push(b(PUNSUB + NIL));
    expect(ps.subscribed).toBe(false);
    expect(o.pendingReplies).toBe(0);
    expect(framesOf(Buffer.concat(o.take()!))).toEqual([SUB_A, SUB_B, PSUB, UNSUB_A, MSG, UNSUB_B, PUNSUB, NIL]);
  });

  it('expects one confirmation from an UNSUBSCRIBE when nothing is subscribed', () => {
    const { o, send } = session(false);
    send('UNSUBSCRIBE');
    send('GET', 'x');
    o.push(b('*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n$1\r\nv\r\n'));
    expect(o.pendingReplies).toBe(0);
  });

  it('ends a subscribe that failed with an error at that error', () => {
    const { o, ps, send } = session(false);
    send('SUBSCRIBE', 'a', 'b');
    send('GET', 'x');
    o.push(b('-NOPERM this user has no permissions to access one of the channels used as arguments\r\n$1\r\nv\r\n'));
    expect(o.pendingReplies).toBe(0);
    expect(ps.subscribed).toBe(false);
  });

  it('counts shard channels apart from channels and patterns', () => {
    const { o, ps, send } = session(false);
    send('SSUBSCRIBE', 'a');
    send('SUBSCRIBE', 'b');
    o.push(b('*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:1\r\n'));
    expect(ps.counts).toEqual({ channels: 1, patterns: 0, shardChannels: 1 });
    send('SUNSUBSCRIBE');
    o.push(b('*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n'));
    expect(ps.counts).toEqual({ channels: 1, patterns: 0, shardChannels: 0 });
    expect(o.pendingReplies).toBe(0);
  });
});

describe('PubSubState on RESP3', () => {
  it('reads push confirmations, passes push messages, and counts ordinary replies after them', () => {
    const { o, ps, send } = session(true);
    send('SUBSCRIBE', 'a', 'b');
    send('PING');
    o.push(b('>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n+PONG\r\n'));
    // The relay sends a (P|S)(UN)SUBSCRIBE only when nothing is in flight, so its confirmations start a read.
    expect(o.idle).toBe(true);
    send('UNSUBSCRIBE');
    send('GET', 'x');
    o.push(b('>3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n_\r\n'));
    expect(o.pendingReplies).toBe(0);
    expect(ps.subscribed).toBe(false);
    expect(framesOf(Buffer.concat(o.take()!))).toHaveLength(7);
  });
});
