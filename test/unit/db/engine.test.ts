/**
 * The engine registry: one engine per protocol, a duplicate registration refused, and the
 * start-up check that names every protocol without an engine and every engine nobody can reach.
 */
import { describe, expect, it } from 'vitest';
import { CredentialRegistry } from '../../../src/db/credentials.js';
import { EngineRegistry } from '../../../src/db/engine.js';
import { isXError } from '../../../src/errors.js';
import { RedisEngine } from '../../../src/redis/engine.js';
import { nullLogger } from '../../../src/util/log.js';

const engine = () => new RedisEngine({ credentials: new CredentialRegistry(), log: nullLogger });

/** thrown runs fn and returns what it threw (failing when it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('EngineRegistry', () => {
  it('serves each registered protocol with its own engine and lists the protocols', () => {
    const registry = new EngineRegistry();
    const redis = engine();
    const other = engine();
    registry.register('redis', redis);
    registry.register('redis-next', other);
    expect(registry.get('redis')).toBe(redis);
    expect(registry.get('redis-next')).toBe(other);
    expect(registry.protocols()).toEqual(['redis', 'redis-next']);
  });

  it('refuses a second engine for the same protocol and keeps serving the first', () => {
    const registry = new EngineRegistry();
    const first = engine();
    registry.register('redis', first);
    const err = thrown(() => registry.register('redis', engine()));
    expect(isXError(err) && err.kind).toBe('internal');
    expect((err as Error).message).toBe('a database engine for protocol "redis" is already registered; each protocol has exactly one engine');
    expect(isXError(err) && err.hint).toContain('src/service/engines.ts');
    expect(registry.get('redis')).toBe(first);
    expect(registry.protocols()).toEqual(['redis']);
  });

  it('refuses the same engine registered twice under one protocol', () => {
    const registry = new EngineRegistry();
    const e = engine();
    registry.register('redis', e);
    expect(() => registry.register('redis', e)).toThrow('already registered');
  });

  it('refuses a protocol name that is not lower-case letters, digits and dashes', () => {
    const registry = new EngineRegistry();
    for (const name of ['', 'Redis', 'redis ', ' redis', 'redis\n', '__proto__', 'a'.repeat(33), '1redis']) {
      expect(() => registry.register(name, engine()), JSON.stringify(name)).toThrow('a protocol name is lower-case letters, digits and dashes');
    }
    expect(registry.protocols()).toEqual([]);
  });

  it('says which protocol has no engine when a session asks for it', () => {
    const registry = new EngineRegistry();
    registry.register('redis', engine());
    const err = thrown(() => registry.get('postgres'));
    expect(isXError(err) && err.kind).toBe('not-found');
    expect((err as Error).message).toBe('no engine for protocol "postgres"');
  });

  it('passes the start-up check with exactly one engine per expected protocol', () => {
    const registry = new EngineRegistry();
    registry.register('redis', engine());
    expect(() => registry.check(['redis'])).not.toThrow();
  });

  it('fails the start-up check naming every protocol without an engine and every engine no database can name', () => {
    const empty = new EngineRegistry();
    const none = thrown(() => empty.check(['redis']));
    expect(isXError(none) && none.kind).toBe('internal');
    expect((none as Error).message).toBe('the database engine registry is inconsistent: no engine for protocol "redis"');
    expect(isXError(none) && none.hint).toBe('Every database protocol (protocol "redis") needs exactly one engine, registered in src/service/engines.ts.');

    const registry = new EngineRegistry();
    registry.register('redis', engine());
    registry.register('memcached', engine());
    expect(() => registry.check(['redis', 'postgres', 'mysql'])).toThrow(
      'the database engine registry is inconsistent: no engine for protocols "postgres", "mysql"; an engine for protocol "memcached", which no database can name',
    );
  });
});
