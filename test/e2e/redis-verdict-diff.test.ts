/**
 * Differential test of the RBAC verdict against Redis itself: for every command and subcommand in
 * a real redis-server's `COMMAND` table, and for generated mutations of their names (case, NUL
 * and other bytes, container forms), the command xport judges must be the command Redis would
 * execute. Redis says which command it would run, without running it, through `ACL DRYRUN` for
 * a user with no permissions (its answer names the resolved command, or says none was found).
 * Repeated options (COPY … DB) are compared by running them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessChecker } from '../../src/auth/rbac.js';
import type { SessionChecker } from '../../src/db/session.js';
import { CommandTable } from '../../src/redis/commands.js';
import { RequestParser, type Request } from '../../src/redis/resp/index.js';
import { decodeValue } from '../../src/redis/resp/value.js';
import { dbArguments, judgeCommand } from '../../src/redis/verdict.js';
import { ANY_DB, enc, rawConnect, role, type Raw } from '../helpers/engine-front.js';
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';

/** parse runs an encoded command through the engine's own request parser. */
function parse(frame: Buffer): Request {
  const p = new RequestParser();
  p.push(frame);
  const req = p.next();
  if (req === undefined) throw new Error('incomplete frame');
  return req;
}

const NO_AUTH = '<a no_auth command>';

