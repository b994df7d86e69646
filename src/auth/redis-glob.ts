/**
 * auth/redis-glob: Redis's own glob (`stringmatchlen` in util.c), so that a key pattern in a role
 * (`redis_keys: ['app:*']`) matches in xport exactly the keys Redis's ACL `~app:*` matches: `*`,
 * `?`, `[abc]`, `[^a-z]`, `[a-z]` and `\x` escapes, byte for byte (keys are binary).
 * Pure; imports nothing.
 */

/**
 * redisGlobMatch tells whether str matches pattern as Redis's stringmatchlen does
 * (case-sensitive). Recursion is bounded by the number of `*` in the pattern, which roles bound.
 */
export function redisGlobMatch(pattern: Buffer, str: Buffer): boolean {
  return match(pattern, 0, str, 0, 0);
}

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const CARET = 0x5e; // ^
const BACKSLASH = 0x5c;
const DASH = 0x2d;

function match(p: Buffer, pi: number, s: Buffer, si: number, depth: number): boolean {
  // Redis gives up past a nesting limit (it counts as no match); so do we.
  if (depth > 1000) return false;
  while (pi < p.length && si < s.length) {
    const c = p[pi]!;
    switch (c) {
      case STAR: {
        while (pi + 1 < p.length && p[pi + 1] === STAR) pi++;
        if (pi + 1 === p.length) return true;
        for (let k = si; k < s.length; k++) if (match(p, pi + 1, s, k, depth + 1)) return true;
        return false;
      }
      case QUESTION:
        si++;
        pi++;
        continue;
      case OPEN: {
        pi++;
        const not = p[pi] === CARET;
        if (not) pi++;
        let matched = false;
        for (;;) {
          if (pi >= p.length) {
            pi--; // Redis: an unterminated class ends at the pattern's end
            break;
          }
          const q = p[pi]!;
          if (q === BACKSLASH && pi + 2 <= p.length - 1) {
            pi++;
            if (p[pi] === s[si]) matched = true;
          } else if (q === CLOSE) {
            break;
          } else if (pi + 2 < p.length && p[pi + 1] === DASH) {
            let start = q;
            let end = p[pi + 2]!;
            if (start > end) [start, end] = [end, start];
            pi += 2;
            const ch = s[si]!;
            if (ch >= start && ch <= end) matched = true;
          } else if (q === s[si]) {
            matched = true;
          }
          pi++;
        }
        if (not) matched = !matched;
        if (!matched) return false;
        si++;
        pi++;
        continue;
      }
      default:
        // A backslash escapes the next byte, which is then a literal.
        if (c === BACKSLASH && pi + 1 < p.length) pi++;
        if (p[pi] !== s[si]) return false;
        si++;
        pi++;
    }
  }
  // The string is used up: what is left of the pattern must be only stars.
  if (si === s.length) {
    while (pi < p.length && p[pi] === STAR) pi++;
  }
  return pi === p.length && si === s.length;
}
