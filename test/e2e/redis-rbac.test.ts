/**
 * RBAC judges the command Redis executes (issue 8 §1, §6): each finding is attacked through the
 * real engine in front of a real TLS redis-server, and Redis's own state is read directly to
 * prove what did (not) run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { Logger } from '../../src/util/log.js';
import {
  ANY_DB,
  directConnect,
  enc,
  passwordCredentials,
  rawConnect,
  role,
  startFront,
  tlsDatabase,
  type Front,
  type FrontPlan,
  type Raw,
} from '../helpers/engine-front.js';
import { requireRedis } from '../helpers/redis-server.js';
import { startTlsRedis, type TlsRedis } from '../helpers/redis-tls.js';

const PASSWORDS = { alice: 'alice-pw', carol: 'carol-pw' };
// carol's Redis ACL refuses CLIENT REPLY: the relay must not depend on Redis accepting it.
const ACL = ['user alice on >alice-pw ~* &* +@all', 'user carol on >carol-pw ~* &* +@all -client|reply', 'user default off'];

const base = { db_labels: ANY_DB, db_users: ['alice'] };
/** Denies @dangerous (CONFIG, ACL, KEYS, FLUSHDB, DEBUG…), everything else allowed on db 0. */
const NO_DANGER = role('no-danger', { ...base, db_names: ['0'] }, { redis_commands: ['@dangerous'] });
/** Denies two commands, allows the rest on db 0. */
const GUARDED = role('guarded', { ...base, db_names: ['0'] }, { redis_commands: ['flushall', 'flushdb', 'config|set'] });
/** Read-only allow-list. */
const READER = role('reader', { ...base, db_names: ['0'], redis_commands: ['+@read'] });
/** No command rules, db 0 and 1 only. */
const DB01 = role('db01', { ...base, db_names: ['0', '1'] });
/** No command rules, every db: nothing for RBAC to restrict. */
const OPEN = role('open', { ...base, db_names: ['*'] });
/** Command rules that allow scripts explicitly. */
const SCRIPTER = role('scripter', { ...base, db_names: ['0'], redis_commands: ['+@all', '+@scripting'] }, { redis_commands: ['flushall'] });

const DEEP_SCRIPT = "local t = {} local cur = t for i=1,2000 do local n = {} cur[1] = n cur = n end cur[1] = 'x' return t";

requireRedis();

