/**
 * A small RESP server that answers like Redis 5.0.14 (no ACL users), for the one thing no real
 * server on this machine can show: that `users: managed` is refused on Redis < 6 by xport's own
 * version check. Redis 5 is not installed (Debian 12 ships 7.0), so this stands in for it on the
 * few commands that matter: `INFO server` reports `redis_version:5.0.14`, `AUTH user pass` is a
 * wrong number of arguments, `HELLO` and `ACL` are unknown commands, `PING` answers PONG.
 *
 * Named apart from any RESP test server for the relays. Loopback only; input is bounded (64 KiB
 * per connection, 32 arguments); stop() closes every connection.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** FakeRedis5 is a running fake; `commands` records what it was asked (upper-case names). */
export interface FakeRedis5 {
  port: number;
  commands: string[][];
  stop(): Promise<void>;
}

const MAX_BUFFER = 64 * 1024;
const MAX_ARGS = 32;
const INFO = ['# Server', 'redis_version:5.0.14', 'redis_git_sha1:00000000', 'redis_mode:standalone', 'os:Linux', 'arch_bits:64', 'tcp_port:6379', ''].join('\r\n');

/** parseArray reads one RESP array of bulk strings from buf; undefined when incomplete. */
function parseArray(buf: Buffer): { args: string[]; used: number } | undefined {
  if (buf[0] !== 0x2a) throw new Error('fake-redis5 takes RESP arrays only');
  let pos = buf.indexOf('\r\n');
  if (pos < 0) return undefined;
  const n = Number(buf.toString('latin1', 1, pos));
  if (!Number.isInteger(n) || n < 1 || n > MAX_ARGS) throw new Error('bad array length');
  pos += 2;
  const args: string[] = [];
  for (let i = 0; i < n; i++) {
    if (pos >= buf.length) return undefined;
    if (buf[pos] !== 0x24) throw new Error('expected a bulk string');
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const len = Number(buf.toString('latin1', pos + 1, eol));
    if (!Number.isInteger(len) || len < 0 || len > MAX_BUFFER) throw new Error('bad bulk length');
    const start = eol + 2;
    if (buf.length < start + len + 2) return undefined;
    args.push(buf.toString('utf8', start, start + len));
    pos = start + len + 2;
  }
  return { args, used: pos };
}

function reply(args: string[]): string {
  const cmd = args[0]!.toUpperCase();
  const unknown = `-ERR unknown command \`${args[0]}\`, with args beginning with: ${args.slice(1).map((a) => `\`${a}\`, `).join('')}\r\n`;
  switch (cmd) {
    case 'PING':
      return '+PONG\r\n';
    case 'INFO':
      return `$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`;
    case 'AUTH':
      return args.length === 2 ? '-ERR Client sent AUTH, but no password is set\r\n' : "-ERR wrong number of arguments for 'auth' command\r\n";
    case 'COMMAND':
      return '*0\r\n';
    default:
      // HELLO and ACL came with Redis 6.
      return unknown;
  }
}

/** startFakeRedis5 listens on a free loopback port. */
export async function startFakeRedis5(): Promise<FakeRedis5> {
  const sockets = new Set<Socket>();
  const commands: string[][] = [];
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_BUFFER) {
        s.destroy();
        return;
      }
      try {
        for (;;) {
          if (buf.length === 0) break;
          const r = parseArray(buf);
          if (!r) break;
          buf = buf.subarray(r.used);
          commands.push([r.args[0]!.toUpperCase(), ...r.args.slice(1)]);
          s.write(reply(r.args));
        }
      } catch {
        s.end('-ERR Protocol error\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    commands,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
