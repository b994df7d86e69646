/**
 * escape: make text from servers safe to print on a terminal.
 */

// C0 controls except \n and \t, DEL, and C1 controls: enough to stop escape-sequence injection.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** escapeControl replaces control characters (ANSI escapes included) with `\xNN` so they print inert. */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
