/**
 * redis/commands: the command table the engine checks and audits with — each command's ACL
 * categories (`@read`, `@dangerous`…), where its keys are, and which commands are containers
 * whose subcommand names the command (`config|set`) — resolved exactly as Redis resolves names
 * (ASCII case folding; a NUL ends a name in Redis's lookup, so names with bytes no command has
 * are flagged as malformed and must never reach Redis).
 *
 * The table comes from the server itself (`COMMAND`, parsed by {@link CommandTable.parse}), so
 * it matches the Redis or Valkey version behind the agent, modules included. When the server
 * will not say (the db user may not run `COMMAND`, or must `AUTH` first), the engine falls back
 * to the table captured from Redis 7.0 in `command-fallback.ts`. Key positions follow the
 * server's key specifications (Redis ≥ 7), else the legacy first/last/step triple.
 *
 * Pure: imports redis/resp only; must not import auth/, cloud/ or anything with I/O.
 */
import { decodeValue, RespErrorReply, RespMap, valueText, type RespValue } from './resp/value.js';

/** BeginSearch says where a key spec's keys start (Redis key specs, `begin_search`). */
export type BeginSearch =
  | { kind: 'index'; index: number }
  | { kind: 'keyword'; keyword: string; startFrom: number }
  | { kind: 'unknown' };

/** FindKeys says how far a key spec's keys go from where they start (`find_keys`). */
export type FindKeys =
  | { kind: 'range'; lastKey: number; step: number; limit: number }
  | { kind: 'keynum'; keyNumIndex: number; firstKey: number; step: number }
  | { kind: 'unknown' };

/** KeySpec is one key specification of a command. */
export interface KeySpec {
  begin: BeginSearch;
  find: FindKeys;
}

/** CommandInfo is one command (or subcommand) as the server describes it. */
export interface CommandInfo {
  /** Lower-case name; subcommands as `config|set`. */
  name: string;
  arity: number;
  flags: readonly string[];
  /** ACL categories with their `@`, lower-case. */
  categories: readonly string[];
  /** Legacy key positions: first key, last key (negative counts from the end), step; 0 0 0 for none. */
  firstKey: number;
  lastKey: number;
  step: number;
  keySpecs: readonly KeySpec[];
  /** Subcommands by full name (`config|set`); present only for container commands. */
  subcommands?: ReadonlyMap<string, CommandInfo>;
}

/** ResolvedCommand is what a request is, as far as RBAC and audit are concerned. */
export interface ResolvedCommand {
  /**
   * `get`, or `config|set` for a subcommand of a container. For a name Redis could not have
   * meant as written (see {@link ResolvedCommand.malformed}) it is the name quoted and escaped
   * byte for byte (`"config\x00x"`), which is what the audit records.
   */
  name: string;
  /** The table entry, when the server knows the command. */
  info: CommandInfo | undefined;
  /** ACL categories; empty for a command the table does not know (RBAC then denies by default). */
  categories: readonly string[];
  /** True when args[1] is part of the name (a container's subcommand). */
  subcommand: boolean;
  /**
   * True when the command name (or a container's subcommand name) holds a byte no command name
   * has: Redis compares names as C strings, so `config\0…` can run CONFIG. Such a request must
   * never reach Redis.
   */
  malformed: boolean;
}

/**
 * NAME_BYTES are the bytes command names are made of (either case): letters, digits and the
 * punctuation of module commands (`JSON.GET`, `FT._LIST`, `restore-asking`). A table adds the
 * bytes of any name it knows that is made of others.
 */
const NAME_BYTES = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-';

const NO_CATEGORIES: readonly string[] = Object.freeze([]);

/**
 * LEGACY_CONTAINERS are the commands Redis 6 lets ACLs name by their first argument
 * (`config|set`) although its COMMAND reply lists no subcommands. DEBUG was never one: it is
 * judged as DEBUG, with its own categories, whatever follows.
 */
const LEGACY_CONTAINERS: ReadonlySet<string> = new Set([
  'acl', 'client', 'cluster', 'command', 'config', 'function', 'latency', 'memory', 'module', 'object', 'pubsub', 'script', 'slowlog', 'xgroup', 'xinfo',
]);
/** Subcommand names are short; a longer second argument is not a subcommand name anyone could allow. */
const MAX_SUBCOMMAND_BYTES = 64;

