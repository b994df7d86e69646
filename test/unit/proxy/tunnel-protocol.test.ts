/**
 * The agent → proxy control messages: what an advert carries (never TLS material) and how the
 * proxy checks hellos and database lists that arrive from the network.
 */
import { describe, expect, it } from 'vitest';
import type { DatabaseSpec } from '../../../src/db/database.js';
import { advertFor, parseAdverts, parseHello } from '../../../src/proxy/tunnel-protocol.js';

const spec: DatabaseSpec = {
  name: 'cache',
  description: 'main cache',
  protocol: 'redis',
  uri: 'rediss://cache.internal:6379?mode=cluster',
  host: 'cache.internal',
  port: 6379,
  mode: 'cluster',
  labels: { env: 'prod' },
  type: 'elasticache',
  tls: { mode: 'verify-full', caCertPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
};

describe('advertFor', () => {
  it('keeps what users may see and leaves out TLS material', () => {
    const advert = advertFor(spec);
    expect(advert).toEqual({
      name: 'cache',
      description: 'main cache',
      protocol: 'redis',
      uri: 'rediss://cache.internal:6379?mode=cluster',
      labels: { env: 'prod' },
      type: 'elasticache',
      mode: 'cluster',
    });
    expect(JSON.stringify(advert)).not.toContain('CERTIFICATE');
  });
});

describe('parseAdverts', () => {
  it('drops invalid and duplicate entries and names each problem', () => {
    const good = advertFor(spec);
    const result = parseAdverts([good, { ...good }, { ...good, name: 'x', mode: 'sharded' }, { ...good, name: 'y', labels: { a: 1 } }, 'nope']);
    expect(result).toEqual({
      databases: [good],
      problems: [
        'database "cache" is listed twice',
        'database #3: mode must be one of standalone, cluster',
        'database #4: labels must map strings to strings',
        'database #5: not an object',
      ],
    });
  });

  it('copies only known fields', () => {
    const result = parseAdverts([{ ...advertFor(spec), password: 'hunter2' }]);
    expect(typeof result !== 'string' && result.databases[0]).not.toHaveProperty('password');
  });

  it('refuses something that is not a list', () => {
    expect(parseAdverts({})).toBe('databases must be a list');
  });

  it('carries the agent\'s health check, bounded, and drops a malformed one with its database', () => {
    const good = { ...advertFor(spec), health: { ok: false, error: 'certificate verify failed', checked: '2026-01-01T00:00:00.000Z', extra: 'x' } };
    const r = parseAdverts([good]);
    expect(typeof r !== 'string' && r.databases[0]!.health).toEqual({ ok: false, error: 'certificate verify failed', checked: '2026-01-01T00:00:00.000Z' });
    const bad = parseAdverts([
      { ...advertFor(spec), health: { ok: 'yes', checked: 'now' } },
      { ...advertFor(spec), name: 'big', health: { ok: false, error: 'x'.repeat(10_000), checked: 'now' } },
    ]);
    expect(typeof bad !== 'string' && bad.databases).toEqual([]);
    expect(typeof bad !== 'string' && bad.problems).toEqual(['database #1: health must be { ok, checked, error? }', 'database #2: health must be { ok, checked, error? }']);
  });
});

describe('parseHello', () => {
  it('accepts a hello and clamps the heartbeat interval', () => {
    const hello = parseHello({ type: 'hello', hostId: 'agent-1', version: '0.1.0', databases: [advertFor(spec)], heartbeatMs: 1 });
    expect(hello).toMatchObject({ type: 'hello', hostId: 'agent-1', version: '0.1.0', heartbeatMs: 10, problems: [] });
  });

  it.each([
    [{ type: 'heartbeat', databases: [] }, 'expected a hello, got "heartbeat"'],
    [{ type: 'hello', hostId: '', version: '1', databases: [] }, 'hello.hostId must be a non-empty string'],
    [{ type: 'hello', hostId: 'a', version: 2, databases: [] }, 'hello.version must be a string'],
    [{ type: 'hello', hostId: 'a', version: '1', databases: null }, 'hello.databases must be a list'],
    [{ type: 'hello', hostId: 'a', version: '1', databases: [], heartbeatMs: 'soon' }, 'hello.heartbeatMs must be a number'],
  ])('refuses %j', (msg, problem) => {
    expect(parseHello(msg as Record<string, unknown>)).toBe(problem);
  });
});
