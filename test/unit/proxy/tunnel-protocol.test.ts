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
