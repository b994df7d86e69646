/**
 * cli/xctl/main: the xctl entry point. `bin/xctl.js` calls main(argv).
 */
import { createContext, type CliContext } from '../shared/context.js';
import { runProgram } from '../shared/program.js';
import { buildXctl } from './program.js';

/** main runs xctl with argv and returns the exit code. */
export async function main(argv: string[], ctx: CliContext = createContext()): Promise<number> {
  // The AWS SDK releases in package-lock.json are pinned to ones that support Node 20; their
  // notice about later releases needing Node 22 is not for xctl's users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Flags after `--` belong to another program (redis-cli has its own -d).
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--debug') || own.includes('-d')) ctx.debug = true;
  return runProgram(ctx, buildXctl(ctx), argv);
}
