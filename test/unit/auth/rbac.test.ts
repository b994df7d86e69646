import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import type { XError } from '../../../src/errors.js';
import { AccessChecker, interpolate, matchPattern } from '../../../src/auth/rbac.js';
import { BUILTIN_ROLES, builtinRole, parseRoles } from '../../../src/auth/roles.js';
import type { Role, RoleConditions, Traits } from '../../../src/auth/types.js';

const NO_TRAITS: Traits = { db_users: [], db_names: [] };

/** role builds a role from its allow and deny sections. */
function role(name: string, allow?: RoleConditions, deny?: RoleConditions, maxSessionTtl?: string): Role {
  return {
    kind: 'role',
    version: 'v1',
    metadata: { name },
    spec: {
      ...(maxSessionTtl === undefined ? {} : { options: { max_session_ttl: maxSessionTtl } }),
      ...(allow === undefined ? {} : { allow }),
      ...(deny === undefined ? {} : { deny }),
    },
  };
}

function checker(roles: Role[], traits: Traits = NO_TRAITS): AccessChecker {
  return AccessChecker.fromRoles(roles, traits);
}

/** denial returns the access-denied error fn throws, failing the test if it does not. */
function denial(fn: () => void): XError {
  try {
    fn();
  } catch (err) {
    if (isXError(err) && err.kind === 'access-denied') return err;
    throw err;
  }
  throw new Error('expected access to be denied');
}

const cache = { name: 'cache', labels: { env: 'dev', team: 'web' } };
const prod = { name: 'orders', labels: { env: 'prod', team: 'api' } };
const bare = { name: 'bare', labels: {} };

