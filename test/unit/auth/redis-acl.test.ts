import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { compileCommandRules, displayCommand, validateCommandRule } from '../../../src/auth/redis-acl.js';
import { AccessChecker } from '../../../src/auth/rbac.js';
import type { Role, RoleConditions } from '../../../src/auth/types.js';

// Categories as Redis 7 reports them in COMMAND INFO.
const GET = ['@read', '@string', '@fast'];
const SET = ['@write', '@string', '@slow'];
const FLUSHALL = ['@keyspace', '@write', '@slow', '@dangerous'];
const CONFIG_SET = ['@admin', '@slow', '@dangerous'];
const CONFIG_GET = ['@admin', '@slow', '@dangerous'];
const KEYS = ['@keyspace', '@read', '@slow', '@dangerous'];

function role(name: string, allow?: RoleConditions, deny?: RoleConditions): Role {
  return { kind: 'role', version: 'v1', metadata: { name }, spec: { ...(allow ? { allow } : {}), ...(deny ? { deny } : {}) } };
}

const everywhere = { db_labels: { '*': '*' }, db_users: ['*'] };

function checker(...roles: Role[]): AccessChecker {
  return AccessChecker.fromRoles(roles, { db_users: [], db_names: [] });
}

describe('compileCommandRules', () => {
  it('allows GET and denies SET with +@read', () => {
    const rules = compileCommandRules(['+@read']);
    expect(rules.allows('get', GET)).toBe(true);
    expect(rules.allows('set', SET)).toBe(false);
  });

  it('denies FLUSHALL but allows SET with +@all -flushall', () => {
    const rules = compileCommandRules(['+@all', '-flushall']);
    expect(rules.allows('flushall', FLUSHALL)).toBe(false);
    expect(rules.allows('set', SET)).toBe(true);
  });

  it('denies every dangerous command with +@all -@dangerous', () => {
    const rules = compileCommandRules(['+@all', '-@dangerous']);
    expect(rules.allows('keys', KEYS)).toBe(false);
    expect(rules.allows('flushall', FLUSHALL)).toBe(false);
    expect(rules.allows('get', GET)).toBe(true);
  });

  it('lets the last matching token win, left to right', () => {
    expect(compileCommandRules(['-@dangerous', '+@all']).allows('flushall', FLUSHALL)).toBe(true);
    expect(compileCommandRules(['+@read', '-@dangerous', '+keys']).allows('keys', KEYS)).toBe(true);
    expect(compileCommandRules(['allcommands', 'nocommands', '+get']).allows('get', GET)).toBe(true);
    expect(compileCommandRules(['allcommands', 'nocommands', '+get']).allows('set', SET)).toBe(false);
  });

  it('denies everything with an empty list and treats bare names and categories as allows', () => {
    expect(compileCommandRules([]).allows('get', GET)).toBe(false);
    expect(compileCommandRules(['get']).allows('get', GET)).toBe(true);
    expect(compileCommandRules(['@read']).allows('get', GET)).toBe(true);
  });

  it('denies CONFIG SET but allows CONFIG GET with -config|set', () => {
    const rules = compileCommandRules(['+@all', '-config|set']);
    expect(rules.allows('config|set', CONFIG_SET)).toBe(false);
    expect(rules.allows('config|get', CONFIG_GET)).toBe(true);
    expect(rules.allows('CONFIG SET', CONFIG_SET)).toBe(false);
  });

  it('covers every subcommand with a command name, and lets a subcommand rule override it', () => {
    const rules = compileCommandRules(['+@all', '-config', '+config|get']);
    expect(rules.allows('config|set', CONFIG_SET)).toBe(false);
    expect(rules.allows('config|get', CONFIG_GET)).toBe(true);
    expect(compileCommandRules(['+@all', '-config']).allows('configx', [])).toBe(true);
  });

  it('ignores case in commands, rules and categories, and accepts categories without @', () => {
    const rules = compileCommandRules(['+@READ', '-GET']);
    expect(rules.allows('GET', GET)).toBe(false);
    expect(rules.allows('Strlen', ['read', 'string', 'fast'])).toBe(true);
    expect(rules.allows('hget', ['@READ'])).toBe(true);
  });

  it('reads a deny list as names: any token that matches names the command', () => {
    const deny = compileCommandRules(['flushall', '@dangerous', 'config|set']);
    expect(deny.names('flushall', FLUSHALL)).toBe(true);
    expect(deny.names('keys', KEYS)).toBe(true);
    expect(deny.names('get', GET)).toBe(false);
  });

  it('refuses an invalid token', () => {
    expect(() => compileCommandRules(['+@'])).toThrow(/missing a category name/);
  });
});

