/**
 * redis/cluster/relay-context: what the parts of a cluster session relay (transactions,
 * pub/sub, fan-out) may ask of the relay that owns them. One object per session, made by the
 * relay; nothing here is allocated per command.
 */
import type { SessionAuditEvent } from '../../db/session.js';
import type { ResolvedCommand } from '../commands.js';
import type { Request } from '../resp/index.js';
import type { ReplyQueue } from './reply-queue.js';
import type { ClusterRouter, Target } from './router.js';

/** ClusterRelayContext is the relay as its parts see it. */
export interface ClusterRelayContext {
  readonly router: ClusterRouter;
  readonly replies: ReplyQueue;
  readonly redactValues: boolean;
  /** The client negotiated RESP3. */
  readonly resp3: boolean;
  /** The session has ended (no more work may start). */
  readonly finished: boolean;
  /** The session is closing (no more requests are read). */
  readonly closing: boolean;
  /** audit emits the query event of a request. */
  audit(req: Request, name: string, keys: readonly number[], subcommand: boolean, success: boolean, error?: string): void;
  /** emitAudit emits a prepared event. */
  emitAudit(ev: SessionAuditEvent): void;
  /** denied answers `-ERR xport: <problem>` in the request's place and counts the denial (the caller audits). */
  denied(problem: string): void;
  /** reject answers `-ERR xport: <message>` in the request's place, audits and counts the denial. */
  reject(req: Request, cmd: ResolvedCommand, keys: readonly number[], message: string): void;
  /** crossSlot answers Redis's CROSSSLOT error in the request's place and audits it. */
  crossSlot(req: Request, cmd: ResolvedCommand, keys: readonly number[]): void;
  /** forward sends a request to its slot's master (or an address, or the default node) and owes its reply. */
  forward(raw: Buffer, target: Target): void;
  /** forwardTx is forward without retries (a retried EXEC would meet a discarded transaction). */
  forwardTx(raw: Buffer, address: string): void;
  /** hold makes the next requests wait (a barrier) until release. */
  hold(): void;
  release(): void;
  /** kick writes what is ready after work completed outside an I/O callback. */
  kick(): void;
  /** closeWith answers a final error after the replies in flight, then ends the session. */
  closeWith(reply: string | Buffer, logMessage: string, err?: unknown): void;
}