describe('AccessChecker databases', () => {
  it('allows a database whose labels match the allow selector', () => {
    const c = checker([role('dev', { db_labels: { env: 'dev' }, db_users: ['alice'] })]);
    expect(c.canSeeDatabase(cache)).toBe(true);
    expect(c.canSeeDatabase(prod)).toBe(false);
    expect(() => c.checkDatabaseAccess(cache, 'alice')).not.toThrow();
    expect(denial(() => c.checkDatabaseAccess(prod, 'alice')).message).toBe(
      'access to database "orders" as db user "alice" denied: no role grants access to this database',
    );
  });

  it('requires every key of the selector to match', () => {
    const c = checker([role('web-dev', { db_labels: { env: 'dev', team: 'api' }, db_users: ['*'] })]);
    expect(c.canSeeDatabase(cache)).toBe(false);
    expect(c.canSeeDatabase({ name: 'x', labels: { env: 'dev', team: 'api' } })).toBe(true);
    expect(c.canSeeDatabase({ name: 'x', labels: { env: 'dev' } })).toBe(false);
  });

  it('matches "*": "*" against any database, even one without labels', () => {
    const c = checker([role('all', { db_labels: { '*': '*' }, db_users: ['*'] })]);
    expect(c.canSeeDatabase(bare)).toBe(true);
    expect(c.canSeeDatabase(prod)).toBe(true);
  });

  it('matches nothing when a role has no db_labels', () => {
    const c = checker([role('users-only', { db_users: ['*'] })]);
    expect(c.canSeeDatabase(bare)).toBe(false);
    expect(c.canSeeDatabase(cache)).toBe(false);
  });

  it('matches glob and regular-expression label values, and lists of them', () => {
    const glob = checker([role('g', { db_labels: { env: 'de*' }, db_users: ['*'] })]);
    expect(glob.canSeeDatabase(cache)).toBe(true);
    expect(glob.canSeeDatabase(prod)).toBe(false);
    const regex = checker([role('r', { db_labels: { team: '^(api|ops)$' }, db_users: ['*'] })]);
    expect(regex.canSeeDatabase(prod)).toBe(true);
    expect(regex.canSeeDatabase(cache)).toBe(false);
    const list = checker([role('l', { db_labels: { env: ['staging', 'prod'] }, db_users: ['*'] })]);
    expect(list.canSeeDatabase(prod)).toBe(true);
    expect(list.canSeeDatabase(cache)).toBe(false);
  });

  it('lets a deny on labels beat an allow, hiding the database', () => {
    const c = checker([
      role('all', { db_labels: { '*': '*' }, db_users: ['*'] }),
      role('no-prod', undefined, { db_labels: { env: 'prod' } }),
    ]);
    expect(c.canSeeDatabase(cache)).toBe(true);
    expect(c.canSeeDatabase(prod)).toBe(false);
    expect(denial(() => c.checkDatabaseAccess(prod, 'alice')).message).toBe(
      'access to database "orders" as db user "alice" denied by role "no-prod"',
    );
  });

  it('lets a deny on db users beat an allow without hiding the database', () => {
    const c = checker([
      role('all', { db_labels: { '*': '*' }, db_users: ['*'] }),
      role('no-super', undefined, { db_labels: { '*': '*' }, db_users: ['superuser'] }),
    ]);
    expect(c.canSeeDatabase(cache)).toBe(true);
    expect(() => c.checkDatabaseAccess(cache, 'alice')).not.toThrow();
    expect(denial(() => c.checkDatabaseAccess(cache, 'superuser')).message).toBe(
      'access to database "cache" as db user "superuser" denied by role "no-super"',
    );
  });

  it('applies a deny on db users without db_labels to every database', () => {
    const c = checker([
      role('all', { db_labels: { '*': '*' }, db_users: ['*'] }),
      role('no-default', undefined, { db_users: ['default'] }),
    ]);
    expect(denial(() => c.checkDatabaseAccess(bare, 'default')).message).toMatch(/denied by role "no-default"$/);
    expect(c.canSeeDatabase(bare)).toBe(true);
  });

  it('names the db user no role allows', () => {
    const c = checker([role('dev', { db_labels: { env: 'dev' }, db_users: ['alice', 'reader-*'] })]);
    expect(() => c.checkDatabaseAccess(cache, 'reader-1')).not.toThrow();
    const err = denial(() => c.checkDatabaseAccess(cache, 'bob'));
    expect(err.message).toBe('access to database "cache" as db user "bob" denied: no role allows db user "bob"');
    expect(err.hint).toContain('xsh db ls');
  });

  it('does not combine one role\'s labels with another role\'s users', () => {
    const c = checker([
      role('dev-db', { db_labels: { env: 'dev' }, db_users: ['alice'] }),
      role('prod-user', { db_labels: { env: 'prod' }, db_users: ['bob'] }),
    ]);
    expect(denial(() => c.checkDatabaseAccess(cache, 'bob')).message).toMatch(/no role allows db user "bob"/);
  });

  it('interpolates db users from traits: alice may use alice, not bob', () => {
    const c = checker([builtinRole('access')!], { db_users: ['alice'], db_names: ['0'] });
    expect(() => c.checkDatabaseAccess(cache, 'alice')).not.toThrow();
    expect(denial(() => c.checkDatabaseAccess(cache, 'bob')).message).toMatch(/no role allows db user "bob"$/);
  });

  it('allows no db user and no db name when the traits are empty', () => {
    const c = checker([builtinRole('access')!], NO_TRAITS);
    expect(c.canSeeDatabase(cache)).toBe(true);
    expect(denial(() => c.checkDatabaseAccess(cache, 'alice')).message).toMatch(/no role allows db user "alice"$/);
    expect(c.formatAllowedUsers(cache)).toBe('(none)');
  });

  it('enforces db names on Redis DB numbers, and skips them when no name is asked for', () => {
    const c = checker([builtinRole('access')!], { db_users: ['alice'], db_names: ['0'] });
    expect(() => c.checkDatabaseAccess(cache, 'alice', '0')).not.toThrow();
    expect(() => c.checkDatabaseAccess(cache, 'alice')).not.toThrow();
    expect(denial(() => c.checkDatabaseAccess(cache, 'alice', '1')).message).toBe(
      'access to database "cache" as db user "alice" denied: no role allows db name "1" for this db user',
    );
  });

  it('denies a db name listed in a deny section', () => {
    const c = checker([role('all', { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] }), role('no-15', undefined, { db_names: ['15'] })]);
    expect(() => c.checkDatabaseAccess(cache, 'alice', '0')).not.toThrow();
    expect(denial(() => c.checkDatabaseAccess(cache, 'alice', '15')).message).toBe(
      'access to database "cache" as db user "alice" denied by role "no-15" for db name "15"',
    );
  });

  it('treats "*" in db users and db names as any value', () => {
    const c = checker([builtinRole('admin')!]);
    expect(() => c.checkDatabaseAccess(prod, 'anyone', '7')).not.toThrow();
    expect(c.canSeeDatabase(bare)).toBe(true);
  });
});