/**
 * CommandTable answers "what is this request" in O(1): a map from lower-case name to
 * {@link CommandInfo}. Build it with {@link CommandTable.parse} from a `COMMAND` reply, or
 * {@link CommandTable.fromInfos}.
 */
export class CommandTable {
  readonly #commands: ReadonlyMap<string, CommandInfo>;
  /** nameByte[b] is 1 when byte b occurs in some command or subcommand name. */
  readonly #nameByte: Uint8Array;

  private constructor(commands: ReadonlyMap<string, CommandInfo>) {
    this.#commands = commands;
    const bytes = new Uint8Array(256);
    for (let i = 0; i < NAME_BYTES.length; i++) bytes[NAME_BYTES.charCodeAt(i)] = 1;
    const add = (name: string): void => {
      for (let i = 0; i < name.length; i++) {
        const c = name.charCodeAt(i);
        // `|` joins a container and its subcommand in the table; it is never part of what a client sends.
        if (c < 256 && c > 0x20 && c !== 0x7c && c !== 0x7f) {
          bytes[c] = 1;
          if (c >= 0x61 && c <= 0x7a) bytes[c - 0x20] = 1;
        }
      }
    };
    for (const info of commands.values()) {
      add(info.name);
      if (info.subcommands !== undefined) for (const sub of info.subcommands.keys()) add(sub);
    }
    this.#nameByte = bytes;
  }

  /** fromInfos builds a table from command descriptions (subcommands nested in their containers). */
  static fromInfos(infos: Iterable<CommandInfo>): CommandTable {
    const m = new Map<string, CommandInfo>();
    for (const info of infos) m.set(info.name, info);
    return new CommandTable(m);
  }

  /** empty is a table that knows no command: every command resolves to no categories. */
  static empty(): CommandTable {
    return new CommandTable(new Map());
  }

  /**
   * parse reads the reply to `COMMAND` (or `COMMAND INFO …`), RESP2 or RESP3, from Redis 6, 7 or
   * 8 or Valkey. Entries it cannot read are skipped rather than failing the whole table; an error
   * reply throws, with the server's message.
   */
  static parse(reply: RespValue): CommandTable {
    if (reply instanceof RespErrorReply) throw new Error(reply.message);
    if (!Array.isArray(reply)) throw new Error('the COMMAND reply is not an array');
    const m = new Map<string, CommandInfo>();
    for (const entry of reply) {
      const info = parseCommandInfo(entry);
      if (info !== undefined) m.set(info.name, info);
    }
    return new CommandTable(m);
  }

  /** size is the number of top-level commands known. */
  get size(): number {
    return this.#commands.size;
  }

  /** get returns a command by lower-case name (`get`, or `config|set` for a subcommand). */
  get(name: string): CommandInfo | undefined {
    const bar = name.indexOf('|');
    if (bar < 0) return this.#commands.get(name);
    return this.#commands.get(name.slice(0, bar))?.subcommands?.get(name);
  }