describe('validateCommandRule', () => {
  it('accepts the Redis ACL command syntax', () => {
    for (const t of ['+@all', '-@all', 'allcommands', 'nocommands', '+get', '-flushall', 'get', '@read', '-config|set', '+JSON.GET', 'ft._list']) {
      expect(validateCommandRule(t), t).toBeUndefined();
    }
  });

  it('explains what is wrong with a bad token', () => {
    expect(validateCommandRule('')).toBe('empty command rule');
    expect(validateCommandRule('+@')).toMatch(/missing a category name/);
    expect(validateCommandRule('-@reed')).toMatch(/unknown ACL category "@reed"/);
    expect(validateCommandRule('get key')).toMatch(/names may contain only/);
    expect(validateCommandRule('~cache:*')).toMatch(/names may contain only/);
    expect(validateCommandRule('config|')).toMatch(/missing a subcommand/);
    expect(validateCommandRule('a|b|c')).toMatch(/more than one "\|"/);
    expect(validateCommandRule('+')).toMatch(/missing a command name/);
    expect(validateCommandRule(' get')).toMatch(/surrounding spaces/);
    expect(validateCommandRule('allkeys')).toMatch(/Redis ACL user rule/);
  });

  it('takes only bare names in a deny list', () => {
    expect(validateCommandRule('flushall', 'deny')).toBeUndefined();
    expect(validateCommandRule('@dangerous', 'deny')).toBeUndefined();
    expect(validateCommandRule('-flushall', 'deny')).toMatch(/must not start with "-"/);
    expect(validateCommandRule('+@all', 'deny')).toMatch(/must not start with "\+"/);
    expect(validateCommandRule('nocommands', 'deny')).toMatch(/means nothing in a deny list/);
  });
});

