/**
 * redis/cluster/transaction: MULTI/EXEC, DISCARD, WATCH and UNWATCH for a cluster session. A
 * transaction runs on the master of its slot: MULTI is answered at once; the node is chosen by
 * the first keyed command or WATCH, and MULTI plus the commands queued before it (answered
 * `+QUEUED` locally) go there then. Every keyed command of the transaction must hash to that
 * slot (else CROSSSLOT, as Redis answers); commands the agent cannot queue on one node (fan-out,
 * SCAN, pub/sub…) are refused. A denied command makes EXEC answer EXECABORT and the node's
 * transaction is discarded, as Redis does when a queued command fails.
 */
import { EXECABORT_TEXT, execAbortEvent } from '../audit-event.js';
import type { ResolvedCommand } from '../commands.js';
import { displayName } from '../display.js';
import { command, error as errorReply, OK, type Request } from '../resp/index.js';
import type { ClusterRelayContext } from './relay-context.js';
import type { ClusterCommandRule } from './rules.js';
import { commonSlot, CROSS_SLOT, NO_KEYS } from './slots.js';
import { DEFAULT_NODE } from './router.js';

const QUEUED = Buffer.from('+QUEUED\r\n');
const MULTI = command(['MULTI']);
const DISCARD = command(['DISCARD']);
const UNWATCH = command(['UNWATCH']);
const EXECABORT = errorReply(EXECABORT_TEXT);
const NO_KEY_POSITIONS: readonly number[] = Object.freeze([]);
const ignore = (): void => {};

/** Handlings that cannot be queued inside MULTI on one node. */
const NOT_IN_MULTI: ReadonlySet<string> = new Set(['fan-out', 'scan', 'random-master', 'every-connection', 'pubsub', 'slot-argument']);

/** ClusterTransaction is one session's transaction state. */
export class ClusterTransaction {
  #inMulti = false;
  #dirty = false;
  #slot: number | undefined;
  #address: string | undefined;
  #multiSent = false;
  #watched = false;
  #buffered: Buffer[] = [];

  constructor(readonly ctx: ClusterRelayContext) {}

  /** inMulti tells whether the client is inside MULTI. */
  get inMulti(): boolean {
    return this.#inMulti;
  }

