/**
 * cli/shared/errors: the one place errors become output and exit codes.
 *
 * `ERROR: <what happened>` on one line, then the hint on its own line. Stacks and causes only with
 * --debug. Commander's own parse errors are usage errors (exit 2); help and version exit 0.
 */
import { CommanderError } from 'commander';
import { ExitCode, exitCodeFor, isXError } from '../../errors.js';
import { escapeControl } from '../../util/escape.js';
import type { CliContext } from './context.js';

/** reportError prints err for a human and returns the exit code. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' || err.exitCode === 0) return ExitCode.OK;
    // commander already printed "error: ..." through writeErr; keep its exit code in our table.
    return ExitCode.USAGE;
  }
  const out = ctx.io.stderr;
  if (isXError(err)) {
    out.write(`ERROR: ${escapeControl(err.message)}\n`);
    if (err.hint) out.write(`${escapeControl(err.hint)}\n`);
    if (err.kind === 'internal') out.write('This looks like a bug in xport; re-run with --debug for details.\n');
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    out.write(`ERROR: ${escapeControl(msg)}\n`);
    if (!ctx.debug) out.write('Re-run with --debug for details.\n');
  }
  if (ctx.debug && err instanceof Error) {
    let e: unknown = err;
    while (e instanceof Error) {
      out.write(`\n${e.stack ?? e.message}\n`);
      e = e.cause;
    }
  }
  return exitCodeFor(err);
}
