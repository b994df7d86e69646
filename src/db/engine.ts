/**
 * db/engine: the protocol engine contract and its registry (Teleport's common.Engine): one
 * engine per protocol serves authenticated client connections. The service registers engines
 * in one place; the agent looks them up by the database's protocol.
 */
import type { Duplex } from 'node:stream';
import { internal, notFound } from '../errors.js';
import type { Session } from './session.js';

/** Engine serves one protocol. */
export interface Engine {
  /** handle serves one client connection for its whole life; it resolves when the session ends. */
  handle(client: Duplex, session: Session, signal: AbortSignal): Promise<void>;
  /** sendError writes an error in the protocol's own format (RESP: `-ERR xport: <msg>`) and ends the client. */
  sendError(client: Duplex, err: unknown): void;
}

/**
 * EngineRegistry maps protocol names to engines, exactly one engine per protocol. Registering a
 * protocol twice is refused (the second engine would silently replace the first, and sessions
 * would be served by whichever registration ran last), and {@link EngineRegistry.check} lets the
 * service refuse to start with a registry that does not match the protocols databases can name.
 */
export class EngineRegistry {
  private readonly engines = new Map<string, Engine>();

  /**
   * register adds the engine for a protocol. It throws an internal error (a bug in the build,
   * not in the user's config) when the name is not a lower-case protocol name or the protocol
   * already has an engine.
   */
  register(protocol: string, engine: Engine): void {
    if (!PROTOCOL_NAME.test(protocol)) {
      throw internal(`cannot register a database engine under ${JSON.stringify(protocol)}: a protocol name is lower-case letters, digits and dashes`);
    }
    if (this.engines.has(protocol)) {
      throw internal(`a database engine for protocol "${protocol}" is already registered; each protocol has exactly one engine`, {
        hint: 'Register each engine once, in src/service/engines.ts.',
      });
    }
    this.engines.set(protocol, engine);
  }

  /** get returns the engine for a protocol or throws not-found. */
  get(protocol: string): Engine {
    const e = this.engines.get(protocol);
    if (!e) throw notFound(`no engine for protocol "${protocol}"`);
    return e;
  }

  /** protocols lists the registered protocols. */
  protocols(): string[] {
    return [...this.engines.keys()];
  }

  /**
   * check throws an internal error naming every protocol in `expected` that has no engine and
   * every registered engine whose protocol is not in `expected` (no database could ever reach
   * it). The service calls it once at start, like Teleport's CheckEngines, so a broken build
   * fails `xctl start` instead of the first session of an affected database.
   */
  check(expected: readonly string[]): void {
    const missing = expected.filter((p) => !this.engines.has(p));
    const unused = this.protocols().filter((p) => !expected.includes(p));
    if (missing.length === 0 && unused.length === 0) return;
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`no engine for ${quoteList(missing)}`);
    if (unused.length > 0) problems.push(`an engine for ${quoteList(unused)}, which no database can name`);
    throw internal(`the database engine registry is inconsistent: ${problems.join('; ')}`, {
      hint: `Every database protocol (${quoteList(expected)}) needs exactly one engine, registered in src/service/engines.ts.`,
    });
  }
}

const PROTOCOL_NAME = /^[a-z][a-z0-9-]{0,31}$/;

function quoteList(protocols: readonly string[]): string {
  const quoted = protocols.map((p) => `"${p}"`).join(', ');
  return protocols.length === 1 ? `protocol ${quoted}` : `protocols ${quoted}`;
}