/** redisResolves reads ACL DRYRUN's answer: the command Redis would run, or undefined for none. */
function redisResolves(reply: string): string | undefined {
  const m = /no permissions to run the '([^']+)' command|wrong number of arguments for '([^']+)' command/.exec(reply);
  if (m !== null) return m[1] ?? m[2];
  if (/Command '[^]*' not found/.test(reply)) return undefined;
  // ACL checks skip commands flagged no_auth (AUTH, HELLO): Redis found one but does not name it.
  if (reply === '+OK\r\n') return NO_AUTH;
  throw new Error(`unexpected ACL DRYRUN reply: ${JSON.stringify(reply)}`);
}

const b = (s: string) => Buffer.from(s, 'latin1');
const mixedCase = (s: string) => [...s].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');

/** mutations generates name variants: case, NUL and other bytes Redis might or might not ignore. */
function mutations(name: string): Buffer[] {
  return [
    b(name),
    b(name.toUpperCase()),
    b(mixedCase(name)),
    b(`${name}\0`),
    b(`${name}\0x`),
    b(`${name}\0${name}`),
    b(`\0${name}`),
    b(`${name} `),
    b(`${name}\t`),
    b(`${name}\xff`),
    b(`${name}\r`),
    b(`${name}|x`),
    b(`${name.slice(0, -1)}`),
    b(`${name}x`),
  ].filter((x) => x.length > 0);
}

requireRedis();

describe('the verdict matches the command Redis executes (differential, real redis-server)', () => {
  let server: RedisServer;
  let redis: Raw;
  let table: CommandTable;
  const checkers: Record<string, SessionChecker> = {};

  beforeAll(async () => {
    server = await startRedis(['user probe on nopass nocommands', 'user default on nopass ~* &* +@all']);
    redis = await rawConnect(server.port);
    // The engine's own parsing of the server's own table.
    table = CommandTable.parse(decodeValue(Buffer.from(await redis.call('COMMAND'), 'latin1')));
    const db = { name: 'cache', labels: { env: 'dev' } };
    const base = { db_labels: ANY_DB, db_users: ['alice'] };
    const roles = {
      'deny-dangerous': [role('r', { ...base, db_names: ['0'] }, { redis_commands: ['@dangerous'] })],
      'read-only': [role('r', { ...base, db_names: ['0'], redis_commands: ['+@read'] })],
      'open': [role('r', { ...base, db_names: ['*'] })],
    };
    for (const [name, rs] of Object.entries(roles)) {
      const ac = AccessChecker.fromRoles(rs, {});
      const scoped = ac.scopeTo(db, 'alice');
      checkers[name] = {
        checkDbUser: (u) => ac.checkDatabaseAccess(db, u),
        checkDbName: (n) => ac.checkDatabaseAccess(db, 'alice', n),
        commandAllowed: (c, cats) => scoped.commandAllowed(c, cats),
      };
    }
  });

  afterAll(async () => {
    redis?.close();
    await server?.stop();
  });

  it('resolves every command, subcommand and name mutation as Redis does, and refuses the rest before Redis', async () => {
    const candidates: Buffer[][] = [];
    for (const name of table.names()) {
      const info = table.get(name)!;
      const filler = Array.from({ length: Math.max(Math.abs(info.arity) - 1, 0) }, (_, i) => b(`a${i}`));
      for (const m of mutations(name)) candidates.push([m, ...filler]);
      // The container alone, and every subcommand in every mutated spelling.
      if (info.subcommands !== undefined) {
        for (const full of info.subcommands.keys()) {
          const sub = full.slice(name.length + 1);
          const subInfo = info.subcommands.get(full)!;
          const rest = Array.from({ length: Math.max(Math.abs(subInfo.arity) - 2, 0) }, (_, i) => b(`a${i}`));
          for (const m of mutations(sub)) candidates.push([b(name), m, ...rest]);
          candidates.push([b(full), ...rest]);
          candidates.push([b(name.toUpperCase()), b(sub.toUpperCase()), ...rest]);
        }
      }
    }
    // Brute-forced NUL suffixes: some of these do run the real command in Redis (hash collisions;
    // the hash seed is random per redis-server process, so enough tries that some always hit).
    for (const name of ['config', 'flushall', 'acl', 'keys', 'debug', 'eval']) {
      for (let i = 0; i < 2000; i++) candidates.push([b(`${name}\0${i}`), b('a'), b('b'), b('c')]);
    }

    redis.send(...candidates.map((argv) => enc('ACL', 'DRYRUN', 'probe', ...argv)));
    const replies = await redis.take(candidates.length, 120_000);

    let compared = 0;
    let refused = 0;
    let refusedButRealInRedis = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const argv = candidates[i]!;
      const redisName = redisResolves(replies[i]!);
      const req = parse(enc(...argv));
      const ours = table.resolve(req.name, req.args);
      if (ours.malformed) {
        refused++;
        if (redisName !== undefined) refusedButRealInRedis++;
        for (const c of Object.values(checkers)) expect(judgeCommand(table, req.name, req.args, c).denied).toMatch(/^unknown command /);
        continue;
      }
      compared++;
      const oursName = ours.info === undefined ? undefined : redisName === NO_AUTH && ours.info.flags.includes('no_auth') ? NO_AUTH : ours.name;
      if (oursName !== redisName) mismatches.push(`${JSON.stringify(argv.map((a) => a.toString('latin1')))}: xport ${oursName} / redis ${redisName}`);
      // The same verdict as if the roles judged what Redis runs, with the server's own categories.
      if (redisName === NO_AUTH) continue;
      const truthCategories = redisName === undefined ? [] : table.get(redisName)!.categories;
      for (const c of Object.values(checkers)) {
        const verdict = judgeCommand(table, req.name, req.args, c).denied === undefined;
        const truth = c.commandAllowed(redisName ?? ours.name, truthCategories);
        // (Commands that select a db are judged on their db too: covered by the COPY test and redis-rbac.)
        if (dbArguments(ours.name, req.args).length === 0) expect(verdict).toBe(truth);
      }
    }
    console.log(`differential: ${candidates.length} candidates, ${compared} compared with ACL DRYRUN, ${refused} refused before Redis (${refusedButRealInRedis} of them real commands in Redis)`);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(1500);
    expect(refused).toBeGreaterThan(1000);
    // The mutations reach the hole: some names xport refuses would have run a real command in Redis.
    expect(refusedButRealInRedis).toBeGreaterThan(0);
  });

  it('resolves inline commands (quoted, \\x-escaped names) as Redis does', async () => {
    // Inline lines are forwarded as sent and split again by Redis: the agent's split must agree.
    const quote = (a: Buffer, style: number): string => {
      if (style === 0) return `"${[...a].map((c) => `\\x${c.toString(16).padStart(2, '0')}`).join('')}"`;
      if (style === 1) return `"${a.toString('latin1').replace(/[^A-Za-z0-9|._-]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
      return /^[A-Za-z0-9|._-]+$/.test(a.toString('latin1')) ? `'${a.toString('latin1')}'` : quote(a, 1);
    };
    const lines: string[] = [];
    for (const name of table.names()) {
      for (const m of mutations(name).slice(0, 8)) lines.push(`ACL DRYRUN probe ${quote(m, lines.length % 3)} a b c`);
      const info = table.get(name)!;
      if (info.subcommands !== undefined) {
        for (const full of [...info.subcommands.keys()].slice(0, 3)) {
          const sub = b(full.slice(name.length + 1));
          lines.push(`ACL DRYRUN probe ${name} ${quote(Buffer.concat([sub, b('\0x')]), 0)} a b`);
          lines.push(`acl dryrun probe ${name.toUpperCase()} ${quote(sub, 2)} a b`);
        }
      }
    }
    redis.send(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'));
    const replies = await redis.take(lines.length, 120_000);
    const mismatches: string[] = [];
    let refused = 0;
    for (let i = 0; i < lines.length; i++) {
      const req = parse(Buffer.from(`${lines[i]}\r\n`, 'latin1'));
      expect(req.inline).toBe(true);
      const args = req.args.slice(3);
      const name = args[0]!.toString('latin1').toLowerCase().slice(0, 1024);
      const ours = table.resolve(name, args);
      const redisName = redisResolves(replies[i]!);
      if (ours.malformed) {
        refused++;
        continue;
      }
      const oursName = ours.info === undefined ? undefined : redisName === NO_AUTH && ours.info.flags.includes('no_auth') ? NO_AUTH : ours.name;
      if (oursName !== redisName) mismatches.push(`${lines[i]}: xport ${oursName} / redis ${redisName}`);
    }
    expect(mismatches).toEqual([]);
    expect(lines.length).toBeGreaterThan(1500);
    // The escaped forms reached the agent as the bytes Redis sees (NUL, CR, 0xff…), and were refused.
    expect(refused).toBeGreaterThan(lines.length / 4);
  });

  it('reads repeated COPY … DB options as Redis does: the db Redis copies to is the one xport checks', async () => {
    expect(await redis.call('SET', 'src', 'v')).toBe('+OK\r\n');
    const dbWord = [b('DB'), b('db'), b('Db\0'), b('DB\0x'), b('DBX')];
    let rng = 7;
    const rand = (n: number) => ((rng = (rng * 1103515245 + 12345) & 0x7fffffff), rng % n);
    let copied = 0;
    for (let t = 0; t < 60; t++) {
      const opts: Buffer[] = [];
      for (let k = 0, n = 1 + rand(3); k < n; k++) {
        if (rand(4) === 0) opts.push(b('REPLACE'));
        else opts.push(dbWord[rand(dbWord.length)]!, b(String(rand(4) === 0 ? '0' + rand(9) : rand(16))));
      }
      const args = [b('COPY'), b('src'), b('dst'), ...opts];
      const req = parse(enc(...args));
      const reply = await redis.call(...args);
      // Find where Redis put the copy, and clean up.
      let target: string | undefined;
      for (let d = 0; d < 16; d++) {
        await redis.call('SELECT', String(d));
        if ((await redis.call('EXISTS', 'dst')) === ':1\r\n') {
          target = String(d);
          await redis.call('DEL', 'dst');
        }
      }
      await redis.call('SELECT', '0');
      const ours = dbArguments('copy', req.args).map((a) => a.toString('latin1'));
      if (target !== undefined) {
        copied++;
        expect(reply).toBe(':1\r\n');
        // No DB option: Redis copies within the current db, which the session's SELECT already passed.
        expect(ours).toEqual(opts.some((o) => /^db(\0|$)/i.test(o.toString('latin1'))) ? [target] : []);
      }
    }
    expect(copied).toBeGreaterThan(10);
  });
});
