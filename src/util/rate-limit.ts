/**
 * rate-limit: fixed-window limits per source with a global ceiling, for things a stranger can
 * trigger at will (denial audit events, log lines). No domain knowledge.
 */

/** SourceLimiterOptions tune a {@link SourceLimiter}. */
export interface SourceLimiterOptions {
  /** Most events per source per window. */
  perSource: number;
  /** Most events over all sources per window (many addresses must not add up to a flood). */
  global: number;
  windowMs: number;
  /** Most sources tracked at once; past it, new sources share the global budget only. Default 10,000. */
  maxSources?: number;
  now?: () => number;
}

/** Verdict says whether to let an event through and how many were dropped before it. */
export interface Verdict {
  allowed: boolean;
  /** Events from this source dropped since the last one allowed (report it with the next). */
  suppressed: number;
}

interface Window {
  start: number;
  count: number;
  suppressed: number;
}

/**
 * SourceLimiter lets through at most `perSource` events per source and `global` in total per
 * window. Memory is bounded by `maxSources`.
 */
export class SourceLimiter {
  private readonly sources = new Map<string, Window>();
  private readonly all: Window = { start: 0, count: 0, suppressed: 0 };
  private readonly maxSources: number;
  private readonly now: () => number;

  constructor(private readonly opts: SourceLimiterOptions) {
    this.maxSources = opts.maxSources ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** take counts one event from source and says whether it may pass. */
  take(source: string): Verdict {
    const now = this.now();
    if (now - this.all.start >= this.opts.windowMs) {
      this.all.start = now;
      this.all.count = 0;
    }
    let w = this.sources.get(source);
    if (!w) {
      if (this.sources.size >= this.maxSources) this.prune(now);
      w = { start: now, count: 0, suppressed: 0 };
      if (this.sources.size < this.maxSources) this.sources.set(source, w);
    } else if (now - w.start >= this.opts.windowMs) {
      w.start = now;
      w.count = 0;
    }
    if (w.count >= this.opts.perSource || this.all.count >= this.opts.global) {
      w.suppressed++;
      return { allowed: false, suppressed: w.suppressed };
    }
    w.count++;
    this.all.count++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    return { allowed: true, suppressed };
  }

  private prune(now: number): void {
    for (const [k, w] of this.sources) if (now - w.start >= this.opts.windowMs) this.sources.delete(k);
  }
}
