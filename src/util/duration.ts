/**
 * duration: parse and format the durations users type (`--ttl 12h`, `max_session_ttl: 30m`).
 */
import { badParameter } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * parseDuration turns `90s`, `30m`, `12h`, `1h30m` or `2d` into milliseconds. A bare number is
 * read in `bareUnit` (tsh reads `--ttl 60` as minutes). Throws bad-parameter naming `what`.
 */
export function parseDuration(input: string, what = 'duration', bareUnit: 'm' | 's' | 'h' = 'm'): number {
  const s = input.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= 0) throw badParameter(`${what} must be positive, got "${input}"`);
    return n * UNIT_MS[bareUnit]!;
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (s.length === 0 || consumed !== s.length) {
    throw badParameter(`invalid ${what} "${input}"`, {
      hint: 'Use a number of minutes or a duration such as 30m, 12h or 1h30m.',
    });
  }
  if (total <= 0) throw badParameter(`${what} must be positive, got "${input}"`);
  return Math.round(total);
}

/** formatDuration renders ms as Go-style `11h59m0s` (what tsh prints), or `0s`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** humanDuration renders ms in words for messages: `1 hour`, `30 minutes`, `8 hours`. */
export function humanDuration(ms: number): string {
  const mins = Math.round(ms / 60_000);
  if (mins % 60 === 0 && mins >= 60) {
    const h = mins / 60;
    return `${h} hour${h === 1 ? '' : 's'}`;
  }
  return `${mins} minute${mins === 1 ? '' : 's'}`;
}
