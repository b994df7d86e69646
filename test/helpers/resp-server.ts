/**
 * test/helpers/resp-server: a small in-process RESP server for unit tests of the Redis core
 * (ioredis's MockServer style). A `net.Server` on 127.0.0.1:0 parses requests with our own
 * RequestParser, records every command it receives (per connection), and answers each per a
 * handler. The server is not the code under test — the relay and the engine in front of it are —
 * so it only needs to answer the way Redis would for the commands a test sends.
 *
 * `memoryRedis()` is a handler that behaves like a tiny Redis (strings, MULTI/EXEC, pub/sub,
 * HELLO, SELECT); `FakeCluster` runs several servers as a Redis Cluster that owns slot ranges,
 * answers CLUSTER SHARDS, and redirects (`-MOVED`/`-ASK`) keys it does not serve.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { keySlot } from '../../src/redis/cluster/slots.js';
import { RequestParser } from '../../src/redis/resp/index.js';

/** Reply is what a handler answers: bytes (or a string, sent as latin1), or nothing (no reply now). */
export type Reply = string | Buffer | undefined;

/** FakeConn is one client connection to a {@link RespServer}. */
export class FakeConn {
  /** Commands this connection received, as text arguments, in order. */
  readonly received: string[][] = [];
  /** Per-connection state handlers may keep (db, transaction queue, subscriptions…). */
  readonly state: Record<string, unknown> = {};
  constructor(
    readonly server: RespServer,
    readonly socket: Socket,
  ) {}
  /** write sends bytes out of band (pub/sub messages, a reply held back earlier). */
  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }
}

/** Handler answers one command (arguments as raw Buffers) on a connection. */
export type Handler = (args: Buffer[], conn: FakeConn) => Reply;

/** RespServer is a listening fake Redis; close() stops it and every connection. */
export class RespServer {
  readonly conns: FakeConn[] = [];
  #server: Server;
  #port = 0;
  /** Set to pause reading every new and existing connection (backpressure tests). */
  #paused = false;

