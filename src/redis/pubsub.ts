/**
 * redis/pubsub: what the engine must know about a connection's subscriptions to keep replies in
 * order — which frames of a (P|S)(UN)SUBSCRIBE belong to it, and, on RESP2, which frames are
 * messages that answer no request.
 *
 * Redis answers `SUBSCRIBE a b` with one confirmation per channel (`[subscribe, a, 1]`,
 * `[subscribe, b, 2]`), as arrays in RESP2 and push frames in RESP3; an UNSUBSCRIBE without
 * arguments confirms each channel it drops (at least one frame). The count in a confirmation
 * is channels + patterns for SUBSCRIBE/PSUBSCRIBE and their inverses, and shard channels for
 * SSUBSCRIBE/SUNSUBSCRIBE; from those counts this module keeps the three numbers, so it knows
 * how many confirmations an argument-less unsubscribe will send and when a RESP2 connection
 * leaves the subscribed state. Checked against Redis 7.0. Pure; imports redis/resp only.
 */
import type { FrameHandler } from './reply-orderer.js';
import type { ReplyFrame } from './resp/index.js';
import { decodeValue, frameHead, valueText } from './resp/value.js';

/** PUBSUB_COMMANDS are the commands whose replies are subscription confirmations. */
export const PUBSUB_COMMANDS: ReadonlySet<string> = new Set([
  'subscribe',
  'unsubscribe',
  'psubscribe',
  'punsubscribe',
  'ssubscribe',
  'sunsubscribe',
]);

const MESSAGE_KINDS: ReadonlySet<string> = new Set(['message', 'pmessage', 'smessage']);

/** frameKind returns the lower-case first element of an array or push frame, if it is a string. */
function frameKind(frame: ReplyFrame): string | undefined {
  if (frame.type !== '*' && frame.type !== '>') return undefined;
  // Attributes would precede the type byte; Redis sends none on pub/sub frames.
  const head = frameHead(frame.raw);
  const text = valueText(head?.first);
  return text === undefined || text.length > 12 ? undefined : text.toLowerCase();
}

/** PubSubState tracks one connection's subscription counts from the confirmations it forwards. */
export class PubSubState {
  #channels = 0;
  #patterns = 0;
  #shardChannels = 0;

  /** subscribed tells whether the connection holds any subscription (RESP2: it is in pub/sub mode). */
  get subscribed(): boolean {
    return this.#channels + this.#patterns + this.#shardChannels > 0;
  }

  /** counts returns the current channel, pattern and shard-channel counts. */
  get counts(): { channels: number; patterns: number; shardChannels: number } {
    return { channels: this.#channels, patterns: this.#patterns, shardChannels: this.#shardChannels };
  }

  /** reset forgets every subscription (after RESET). */
  reset(): void {
    this.#channels = this.#patterns = this.#shardChannels = 0;
  }

  /** isMessage tells whether a RESP2 frame is a published message (`message`, `pmessage`, `smessage`). */
  isMessage(frame: ReplyFrame): boolean {
    const kind = frameKind(frame);
    return kind !== undefined && MESSAGE_KINDS.has(kind);
  }

  /**
   * handler returns the frame handler for one (P|S)(UN)SUBSCRIBE command sent with argCount
   * channels or patterns. It forwards every frame unchanged and completes after the last
   * confirmation, or after a first reply that is not one (an error such as NOPERM).
   * onChange is called whenever the subscription counts change.
   */
  handler(command: string, argCount: number, onChange: () => void): FrameHandler {
    let left = -1;
    return (frame, emit) => {
      emit(frame.raw);
      const kind = frameKind(frame);
      if (kind === command) {
        if (left < 0) left = argCount > 0 ? argCount : Math.max(1, this.#countFor(command));
        this.#apply(command, frame);
        onChange();
        return --left <= 0;
      }
      if (frame.push || (kind !== undefined && MESSAGE_KINDS.has(kind))) return false;
      return true;
    };
  }

  #countFor(command: string): number {
    if (command === 'unsubscribe') return this.#channels;
    if (command === 'punsubscribe') return this.#patterns;
    return this.#shardChannels;
  }

  #apply(command: string, frame: ReplyFrame): void {
    const v = decodeValue(frame.raw);
    const count = Array.isArray(v) && typeof v[2] === 'number' ? v[2] : undefined;
    if (count === undefined) return;
    if (command === 'ssubscribe' || command === 'sunsubscribe') {
      this.#shardChannels = count;
      return;
    }
    const delta = count - (this.#channels + this.#patterns);
    if (command === 'subscribe' || command === 'unsubscribe') this.#channels = Math.max(0, this.#channels + delta);
    else this.#patterns = Math.max(0, this.#patterns + delta);
  }
}