describe('RBAC judges the command Redis executes', () => {
  let fx: TlsRedis;
  let db: DatabaseSpec;
  let admin: Raw;
  const fronts: Front[] = [];
  const raws: Raw[] = [];

  async function front(roles: FrontPlan['roles'], extra: Partial<FrontPlan> = {}): Promise<Front> {
    const f = await startFront({ roles, db, credentials: passwordCredentials(fx, PASSWORDS, true), ...extra });
    fronts.push(f);
    return f;
  }
  async function connectTo(f: Front): Promise<Raw> {
    const r = await rawConnect(f.port);
    raws.push(r);
    return r;
  }

  /**
   * nulHits finds suffixes s for which Redis runs `name\0s` as `name` itself (its lookup hashes
   * the whole name but compares it as a C string), by asking Redis directly with harmless args.
   */
  async function nulHits(name: string, probe: string[], want: number): Promise<Buffer[]> {
    const names: Buffer[] = [];
    // Redis seeds its dict hash randomly per process, so which suffixes collide varies: ~20 of 10,000 do.
    for (let i = 0; i < 10_000; i++) names.push(Buffer.concat([Buffer.from(name), Buffer.from([0]), Buffer.from(String(i))]));
    admin.send(...names.map((n) => enc(n, ...probe)));
    const replies = await admin.take(names.length, 60_000);
    const hits = names.filter((_, i) => !replies[i]!.startsWith('-ERR unknown command'));
    expect(hits.length).toBeGreaterThanOrEqual(want); // the hole is real on this Redis
    return hits.slice(0, 8);
  }

  beforeAll(async () => {
    fx = await startTlsRedis({ acl: ACL });
    db = tlsDatabase(fx);
    admin = await directConnect(fx, 'alice', PASSWORDS.alice);
  });

  afterAll(async () => {
    for (const r of raws) r.close();
    admin?.close();
    for (const f of fronts) await f.close();
    await fx?.stop();
  });

  it('refuses NUL-suffixed names such as config\\0x that Redis would run as CONFIG, and audits the exact bytes', async () => {
    const configHits = await nulHits('config', ['GET', 'maxmemory'], 1);
    const aclHits = await nulHits('acl', ['WHOAMI'], 1);
    const before = await admin.call('CONFIG', 'GET', 'maxmemory');
    for (const roles of [[NO_DANGER], [OPEN]]) {
      const f = await front(roles);
      const c = await connectTo(f);
      c.send(...configHits.map((n) => enc(n, 'SET', 'maxmemory', '12345')), ...aclHits.map((n) => enc(n, 'LIST')), enc('PING'));
      const replies = await c.take(configHits.length + aclHits.length + 1);
      expect(replies.at(-1)).toBe('+PONG\r\n');
      for (const r of replies.slice(0, -1)) expect(r).toMatch(/^-ERR xport: unknown command "(config|acl)\\x00\d+": command names contain no such bytes\r\n$/);
      const denied = f.events.filter((e) => e.type === 'db.session.query' && e.success === false);
      expect(denied.map((e) => e.command)).toEqual([...configHits, ...aclHits].map((n) => `"${n.toString('latin1').replace('\0', '\\x00')}"`));
      expect(denied[0]!.query).toContain('\\x00');
    }
    expect(await admin.call('CONFIG', 'GET', 'maxmemory')).toBe(before);
  });

  it('refuses subcommand names with bytes Redis ignores (CONFIG "set\\0…")', async () => {
    const f = await front([GUARDED]);
    const c = await connectTo(f);
    const reply = await c.call('CONFIG', Buffer.from('set\0x'), 'maxmemory', '12345');
    expect(reply).toBe('-ERR xport: unknown command config|"set\\x00x": command names contain no such bytes\r\n');
    expect(await admin.call('CONFIG', 'GET', 'maxmemory')).not.toContain('12345');
  });

  it('judges DEBUG by its own categories: a @dangerous deny covers every DEBUG form', async () => {
    const f = await front([NO_DANGER]);
    const c = await connectTo(f);
    for (const args of [['DEBUG', 'SLEEP', '0'], ['debug', 'object', 'k'], ['DEBUG', 'SET-ACTIVE-EXPIRE', '1'], ['DEBUG']]) {
      expect(await c.call(...args)).toBe('-ERR xport: access denied to debug\r\n');
    }
    expect(f.events.filter((e) => e.command === 'debug').every((e) => e.success === false)).toBe(true);
  });

  it('checks the db Redis copies to: COPY a b DB 0 DB 5 is judged on db 5, DB\\0 counts as DB', async () => {
    await admin.call('SET', 'copy-src', 'v');
    const f = await front([DB01]);
    const c = await connectTo(f);
    expect(await c.call('COPY', 'copy-src', 'copy-dst', 'DB', '0', 'DB', '5')).toBe('-ERR xport: access denied to db 5\r\n');
    expect(await c.call('COPY', 'copy-src', 'copy-dst', Buffer.from('DB\0x'), '5')).toBe('-ERR xport: access denied to db 5\r\n');
    expect(await c.call('COPY', 'copy-src', 'copy-dst', 'db', '5', 'REPLACE', 'db', '1')).toBe(':1\r\n');
    // Redis took the last DB: the copy is in db 1 and db 5 holds nothing.
    expect(await admin.call('SELECT', '5')).toBe('+OK\r\n');
    expect(await admin.call('DBSIZE')).toBe(':0\r\n');
    expect(await admin.call('SELECT', '1')).toBe('+OK\r\n');
    expect(await admin.call('GET', 'copy-dst')).toBe('$1\r\nv\r\n');
    expect(await admin.call('SELECT', '0')).toBe('+OK\r\n');
  });

  it('checks every db argument against db_names: SELECT, MOVE, SWAPDB, MIGRATE', async () => {
    const f = await front([DB01]);
    const c = await connectTo(f);
    expect(await c.call('SELECT', '5')).toBe('-ERR xport: access denied to db 5\r\n');
    expect(await c.call('MOVE', 'copy-src', '7')).toBe('-ERR xport: access denied to db 7\r\n');
    expect(await c.call('SWAPDB', '0', '9')).toBe('-ERR xport: access denied to db 9\r\n');
    expect(await c.call('MIGRATE', '127.0.0.1', '1', 'copy-src', '5', '1000')).toBe('-ERR xport: access denied to db 5\r\n');
    // A spelling Redis does not read as a number selects nothing: Redis's own error comes back.
    expect(await c.call('SELECT', '05')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await c.call('SELECT', Buffer.from('5\0'))).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await c.call('SELECT', '1')).toBe('+OK\r\n');
  });

  it('denies unknown commands and subcommands under a role with deny rules or an allow-list, and audits them', async () => {
    for (const roles of [[GUARDED], [READER]]) {
      const f = await front(roles);
      const c = await connectTo(f);
      expect(await c.call('NOSUCHCMD', 'x')).toBe('-ERR xport: access denied to nosuchcmd\r\n');
      expect(await c.call('CLIENT', 'NOSUCHSUB')).toBe('-ERR xport: access denied to client|nosuchsub\r\n');
      expect(f.events.filter((e) => e.success === false).map((e) => e.command)).toEqual(['nosuchcmd', 'client|nosuchsub']);
    }
    // Without any command rule there is nothing to get around: Redis answers for itself.
    const open = await connectTo(await front([OPEN]));
    expect(await open.call('NOSUCHCMD', 'x')).toMatch(/^-ERR unknown command 'NOSUCHCMD'/);
  });

  it('denies EVAL, EVALSHA and FCALL under command rules or db_names limits unless @scripting is allowed explicitly', async () => {
    await admin.call('SET', 'survivor', '1');
    const flush = "return redis.call('flushall')";
    for (const roles of [[GUARDED], [DB01], [READER]]) {
      const c = await connectTo(await front(roles));
      expect(await c.call('EVAL', flush, '0')).toBe('-ERR xport: access denied to eval\r\n');
      expect(await c.call('EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0')).toBe('-ERR xport: access denied to evalsha\r\n');
      expect(await c.call('FCALL', 'f', '0')).toBe('-ERR xport: access denied to fcall\r\n');
    }
    expect(await admin.call('GET', 'survivor')).toBe('$1\r\n1\r\n');
    const scripter = await connectTo(await front([SCRIPTER]));
    expect(await scripter.call('EVAL', 'return 41 + 1', '0')).toBe(':42\r\n');
    const open = await connectTo(await front([OPEN]));
    expect(await open.call('EVAL', 'return 7', '0')).toBe(':7\r\n');
  });

  it('follows CLIENT REPLY OFF, SKIP and ON and keeps every reply in order, denials included', async () => {
    await admin.call('DEL', 'cr-a', 'cr-b');
    const f = await front([GUARDED]);
    const c = await connectTo(f);
    c.send(
      enc('SET', 'cr-a', '1'), // +OK
      enc('CLIENT', 'REPLY', 'OFF'), // (none)
      enc('SET', 'cr-b', '2'), // (none)
      enc('FLUSHALL'), // denied, (none)
      enc('GET', 'cr-b'), // (none)
      enc('CLIENT', 'REPLY', 'ON'), // +OK
      enc('GET', 'cr-b'), // 2
      enc('CLIENT', 'REPLY', 'SKIP'), // (none)
      enc('GET', 'cr-a'), // skipped
      enc('GET', 'cr-b'), // 2
      enc('CLIENT', 'REPLY', Buffer.from('skip\0')), // Redis reads it as SKIP
      enc('FLUSHALL'), // denied and skipped
      enc('GET', 'cr-a'), // 1
      enc('CLIENT', 'REPLY', 'MAYBE'), // Redis's syntax error
      enc('PING'), // +PONG
    );
    const replies = await c.take(7);
    expect(replies.slice(0, 5)).toEqual(['+OK\r\n', '+OK\r\n', '$1\r\n2\r\n', '$1\r\n2\r\n', '$1\r\n1\r\n']);
    expect(replies[5]).toMatch(/^-ERR /);
    expect(replies[6]).toBe('+PONG\r\n');
    // Nothing more comes, and the connection stays in step.
    expect(await c.call('GET', 'cr-a')).toBe('$1\r\n1\r\n');
    expect(f.events.filter((e) => e.command === 'flushall').map((e) => e.success)).toEqual([false, false]);
    expect(await admin.call('EXISTS', 'cr-a', 'cr-b')).toBe(':2\r\n');
  });

  it('keeps CLIENT REPLY in the relay, so a Redis ACL that refuses it cannot desynchronise replies', async () => {
    const f = await front([role('carol', { db_labels: ANY_DB, db_users: ['carol'], db_names: ['*'] })], { dbUser: 'carol' });
    const c = await connectTo(f);
    c.send(enc('CLIENT', 'REPLY', 'OFF'), enc('SET', 'carol-k', '1'), enc('CLIENT', 'REPLY', 'ON'), enc('GET', 'carol-k'), enc('CLIENT', 'REPLY'));
    expect(await c.take(3)).toEqual(['+OK\r\n', '$1\r\n1\r\n', "-ERR wrong number of arguments for 'client|reply' command\r\n"]);
    expect(await c.call('PING')).toBe('+PONG\r\n');
  });

  it('passes a 2,000-deep nested reply from a Lua script through intact and stays in step', async () => {
    const direct = await admin.call('EVAL', DEEP_SCRIPT, '0');
    expect(direct.startsWith('*1\r\n'.repeat(2000))).toBe(true);
    const c = await connectTo(await front([OPEN]));
    c.send(enc('EVAL', DEEP_SCRIPT, '0'), enc('PING'));
    expect(await c.take(2)).toEqual([direct, '+PONG\r\n']);
  });

  it('reads the command table once per database and server version over the agent\'s authenticated connection', async () => {
    const calls = async () => Number(/cmdstat_command:calls=(\d+)/.exec(await admin.call('INFO', 'commandstats'))?.[1] ?? 0);
    const before = await calls();
    const f = await front([NO_DANGER]);
    for (let i = 0; i < 4; i++) {
      const c = await connectTo(f);
      expect(await c.call('CONFIG', 'GET', 'maxmemory')).toBe('-ERR xport: access denied to config|get\r\n');
      c.close();
    }
    expect(await calls()).toBe(before + 1);
    const hello = await admin.call('HELLO');
    const version = /\$7\r\nversion\r\n\$\d+\r\n([^\r]+)\r\n/.exec(hello)?.[1];
    expect(f.engine.commandTableVersion(db.name)).toBe(`redis ${version}`);
  });

  it('reads the command table once, on the first authenticated connection, and warns no session when the client AUTHs itself', async () => {
    const warnings: string[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      warn: (m) => warnings.push(m),
      error: (m) => warnings.push(m),
      child: () => log,
    };
    const f = await front([NO_DANGER], { credentials: passwordCredentials(fx, PASSWORDS, false), log });
    expect(f.engine.commandTable(db.name)).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      const c = await connectTo(f);
      // Before AUTH Redis refuses everything; the verdict still comes first.
      expect(await c.call('DEBUG', 'SLEEP', '0')).toBe('-ERR xport: access denied to debug\r\n');
      expect(await c.call('AUTH', 'alice', PASSWORDS.alice)).toBe('+OK\r\n');
      expect(await c.call('SET', `t${i}`, 'v')).toBe('+OK\r\n');
      expect(await c.call('CONFIG', 'GET', 'maxmemory')).toBe('-ERR xport: access denied to config|get\r\n');
      c.close();
    }
    const table = f.engine.commandTable(db.name);
    expect(table).toBeDefined();
    expect(table!.get('config|get')!.categories).toContain('@dangerous');
    expect(warnings).toEqual([]);
  });
});
