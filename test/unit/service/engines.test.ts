/**
 * The service's engine wiring: the registry `xctl start` builds has an engine for every protocol a
 * database can name, and building it fails (so start fails) when one is missing.
 */
import { describe, expect, it } from 'vitest';
import { CredentialRegistry } from '../../../src/db/credentials.js';
import { DATABASE_PROTOCOLS } from '../../../src/db/database.js';
import { isXError } from '../../../src/errors.js';
import { RedisEngine } from '../../../src/redis/engine.js';
import { createEngines } from '../../../src/service/engines.js';
import { nullLogger } from '../../../src/util/log.js';

const deps = { credentials: new CredentialRegistry(), log: nullLogger, redactValues: true };

describe('createEngines', () => {
  it('registers one engine for every database protocol and passes the start-up check', () => {
    const registry = createEngines(deps);
    expect([...registry.protocols()].sort()).toEqual([...DATABASE_PROTOCOLS].sort());
    expect(registry.get('redis')).toBeInstanceOf(RedisEngine);
  });

  it('refuses to build a registry that lacks an engine for a protocol databases can name', () => {
    let err: unknown;
    try {
      createEngines(deps, [...DATABASE_PROTOCOLS, 'postgres']);
    } catch (e) {
      err = e;
    }
    expect(isXError(err) && err.kind).toBe('internal');
    expect((err as Error).message).toBe('the database engine registry is inconsistent: no engine for protocol "postgres"');
  });

  it('refuses to build a registry with an engine no database can name', () => {
    expect(() => createEngines(deps, [])).toThrow('an engine for protocol "redis", which no database can name');
  });
});