describe('AccessChecker commands', () => {
  it('allows everything for a role without redis_commands', () => {
    const c = checker(role('plain', everywhere));
    expect(c.commandAllowed('flushall', FLUSHALL)).toBe(true);
  });

  it('allows a command when any role allows it', () => {
    const c = checker(role('reader', { ...everywhere, redis_commands: ['+@read'] }), role('setter', { ...everywhere, redis_commands: ['+set'] }));
    expect(c.commandAllowed('get', GET)).toBe(true);
    expect(c.commandAllowed('set', SET)).toBe(true);
    expect(c.commandAllowed('del', ['@keyspace', '@write', '@slow'])).toBe(false);
  });

  it('lets a deny list in a second role beat an allow-all role', () => {
    const c = checker(role('all', { ...everywhere, redis_commands: ['+@all'] }), role('safe', undefined, { redis_commands: ['@dangerous'] }));
    expect(c.commandAllowed('get', GET)).toBe(true);
    expect(c.commandAllowed('flushall', FLUSHALL)).toBe(false);
    const err = (() => {
      try {
        c.checkCommand('FLUSHALL', FLUSHALL);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isXError(err) && err.kind).toBe('access-denied');
    expect(isXError(err) && err.message).toBe('access denied to flushall');
    expect(isXError(err) && err.hint).toBe('Role "safe" denies this command.');
  });

  it('denies CONFIG SET through a deny list naming the subcommand and keeps CONFIG GET', () => {
    const c = checker(role('all', everywhere), role('no-config-set', undefined, { redis_commands: ['CONFIG|SET'] }));
    expect(() => c.checkCommand('config|set', CONFIG_SET)).toThrow('access denied to config|set');
    expect(() => c.checkCommand('config|get', CONFIG_GET)).not.toThrow();
  });

  it('names the roles when none allows a command', () => {
    const c = checker(role('reader', { ...everywhere, redis_commands: ['+@read'] }));
    try {
      c.checkCommand('set', SET);
      expect.unreachable('set should be denied');
    } catch (err) {
      expect(isXError(err) && err.hint).toBe('None of your roles (reader) allows this command on this database.');
    }
  });

  it('keeps a client-supplied command name from breaking the error line', () => {
    const c = checker(role('reader', { ...everywhere, redis_commands: ['+@read'] }));
    expect(() => c.checkCommand('evil\r\n+OK', [])).toThrow('access denied to evil???ok');
    expect(displayCommand('x'.repeat(100))).toHaveLength(67);
  });

  it('counts only the roles that grant the database once scoped to it', () => {
    const c = checker(
      role('prod-read', { db_labels: { env: 'prod' }, db_users: ['*'], redis_commands: ['+@read'] }),
      role('dev-all', { db_labels: { env: 'dev' }, db_users: ['*'] }),
    );
    expect(c.commandAllowed('set', SET)).toBe(true);
    const prod = c.scopeTo({ name: 'orders', labels: { env: 'prod' } });
    expect(prod.commandAllowed('set', SET)).toBe(false);
    expect(prod.commandAllowed('get', GET)).toBe(true);
    expect(c.scopeTo({ name: 'cache', labels: { env: 'dev' } }).commandAllowed('set', SET)).toBe(true);
    expect(c.scopeTo({ name: 'other', labels: {} }).commandAllowed('get', GET)).toBe(false);
  });

  it('narrows by db user too when scoped with one', () => {
    const c = checker(
      role('reader', { db_labels: { '*': '*' }, db_users: ['reader'], redis_commands: ['+@read'] }),
      role('writer', { db_labels: { '*': '*' }, db_users: ['writer'] }),
    );
    const db = { name: 'cache', labels: {} };
    expect(c.scopeTo(db, 'reader').commandAllowed('set', SET)).toBe(false);
    expect(c.scopeTo(db, 'writer').commandAllowed('set', SET)).toBe(true);
  });

  it('denies a command without categories (unknown to the table) under any command rule, and only then', () => {
    const unknown: string[] = [];
    expect(checker(role('deny-one', { ...everywhere, db_names: ['*'] }, { redis_commands: ['flushall'] })).commandAllowed('nosuch', unknown)).toBe(false);
    expect(checker(role('reader', { ...everywhere, db_names: ['*'], redis_commands: ['+@read'] })).commandAllowed('nosuch', unknown)).toBe(false);
    expect(checker(role('all', { ...everywhere, db_names: ['*'], redis_commands: ['+@all'] })).commandAllowed('nosuch', unknown)).toBe(true);
    expect(checker(role('free', { ...everywhere, db_names: ['0'] })).commandAllowed('nosuch', unknown)).toBe(true);
  });

  it('lets scripts run under command rules or db_names limits only when @scripting is allowed explicitly', () => {
    const EVAL = ['@slow', '@scripting'];
    const db = { name: 'cache', labels: {} };
    const scoped = (...roles: Role[]) => checker(...roles).scopeTo(db, 'alice');
    expect(scoped(role('deny-one', { ...everywhere, db_names: ['*'] }, { redis_commands: ['flushall'] })).commandAllowed('eval', EVAL)).toBe(false);
    expect(scoped(role('all', { ...everywhere, db_names: ['*'], redis_commands: ['+@all', '-keys'] })).commandAllowed('eval', EVAL)).toBe(false);
    expect(scoped(role('db0', { ...everywhere, db_names: ['0'] })).commandAllowed('eval', EVAL)).toBe(false);
    expect(scoped(role('db0', { ...everywhere, db_names: ['0'], redis_commands: ['+@all', '+@scripting'] })).commandAllowed('eval', EVAL)).toBe(true);
    expect(scoped(role('db0', { ...everywhere, db_names: ['0'], redis_commands: ['+@read', '+eval'] })).commandAllowed('eval', EVAL)).toBe(true);
    expect(scoped(role('db0', { ...everywhere, db_names: ['0'], redis_commands: ['+@scripting', '-eval'] })).commandAllowed('eval', EVAL)).toBe(false);
    expect(scoped(role('free', { ...everywhere, db_names: ['*'] })).commandAllowed('eval', EVAL)).toBe(true);
    // A Redis Cluster has only db 0: a db_names limit there leaves no db for a script to reach.
    expect(checker(role('db0', { ...everywhere, db_names: ['0'] })).scopeTo({ ...db, mode: 'cluster' }, 'alice').commandAllowed('eval', EVAL)).toBe(true);
    // Deny still wins over an explicit allow.
    expect(scoped(role('s', { ...everywhere, db_names: ['*'], redis_commands: ['+@scripting'] }, { redis_commands: ['@scripting'] })).commandAllowed('eval', EVAL)).toBe(false);
  });
});
