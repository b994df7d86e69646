/**
 * db/engine: the protocol engine contract and its registry (Teleport's common.Engine): one
 * engine per protocol serves authenticated client connections. The service registers engines
 * in one place; the agent looks them up by the database's protocol.
 */
import type { Duplex } from 'node:stream';
import { notFound } from '../errors.js';
import type { Session } from './session.js';

/** Engine serves one protocol. */
export interface Engine {
  /** handle serves one client connection for its whole life; it resolves when the session ends. */
  handle(client: Duplex, session: Session, signal: AbortSignal): Promise<void>;
  /** sendError writes an error in the protocol's own format (RESP: `-ERR xport: <msg>`) and ends the client. */
  sendError(client: Duplex, err: unknown): void;
}

/** EngineRegistry maps protocol names to engines. */
export class EngineRegistry {
  private readonly engines = new Map<string, Engine>();

  /** register adds an engine for a protocol. */
  register(protocol: string, engine: Engine): void {
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
}