  /** failed marks the transaction as doomed (a command inside it was refused): EXEC will abort. */
  failed(): void {
    if (this.#inMulti) this.#dirty = true;
  }

  /** handle serves MULTI, EXEC, DISCARD, WATCH, UNWATCH, or any command inside MULTI. */
  handle(req: Request, cmd: ResolvedCommand, keys: readonly number[], rule: ClusterCommandRule | undefined): boolean {
    const ctx = this.ctx;
    const name = cmd.name;
    switch (name) {
      case 'multi':
        ctx.audit(req, name, keys, false, true);
        if (this.#inMulti) {
          ctx.replies.local(errorReply('ERR MULTI calls can not be nested'));
          return true;
        }
        this.#inMulti = true;
        this.#dirty = false;
        ctx.replies.local(OK);
        return true;
      case 'exec':
        return this.#exec(req, cmd);
      case 'discard':
        ctx.audit(req, name, keys, false, true);
        if (!this.#inMulti) {
          ctx.replies.local(errorReply('ERR DISCARD without MULTI'));
          return true;
        }
        if (this.#multiSent) ctx.forwardTx(req.raw, this.#address!);
        else {
          if (this.#watched) ctx.router.call(UNWATCH, this.#address!, ignore, { retry: false });
          ctx.replies.local(OK);
        }
        this.reset();
        return true;
      case 'watch':
        if (this.#inMulti) {
          ctx.audit(req, name, keys, false, true);
          ctx.replies.local(errorReply('ERR WATCH inside MULTI is not allowed'));
          return true;
        }
        return this.#watch(req, cmd, keys);
      case 'unwatch':
        ctx.audit(req, name, keys, false, true);
        if (this.#inMulti) {
          this.queue(req.raw);
          return true;
        }
        if (this.#watched) ctx.forwardTx(req.raw, this.#address!);
        else ctx.replies.local(OK);
        this.reset();
        return true;
    }
    // A command inside MULTI.
    if (rule !== undefined && (NOT_IN_MULTI.has(rule.handling) || (rule.handling === 'local' && name !== 'ping' && name !== 'echo'))) {
      ctx.reject(req, cmd, keys, `${displayName(name)} is not supported inside MULTI in cluster mode`);
      return true;
    }
    const slot = commonSlot(req.args, keys);
    if (slot === CROSS_SLOT || (slot !== NO_KEYS && this.#slot !== undefined && slot !== this.#slot)) {
      ctx.crossSlot(req, cmd, keys);
      return true;
    }
    ctx.audit(req, name, keys, cmd.subcommand, true);
    if (slot !== NO_KEYS && this.#slot === undefined) {
      this.#slot = slot;
      this.#address = ctx.router.addressForSlot(slot);
    }
    this.queue(req.raw);
    return true;
  }

  #watch(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const ctx = this.ctx;
    const slot = commonSlot(req.args, keys);
    if (slot === CROSS_SLOT || (slot !== NO_KEYS && this.#slot !== undefined && slot !== this.#slot)) {
      ctx.crossSlot(req, cmd, keys);
      return true;
    }
    ctx.audit(req, cmd.name, keys, false, true);
    if (slot === NO_KEYS) {
      ctx.forward(req.raw, DEFAULT_NODE); // Redis answers the arity error
      return true;
    }
    this.#slot = slot;
    this.#address = ctx.router.addressForSlot(slot);
    this.#watched = true;
    ctx.forwardTx(req.raw, this.#address);
    return true;
  }

  /** queue queues a command inside MULTI: on the transaction's node once known, else locally. */
  queue(raw: Buffer): void {
    const addr = this.#address;
    if (addr === undefined) {
      this.#buffered.push(Buffer.from(raw));
      this.ctx.replies.local(QUEUED);
      return;
    }
    this.#begin(addr);
    this.ctx.forwardTx(raw, addr);
  }

  /** begin sends MULTI and the commands queued before the node was known (their +QUEUED were answered locally). */
  #begin(addr: string): void {
    if (this.#multiSent) return;
    this.#multiSent = true;
    const router = this.ctx.router;
    router.call(MULTI, addr, ignore, { retry: false });
    // A queue-time error makes Redis abort the EXEC, which is what the client then sees.
    for (const b of this.#buffered) router.call(b, addr, ignore, { retry: false });
    this.#buffered = [];
  }

  #exec(req: Request, cmd: ResolvedCommand): boolean {
    const ctx = this.ctx;
    if (!this.#inMulti) {
      ctx.audit(req, cmd.name, NO_KEY_POSITIONS, false, true);
      ctx.replies.local(errorReply('ERR EXEC without MULTI'));
      return true;
    }
    if (this.#dirty) {
      ctx.emitAudit(execAbortEvent(req.args, cmd.name, ctx.redactValues));
      if (this.#multiSent) ctx.router.call(DISCARD, this.#address!, ignore, { retry: false });
      else if (this.#watched) ctx.router.call(UNWATCH, this.#address!, ignore, { retry: false });
      ctx.replies.local(EXECABORT);
      this.reset();
      return true;
    }
    ctx.audit(req, cmd.name, NO_KEY_POSITIONS, false, true);
    const addr = this.#address ?? ctx.router.defaultAddress();
    this.#begin(addr);
    ctx.forwardTx(req.raw, addr);
    this.reset();
    return true;
  }

  /** reset forgets the transaction (after EXEC, DISCARD, UNWATCH, RESET). */
  reset(): void {
    this.#inMulti = this.#dirty = this.#multiSent = this.#watched = false;
    this.#slot = this.#address = undefined;
    this.#buffered = [];
  }
}
