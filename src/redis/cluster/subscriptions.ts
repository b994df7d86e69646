/**
 * redis/cluster/subscriptions: pub/sub for a cluster session. SUBSCRIBE and PSUBSCRIBE use one
 * dedicated subscriber connection (the cluster bus carries PUBLISH to every node); SSUBSCRIBE
 * uses a subscriber connection to the shard serving the channel's slot (following MOVED there).
 * Every confirmation, and any message arriving meanwhile, makes one reply entry, so replies stay
 * in order; shard-channel counts are rewritten to the session's total over all shard
 * connections, which is what one Redis would report. A lost subscriber connection ends the
 * session (the client must resubscribe).
 */
import type { ResolvedCommand } from '../commands.js';
import { PubSubState } from '../pubsub.js';
import { error as errorReply, push, type ReplyFrame, type Request } from '../resp/index.js';
import { decodeValue, frameHead, valueText } from '../resp/value.js';
import type { NodeLink } from './node-link.js';
import { parseClusterError } from './redirect.js';
import type { ClusterRelayContext } from './relay-context.js';
import { DEFAULT_NODE, MAX_REDIRECTS } from './router.js';
import { commonSlot, CROSS_SLOT, NO_KEYS } from './slots.js';

/** Subscriber connection state. */
interface Subscriber {
  link: NodeLink;
  state: PubSubState;
}

const noop = (): void => {};

/** ClusterSubscriptions are one session's subscriber connections. */
export class ClusterSubscriptions {
  readonly #subs = new Map<string, Subscriber>();
  #globalSub: string | undefined;

  constructor(readonly ctx: ClusterRelayContext) {}

