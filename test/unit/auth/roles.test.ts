import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { BUILTIN_ROLES, builtinRole, isBuiltinRole, parseRoles, roleToYaml } from '../../../src/auth/roles.js';

/** parseError returns the XError parseRoles throws for text, failing the test if it does not throw. */
function parseError(text: string, source?: string) {
  try {
    parseRoles(text, source);
  } catch (err) {
    if (!isXError(err)) throw err;
    return err;
  }
  throw new Error('parseRoles accepted invalid input');
}

const DEV_ROLE = `kind: role
version: v1
metadata:
  name: dev
  description: Developers
spec:
  options:
    max_session_ttl: 8h
  allow:
    db_labels:
      env: [dev, staging]
      team: '^(web|api)$'
    db_users: ['{{internal.db_users}}', reader]
    db_names: ['0', '1']
    redis_commands: ['+@all', '-@dangerous', '-config|set']
    rules:
      - resources: [audit]
        verbs: [list, read]
  deny:
    db_users: [superuser]
    redis_commands: [flushall, '@admin']
`;

describe('parseRoles', () => {
  it('parses a complete role with every field', () => {
    const [role, ...rest] = parseRoles(DEV_ROLE);
    expect(rest).toEqual([]);
    expect(role).toEqual({
      kind: 'role',
      version: 'v1',
      metadata: { name: 'dev', description: 'Developers' },
      spec: {
        options: { max_session_ttl: '8h' },
        allow: {
          db_labels: { env: ['dev', 'staging'], team: '^(web|api)$' },
          db_users: ['{{internal.db_users}}', 'reader'],
          db_names: ['0', '1'],
          redis_commands: ['+@all', '-@dangerous', '-config|set'],
          rules: [{ resources: ['audit'], verbs: ['list', 'read'] }],
        },
        deny: { db_users: ['superuser'], redis_commands: ['flushall', '@admin'] },
      },
    });
  });

  it('parses several documents separated by --- in file order, skipping empty ones', () => {
    const text = `---
kind: role
version: v1
metadata: { name: one }
spec: {}
---
# only a comment
---
kind: role
version: v1
metadata: { name: two }
spec:
  allow: { db_labels: { '*': '*' }, db_users: ['*'] }
`;
    const roles = parseRoles(text);
    expect(roles.map((r) => r.metadata.name)).toEqual(['one', 'two']);
    expect(roles[1]?.spec.allow?.db_labels).toEqual({ '*': '*' });
  });

  it('reports an unknown key with its line, its path and a suggestion', () => {
    const err = parseError(`kind: role
version: v1
metadata:
  name: dev
spec:
  allow:
    db_lables:
      env: dev
`);
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toBe('role.yaml:7: spec.allow.db_lables: unknown key (did you mean "db_labels"?)');
    expect(err.hint).toMatch(/README\.md#roles/);
  });

  it('reports an unknown key without a suggestion when nothing is close', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata: { name: x }\nspec: {}\ncolour: blue\n');
    expect(err.message).toBe('role.yaml:5: colour: unknown key');
  });

  it('reports a missing name on the line of its parent', () => {
    const err = parseError(`kind: role
version: v1
metadata:
  description: no name here
spec: {}
`);
    expect(err.message).toBe('role.yaml:3: metadata.name: required');
  });

  it('names the source file it was given', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata: {}\nspec: {}\n', 'roles/dev.yaml');
    expect(err.message).toBe('roles/dev.yaml:3: metadata.name: required');
  });

  it('rejects a role name that is not a DNS label', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata:\n  name: Dev Team\nspec: {}\n');
    expect(err.message).toMatch(/^role\.yaml:4: metadata\.name: must be 1-63 lower-case letters/);
  });

  it('rejects a wrong kind and a wrong version with what it got', () => {
    expect(parseError('kind: user\nversion: v1\nmetadata: { name: x }\nspec: {}\n').message).toBe(
      'role.yaml:1: kind: must be "role", got "user"',
    );
    expect(parseError('kind: role\nversion: v2\nmetadata: { name: x }\nspec: {}\n').message).toBe(
      'role.yaml:2: version: must be "v1", got "v2"',
    );
  });

  it('rejects a bad max_session_ttl on its own line', () => {
    const err = parseError(`kind: role
version: v1
metadata: { name: dev }
spec:
  options:
    max_session_ttl: 8 hours
`);
    expect(err.message).toBe(
      'role.yaml:6: spec.options.max_session_ttl: invalid duration "8 hours"; use a duration such as 30m, 8h or 1h30m',
    );
  });

  it('rejects a max_session_ttl without a unit', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata: { name: dev }\nspec:\n  options:\n    max_session_ttl: "90"\n');
    expect(err.message).toMatch(/^role\.yaml:6: spec\.options\.max_session_ttl: duration "90" needs a unit/);
  });

  it('rejects an unknown rule verb and points at the list item', () => {
    const err = parseError(`kind: role
version: v1
metadata: { name: ops }
spec:
  allow:
    rules:
      - resources: [user]
        verbs:
          - list
          - destroy
`);
    expect(err.message).toBe(
      'role.yaml:10: spec.allow.rules[0].verbs[1]: must be one of list, read, create, update, delete, *, got "destroy"',
    );
  });

  it('rejects an unknown rule resource', () => {
    const err = parseError(`kind: role
version: v1
metadata: { name: ops }
spec:
  deny:
    rules:
      - { resources: [secrets], verbs: ['*'] }
`);
    expect(err.message).toMatch(/^role\.yaml:7: spec\.deny\.rules\[0\]\.resources\[0\]: must be one of user, role, token/);
  });

  it('rejects a bad redis command token with the line, counting lines across documents', () => {
    const err = parseError(`kind: role
version: v1
metadata: { name: fine }
spec: {}
---
kind: role
version: v1
metadata: { name: broken }
spec:
  allow:
    redis_commands:
      - +@read
      - +@
`);
    expect(err.message).toBe(
      'role.yaml:13: spec.allow.redis_commands[1]: command rule "+@" is missing a category name after "@"',
    );
  });

  it('rejects a signed token in a deny list and an unknown category', () => {
    const signed = parseError('kind: role\nversion: v1\nmetadata: { name: x }\nspec:\n  deny:\n    redis_commands: [-flushall]\n');
    expect(signed.message).toMatch(/^role\.yaml:6: spec\.deny\.redis_commands\[0\]: deny rule "-flushall" must not start with "-"/);
    const typo = parseError('kind: role\nversion: v1\nmetadata: { name: x }\nspec:\n  allow:\n    redis_commands: [-@dangerus]\n');
    expect(typo.message).toMatch(/unknown ACL category "@dangerus"/);
  });

  it('rejects a label value of the wrong type and an invalid regular expression', () => {
    const num = parseError('kind: role\nversion: v1\nmetadata: { name: x }\nspec:\n  allow:\n    db_labels:\n      tier: 7\n');
    expect(num.message).toBe(
      'role.yaml:7: spec.allow.db_labels.tier: expected a string or a list of strings, got a number (7)',
    );
    const re = parseError("kind: role\nversion: v1\nmetadata: { name: x }\nspec:\n  allow:\n    db_labels:\n      env: '^(dev$'\n");
    expect(re.message).toMatch(/^role\.yaml:7: spec\.allow\.db_labels\.env: invalid regular expression "\^\(dev\$"/);
  });

  it('rejects a "*" label key with a value other than "*"', () => {
    const err = parseError("kind: role\nversion: v1\nmetadata: { name: x }\nspec:\n  allow:\n    db_labels: { '*': dev }\n");
    expect(err.message).toBe('role.yaml:6: spec.allow.db_labels["*"]: the "*" key only takes the value "*" (every database)');
  });

  it('reports the first problem by line and counts the others', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata: { name: x, colour: red }\nspec:\n  allow:\n    db_users: [1]\n');
    expect(err.message).toBe('role.yaml:3: metadata.colour: unknown key (and 1 more problem)');
  });

  it('reports a YAML syntax error with line and column', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata:\n  name: [dev\nspec: {}\n');
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toMatch(/^role\.yaml:\d+:\d+: \S/);
    expect(err.message).not.toContain('\n');
  });

  it('reports a duplicate key as a syntax error on its line', () => {
    const err = parseError('kind: role\nversion: v1\nmetadata: { name: x }\nspec: {}\nkind: role\n');
    expect(err.message).toBe('role.yaml:5:1: Map keys must be unique');
  });

  it('rejects a document that is not a map', () => {
    expect(parseError('just a string\n').message).toBe(
      'role.yaml:1: expected a role (a map with kind, version, metadata and spec), got a string',
    );
  });

  it('rejects a file with no roles', () => {
    expect(parseError('# nothing\n').message).toBe('role.yaml: no roles found');
    expect(parseError('').message).toBe('role.yaml: no roles found');
  });

  it('rejects two roles with the same name in one file', () => {
    const one = 'kind: role\nversion: v1\nmetadata: { name: x }\nspec: {}\n';
    expect(parseError(`${one}---\n${one}`).message).toBe(
      'role.yaml:8: metadata.name: role "x" is defined twice (first on line 3)',
    );
  });
});