  private constructor(public handler: Handler) {
    this.#server = createServer((socket) => {
      socket.setNoDelay(true);
      const conn = new FakeConn(this, socket);
      this.conns.push(conn);
      const parser = new RequestParser({ maxBufferedBytes: 256 * 1024 * 1024 });
      socket.on('error', () => {});
      if (this.#paused) socket.pause();
      socket.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        const out: Buffer[] = [];
        for (let r = parser.next(); r !== undefined; r = parser.next()) {
          conn.received.push(r.args.map((a) => a.toString('latin1')));
          const reply = this.handler(r.args.map((a) => Buffer.from(a)), conn);
          if (reply !== undefined) out.push(typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply);
        }
        if (out.length > 0 && !socket.destroyed) socket.write(Buffer.concat(out));
      });
    });
  }

  /** start listens on 127.0.0.1 on a free port. */
  static async start(handler: Handler = memoryRedis()): Promise<RespServer> {
    const s = new RespServer(handler);
    await new Promise<void>((r) => s.#server.listen(0, '127.0.0.1', () => r()));
    s.#port = (s.#server.address() as { port: number }).port;
    return s;
  }

  get port(): number {
    return this.#port;
  }

  /** commands lists every command received on every connection, as `NAME arg …` lines. */
  commands(): string[] {
    return this.conns.flatMap((c) => c.received.map((a) => a.join(' ')));
  }

  /** commandsNamed lists the received commands whose name is one of names (case-insensitive). */
  commandsNamed(...names: string[]): string[] {
    const want = new Set(names.map((n) => n.toLowerCase()));
    return this.commands().filter((c) => want.has(c.split(' ')[0]!.toLowerCase()));
  }

  /** pauseReading stops reading from every connection (the server's buffers fill up). */
  pauseReading(): void {
    this.#paused = true;
    for (const c of this.conns) c.socket.pause();
  }

  resumeReading(): void {
    this.#paused = false;
    for (const c of this.conns) c.socket.resume();
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

// ─── RESP encoding for answers ───────────────────────────────────────────────────────────────────

/** bulkReply encodes a bulk string, or a RESP2 nil for undefined. */
export const bulkReply = (v: string | Buffer | undefined): string => {
  if (v === undefined) return '$-1\r\n';
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return `$${b.length}\r\n${b.toString('latin1')}\r\n`;
};

/** arrayReply encodes an array of already encoded elements. */
export const arrayReply = (els: string[]): string => `*${els.length}\r\n${els.join('')}`;

/** pushOrArray encodes a pub/sub frame: `>` in RESP3, `*` in RESP2. */
const pushOrArray = (resp3: boolean, els: string[]): string => `${resp3 ? '>' : '*'}${els.length}\r\n${els.join('')}`;

const OK = '+OK\r\n';

// ─── memoryRedis: a tiny Redis ─────────────────────────────────────────────────────────────────

/** MemoryRedisOptions adjust {@link memoryRedis}. */
export interface MemoryRedisOptions {
  /** Users and passwords AUTH accepts (default: anything). */
  users?: Record<string, string>;
  /** Answers tried first; return undefined to fall through to the built-in ones. */
  override?: (name: string, args: Buffer[], conn: FakeConn) => Reply | null;
  /** The keyspace, shared by the server's connections (pass one to share it between servers). */
  data?: Map<string, Buffer>;
  /** The reply to COMMAND (default: an error, so the engine falls back to its built-in table). */
  commandTable?: Buffer;
}

/** The pub/sub channels each connection of a server subscribes to. */
const subscribers = new WeakMap<RespServer, Map<string, Set<FakeConn>>>();

function channelsOf(server: RespServer): Map<string, Set<FakeConn>> {
  let m = subscribers.get(server);
  if (m === undefined) subscribers.set(server, (m = new Map()));
  return m;
}

/**
 * memoryRedis answers like a single Redis for what unit tests send: AUTH, HELLO [2|3], SELECT,
 * PING, ECHO, GET, SET, DEL, MGET, MSET, EXISTS, INCR, DBSIZE, MULTI/EXEC/DISCARD, SUBSCRIBE,
 * UNSUBSCRIBE, PUBLISH, RESET, QUIT. COMMAND is refused, so the engine uses its built-in table.
 */
export function memoryRedis(opts: MemoryRedisOptions = {}): Handler {
  const data = opts.data ?? new Map<string, Buffer>();
  const handler: Handler = (args, conn) => {
    const name = args[0]!.toString('latin1').toLowerCase();
    const over = opts.override?.(name, args, conn);
    if (over !== undefined && over !== null) return over;
    if (over === null) return undefined;
    const st = conn.state as { db?: string; multi?: Buffer[][]; resp3?: boolean; channels?: Set<string> };
    const s = (i: number) => args[i]!.toString('latin1');
    if (st.multi !== undefined && !['exec', 'discard', 'multi', 'watch'].includes(name)) {
      st.multi.push(args);
      return '+QUEUED\r\n';
    }
    const subscribed = (st.channels?.size ?? 0) > 0;
    if (subscribed && !st.resp3 && !['subscribe', 'unsubscribe', 'ping', 'quit', 'reset', 'psubscribe', 'punsubscribe'].includes(name)) {
      return `-ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n`;
    }
    switch (name) {
      case 'auth': {
        const [user, pass] = args.length === 3 ? [s(1), s(2)] : ['default', s(1)];
        if (opts.users !== undefined && opts.users[user] !== pass) return '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
        return OK;
      }
      case 'hello': {
        const proto = args.length > 1 ? s(1) : st.resp3 ? '3' : '2';
        st.resp3 = proto === '3';
        const fields = [bulkReply('server'), bulkReply('redis'), bulkReply('version'), bulkReply('7.0.99'), bulkReply('proto'), `:${proto}\r\n`];
        return st.resp3 ? `%3\r\n${fields.join('')}` : arrayReply(fields);
      }
      case 'select':
        st.db = s(1);
        return OK;
      case 'ping':
        if (subscribed && !st.resp3) return arrayReply([bulkReply('pong'), bulkReply(args[1] ?? '')]);
        return args.length > 1 ? bulkReply(args[1]) : '+PONG\r\n';
      case 'echo':
        return bulkReply(args[1]);
      case 'get':
        return bulkReply(data.get(s(1)));
      case 'set':
        data.set(s(1), args[2]!);
        return OK;
      case 'incr': {
        const n = Number(data.get(s(1))?.toString() ?? '0') + 1;
        data.set(s(1), Buffer.from(String(n)));
        return `:${n}\r\n`;
      }
      case 'del':
      case 'unlink':
      case 'exists': {
        let n = 0;
        for (let i = 1; i < args.length; i++) {
          if (data.has(s(i))) n++;
          if (name !== 'exists') data.delete(s(i));
        }
        return `:${n}\r\n`;
      }
      case 'mget':
        return arrayReply(args.slice(1).map((k) => bulkReply(data.get(k.toString('latin1')))));
      case 'mset':
        for (let i = 1; i + 1 < args.length; i += 2) data.set(s(i), args[i + 1]!);
        return OK;
      case 'dbsize':
        return `:${data.size}\r\n`;
      case 'multi':
        if (st.multi !== undefined) return '-ERR MULTI calls can not be nested\r\n';
        st.multi = [];
        return OK;
      case 'discard':
        if (st.multi === undefined) return '-ERR DISCARD without MULTI\r\n';
        st.multi = undefined;
        return OK;
      case 'exec': {
        if (st.multi === undefined) return '-ERR EXEC without MULTI\r\n';
        const queued = st.multi;
        st.multi = undefined;
        const replies = queued.map((a) => {
          const r = handler(a, conn);
          return typeof r === 'string' ? r : (r?.toString('latin1') ?? '$-1\r\n');
        });
        return arrayReply(replies);
      }
      case 'watch':
      case 'unwatch':
        return OK;
      case 'subscribe':
      case 'unsubscribe': {
        const chans = channelsOf(conn.server);
        st.channels ??= new Set();
        const names = args.length > 1 ? args.slice(1).map((a) => a.toString('latin1')) : [...st.channels];
        let out = '';
        for (const c of names) {
          if (name === 'subscribe') {
            st.channels.add(c);
            if (!chans.has(c)) chans.set(c, new Set());
            chans.get(c)!.add(conn);
          } else {
            st.channels.delete(c);
            chans.get(c)?.delete(conn);
          }
          out += pushOrArray(st.resp3 === true, [bulkReply(name), bulkReply(c), `:${st.channels.size}\r\n`]);
        }
        return out;
      }
      case 'publish': {
        const subs = channelsOf(conn.server).get(s(1)) ?? new Set();
        for (const c of subs) {
          const r3 = (c.state as { resp3?: boolean }).resp3 === true;
          c.write(pushOrArray(r3, [bulkReply('message'), bulkReply(args[1]), bulkReply(args[2])]));
        }
        return `:${subs.size}\r\n`;
      }
      case 'reset':
        for (const c of st.channels ?? []) channelsOf(conn.server).get(c)?.delete(conn);
        st.channels = undefined;
        st.multi = undefined;
        st.resp3 = false;
        st.db = undefined;
        return '+RESET\r\n';
      case 'command':
        return opts.commandTable ?? `-ERR unknown command 'command', with args beginning with: \r\n`;
      case 'quit':
        setImmediate(() => conn.socket.end());
        return OK;
      default:
        return `-ERR unknown command '${name}', with args beginning with: \r\n`;
    }
  };
  return handler;
}

// ─── FakeCluster: several servers as one Redis Cluster ─────────────────────────────────────────

/** Commands whose first argument is a key (what the fake nodes redirect by slot). */
const KEYED = new Set(['get', 'set', 'incr', 'del', 'unlink', 'exists', 'mget', 'mset', 'watch']);

/**
 * FakeCluster runs `count` servers, each a {@link memoryRedis} over one shared keyspace, that
 * split the 16384 slots between them. A node answers `-MOVED <slot> <owner>` for a keyed
 * command whose first key it does not own (after {@link ask}, `-ASK` for that slot, served by the
 * target only after ASKING), and CLUSTER SHARDS with the current owners.
 */
export class FakeCluster {
  readonly data = new Map<string, Buffer>();
  /** Which node index owns each slot. */
  readonly owner = new Uint8Array(16384);
  readonly #asking = new Map<number, number>();
  private constructor(readonly nodes: RespServer[]) {}

  static async start(count = 3): Promise<FakeCluster> {
    const nodes: RespServer[] = [];
    const cluster = new FakeCluster(nodes);
    for (let i = 0; i < count; i++) nodes.push(await RespServer.start(() => undefined));
    nodes.forEach((n, i) => (n.handler = cluster.#nodeHandler(i)));
    const per = Math.ceil(16384 / count);
    for (let s = 0; s < 16384; s++) cluster.owner[s] = Math.floor(s / per);
    return cluster;
  }

  /** nodeOf is the index of the node that serves a key now. */
  nodeOf(key: string): number {
    return this.owner[keySlot(Buffer.from(key))]!;
  }

  /** move hands a slot to another node (the old owner answers MOVED from now on). */
  move(slot: number, to: number): void {
    this.owner[slot] = to;
  }

  /** ask makes the owner of a slot answer `-ASK` towards node `to` (a migration in progress). */
  ask(slot: number, to: number): void {
    this.#asking.set(slot, to);
  }

  /** keysOn returns n keys (with a prefix) that node i serves. */
  keysOn(i: number, n: number, prefix = 'k'): string[] {
    const out: string[] = [];
    for (let j = 0; out.length < n; j++) if (this.nodeOf(`${prefix}${j}`) === i) out.push(`${prefix}${j}`);
    return out;
  }

  /** commands lists what node i received, the session's setup and topology reads left out. */
  commands(i: number): string[] {
    return this.nodes[i]!.commands().filter((c) => !/^(AUTH|HELLO|COMMAND|CLUSTER SHARDS|PING)\b/i.test(c));
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.close();
  }

  #shards(): string {
    const ranges = this.nodes.map(() => [] as Array<[number, number]>);
    for (let s = 0; s < 16384; ) {
      const o = this.owner[s]!;
      let e = s;
      while (e + 1 < 16384 && this.owner[e + 1] === o) e++;
      ranges[o]!.push([s, e]);
      s = e + 1;
    }
    const shards = this.nodes.map((n, i) => {
      const slots = ranges[i]!.flat();
      const node = arrayReply([
        bulkReply('id'), bulkReply(String(n.port).padStart(40, '0')),
        bulkReply('port'), `:${n.port}\r\n`,
        bulkReply('ip'), bulkReply('127.0.0.1'),
        bulkReply('endpoint'), bulkReply('127.0.0.1'),
        bulkReply('role'), bulkReply('master'),
        bulkReply('replication-offset'), ':0\r\n',
        bulkReply('health'), bulkReply('online'),
      ]);
      return arrayReply([bulkReply('slots'), arrayReply(slots.map((x) => `:${x}\r\n`)), bulkReply('nodes'), arrayReply([node])]);
    });
    return arrayReply(shards);
  }

  #nodeHandler(i: number): Handler {
    const local = memoryRedis({ data: this.data });
    return (args, conn) => {
      const name = args[0]!.toString('latin1').toLowerCase();
      const st = conn.state as { asking?: boolean; multi?: unknown };
      if (name === 'cluster' && args[1]?.toString('latin1').toLowerCase() === 'shards') return this.#shards();
      if (name === 'asking') {
        st.asking = true;
        return OK;
      }
      const asking = st.asking === true;
      st.asking = false;
      if (KEYED.has(name) && args.length > 1 && st.multi === undefined) {
        const slot = keySlot(args[1]!);
        const owner = this.owner[slot]!;
        const askTo = this.#asking.get(slot);
        if (askTo !== undefined && owner === i && askTo !== i) return `-ASK ${slot} 127.0.0.1:${this.nodes[askTo]!.port}\r\n`;
        if (owner !== i && !(asking && askTo === i)) return `-MOVED ${slot} 127.0.0.1:${this.nodes[owner]!.port}\r\n`;
      }
      return local(args, conn);
    };
  }
}