  /** names lists the top-level command names. */
  names(): string[] {
    return [...this.#commands.keys()];
  }

  /**
   * wellFormed tells whether buf could be a command or subcommand name as written: not empty and
   * made only of bytes some name has. Redis looks names up case-insensitively as C strings (a NUL
   * ends the comparison), so any other byte could make Redis run a command other than the one
   * the name spells.
   */
  wellFormed(buf: Buffer): boolean {
    const len = buf.length;
    if (len === 0) return false;
    const ok = this.#nameByte;
    for (let i = 0; i < len; i++) if (ok[buf[i]!] === 0) return false;
    return true;
  }

  /**
   * resolve names a request exactly as Redis's command lookup would: `name` is its lower-case
   * first argument (`Request.name`), args its arguments. Only a command the table describes as a
   * container takes its subcommand from args[1] (`config|set`), as Redis does (DEBUG, say, is not
   * one); a container sent alone keeps its own name. A name with a byte no command has resolves
   * as malformed.
   */
  resolve(name: string, args: readonly Buffer[]): ResolvedCommand {
    const first = args[0];
    if (first !== undefined && !this.wellFormed(first)) {
      return { name: quoteName(first), info: undefined, categories: NO_CATEGORIES, subcommand: false, malformed: true };
    }
    const base = this.#commands.get(name);
    if (base?.subcommands !== undefined && args.length >= 2) {
      const sub = args[1]!;
      const wellFormed = this.wellFormed(sub);
      if (!wellFormed || sub.length > MAX_SUBCOMMAND_BYTES) {
        return { name: `${name}|${quoteName(sub)}`, info: undefined, categories: NO_CATEGORIES, subcommand: true, malformed: !wellFormed };
      }
      const full = `${name}|${lowerName(sub)}`;
      const info = base.subcommands.get(full);
      return { name: full, info, categories: info?.categories ?? NO_CATEGORIES, subcommand: true, malformed: false };
    }
    if (base !== undefined && base.subcommands === undefined && LEGACY_CONTAINERS.has(name) && args.length >= 2) {
      // Redis 6 describes no subcommands; its ACLs judge `config|set` by the first argument and
      // the command's own categories, and so do we (rules such as `-config|set` keep working).
      const sub = args[1]!;
      if (!this.wellFormed(sub)) {
        return { name: `${name}|${quoteName(sub)}`, info: undefined, categories: NO_CATEGORIES, subcommand: true, malformed: true };
      }
      return { name: `${name}|${lowerName(sub)}`, info: base, categories: base.categories, subcommand: true, malformed: false };
    }
    return { name, info: base, categories: base?.categories ?? NO_CATEGORIES, subcommand: false, malformed: false };
  }
}

/** lowerName decodes at most {@link MAX_SUBCOMMAND_BYTES} bytes as Latin-1 with only A–Z lower-cased. */
function lowerName(buf: Buffer): string {
  const end = Math.min(buf.length, MAX_SUBCOMMAND_BYTES);
  let s = '';
  for (let i = 0; i < end; i++) {
    const b = buf[i]!;
    s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
  }
  return s;
}

/**
 * quoteName renders a name exactly, byte for byte, for audit and error text: double-quoted with
 * `\xNN` escapes for anything but printable ASCII (at most 128 bytes, then the length).
 */
export function quoteName(buf: Buffer): string {
  const end = Math.min(buf.length, 128);
  let s = '"';
  for (let i = 0; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b >= 0x7f) s += `\\x${b < 16 ? '0' : ''}${b.toString(16)}`;
    else s += String.fromCharCode(b);
  }
  s += '"';
  return buf.length > end ? `${s}...(${buf.length} bytes)` : s;
}

/**
 * cstrEqualsIgnoreCase compares an argument with a lower-case keyword the way Redis's
 * `strcasecmp` does: ASCII case folded, and the argument ends at its first NUL (`DB\0x` is `DB`).
 */
export function cstrEqualsIgnoreCase(buf: Buffer, lower: string): boolean {
  const n = lower.length;
  if (buf.length < n) return false;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return buf.length === n || buf[n] === 0;
}

/**
 * parseRedisInteger reads an argument as Redis's `string2ll` does (the whole argument: optional
 * `-`, no leading zeros, no `+`, no spaces, within 64-bit range); undefined when Redis would
 * answer "value is not an integer". The result is the canonical decimal text.
 */
