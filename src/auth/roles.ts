/**
 * auth/roles: role resources — parsing and validating role YAML, the built-in roles, and YAML output.
 *
 * A role file holds one or more YAML documents (`kind: role`, `version: v1`). Validation is strict:
 * an unknown key is an error, because a misspelt `db_lables` in a *deny* section would otherwise
 * silently deny nothing. Every error names the file, the line of the offending node and its path
 * (`role.yaml:7: spec.allow.db_lables: unknown key`) so `xctl roles create -f` can point at it.
 *
 * Evaluation of roles lives in `auth/rbac.ts`; this module only describes them.
 * Imports errors, util and auth/redis-acl; must not import rbac, the store, proxy, cli or any I/O.
 */
import { isMap, isScalar, isSeq, isAlias, isPair, LineCounter, parseAllDocuments, stringify } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { badParameter } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { validateCommandRule } from './redis-acl.js';
import type { CommandRuleSide } from './redis-acl.js';
import type { Role, RoleConditions } from './types.js';

/** RULE_RESOURCES are the API resources an admin rule may name; `*` means all of them. */
export const RULE_RESOURCES = ['user', 'role', 'token', 'audit', 'cert', 'database', 'cluster', '*'] as const;
/** RULE_VERBS are the actions an admin rule may allow or deny; `*` means all of them. */
export const RULE_VERBS = ['list', 'read', 'create', 'update', 'delete', '*'] as const;
/** RuleResource is one of {@link RULE_RESOURCES}. */
export type RuleResource = (typeof RULE_RESOURCES)[number];
/** RuleVerb is one of {@link RULE_VERBS}. */
export type RuleVerb = (typeof RULE_VERBS)[number];

/** ROLE_NAME_PATTERN is what a role name must look like: a lower-case DNS-label-ish word. */
export const ROLE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const HINT = 'See the role reference in README.md#roles.';

// ---------------------------------------------------------------------------------------------
// Schema

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

/** checkDuration explains what is wrong with a max_session_ttl, or returns undefined. */
function checkDuration(value: string): string | undefined {
  // A bare number would be read as minutes by parseDuration; in a role that is too easy to misread.
  if (/^\s*\d+\s*$/.test(value)) return `duration "${value}" needs a unit, such as 30m, 8h or 1h30m`;
  try {
    parseDuration(value, 'duration');
    return undefined;
  } catch {
    return `invalid duration "${value}"; use a duration such as 30m, 8h or 1h30m`;
  }
}

/** checkPattern rejects a `^…$` value that is not a valid regular expression. */
function checkPattern(value: string): string | undefined {
  if (!(value.startsWith('^') && value.endsWith('$'))) return undefined;
  try {
    new RegExp(value);
    return undefined;
  } catch (err) {
    return `invalid regular expression "${value}": ${(err as Error).message}`;
  }
}