describe('AccessChecker allowed users', () => {
  it('lists literal users', () => {
    const c = checker([role('dev', { db_labels: { '*': '*' }, db_users: ['dev'] })]);
    expect(c.allowedDbUsers(cache)).toEqual({ allowed: ['dev'], denied: [] });
    expect(c.formatAllowedUsers(cache)).toBe('[dev]');
  });

  it('puts * first and lists deny exceptions to it', () => {
    const c = checker([
      role('dev', { db_labels: { '*': '*' }, db_users: ['dev'] }),
      role('any', { db_labels: { env: 'dev' }, db_users: ['*'] }),
      role('no-super', undefined, { db_labels: { '*': '*' }, db_users: ['superuser'] }),
    ]);
    expect(c.allowedDbUsers(cache)).toEqual({ allowed: ['*', 'dev'], denied: ['superuser'] });
    expect(c.formatAllowedUsers(cache)).toBe('[* dev], except: [superuser]');
    expect(c.formatAllowedUsers(prod)).toBe('[dev]');
  });

  it('shows [*], except: [superuser]', () => {
    const c = checker([
      role('any', { db_labels: { '*': '*' }, db_users: ['*'] }),
      role('no-super', undefined, { db_users: ['superuser'] }),
    ]);
    expect(c.formatAllowedUsers(cache)).toBe('[*], except: [superuser]');
  });

  it('drops a literal user that a deny covers', () => {
    const c = checker([
      role('dev', { db_labels: { '*': '*' }, db_users: ['dev', 'superuser'] }),
      role('no-super', undefined, { db_users: ['superuser'] }),
    ]);
    expect(c.formatAllowedUsers(cache)).toBe('[dev]');
  });

  it('shows (none) when nothing is allowed, everything is denied or the database is denied', () => {
    expect(checker([]).formatAllowedUsers(cache)).toBe('(none)');
    const denyAll = checker([role('any', { db_labels: { '*': '*' }, db_users: ['*'] }), role('nobody', undefined, { db_users: ['*'] })]);
    expect(denyAll.formatAllowedUsers(cache)).toBe('(none)');
    const denyDb = checker([role('any', { db_labels: { '*': '*' }, db_users: ['*'] }), role('no-dev', undefined, { db_labels: { env: 'dev' } })]);
    expect(denyDb.formatAllowedUsers(cache)).toBe('(none)');
    expect(denyDb.formatAllowedUsers(prod)).toBe('[*]');
  });

  it('shows the interpolated trait values', () => {
    const c = checker([builtinRole('access')!], { db_users: ['bob', 'alice'], db_names: [] });
    expect(c.formatAllowedUsers(bare)).toBe('[alice bob]');
  });
});

