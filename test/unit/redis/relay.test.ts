/**
 * The standalone relay (redis/relay.ts), served by the engine in front of an in-process fake
 * Redis: what reaches the server, what the client gets back and in which order, what is audited.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { enc, StaticCredentials } from '../../helpers/engine-front.js';
import { ALICE, NO_FLUSH, queries, READER, rig, waitFor, type Rig } from '../../helpers/fake-redis-rig.js';
import { bulkReply, memoryRedis } from '../../helpers/resp-server.js';
import { COMMAND_INFO_RESP2 } from './command-info.fixture.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('standalone relay: AUTH and HELLO', () => {
  it('forwards AUTH as the routed db user and answers another user itself without reaching Redis', async () => {
    r = await rig({ creds: new StaticCredentials(), handler: memoryRedis({ users: { alice: 'pw' } }) });
    const c = await r.connect();
    expect(await c.call('AUTH', 'bob', 'pw')).toMatch(/^-ERR xport: failed to authenticate as bob user\. .*routed to db user "alice"/);
    expect(await c.call('AUTH', 'alice', 'pw')).toBe('+OK\r\n');
    expect(r.server.commandsNamed('auth')).toEqual(['AUTH alice pw']);
    expect(queries(r.front)).toEqual(['auth:false', 'auth:true']);
    const denied = r.front.events.find((e) => e.command === 'auth' && !e.success)!;
    expect(denied.query).not.toContain('pw');
  });

  it('refuses AUTH <password> alone when the session is routed to a named db user', async () => {
    r = await rig({ creds: new StaticCredentials() });
    const c = await r.connect();
    expect(await c.call('AUTH', 'secret')).toMatch(/^-ERR xport: failed to authenticate as the default user\. .*send AUTH alice <password>/);
    expect(r.server.commandsNamed('auth')).toEqual([]);
  });

  it('answers the client AUTH itself when the agent authenticates the db user (localAuth)', async () => {
    r = await rig({ creds: new StaticCredentials('alice', 'agent-secret', true) });
    const c = await r.connect();
    expect(await c.call('AUTH', 'alice', 'whatever')).toBe('+OK\r\n');
    expect(r.server.commandsNamed('auth')).toEqual(['AUTH alice agent-secret']);
  });

  it('refuses HELLO … AUTH as another user and switches to RESP3 on HELLO 3', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('HELLO', '3', 'AUTH', 'mallory', 'x')).toMatch(/^-ERR xport: failed to authenticate as mallory user/);
    expect(await c.call('HELLO', '3')).toMatch(/^%3\r\n/);
    // RESP3 now: a subscription's confirmation is a push frame.
    expect(await c.call('SUBSCRIBE', 'news')).toMatch(/^>3\r\n/);
    expect(r.server.commandsNamed('hello').filter((h) => h !== 'HELLO')).toEqual(['HELLO 3']);
  });
});

describe('standalone relay: the command table', () => {
  it('reads the command table right after the client first authenticates when setup could not', async () => {
    r = await rig({
      creds: new StaticCredentials(),
      handler: memoryRedis({
        commandTable: COMMAND_INFO_RESP2,
        override: (name, _args, conn) => {
          if (name === 'auth') conn.state.authed = true;
          if (name === 'command' && conn.state.authed !== true) return '-NOAUTH Authentication required.\r\n';
          return undefined;
        },
      }),
    });
    const c = await r.connect();
    expect(r.front.engine.commandTable('fake')).toBeUndefined();
    expect(await c.call('AUTH', 'alice', 'pw')).toBe('+OK\r\n');
    expect(await c.call('GET', 'k')).toBe('$-1\r\n');
    expect(r.server.commands()).toEqual(['COMMAND', 'AUTH alice pw', 'COMMAND', 'GET k']);
    expect(r.front.engine.commandTable('fake')).toBeDefined();
  });
});

describe('standalone relay: large requests', () => {
  it('streams an allowed request larger than the session buffer to Redis as it arrives', async () => {
    r = await rig({ engine: { limits: { sessionBufferBytes: 64 * 1024 } } });
    const c = await r.connect();
    const value = Buffer.alloc(1024 * 1024, 0x7a);
    expect(await c.call('SET', 'big', value)).toBe('+OK\r\n');
    const set = r.server.conns[0]!.received.find((a) => a[0] === 'SET')!;
    expect(set[2]!.length).toBe(value.length);
    expect(r.front.events.find((e) => e.command === 'set')).toMatchObject({ success: true, keys: ['big'] });
  });

  it('discards a denied large request without Redis seeing a byte of it, and answers after its end', async () => {
    r = await rig({ roles: [READER], engine: { limits: { sessionBufferBytes: 64 * 1024 } } });
    const c = await r.connect();
    c.send(enc('SET', 'big', Buffer.alloc(1024 * 1024, 0x7a)), enc('GET', 'big'));
    const [denied, got] = await c.take(2);
    expect(denied).toMatch(/^-ERR xport: .*set/);
    expect(got).toBe('$-1\r\n');
    expect(r.server.commandsNamed('set')).toEqual([]);
    // Judged on its head (name and key); the value never arrived whole and is redacted anyway.
    expect(r.front.events.find((e) => e.command === 'set')).toMatchObject({ success: false, keys: ['big'], query: 'SET big ******' });
  });

  it('refuses AUTH too large to judge from its head', async () => {
    r = await rig({ engine: { limits: { sessionBufferBytes: 64 * 1024 } } });
    const c = await r.connect();
    expect(await c.call('AUTH', 'alice', Buffer.alloc(200 * 1024, 0x70))).toMatch(/^-ERR xport: auth requests of more than 65536 bytes are not supported/);
    expect(r.server.commandsNamed('auth')).toEqual(['AUTH alice pw']);
  });
});

describe('standalone relay: MONITOR', () => {
  it('passes every upstream byte through after MONITOR answers +OK', async () => {
    r = await rig({ handler: memoryRedis({ override: (name) => (name === 'monitor' ? '+OK\r\n' : undefined) }) });
    const c = await r.connect();
    expect(await c.call('MONITOR')).toBe('+OK\r\n');
    r.server.conns[0]!.write('+1700000000.000000 [0 127.0.0.1:1] "GET" "k"\r\n');
    expect(await c.take(1)).toEqual(['+1700000000.000000 [0 127.0.0.1:1] "GET" "k"\r\n']);
  });
});

describe('standalone relay: RBAC', () => {
  it('never forwards a denied command and audits the denial with its reason', async () => {
    r = await rig({ roles: [READER] });
    const c = await r.connect();
    expect(await c.call('SET', 'k', 'v')).toMatch(/^-ERR xport: .*set/);
    expect(await c.call('GET', 'k')).toBe('$-1\r\n');
    expect(r.server.commandsNamed('set')).toEqual([]);
    expect(r.server.commandsNamed('get')).toEqual(['GET k']);
    const ev = r.front.events.find((e) => e.command === 'set')!;
    expect(ev).toMatchObject({ type: 'db.session.query', success: false, keys: ['k'] });
    expect(ev.error).toMatch(/set/);
    expect(r.front.engine.stats().denied).toBe(1);
  });

  it('checks SELECT against the roles db_names and forwards only an allowed one', async () => {
    r = await rig({ roles: [ALICE] });
    const c = await r.connect();
    expect(await c.call('SELECT', '1')).toBe('+OK\r\n');
    expect(await c.call('SELECT', '7')).toMatch(/^-ERR xport: access denied to db 7/);
    // MOVE and SWAPDB name dbs too.
    expect(await c.call('MOVE', 'k', '9')).toMatch(/^-ERR xport: access denied to db 9/);
    expect(r.server.commandsNamed('select', 'move')).toEqual(['SELECT 1']);
  });

  it('refuses SYNC and PSYNC, which would turn the session into a replication stream', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('SYNC')).toBe('-ERR xport: command not supported: sync\r\n');
    expect(r.server.commandsNamed('sync')).toEqual([]);
  });
});

describe('standalone relay: ordering', () => {
  it('keeps pipelined replies in request order, its own denials slotted in place', async () => {
    r = await rig({ roles: [NO_FLUSH] });
    const c = await r.connect();
    c.send(enc('SET', 'a', '1'), enc('FLUSHALL'), enc('GET', 'a'), enc('INCR', 'a'), enc('FLUSHDB'), enc('ECHO', 'last'));
    const replies = await c.take(6);
    expect(replies[0]).toBe('+OK\r\n');
    expect(replies[1]).toMatch(/^-ERR xport: .*flushall/);
    expect(replies[2]).toBe(bulkReply('1'));
    expect(replies[3]).toBe(':2\r\n');
    expect(replies[4]).toMatch(/^-ERR xport: .*flushdb/);
    expect(replies[5]).toBe(bulkReply('last'));
    expect(queries(r.front)).toEqual(['set:true', 'flushall:false', 'get:true', 'incr:true', 'flushdb:false', 'echo:true']);
  });

  it('keeps CLIENT REPLY OFF in the relay and drops the replies the client asked not to get', async () => {
    r = await rig();
    const c = await r.connect();
    c.send(enc('CLIENT', 'REPLY', 'OFF'), enc('SET', 'x', '1'), enc('CLIENT', 'REPLY', 'ON'), enc('GET', 'x'));
    expect(await c.take(2)).toEqual(['+OK\r\n', bulkReply('1')]);
    expect(r.server.commandsNamed('client')).toEqual([]);
    expect(r.server.commandsNamed('set')).toEqual(['SET x 1']);
  });
});

describe('standalone relay: transactions', () => {
  it('runs an allowed MULTI/EXEC on Redis', async () => {
    r = await rig();
    const c = await r.connect();
    c.send(enc('MULTI'), enc('SET', 't', '5'), enc('INCR', 't'), enc('EXEC'));
    expect(await c.take(4)).toEqual(['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n+OK\r\n:6\r\n']);
  });

  it('aborts EXEC with EXECABORT when a command inside MULTI was denied, sending DISCARD instead', async () => {
    r = await rig({ roles: [NO_FLUSH] });
    const c = await r.connect();
    c.send(enc('MULTI'), enc('SET', 't', '5'), enc('FLUSHALL'), enc('EXEC'), enc('GET', 't'));
    const replies = await c.take(5);
    expect(replies.slice(0, 2)).toEqual(['+OK\r\n', '+QUEUED\r\n']);
    expect(replies[2]).toMatch(/^-ERR xport: .*flushall/);
    expect(replies[3]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(replies[4]).toBe('$-1\r\n');
    expect(r.server.commands().filter((x) => !/^(AUTH|HELLO|COMMAND|SELECT)/.test(x))).toEqual(['MULTI', 'SET t 5', 'DISCARD', 'GET t']);
    expect(r.front.events.find((e) => e.command === 'exec')).toMatchObject({ success: false, error: 'EXECABORT Transaction discarded because of previous errors.' });
  });
});

describe('standalone relay: pub/sub', () => {
  it('forwards messages to a subscribed RESP2 client as they come, and Redis refuses other commands', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('SUBSCRIBE', 'news')).toBe(`*3\r\n${bulkReply('subscribe')}${bulkReply('news')}:1\r\n`);
    const pub = await r.connect();
    expect(await pub.call('PUBLISH', 'news', 'hello')).toBe(':1\r\n');
    expect(await c.take(1)).toEqual([`*3\r\n${bulkReply('message')}${bulkReply('news')}${bulkReply('hello')}`]);
    expect(await c.call('GET', 'k')).toMatch(/^-ERR Can't execute 'get'/);
    expect(await c.call('PING')).toBe(`*2\r\n${bulkReply('pong')}${bulkReply('')}`);
    expect(await c.call('UNSUBSCRIBE')).toBe(`*3\r\n${bulkReply('unsubscribe')}${bulkReply('news')}:0\r\n`);
    expect(await c.call('GET', 'k')).toBe('$-1\r\n');
  });
});

describe('standalone relay: RESET', () => {
  it('replays the session AUTH and SELECT after RESET so the client cannot shed them', async () => {
    r = await rig({ dbName: '1' });
    const c = await r.connect();
    expect(await c.call('RESET')).toBe('+RESET\r\n');
    expect(await c.call('PING')).toBe('+PONG\r\n');
    const conn = r.server.conns[0]!;
    const after = conn.received.map((a) => a.join(' '));
    expect(after.slice(after.indexOf('RESET'))).toEqual(['RESET', 'AUTH alice pw', 'SELECT 1', 'PING']);
  });
});

describe('standalone relay: backpressure', () => {
  it('pauses reading from Redis while the client does not read, and resumes when it does', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    r = await rig();
    const c = await r.connect();
    expect(await c.call('SET', 'big', big)).toBe('+OK\r\n');
    c.socket.pause();
    const n = 8;
    for (let i = 0; i < n; i++) c.send(enc('GET', 'big'));
    await waitFor(() => r!.front.engine.stats().upstreamPauses > 0, 'the relay to pause the upstream socket');
    c.socket.resume();
    const replies = await c.take(n, 60_000);
    expect(replies.every((x) => x.length === big.length + `$${big.length}\r\n\r\n`.length)).toBe(true);
  });

  it('pauses the client while Redis does not read, and delivers every reply once it reads again', async () => {
    r = await rig();
    const c = await r.connect();
    expect(await c.call('PING')).toBe('+PONG\r\n');
    r.server.pauseReading();
    const value = Buffer.alloc(1024 * 1024, 0x62);
    const n = 24;
    for (let i = 0; i < n; i++) c.send(enc('SET', `k${i}`, value));
    await waitFor(() => r!.front.engine.stats().clientPauses > 0, 'the relay to pause the client');
    r.server.resumeReading();
    const replies = await c.take(n, 60_000);
    expect(replies).toEqual(Array.from({ length: n }, () => '+OK\r\n'));
  });

  it('stops reading requests while maxPendingReplies replies are owed, then goes on in order', async () => {
    const held: Array<() => void> = [];
    let release = false;
    r = await rig({
      engine: { limits: { maxPendingReplies: 4 } },
      handler: memoryRedis({
        override: (name, args, conn) => {
          if (name !== 'echo' || release) return undefined;
          held.push(() => conn.write(bulkReply(args[1])));
          return null;
        },
      }),
    });
    const c = await r.connect();
    c.send(...Array.from({ length: 10 }, (_, i) => enc('ECHO', String(i))));
    await waitFor(() => held.length === 4, 'four requests to reach Redis');
    expect(r.server.commandsNamed('echo')).toHaveLength(4);
    expect(r.front.engine.stats().clientPauses).toBeGreaterThan(0);
    release = true;
    for (const h of held.splice(0)) h();
    expect(await c.take(10)).toEqual(Array.from({ length: 10 }, (_, i) => bulkReply(String(i))));
  });
});

describe('standalone relay: the connection to Redis', () => {
  it('tells the client when the connection to Redis is lost with replies in flight', async () => {
    r = await rig({ handler: memoryRedis({ override: (name) => (name === 'blpop' ? null : undefined) }) });
    const c = await r.connect();
    c.send(enc('BLPOP', 'q', '0'));
    await waitFor(() => r!.server.commandsNamed('blpop').length === 1, 'BLPOP to reach Redis');
    for (const conn of r.server.conns) conn.socket.destroy();
    expect(await c.take(1)).toEqual(['-ERR xport: the connection to the database was lost\r\n']);
    await c.closed;
  });

  it('answers invalid RESP from the client with Redis own protocol error and closes', async () => {
    r = await rig();
    const c = await r.connect();
    c.socket.write('*1\r\n$x\r\n');
    const [reply] = await c.take(1);
    expect(reply).toMatch(/^-ERR Protocol error/);
    await c.closed;
  });
});
