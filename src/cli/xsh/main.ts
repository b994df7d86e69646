/**
 * cli/xsh/main: the xsh entry point. `bin/xsh.js` calls main(argv); nothing here calls
 * process.exit, so tests can run it in-process. The command tree (and commander) is loaded only
 * when needed: `xsh --version` is answered before anything else is imported.
 */
import { VERSION } from '../../util/version.js';
import { createContext, type CliContext } from '../shared/context.js';

/** main runs xsh with argv and returns the exit code. */
export async function main(argv: string[], ctx: CliContext = createContext()): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    ctx.io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  // Flags after `--` belong to another program (redis-cli has its own -d).
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--debug') || own.includes('-d')) ctx.debug = true;
  const [{ runProgram }, { buildXsh }] = await Promise.all([import('../shared/program.js'), import('./program.js')]);
  return runProgram(ctx, buildXsh(ctx), argv);
}
