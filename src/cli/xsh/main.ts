/**
 * cli/xsh/main: the xsh entry point. `bin/xsh.js` calls main(argv); nothing here calls
 * process.exit, so tests can run it in-process.
 */
import { createContext, type CliContext } from '../shared/context.js';
import { runProgram } from '../shared/program.js';
import { buildXsh } from './program.js';

/** main runs xsh with argv and returns the exit code. */
export async function main(argv: string[], ctx: CliContext = createContext()): Promise<number> {
  if (argv.includes('--debug') || argv.includes('-d')) ctx.debug = true;
  return runProgram(ctx, buildXsh(ctx), argv);
}