export function parseRedisInteger(buf: Buffer): string | undefined {
  const len = buf.length;
  if (len === 0 || len > 20) return undefined;
  let i = 0;
  if (buf[0] === 0x2d) {
    if (len === 1) return undefined;
    i = 1;
  }
  if (buf[i] === 0x30) return len === 1 ? '0' : undefined;
  for (let k = i; k < len; k++) {
    const c = buf[k]!;
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const text = buf.toString('latin1');
  const v = BigInt(text);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return undefined;
  return text;
}

/** serverVersion reads `server` and `version` from a HELLO reply (`redis 7.0.15`); undefined if it has none. */
export function serverVersion(reply: { raw: Buffer; isError: boolean }): string | undefined {
  if (reply.isError) return undefined;
  try {
    const v = decodeValue(reply.raw);
    const fields = new Map<string, string>();
    const put = (k: unknown, val: unknown) => {
      const key = Buffer.isBuffer(k) ? k.toString('latin1') : typeof k === 'string' ? k : undefined;
      const text = Buffer.isBuffer(val) ? val.toString('latin1') : typeof val === 'string' ? val : undefined;
      if (key !== undefined && text !== undefined) fields.set(key, text);
    };
    if (v instanceof RespMap) for (const [k, val] of v.entries) put(k, val);
    else if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) put(v[i], v[i + 1]);
    const version = fields.get('version');
    return version === undefined ? undefined : `${fields.get('server') ?? 'redis'} ${version}`;
  } catch {
    return undefined;
  }
}

// ─── Key positions ───────────────────────────────────────────────────────────────────────────

/**
 * keyPositions returns the indexes in args (args[0] is the command name) that hold key names,
 * ascending and without duplicates, as the server would extract them: from the key specs when
 * the server gives them, else from first/last/step. A spec that does not fit the arguments
 * (a missing keyword, a bad key count) yields nothing rather than guessing.
 */
export function keyPositions(info: CommandInfo | undefined, args: readonly Buffer[]): number[] {
  if (info === undefined) return [];
  const argc = args.length;
  const specs = info.keySpecs;
  if (specs.length === 0) return legacyPositions(info, argc);
  if (specs.length === 1) return specPositions(specs[0]!, args, argc, []);
  const out: number[] = [];
  for (const spec of specs) specPositions(spec, args, argc, out);
  if (out.length < 2) return out;
  out.sort((a, b) => a - b);
  let w = 1;
  for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r]!;
  out.length = w;
  return out;
}

function legacyPositions(info: CommandInfo, argc: number): number[] {
  const first = info.firstKey;
  if (first <= 0 || info.step <= 0) return [];
  const last = info.lastKey < 0 ? argc + info.lastKey : info.lastKey;
  const out: number[] = [];
  for (let i = first; i <= last && i < argc; i += info.step) out.push(i);
  return out;
}

function specPositions(spec: KeySpec, args: readonly Buffer[], argc: number, out: number[]): number[] {
  let first: number;
  const b = spec.begin;
  if (b.kind === 'index') {
    first = b.index;
  } else if (b.kind === 'keyword') {
    first = findKeyword(args, argc, b.keyword, b.startFrom);
    if (first < 0) return out;
  } else {
    return out;
  }
  if (first < 1 || first >= argc) return out;
  let last: number;
  let step: number;
  const f = spec.find;
  if (f.kind === 'range') {
    if (f.lastKey >= 0) last = first + f.lastKey;
    else if (f.limit <= 1) last = argc + f.lastKey;
    else last = first + Math.floor((argc - first) / f.limit) + f.lastKey;
    step = f.step;
  } else if (f.kind === 'keynum') {
    const at = first + f.keyNumIndex;
    if (at >= argc) return out;
    const numKeys = parseCount(args[at]!);
    if (numKeys < 0) return out;
    first += f.firstKey;
    last = first + numKeys - 1;
    step = f.step;
  } else {
    return out;
  }
  if (step < 1) step = 1;
  for (let i = first; i <= last && i < argc; i += step) out.push(i);
  return out;
}

/** findKeyword returns the index after the keyword (case-insensitive), searching forward from startFrom or, when negative, backward from argc + startFrom; -1 when absent. */
function findKeyword(args: readonly Buffer[], argc: number, keyword: string, startFrom: number): number {
  if (startFrom > 0) {
    for (let i = startFrom; i < argc; i++) if (equalsIgnoreCase(args[i]!, keyword)) return i + 1;
  } else {
    for (let i = argc + startFrom; i >= 1; i--) if (i < argc && equalsIgnoreCase(args[i]!, keyword)) return i + 1;
  }
  return -1;
}

/** equalsIgnoreCase compares as Redis's strcasecmp does: the argument ends at its first NUL. */
function equalsIgnoreCase(buf: Buffer, upper: string): boolean {
  const n = upper.length;
  if (buf.length < n || (buf.length > n && buf[n] !== 0)) return false;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== upper.charCodeAt(i)) return false;
  }
  return true;
}