const pattern = nonEmpty.superRefine((v, ctx) => {
  const problem = checkPattern(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const labelSelector = z
  .record(nonEmpty, z.union([pattern, z.array(pattern)]))
  .superRefine((labels, ctx) => {
    const wild = labels['*'];
    if (wild === undefined) return;
    const values = Array.isArray(wild) ? wild : [wild];
    if (!(values.length === 1 && values[0] === '*')) {
      ctx.addIssue({ code: 'custom', path: ['*'], message: 'the "*" key only takes the value "*" (every database)' });
    }
  });

const rule = z.strictObject({
  resources: z.array(z.enum(RULE_RESOURCES)).min(1, { error: 'must list at least one resource' }),
  verbs: z.array(z.enum(RULE_VERBS)).min(1, { error: 'must list at least one verb' }),
});

function commandRules(side: CommandRuleSide) {
  return z.array(
    z.string().superRefine((token, ctx) => {
      const problem = validateCommandRule(token, side);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );
}

/**
 * checkAclPattern explains why a `redis_keys`/`redis_channels` pattern cannot become a Redis ACL
 * rule (`~pattern`, `&pattern`), or returns undefined. Redis reads an ACL line split on spaces and
 * refuses control bytes, so such patterns could not be written as the same rule in Redis.
 */
export function checkAclPattern(value: string, what: 'key' | 'channel'): string | undefined {
  if (value === '') return `empty ${what} pattern`;
  if (/[\s\x00-\x1f\x7f]/.test(value)) return `${what} pattern ${JSON.stringify(value)} contains a space or control character, which a Redis ACL rule cannot hold`;
  if (value.length > 512) return `${what} pattern is longer than 512 characters`;
  return undefined;
}

function aclPatterns(what: 'key' | 'channel') {
  return z.array(
    z.string().superRefine((v, ctx) => {
      const problem = checkAclPattern(v, what);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ).max(256, { error: `at most 256 ${what} patterns` });
}

// Redis ACLs only grant key and channel patterns; a deny of some keys has no Redis ACL form, so
// managed users could not carry it and scripts would escape it. Refused with the reason.
const notInDeny = (what: string) =>
  z.any().superRefine((_v, ctx) => {
    ctx.addIssue({ code: 'custom', message: `${what} cannot be expressed as a Redis ACL in a deny section (Redis ACLs can only grant key and channel patterns); list the allowed patterns under allow.${what} instead` });
  });

function conditions(side: CommandRuleSide) {
  return z.strictObject({
    db_labels: labelSelector.optional(),
    db_users: z.array(pattern).optional(),
    db_names: z.array(pattern).optional(),
    redis_commands: commandRules(side).optional(),
    redis_keys: (side === 'allow' ? aclPatterns('key') : notInDeny('redis_keys')).optional(),
    redis_channels: (side === 'allow' ? aclPatterns('channel') : notInDeny('redis_channels')).optional(),
    rules: z.array(rule).optional(),
  });
}

const roleSchema = z.strictObject({
  kind: z.literal('role'),
  version: z.literal('v1'),
  metadata: z.strictObject({
    name: z.string().regex(ROLE_NAME_PATTERN, {
      error: 'must be 1-63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    description: z.string().optional(),
  }),
  spec: z.strictObject({
    options: z
      .strictObject({
        max_session_ttl: z.string().superRefine((v, ctx) => {
          const problem = checkDuration(v);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }),
      })
      .partial()
      .optional(),
    allow: conditions('allow').optional(),
    deny: conditions('deny').optional(),
  }),
});

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * parseRoles reads one or more role documents (separated by `---`) and returns them in file order.
 * Empty documents are skipped. Throws bad-parameter `<source>:<line>:<col>: <message>` on a YAML
 * syntax error and `<source>:<line>: <path>: <problem>` on a schema error, the line being that of
 * the offending key or value (or of its parent when a required key is missing).
 */
export function parseRoles(text: string, source = 'role.yaml'): Role[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const roles: Role[] = [];
  const firstLineOf = new Map<string, number>();
  for (const doc of docs) {
    const syntax = doc.errors[0];
    if (syntax !== undefined) {
      const { line, col } = lineCounter.linePos(syntax.pos[0]);
      throw badParameter(`${source}:${line}:${col}: ${firstLine(syntax.message)}`, { hint: HINT });
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw badParameter(`${source}: ${firstLine((err as Error).message)}`, { hint: HINT, cause: err });
    }
    if (data === null || data === undefined) continue;

    const parsed = roleSchema.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, data));
      const located = problems
        .map((p) => ({ ...p, line: lineOfPath(doc, p.path, lineCounter) }))
        .sort((a, b) => a.line - b.line);
      const first = located[0]!;
      const where = first.path.length === 0 ? '' : `${formatPath(first.path)}: `;
      const more = located.length > 1 ? ` (and ${located.length - 1} more problem${located.length > 2 ? 's' : ''})` : '';
      throw badParameter(`${source}:${first.line}: ${where}${first.what}${more}`, { hint: HINT });
    }
    const role = normalizeRole(parsed.data);
    const name = role.metadata.name;
    const line = lineOfPath(doc, ['metadata', 'name'], lineCounter);
    const earlier = firstLineOf.get(name);
    if (earlier !== undefined) {
      throw badParameter(`${source}:${line}: metadata.name: role "${name}" is defined twice (first on line ${earlier})`, {
        hint: 'Give each role in the file its own name.',
      });
    }
    firstLineOf.set(name, line);
    roles.push(role);
  }
  if (roles.length === 0) throw badParameter(`${source}: no roles found`, { hint: HINT });
  return roles;
}

type Path = readonly PropertyKey[];
interface Problem {
  path: Path;
  what: string;
}

/** describeIssue turns one zod issue into our wording; unknown keys become one problem per key. */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): Problem[] {
  const path = issue.path;
  const actual = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const suggestion = closest(key, knownKeysAt(path));
        return {
          path: [...path, key],
          what: suggestion === undefined ? 'unknown key' : `unknown key (did you mean "${suggestion}"?)`,
        };
      });
    case 'invalid_type':
      if (actual === undefined) return [{ path, what: 'required' }];
      if (path.length === 0) return [{ path, what: `expected a role (a map with kind, version, metadata and spec), got ${typeName(actual)}` }];
      return [{ path, what: `expected ${article(issue.expected)}, got ${typeName(actual)}` }];
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      const want = values.length === 1 ? `must be ${values[0]}` : `must be one of ${issue.values.join(', ')}`;
      return [{ path, what: `${want}, got ${show(actual)}` }];
    }
    case 'invalid_union':
      // The only union is a label value: a pattern or a list of patterns.
      return [{ path, what: `expected a string or a list of strings, got ${typeName(actual)}` }];
    default:
      return [{ path, what: issue.message }];
  }
}

function article(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    default:
      return expected;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return `a number (${v})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  return typeof v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeName(v);
}

function valueAt(data: unknown, path: Path): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** knownKeysAt lists the keys the strict object at path accepts, for "did you mean" suggestions. */
function knownKeysAt(path: Path): string[] {
  let schema: z.ZodType = roleSchema;
  for (const seg of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) {
      const next = (schema.shape as Record<string, z.ZodType>)[String(seg)];
      if (next === undefined) return [];
      schema = next;
    } else if (schema instanceof z.ZodArray) {
      schema = schema.element as z.ZodType;
    } else {
      return [];
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

/** closest returns the candidate within two edits (transpositions count as one) of word, if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: Levenshtein plus adjacent transpositions (`lables` → `labels` is 1).
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** formatPath renders `['spec','allow','rules',0,'verbs']` as `spec.allow.rules[0].verbs`. */
function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? (out === '' ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/**
 * lineOfPath finds the 1-based line of the node at path: the key's line for a map entry, the
 * item's line for a list entry. When the path runs out of the document (a missing key) it stops at
 * the deepest node that exists, which is the line a reader should look at.
 */
function lineOfPath(doc: Document, path: Path, lc: LineCounter): number {
  const lineAt = (node: { range?: unknown } | null | undefined): number | undefined => {
    const range = node?.range as [number, number, number] | undefined | null;
    return range ? lc.linePos(range[0]).line : undefined;
  };
  let node: unknown = doc.contents;
  let line = lineAt(node as YamlNode | null) ?? 1;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) break;
      line = lineAt(pair.key as YamlNode) ?? lineAt(pair.value as YamlNode) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      line = lineAt(item as YamlNode) ?? line;
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

// ---------------------------------------------------------------------------------------------
// Output

/** normalizeRole copies a role with keys in a stable order and absent fields left out. */
function normalizeRole(role: Role): Role {
  const spec: Role['spec'] = {};
  if (role.spec.options !== undefined) {
    spec.options = {};
    if (role.spec.options.max_session_ttl !== undefined) spec.options.max_session_ttl = role.spec.options.max_session_ttl;
  }
  if (role.spec.allow !== undefined) spec.allow = normalizeConditions(role.spec.allow);
  if (role.spec.deny !== undefined) spec.deny = normalizeConditions(role.spec.deny);
  const metadata: Role['metadata'] = { name: role.metadata.name };
  if (role.metadata.description !== undefined) metadata.description = role.metadata.description;
  return { kind: 'role', version: 'v1', metadata, spec };
}

function normalizeConditions(c: RoleConditions): RoleConditions {
  const out: RoleConditions = {};
  if (c.db_labels !== undefined) {
    out.db_labels = Object.fromEntries(Object.entries(c.db_labels).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
  }
  if (c.db_users !== undefined) out.db_users = [...c.db_users];
  if (c.db_names !== undefined) out.db_names = [...c.db_names];
  if (c.redis_commands !== undefined) out.redis_commands = [...c.redis_commands];
  if (c.redis_keys !== undefined) out.redis_keys = [...c.redis_keys];
  if (c.redis_channels !== undefined) out.redis_channels = [...c.redis_channels];
  if (c.rules !== undefined) out.rules = c.rules.map((r) => ({ resources: [...r.resources], verbs: [...r.verbs] }));
  return out;
}

/** roleToYaml renders a role as one YAML document that {@link parseRoles} reads back unchanged. */
export function roleToYaml(role: Role): string {
  return stringify(normalizeRole(role), { lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// Built-in roles

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const ALL_VERBS = ['*'];

/**
 * BUILTIN_ROLES are the roles every cluster has; they cannot be edited or removed. They are frozen:
 * copy one before changing it.
 *
 * - `access`: every database, as the db users and db names listed in the user's traits.
 * - `editor`: manage users, roles, tokens, certificates, databases and cluster settings; read audit.
 * - `auditor`: read the audit log and cluster status.
 * - `admin`: the local `xctl` identity on the auth host: everything.
 */
export const BUILTIN_ROLES: Role[] = deepFreeze<Role[]>([
  {
    kind: 'role',
    version: 'v1',
    metadata: { name: 'access', description: 'Connect to any database as the db users and db names in your traits' },
    spec: {
      allow: {
        db_labels: { '*': '*' },
        db_users: ['{{internal.db_users}}'],
        db_names: ['{{internal.db_names}}'],
      },
    },
  },
  {
    kind: 'role',
    version: 'v1',
    metadata: { name: 'editor', description: 'Manage users, roles, tokens, certificates, databases and the cluster' },
    spec: {
      allow: {
        rules: [
          { resources: ['user', 'role', 'token', 'cert', 'database', 'cluster'], verbs: ALL_VERBS },
          { resources: ['audit'], verbs: ['list', 'read'] },
        ],
      },
    },
  },
  {
    kind: 'role',
    version: 'v1',
    metadata: { name: 'auditor', description: 'Read the audit log and cluster status' },
    spec: {
      allow: {
        rules: [
          { resources: ['audit'], verbs: ['list', 'read'] },
          { resources: ['cluster'], verbs: ['read'] },
        ],
      },
    },
  },
  {
    kind: 'role',
    version: 'v1',
    metadata: { name: 'admin', description: 'Local xctl identity on the auth host: everything' },
    spec: {
      allow: {
        db_labels: { '*': '*' },
        db_users: ['*'],
        db_names: ['*'],
        rules: [{ resources: ['*'], verbs: ALL_VERBS }],
      },
    },
  },
]);

const BUILTIN_NAMES = new Set(BUILTIN_ROLES.map((r) => r.metadata.name));

/** isBuiltinRole tells whether name is one of {@link BUILTIN_ROLES}. */
export function isBuiltinRole(name: string): boolean {
  return BUILTIN_NAMES.has(name);
}

/** builtinRole returns the built-in role called name, or undefined. */
export function builtinRole(name: string): Role | undefined {
  return BUILTIN_ROLES.find((r) => r.metadata.name === name);
}
