/**
 * The `xsh db ls` renderer as a pure function: tsh's columns, the active-login marker, verbose
 * columns, an empty listing, and the json/yaml contract.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatLabels, matchesLabels, matchesSearch, parseQuery, parseSearch, renderDatabases } from '../../../../src/cli/xsh/db/ls.js';
import type { ListedDatabase, DbLogin } from '../../../../src/client/databases.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DBS: ListedDatabase[] = [
  {
    name: 'cache',
    description: 'Session cache',
    protocol: 'redis',
    type: 'self-hosted',
    uri: 'rediss://redis.internal:6379',
    mode: 'standalone',
    labels: { team: 'web', env: 'dev' },
    allowed_users: '[alice default]',
    allowed_db_users: ['alice', 'default'],
    denied_db_users: [],
    status: 'online',
    agents: 1,
  },
  {
    name: 'queue',
    protocol: 'redis',
    type: 'azure-redis',
    uri: 'rediss://queue.redis.cache.windows.net:6380',
    mode: 'standalone',
    labels: {},
    allowed_users: '(none)',
    allowed_db_users: [],
    denied_db_users: [],
    status: 'offline',
    agents: 0,
  },
];
const login = (database: string, expiresInMs: number, dbName?: string): DbLogin => ({
  database,
  dbUser: 'alice',
  ...(dbName ? { dbName } : {}),
  certPem: '',
  expires: new Date(NOW.getTime() + expiresInMs),
});

describe('renderDatabases', () => {
  it('marks an active login without a database name as "> name (user: u)"', () => {
    const out = renderDatabases(DBS, [login('queue', 60_000)], { format: 'text', verbose: false, now: NOW });
    expect(out.split('\n')[3]!.split(/\s{2,}/)).toEqual(['> queue (user: alice)', '(none)', 'xsh db connect queue']);
  });

  it('does not mark a login that has expired', () => {
    const out = renderDatabases(DBS, [login('cache', -1)], { format: 'text', verbose: false, now: NOW });
    expect(out).not.toContain('>');
    expect(out).not.toContain('xsh db connect');
  });

  it('adds Protocol, Type and URI with --verbose', () => {
    const out = renderDatabases(DBS, [], { format: 'text', verbose: true, now: NOW });
    expect(out.split('\n')[0]!.split(/\s{2,}/)).toEqual(['Name', 'Description', 'Protocol', 'Type', 'URI', 'Allowed Users', 'Labels', 'Connect']);
    expect(out).toContain('rediss://queue.redis.cache.windows.net:6380');
  });

  it('prints only the header for an empty listing, like tsh', () => {
    expect(renderDatabases([], [], { format: 'text', verbose: false, now: NOW })).toBe(
      'Name  Description  Allowed Users  Labels  Connect\n----  -----------  -------------  ------  -------\n',
    );
    expect(renderDatabases([], [], { format: 'json', verbose: false, now: NOW })).toBe('[]\n');
  });

  it('escapes control characters a server put in a description', () => {
    const evil = [{ ...DBS[0]!, description: 'x\u001b[2Jy' }];
    expect(renderDatabases(evil, [], { format: 'text', verbose: false, now: NOW })).toContain('x\\x1b[2Jy');
  });

  it('gives yaml the same objects as json, with the active login', () => {
    const data = parse(renderDatabases(DBS, [login('cache', 60_000, '3')], { format: 'yaml', verbose: false, now: NOW })) as Record<string, unknown>[];
    expect(data.map((d) => Object.keys(d))).toEqual([
      ['name', 'description', 'protocol', 'type', 'uri', 'mode', 'labels', 'allowed_users', 'denied_users', 'status', 'agents', 'active'],
      ['name', 'description', 'protocol', 'type', 'uri', 'mode', 'labels', 'allowed_users', 'denied_users', 'status', 'agents', 'active'],
    ]);
    expect(data[0]!.active).toEqual({ db_user: 'alice', db_name: '3', expires: '2026-03-01T12:01:00.000Z' });
    expect(data[1]!.active).toBeNull();
  });
});

describe('labels', () => {
  it('formats labels sorted by key', () => {
    expect(formatLabels({ team: 'web', env: 'dev' })).toBe('env=dev,team=web');
    expect(formatLabels({})).toBe('');
  });
  it('matches a database only when every wanted label has the wanted value', () => {
    expect(matchesLabels(DBS[0]!, { env: 'dev' })).toBe(true);
    expect(matchesLabels(DBS[0]!, { env: 'dev', team: 'web' })).toBe(true);
    expect(matchesLabels(DBS[0]!, { env: 'dev', team: 'api' })).toBe(false);
    expect(matchesLabels(DBS[1]!, { env: 'dev' })).toBe(false);
  });
});

describe('--search and --query', () => {
  it('matches every keyword against name, description and labels, ignoring case', () => {
    expect(DBS.filter((d) => matchesSearch(d, parseSearch('SESSION,web'))).map((d) => d.name)).toEqual(['cache']);
    expect(DBS.filter((d) => matchesSearch(d, parseSearch('queue'))).map((d) => d.name)).toEqual(['queue']);
    expect(DBS.filter((d) => matchesSearch(d, parseSearch('cache,prod')))).toEqual([]);
    expect(() => parseSearch(' , ')).toThrow('--search needs at least one keyword');
  });

  it('evaluates name, description and label comparisons joined by &&', () => {
    const names = (q: string) => DBS.filter(parseQuery(q)).map((d) => d.name);
    expect(names('labels["env"] == "dev"')).toEqual(['cache']);
    expect(names('labels.team == "web" && name == "cache"')).toEqual(['cache']);
    expect(names('labels["env"] != "dev"')).toEqual(['queue']);
    expect(names('name != "cache" && name != "queue"')).toEqual([]);
    expect(names('description == "Session cache"')).toEqual(['cache']);
  });

  it('refuses what it does not understand, saying what works', () => {
    for (const bad of ['env=dev', 'name == cache', 'labels["env"] == "dev" || name == "x"', 'exists(labels.env)']) {
      expect(() => parseQuery(bad)).toThrow(/--query: cannot read/);
    }
  });
});
