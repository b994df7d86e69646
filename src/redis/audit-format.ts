/**
 * redis/audit-format: the command text recorded in `db.session.query` events.
 *
 * Redaction (the default) keeps the command name, a container's subcommand and the key names,
 * and masks every other argument with `******`, so values, scores, messages and passwords never
 * reach the audit log (reference §7, Teleport #56630): `SET user:1 ******`. Full mode shows every
 * argument, each bounded. Passwords of `AUTH` and `HELLO … AUTH` are masked in both modes.
 *
 * Arguments are printed as redis-cli prints them: plain when they are printable ASCII without
 * quotes or spaces, else double-quoted with `\n`, `\"`, `\\` and `\xNN` escapes, so a binary or
 * multi-line value can neither break the line nor spoof another argument. Pure: imports nothing.
 */

/** MASK replaces a redacted argument. */
export const MASK = '******';

/** AuditFormatLimits bound the text of one query, whatever the client sent. */
export interface AuditFormatLimits {
  /** Longest argument printed in full mode, in bytes; longer ones are cut (default 1024). */
  maxArgBytes: number;
  /** Most arguments printed; the rest are summarised (default 256). */
  maxArgs: number;
  /** Most keys listed in an event's `keys` (default 256). */
  maxKeys: number;
}

/** DEFAULT_AUDIT_FORMAT_LIMITS keeps one event under ~300 KB even for `MSET` with huge values. */
export const DEFAULT_AUDIT_FORMAT_LIMITS: AuditFormatLimits = { maxArgBytes: 1024, maxArgs: 256, maxKeys: 256 };

/**
 * quoteArg renders one argument for the audit text (at most maxBytes of it; a cut argument ends
 * with `...(N bytes)`).
 */
export function quoteArg(arg: Buffer, maxBytes = DEFAULT_AUDIT_FORMAT_LIMITS.maxArgBytes): string {
  const len = arg.length;
  const end = Math.min(len, maxBytes);
  let plain = end > 0;
  for (let i = 0; i < end; i++) {
    const b = arg[i]!;
    if (b <= 0x20 || b >= 0x7f || b === 0x22 || b === 0x27 || b === 0x5c) {
      plain = false;
      break;
    }
  }
  let s: string;
  if (plain) {
    s = arg.toString('latin1', 0, end);
  } else {
    s = '"';
    for (let i = 0; i < end; i++) {
      const b = arg[i]!;
      if (b === 0x22) s += '\\"';
      else if (b === 0x5c) s += '\\\\';
      else if (b === 0x0a) s += '\\n';
      else if (b === 0x0d) s += '\\r';
      else if (b === 0x09) s += '\\t';
      else if (b < 0x20 || b >= 0x7f) s += `\\x${b < 16 ? '0' : ''}${b.toString(16)}`;
      else s += String.fromCharCode(b);
    }
    s += '"';
  }
  return end < len ? `${s}...(${len} bytes)` : s;
}

/**
 * formatQuery renders a command: args[0] as sent, args[1] too when it is a subcommand, keys
 * (the positions from `keyPositions`, ascending) as they are, and the other arguments masked
 * when redact is true.
 */
export function formatQuery(
  args: readonly Buffer[],
  keys: readonly number[],
  redact: boolean,
  subcommand = false,
  limits: AuditFormatLimits = DEFAULT_AUDIT_FORMAT_LIMITS,
): string {
  const n = Math.min(args.length, limits.maxArgs);
  let s = quoteArg(args[0]!, limits.maxArgBytes);
  let k = 0;
  for (let i = 1; i < n; i++) {
    while (k < keys.length && keys[k]! < i) k++;
    const shown = !redact || (subcommand && i === 1) || (k < keys.length && keys[k] === i);
    s += ' ';
    s += shown ? quoteArg(args[i]!, limits.maxArgBytes) : MASK;
  }
  if (args.length > n) s += ` ...(${args.length - n} more arguments)`;
  return s;
}

/**
 * formatAuth renders `AUTH ******` or `AUTH alice ******`: the username stays (it says whom the
 * session authenticates as), the password never appears; a malformed AUTH is masked whole.
 */
export function formatAuth(args: readonly Buffer[]): string {
  const name = quoteArg(args[0]!);
  if (args.length === 3) return `${name} ${quoteArg(args[1]!)} ${MASK}`;
  let s = name;
  for (let i = 1; i < args.length && i <= DEFAULT_AUDIT_FORMAT_LIMITS.maxArgs; i++) s += ` ${MASK}`;
  return s;
}

/**
 * formatHello renders `HELLO 3 AUTH alice ****** SETNAME app`: the protocol version, the option
 * words, the username and the client name stay; the password after AUTH is always masked, and so
 * is everything after an AUTH that lacks its two arguments. Unknown words are masked when redact.
 */
export function formatHello(args: readonly Buffer[], redact: boolean): string {
  let s = quoteArg(args[0]!);
  const n = Math.min(args.length, DEFAULT_AUDIT_FORMAT_LIMITS.maxArgs);
  for (let i = 1; i < n; i++) {
    const word = args[i]!;
    const lower = word.length <= 8 ? word.toString('latin1').toLowerCase() : '';
    if (lower === 'auth') {
      if (i + 2 < args.length) {
        s += ` ${quoteArg(word)} ${quoteArg(args[i + 1]!)} ${MASK}`;
        i += 2;
        continue;
      }
      s += ` ${quoteArg(word)}`;
      for (i++; i < n; i++) s += ` ${MASK}`;
      break;
    }
    if (lower === 'setname' && i + 1 < args.length) {
      s += ` ${quoteArg(word)} ${quoteArg(args[i + 1]!)}`;
      i++;
      continue;
    }
    s += ' ' + (i === 1 || !redact ? quoteArg(word) : MASK);
  }
  return s;
}

/** keyNames returns the key names at the given positions (UTF-8, at most limits.maxKeys of them). */
export function keyNames(args: readonly Buffer[], positions: readonly number[], limits: AuditFormatLimits = DEFAULT_AUDIT_FORMAT_LIMITS): string[] {
  const n = Math.min(positions.length, limits.maxKeys);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const a = args[positions[i]!]!;
    out[i] = a.length > limits.maxArgBytes ? `${a.toString('utf8', 0, limits.maxArgBytes)}...(${a.length} bytes)` : a.toString('utf8');
  }
  return out;
}