describe('AccessChecker sessions and rules', () => {
  it('takes the smallest max_session_ttl across roles', () => {
    const c = checker([role('a', undefined, undefined, '8h'), role('b', undefined, undefined, '30m'), role('c')]);
    expect(c.maxSessionTtlMs(12 * 3_600_000)).toBe(30 * 60_000);
  });

  it('uses the default when no role sets max_session_ttl', () => {
    expect(checker([role('c'), ...BUILTIN_ROLES]).maxSessionTtlMs(12 * 3_600_000)).toBe(12 * 3_600_000);
  });

  it('lets editor create users and auditor not', () => {
    expect(() => checker([builtinRole('editor')!]).checkRule('user', 'create')).not.toThrow();
    const err = denial(() => checker([builtinRole('auditor')!]).checkRule('user', 'create'));
    expect(err.message).toBe('access denied: cannot create user (roles: auditor)');
  });

  it('lets auditor list and read audit events but not delete them', () => {
    const auditor = checker([builtinRole('auditor')!]);
    expect(() => auditor.checkRule('audit', 'list')).not.toThrow();
    expect(() => auditor.checkRule('audit', 'read')).not.toThrow();
    expect(auditor.ruleAllowed('audit', 'delete')).toBe(false);
    expect(auditor.ruleAllowed('cluster', 'read')).toBe(true);
  });

  it('gives the access role no admin rules and admin all of them', () => {
    expect(denial(() => checker([builtinRole('access')!]).checkRule('user', 'list')).message).toBe(
      'access denied: cannot list user (roles: access)',
    );
    expect(checker([builtinRole('admin')!]).ruleAllowed('role', 'delete')).toBe(true);
  });

  it('lets a deny rule beat an allow rule, wildcards included', () => {
    const c = checker([builtinRole('editor')!, role('no-delete', undefined, { rules: [{ resources: ['*'], verbs: ['delete'] }] })]);
    expect(() => c.checkRule('user', 'update')).not.toThrow();
    expect(denial(() => c.checkRule('user', 'delete')).message).toBe('access denied: cannot delete user (denied by role "no-delete")');
  });

  it('keeps the role names in order', () => {
    expect(checker([...BUILTIN_ROLES]).roleNames).toEqual(['access', 'editor', 'auditor', 'admin']);
  });

  it('works on roles parsed from YAML', () => {
    const roles = parseRoles(`kind: role
version: v1
metadata: { name: web }
spec:
  options: { max_session_ttl: 1h }
  allow:
    db_labels: { team: web }
    db_users: ['{{internal.db_users}}']
    db_names: ['0']
`);
    const c = checker(roles, { db_users: ['alice'], db_names: [] });
    expect(() => c.checkDatabaseAccess(cache, 'alice', '0')).not.toThrow();
    expect(c.maxSessionTtlMs(12 * 3_600_000)).toBe(3_600_000);
  });
});

describe('interpolate and matchPattern', () => {
  it('expands traits with surrounding text, and unknown or empty traits to nothing', () => {
    const traits = { db_users: ['alice', 'bob'], db_names: [] };
    expect(interpolate('{{internal.db_users}}', traits)).toEqual(['alice', 'bob']);
    expect(interpolate('app-{{ internal.db_users }}', traits)).toEqual(['app-alice', 'app-bob']);
    expect(interpolate('{{internal.db_names}}', traits)).toEqual([]);
    expect(interpolate('{{external.groups}}', traits)).toEqual([]);
    expect(interpolate('plain', traits)).toEqual(['plain']);
  });

  it('matches *, globs, regular expressions and exact values', () => {
    expect(matchPattern('*', '')).toBe(true);
    expect(matchPattern('env-*', 'env-dev')).toBe(true);
    expect(matchPattern('env-*', 'xenv-dev')).toBe(false);
    expect(matchPattern('a.b', 'axb')).toBe(false);
    expect(matchPattern('^[0-3]$', '2')).toBe(true);
    expect(matchPattern('^[0-3]$', '12')).toBe(false);
    expect(matchPattern('dev', 'Dev')).toBe(false);
  });
});
