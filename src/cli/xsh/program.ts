/**
 * cli/xsh/program: the xsh command tree. Only flags live here; each action loads its run module
 * on demand, so `xsh --version` and `xsh status` load no server code and no cloud SDK.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../../util/version.js';
import type { CliContext } from '../shared/context.js';
import { setExamples } from '../shared/docgen.js';

/** GlobalOptions are xsh's flags valid before or after any subcommand. */
export interface XshGlobals {
  proxy?: string;
  user?: string;
  identity?: string;
  insecure?: boolean;
  debug?: boolean;
}

/** buildXsh builds the xsh program. It does not touch ctx until an action runs. */
export function buildXsh(ctx: CliContext): Command {
  const program = new Command('xsh')
    .description('xport client: log in and reach Redis databases through the xport proxy')
    .version(VERSION, '-v, --version', 'print the xsh version')
    .option('--proxy <host:port>', 'xport proxy address (env XSH_PROXY)')
    .option('--user <name>', 'xport user name (env XSH_USER)')
    .option('-i, --identity <file>', 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
    .option('--insecure', 'do not verify the proxy certificate (throwaway test clusters only)')
    .option('-d, --debug', 'print stack traces and causes of errors')
    .showHelpAfterError('(run xsh --help for usage)');

  const login = program
    .command('login')
    .description('log in to an xport cluster and save a short-lived certificate')
    .option('--invite <token>', 'complete an invite (or password reset) token from `xctl users add`')
    .option('--password-stdin', 'read the password (and then a one-time code, when needed) from standard input')
    .option('--otp <code>', 'one-time code from your authenticator app')
    .option('--ttl <minutes>', 'certificate lifetime in minutes or as a duration (12h), capped by your roles')
    .option('--ca-pin <sha256:hex>', "trust the proxy when its CA matches this pin (from `xctl status`)")
    .addOption(new Option('--key-storage <where>', 'where to keep the private key').choices(['auto', 'keychain', 'file']).default('auto'))
    .action(async (opts, cmd: Command) => {
      const { runLogin } = await import('./login.js');
      await runLogin(ctx, { ...cmd.optsWithGlobals(), ...opts });
    });
  setExamples(
    login,
    '  xsh login --proxy=xport.example.com:3080 --user=alice\n' +
      '  xsh login --proxy=localhost:3080 --user=alice --invite=TOKEN --ca-pin=sha256:... --password-stdin < pw.txt',
  );

  program
    .command('logout')
    .description('remove the saved certificates and keys of every profile (or the one named by --proxy)')
    .action(async (_opts, cmd: Command) => {
      const { runLogout } = await import('./logout.js');
      await runLogout(ctx, cmd.optsWithGlobals());
    });

  program
    .command('status')
    .description('show the current login: user, cluster, roles and certificate validity')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (opts, cmd: Command) => {
      const { runStatus } = await import('./status.js');
      await runStatus(ctx, { ...cmd.optsWithGlobals(), ...opts });
    });

  return program;
}
