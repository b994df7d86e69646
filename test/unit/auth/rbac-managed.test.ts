import { describe, expect, it } from 'vitest';
import { AccessChecker } from '../../../src/auth/rbac.js';
import { parseRoles } from '../../../src/auth/roles.js';
import type { Role, RoleConditions } from '../../../src/auth/types.js';

const db = { name: 'cache', labels: { env: 'dev' }, mode: 'standalone' as const };

function role(name: string, allow: RoleConditions, deny?: RoleConditions): Role {
  return { kind: 'role', version: 'v1', metadata: { name }, spec: { allow: { db_labels: { env: 'dev' }, db_users: ['app'], ...allow }, ...(deny ? { deny } : {}) } };
}
const scoped = (...roles: Role[]) => AccessChecker.fromRoles(roles, {}).scopeTo(db, 'app');

describe('redis_keys', () => {
  it('allows only keys matching a granting role’s patterns', () => {
    const c = scoped(role('r', { redis_keys: ['app:*', 'cache:?'] }));
    expect(c.keysRestricted).toBe(true);
    expect(c.keyAllowed(Buffer.from('app:1'))).toBe(true);
    expect(c.keyAllowed(Buffer.from('cache:x'))).toBe(true);
    expect(c.keyAllowed(Buffer.from('cache:xy'))).toBe(false);
    expect(c.keyAllowed(Buffer.from('other'))).toBe(false);
  });

  it('allows every key when a granting role lists none, and ignores roles that do not grant the db user', () => {
    expect(scoped(role('r', { redis_keys: ['app:*'] }), role('open', {})).keyAllowed(Buffer.from('x'))).toBe(true);
    const other: Role = { kind: 'role', version: 'v1', metadata: { name: 'other' }, spec: { allow: { db_labels: { env: 'prod' }, db_users: ['app'] } } };
    expect(scoped(role('r', { redis_keys: ['app:*'] }), other).keyAllowed(Buffer.from('x'))).toBe(false);
  });
});

describe('redis_channels', () => {
  it('matches channels as globs and PSUBSCRIBE patterns literally; no list means every channel', () => {
    const c = scoped(role('r', { redis_channels: ['news.*'] }));
    expect(c.channelAllowed(Buffer.from('news.a'), false)).toBe(true);
    expect(c.channelAllowed(Buffer.from('ops'), false)).toBe(false);
    expect(c.channelAllowed(Buffer.from('news.*'), true)).toBe(true);
    expect(c.channelAllowed(Buffer.from('news.a*'), true)).toBe(false);
    expect(scoped(role('r', {})).channelAllowed(Buffer.from('ops'), true)).toBe(true);
  });
});

describe('redisAclRules', () => {
  it('derives the command list, appended denies, scripts off unless allowed, keys and channels', () => {
    const c = scoped(role('r', { db_names: ['0'], redis_commands: ['+@read', '+set'], redis_keys: ['app:*'], redis_channels: ['news.*'] }, { redis_commands: ['keys'] }));
    expect(c.redisAclRules()).toEqual(['-@all', '+@read', '+set', '-keys', '-@scripting', 'resetkeys', '~app:*', 'resetchannels', '&news.*']);
  });

  it('keeps scripts when a role allows them explicitly and says allkeys/allchannels without patterns', () => {
    const c = scoped(role('r', { db_names: ['*'], redis_commands: ['+@all', '+@scripting'] }));
    expect(c.redisAclRules()).toEqual(['-@all', '+@all', '+@scripting', 'allkeys', 'allchannels']);
  });

  it('refuses, naming the roles, two different command lists for one db user', () => {
    const c = scoped(role('readers', { redis_commands: ['+@read'] }), role('writers', { redis_commands: ['+@write'] }));
    expect(() => c.redisAclRules()).toThrow(/roles "readers" and "writers" cannot be expressed as one Redis ACL/);
    expect(() => c.redisAclRules()).toThrow(/different command lists to the same db user \(readers: \+@read; writers: \+@write\)/);
  });
});

describe('role validation of redis_keys and redis_channels', () => {
  const doc = (body: string) => `kind: role\nversion: v1\nmetadata: { name: r }\nspec:\n${body}`;
  it('accepts patterns in allow and reads them back', () => {
    const [r] = parseRoles(doc("  allow:\n    redis_keys: ['app:*']\n    redis_channels: ['news.*']\n"));
    expect(r!.spec.allow).toEqual({ redis_keys: ['app:*'], redis_channels: ['news.*'] });
  });
  it('refuses a deny list of keys, saying Redis ACLs cannot express it', () => {
    expect(() => parseRoles(doc("  deny:\n    redis_keys: ['secret:*']\n"), 'r.yaml')).toThrow(/spec\.deny\.redis_keys: redis_keys cannot be expressed as a Redis ACL in a deny section/);
  });
  it('refuses a pattern with a space, which no ACL rule can hold', () => {
    expect(() => parseRoles(doc("  allow:\n    redis_keys: ['app: *']\n"), 'r.yaml')).toThrow(/contains a space or control character/);
  });
});
