/**
 * cli/shared/output: listings in text (cli-table3), json or yaml. json is a stable contract for
 * scripts; text is for people and may change. Server-supplied strings are escaped in text.
 */
import Table from 'cli-table3';
import { stringify } from 'yaml';
import { usage } from '../../errors.js';
import { escapeControl } from '../../util/escape.js';

/** Format is the output format of a listing. */
export type Format = 'text' | 'json' | 'yaml';
/** FORMATS lists the formats every listing accepts. */
export const FORMATS: readonly Format[] = ['text', 'json', 'yaml'];

/** parseFormat validates a --format value. */
export function parseFormat(v: string | undefined, allowed: readonly string[] = FORMATS): Format {
  const f = (v ?? 'text').toLowerCase();
  if (!allowed.includes(f)) throw usage(`unsupported format "${v}"; use one of: ${allowed.join(', ')}`);
  return f as Format;
}

/** renderTable renders rows as a borderless table like tsh's: a header, a dashed rule, the rows. */
export function renderTable(head: string[], rows: string[][]): string {
  const none = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: ' ' };
  const t = new Table({ head, chars: none, style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 1 } });
  const safe = rows.map((r) => r.map((c) => escapeControl(c)));
  const rule = head.map((h, i) => '-'.repeat(Math.max(h.length, ...safe.map((r) => (r[i] ?? '').length))));
  t.push(rule, ...safe);
  return t.toString().split('\n').map((l) => l.trimEnd()).filter((l) => l !== '').join('\n') + '\n';
}

/** renderData renders a value as json or yaml. */
export function renderData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value);
}

/**
 * outputTarget gives `-o/--output` one meaning in every command: absent, `stdout` or `-` print;
 * `file` writes to the command's default path; `file:///path` and any other value name a file.
 */
export function outputTarget(v: string | undefined, defaultFile: string): { kind: 'stdout' } | { kind: 'file'; path: string } {
  if (v === undefined || v === '' || v === 'stdout' || v === '-') return { kind: 'stdout' };
  if (v === 'file') return { kind: 'file', path: defaultFile };
  const path = v.startsWith('file://') ? v.slice('file://'.length) : v;
  if (path === '') throw usage(`--output "${v}" names no file`, { hint: 'Use stdout, file, or file:///path/to/file.' });
  return { kind: 'file', path };
}
