/**
 * resp/inline: splitting an inline command line (`SET "a b" c`) into arguments the way Redis's
 * `sdssplitargs` does, so the agent sees exactly the arguments Redis will execute.
 */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** isSpace matches C's isspace() in the C locale. */
function isSpace(b: number): boolean {
  return b === SPACE || (b >= TAB && b <= CR);
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** The byte a backslash escape inside double quotes stands for (`\n`, `\t`…), else the byte itself. */
function unescape(b: number): number {
  switch (b) {
    case 0x6e: return LF; // n
    case 0x72: return CR; // r
    case 0x74: return TAB; // t
    case 0x62: return 0x08; // b
    case 0x61: return 0x07; // a
    default: return b;
  }
}

/**
 * splitInlineArgs splits line[start, end) into arguments, or returns null when quotes are
 * unbalanced (or a closing quote is glued to the next word), which Redis reports as
 * `Protocol error: unbalanced quotes in request`.
 *
 * Rules, as in Redis: words are separated by whitespace; inside double quotes `\xHH`, `\n`, `\r`,
 * `\t`, `\b`, `\a` and `\<any>` are escapes; inside single quotes only `\'` is; a quote may start in
 * the middle of a word (`a"b c"` is one word `ab c`); a NUL byte ends the line, as it ends the C
 * string Redis parses. Arguments without escapes are views of `line`; the others are new buffers.
 */
export function splitInlineArgs(line: Buffer, start = 0, end = line.length): Buffer[] | null {
  const args: Buffer[] = [];
  let p = start;
  // `at(k)` is the byte at k, or 0 past the end: the C code reads the terminating NUL there.
  const at = (k: number): number => (k < end ? line[k]! : 0);
  for (;;) {
    while (p < end && isSpace(line[p]!)) p++;
    if (at(p) === 0) return args;
    // Fast path: a plain word (no quotes) is a view of the line.
    const wordStart = p;
    let plain = true;
    while (p < end) {
      const b = line[p]!;
      if (b === SPACE || b === LF || b === CR || b === TAB || b === 0) break;
      if (b === DQUOTE || b === SQUOTE) {
        plain = false;
        break;
      }
      p++;
    }
    if (plain) {
      args.push(line.subarray(wordStart, p));
      continue;
    }
    // Slow path: the word has quotes; build it byte by byte from its start.
    const bytes: number[] = [];
    for (let k = wordStart; k < p; k++) bytes.push(line[k]!);
    let inDouble = false;
    let inSingle = false;
    for (;;) {
      const b = at(p);
      if (inDouble) {
        if (b === 0) return null;
        if (b === BACKSLASH && at(p + 1) === 0x78 && hexValue(at(p + 2)) >= 0 && hexValue(at(p + 3)) >= 0) {
          bytes.push(hexValue(at(p + 2)) * 16 + hexValue(at(p + 3)));
          p += 4;
        } else if (b === BACKSLASH && at(p + 1) !== 0) {
          bytes.push(unescape(at(p + 1)));
          p += 2;
        } else if (b === DQUOTE) {
          const after = at(p + 1);
          if (after !== 0 && !isSpace(after)) return null;
          p++;
          break;
        } else {
          bytes.push(b);
          p++;
        }
      } else if (inSingle) {
        if (b === 0) return null;
        if (b === BACKSLASH && at(p + 1) === SQUOTE) {
          bytes.push(SQUOTE);
          p += 2;
        } else if (b === SQUOTE) {
          const after = at(p + 1);
          if (after !== 0 && !isSpace(after)) return null;
          p++;
          break;
        } else {
          bytes.push(b);
          p++;
        }
      } else if (b === SPACE || b === LF || b === CR || b === TAB || b === 0) {
        break;
      } else if (b === DQUOTE) {
        inDouble = true;
        p++;
      } else if (b === SQUOTE) {
        inSingle = true;
        p++;
      } else {
        bytes.push(b);
        p++;
      }
    }
    args.push(Buffer.from(bytes));
  }
}