  /** subscribed tells whether any subscriber connection holds a subscription (RESP2: pub/sub mode). */
  get subscribed(): boolean {
    if (this.#subs.size === 0) return false;
    for (const s of this.#subs.values()) if (s.state.subscribed) return true;
    return false;
  }

  #shardCount(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.state.counts.shardChannels;
    return n;
  }

  /** handle serves a (P|S)(UN)SUBSCRIBE. */
  handle(req: Request, cmd: ResolvedCommand, keys: readonly number[]): boolean {
    const ctx = this.ctx;
    const name = cmd.name;
    const argCount = req.args.length - 1;
    if (name === 'ssubscribe' || name === 'sunsubscribe') {
      const slot = commonSlot(req.args, keys);
      if (slot === CROSS_SLOT) {
        ctx.crossSlot(req, cmd, keys);
        return true;
      }
      ctx.audit(req, name, keys, false, true);
      if (slot !== NO_KEYS) {
        this.#request(req.raw, name, argCount, [ctx.router.addressForSlot(slot)], slot);
        return true;
      }
      if (name === 'ssubscribe') {
        ctx.forward(req.raw, DEFAULT_NODE); // Redis answers the arity error
        return true;
      }
      // SUNSUBSCRIBE with no channels: every shard connection holding some.
      const holders = [...this.#subs.entries()].filter(([, s]) => s.state.counts.shardChannels > 0).map(([a]) => a);
      this.#request(req.raw, name, 0, holders.length > 0 ? holders : [this.#globalAddress()], undefined);
      return true;
    }
    ctx.audit(req, name, keys, false, true);
    this.#request(req.raw, name, argCount, [this.#globalAddress()], undefined);
    return true;
  }

  /** closeAll closes every subscriber connection (RESET, the end of the session). */
  closeAll(): void {
    for (const s of this.#subs.values()) s.link.close();
    this.#subs.clear();
    this.#globalSub = undefined;
  }

  #globalAddress(): string {
    this.#globalSub ??= this.ctx.router.defaultAddress();
    return this.#globalSub;
  }

  #subscriber(address: string): Subscriber {
    let s = this.#subs.get(address);
    if (s === undefined || s.link.state === 'closed') {
      const link = this.ctx.router.openLink(address, {
        onOutOfBand: (frame, l) => this.#outOfBand(frame, l),
        onClose: (l) => this.#closed(l),
      });
      s = { link, state: new PubSubState() };
      this.#subs.set(address, s);
    }
    return s;
  }

  /**
   * request sends a (P|S)(UN)SUBSCRIBE to subscriber connections and collects every
   * confirmation (and any message in between) into one reply entry. A MOVED answer to a
   * sharded command is followed to the slot's new owner.
   */
  #request(raw: Buffer, name: string, argCount: number, addresses: string[], slot: number | undefined): void {
    const ctx = this.ctx;
    const entry = ctx.replies.entry();
    ctx.replies.subEntry = entry;
    // Confirmations and any message arriving meanwhile share one list, in arrival order.
    const parts: Buffer[] = [];
    entry.out = parts;
    let left = addresses.length;
    // The next command waits for the confirmations, as a single Redis would have run this first:
    // in RESP2, whether the connection is subscribed decides how it is answered; for sharded
    // channels, the counts are totals over several shard connections and must be taken in order.
    const hold = !ctx.resp3 || name === 'ssubscribe' || name === 'sunsubscribe';
    if (hold) ctx.hold();
    const finishOne = () => {
      if (--left > 0) return;
      entry.done = true;
      if (hold) ctx.release();
    };
    const sendTo = (address: string, redirects: number) => {
      const sub = this.#subscriber(address);
      const handler = sub.state.handler(name, argCount, noop);
      let first = true;
      ctx.router.send(sub.link, raw, {
        onFrame: (frame) => {
          if (first && frame.isError && slot !== undefined) {
            const ce = parseClusterError(frame.raw);
            if (ce !== undefined && 'slot' in ce) {
              first = false;
              if (ce.kind === 'moved' && redirects < MAX_REDIRECTS && ctx.router.topology?.knows(`${ce.host}:${ce.port}`) === true) {
                sendTo(`${ce.host}:${ce.port}`, redirects + 1);
                void ctx.router.refresh();
              } else {
                parts.push(errorReply(`ERR xport: slot ${ce.slot} is moving; retry the subscription`));
                finishOne();
              }
              return true;
            }
          }
          first = false;
          const got: Buffer[] = [];
          const complete = handler(frame, (b) => got.push(b));
          for (const b of got) parts.push(this.#shardCountFixed(b, name));
          if (complete) finishOne();
          return complete;
        },
        onFail: (err) => {
          parts.push(errorReply(`ERR xport: ${err.message}`));
          finishOne();
          ctx.kick();
        },
      });
    };
    for (const a of addresses) sendTo(a, 0);
  }

  /**
   * shardCountFixed rewrites the count of an SSUBSCRIBE/SUNSUBSCRIBE confirmation to the
   * session's total over all shard connections, which is what one Redis would report.
   */
  #shardCountFixed(b: Buffer, name: string): Buffer {
    if (name !== 'ssubscribe' && name !== 'sunsubscribe') return b;
    const v = decodeValue(b);
    if (!Array.isArray(v) || v.length !== 3 || typeof v[2] !== 'number') return b;
    const kind = valueText(v[0]);
    if (kind !== 'ssubscribe' && kind !== 'sunsubscribe') return b;
    const total = this.#shardCount();
    if (v[2] === total) return b;
    const channel = Buffer.isBuffer(v[1]) ? v[1] : null;
    return push([kind, channel, total], b[0] === 0x3e);
  }

  /** outOfBand forwards a message (or a server-initiated unsubscribe) from a subscriber connection. */
  #outOfBand(frame: ReplyFrame, link: NodeLink): void {
    const head = frameHead(frame.raw);
    const kind = valueText(head?.first)?.toLowerCase();
    let bytes = frame.raw;
    if (kind === 'sunsubscribe') {
      // The slot moved away and the node dropped the subscription: keep the counts right.
      const sub = this.#subs.get(link.address);
      sub?.state.handler('sunsubscribe', 1, noop)(frame, noop);
      bytes = this.#shardCountFixed(bytes, 'sunsubscribe');
    }
    this.ctx.replies.outOfBand(bytes);
  }

  #closed(link: NodeLink): void {
    const sub = this.#subs.get(link.address);
    if (sub?.link !== link) return;
    this.#subs.delete(link.address);
    if (this.#globalSub === link.address) this.#globalSub = undefined;
    const ctx = this.ctx;
    if (sub.state.subscribed && !ctx.finished && !ctx.closing) {
      // The subscriptions are gone with the connection: end the session so the client resubscribes.
      ctx.closeWith('ERR xport: the connection to the database was lost', 'subscriber connection to a cluster node lost; closing the session');
    }
  }
}
