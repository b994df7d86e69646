/**
 * service/engines: the one place protocol engines are registered (Teleport's engine registry).
 * Adding a protocol means adding an engine here and nothing else in the service.
 */
import { EngineRegistry } from '../db/engine.js';
import type { CredentialProvider } from '../db/credentials.js';
import { DATABASE_PROTOCOLS } from '../db/database.js';
import type { Logger } from '../util/log.js';
import { RedisEngine, type RedisEngineLimits } from '../redis/engine.js';

/**
 * createEngines builds the registry for an agent and checks it against the protocols databases
 * can name, so `xctl start` refuses to run with an engine missing or registered twice.
 * `protocols` is that list ({@link DATABASE_PROTOCOLS}); tests pass another to see the check fail.
 */
export function createEngines(
  deps: { credentials: CredentialProvider; log: Logger; redactValues: boolean; limits?: RedisEngineLimits; connectTimeoutMs?: number },
  protocols: readonly string[] = DATABASE_PROTOCOLS,
): EngineRegistry {
  const registry = new EngineRegistry();
  registry.register(
    'redis',
    new RedisEngine({
      credentials: deps.credentials,
      log: deps.log.child('redis'),
      redactValues: deps.redactValues,
      ...(deps.limits ? { limits: deps.limits } : {}),
      ...(deps.connectTimeoutMs ? { connectTimeoutMs: deps.connectTimeoutMs } : {}),
    }),
  );
  registry.check(protocols);
  return registry;
}

/** PROTOCOL_ERROR_WRITERS write a proxy-side error in each protocol's format (before any agent is involved). */
export function respError(message: string): string {
  return `-ERR xport: ${message.replace(/[\r\n]+/g, ' ')}\r\n`;
}