/** parseCount reads a non-negative decimal count (as Redis's string2ll would), or -1. */
function parseCount(buf: Buffer): number {
  if (buf.length === 0 || buf.length > 10) return -1;
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

// ─── Parsing COMMAND replies ─────────────────────────────────────────────────────────────────

function asInt(v: RespValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function asStrings(v: RespValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    const s = valueText(x);
    if (s !== undefined) out.push(s.toLowerCase());
  }
  return out;
}

/** fields reads a RESP3 map, or a RESP2 flat key/value array, into a lookup by lower-case key. */
function fields(v: RespValue | undefined): Map<string, RespValue> | undefined {
  const m = new Map<string, RespValue>();
  if (v instanceof RespMap) {
    for (const [k, val] of v.entries) {
      const key = valueText(k);
      if (key !== undefined) m.set(key.toLowerCase(), val);
    }
    return m;
  }
  if (!Array.isArray(v) || v.length % 2 !== 0) return undefined;
  for (let i = 0; i < v.length; i += 2) {
    const key = valueText(v[i]);
    if (key !== undefined) m.set(key.toLowerCase(), v[i + 1]!);
  }
  return m;
}

function parseBeginSearch(v: RespValue | undefined): BeginSearch {
  const f = fields(v);
  const type = valueText(f?.get('type'));
  const spec = fields(f?.get('spec'));
  if (type === 'index') {
    const index = asInt(spec?.get('index'));
    if (index !== undefined) return { kind: 'index', index };
  } else if (type === 'keyword') {
    const keyword = valueText(spec?.get('keyword'));
    const startFrom = asInt(spec?.get('startfrom'));
    if (keyword !== undefined && startFrom !== undefined) return { kind: 'keyword', keyword: keyword.toUpperCase(), startFrom };
  }
  return { kind: 'unknown' };
}

function parseFindKeys(v: RespValue | undefined): FindKeys {
  const f = fields(v);
  const type = valueText(f?.get('type'));
  const spec = fields(f?.get('spec'));
  if (type === 'range') {
    const lastKey = asInt(spec?.get('lastkey'));
    const step = asInt(spec?.get('keystep'));
    const limit = asInt(spec?.get('limit'));
    if (lastKey !== undefined && step !== undefined) return { kind: 'range', lastKey, step, limit: limit ?? 0 };
  } else if (type === 'keynum') {
    const keyNumIndex = asInt(spec?.get('keynumidx'));
    const firstKey = asInt(spec?.get('firstkey'));
    const step = asInt(spec?.get('keystep'));
    if (keyNumIndex !== undefined && firstKey !== undefined && step !== undefined) return { kind: 'keynum', keyNumIndex, firstKey, step };
  }
  return { kind: 'unknown' };
}

function parseKeySpecs(v: RespValue | undefined): KeySpec[] {
  if (!Array.isArray(v)) return [];
  const out: KeySpec[] = [];
  for (const raw of v) {
    const f = fields(raw);
    if (f === undefined) continue;
    out.push({ begin: parseBeginSearch(f.get('begin_search')), find: parseFindKeys(f.get('find_keys')) });
  }
  return out;
}

/**
 * parseCommandInfo reads one entry of a `COMMAND` reply: name, arity, flags, first key, last
 * key, step, categories (Redis ≥ 6), tips, key specs and subcommands (Redis ≥ 7).
 */
export function parseCommandInfo(entry: RespValue): CommandInfo | undefined {
  if (!Array.isArray(entry) || entry.length < 6) return undefined;
  const name = valueText(entry[0])?.toLowerCase();
  const arity = asInt(entry[1]);
  const firstKey = asInt(entry[3]);
  const lastKey = asInt(entry[4]);
  const step = asInt(entry[5]);
  if (name === undefined || name === '' || arity === undefined || firstKey === undefined || lastKey === undefined || step === undefined) {
    return undefined;
  }
  const categories = Object.freeze(asStrings(entry[6]).map((c) => (c.startsWith('@') ? c : `@${c}`)));
  const info: CommandInfo = {
    name,
    arity,
    flags: Object.freeze(asStrings(entry[2])),
    categories,
    firstKey,
    lastKey,
    step,
    keySpecs: Object.freeze(parseKeySpecs(entry[8])),
  };
  if (Array.isArray(entry[9]) && entry[9].length > 0) {
    const subs = new Map<string, CommandInfo>();
    for (const s of entry[9]) {
      const sub = parseCommandInfo(s);
      if (sub !== undefined) subs.set(sub.name.includes('|') ? sub.name : `${name}|${sub.name}`, sub);
    }
    info.subcommands = subs;
  }
  return info;
}

// ─── Compact form (the built-in fallback table) ──────────────────────────────────────────────

/**
 * formatCompact renders a command as one line of the compact table format:
 * `name arity first last step categories specs`, categories comma-separated without `@` (or
 * `-`), specs space-separated as `<begin>/<find>` with begin `i<index>`, `k<KEYWORD>,<startfrom>`
 * or `u`, and find `r<lastkey>,<step>,<limit>`, `n<keynumidx>,<firstkey>,<step>` or `u`.
 */
export function formatCompact(info: CommandInfo): string {
  const cats = info.categories.map((c) => c.replace(/^@/, '')).join(',') || '-';
  const specs = info.keySpecs.map((s) => {
    const b = s.begin;
    const f = s.find;
    const begin = b.kind === 'index' ? `i${b.index}` : b.kind === 'keyword' ? `k${b.keyword},${b.startFrom}` : 'u';
    const find = f.kind === 'range' ? `r${f.lastKey},${f.step},${f.limit}` : f.kind === 'keynum' ? `n${f.keyNumIndex},${f.firstKey},${f.step}` : 'u';
    return `${begin}/${find}`;
  });
  return [info.name, info.arity, info.firstKey, info.lastKey, info.step, cats, ...specs].join(' ');
}

function parseCompactSpec(s: string): KeySpec {
  const [b = 'u', f = 'u'] = s.split('/');
  let begin: BeginSearch = { kind: 'unknown' };
  if (b[0] === 'i') begin = { kind: 'index', index: Number(b.slice(1)) };
  else if (b[0] === 'k') {
    const comma = b.lastIndexOf(',');
    begin = { kind: 'keyword', keyword: b.slice(1, comma), startFrom: Number(b.slice(comma + 1)) };
  }
  let find: FindKeys = { kind: 'unknown' };
  const n = f.slice(1).split(',').map(Number);
  if (f[0] === 'r') find = { kind: 'range', lastKey: n[0]!, step: n[1]!, limit: n[2]! };
  else if (f[0] === 'n') find = { kind: 'keynum', keyNumIndex: n[0]!, firstKey: n[1]!, step: n[2]! };
  return { begin, find };
}

/**
 * parseCompactTable builds a table from lines written by {@link formatCompact}; `a|b` lines are
 * subcommands of `a`, which must come first.
 */
export function parseCompactTable(lines: readonly string[]): CommandTable {
  const top = new Map<string, CommandInfo>();
  for (const line of lines) {
    const [name, arity, first, last, step, cats, ...specs] = line.split(' ');
    if (name === undefined || cats === undefined) continue;
    const info: CommandInfo = {
      name,
      arity: Number(arity),
      flags: NO_CATEGORIES,
      categories: Object.freeze(cats === '-' ? [] : cats.split(',').map((c) => `@${c}`)),
      firstKey: Number(first),
      lastKey: Number(last),
      step: Number(step),
      keySpecs: Object.freeze(specs.map(parseCompactSpec)),
    };
    const bar = name.indexOf('|');
    if (bar < 0) {
      top.set(name, info);
    } else {
      const parent = top.get(name.slice(0, bar));
      if (parent === undefined) continue;
      const subs = (parent.subcommands as Map<string, CommandInfo> | undefined) ?? new Map<string, CommandInfo>();
      subs.set(name, info);
      parent.subcommands = subs;
    }
  }
  return CommandTable.fromInfos(top.values());
}