describe('roleToYaml', () => {
  it('renders a role that parseRoles reads back unchanged', () => {
    const [role] = parseRoles(DEV_ROLE);
    const yaml = roleToYaml(role!);
    expect(yaml.startsWith('kind: role\nversion: v1\nmetadata:\n  name: dev\n')).toBe(true);
    expect(parseRoles(yaml)).toEqual([role]);
  });

  it('round-trips every built-in role', () => {
    for (const role of BUILTIN_ROLES) expect(parseRoles(roleToYaml(role))).toEqual([role]);
  });
});

describe('built-in roles', () => {
  it('are access, editor, auditor and admin', () => {
    expect(BUILTIN_ROLES.map((r) => r.metadata.name)).toEqual(['access', 'editor', 'auditor', 'admin']);
    expect(isBuiltinRole('editor')).toBe(true);
    expect(isBuiltinRole('dev')).toBe(false);
  });

  it('give access every database as the users and names in the traits', () => {
    expect(builtinRole('access')?.spec.allow).toEqual({
      db_labels: { '*': '*' },
      db_users: ['{{internal.db_users}}'],
      db_names: ['{{internal.db_names}}'],
    });
  });

  it('are frozen so nobody edits the shared definitions', () => {
    const admin = builtinRole('admin')!;
    expect(Object.isFrozen(admin)).toBe(true);
    expect(() => admin.spec.allow!.db_users!.push('root')).toThrow(TypeError);
  });
});
