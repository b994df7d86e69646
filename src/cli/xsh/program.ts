/**
 * cli/xsh/program: the xsh command tree. Only flags live here; each action loads its run module
 * on demand, so `xsh --version` and `xsh status` load no server code and no cloud SDK.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../../util/version.js';
import type { CliContext } from '../shared/context.js';
import { EXIT_STATUS_NOTES, setExamples, setManNotes } from '../shared/docgen.js';
import { labelMap } from '../shared/program.js';

/** buildXsh builds the xsh program. It does not touch ctx until an action runs. */
export function buildXsh(ctx: CliContext): Command {
  const program = new Command('xsh')
    .description('xport client: log in and reach Redis databases through the xport proxy')
    .version(VERSION, '-V, --version', 'print the xsh version')
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
    .description('remove the saved certificates and keys of every profile (or the one named by --proxy); the cluster CA stays known')
    .option('--forget-ca', 'also forget the cluster CA, so the next login needs --ca-pin again')
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

  addDbCommands(ctx, program);
  addProxyCommands(ctx, program);

  setManNotes(program, {
    environment: [
      ['XSH_HOME', 'Where profiles, keys and certificates are kept (default ~/.xsh).'],
      ['XSH_PROXY', 'The proxy address when --proxy is not given.'],
      ['XSH_USER', 'The user name when --user is not given.'],
      ['XSH_IDENTITY', 'An identity file to use instead of a profile (as -i).'],
      ['XSH_KEY_STORAGE', 'file keeps private keys in 0600 files instead of the OS keychain.'],
      ['XSH_DEBUG', 'Any value turns on --debug.'],
    ],
    exitStatus: [
      ...EXIT_STATUS_NOTES,
      ['other', 'xsh db connect exits with the status of redis-cli.'],
    ],
  });
  return program;
}

const formatOption = (choices = ['text', 'json', 'yaml']) =>
  new Option('-f, --format <format>', 'output format').choices(choices).default('text');
const dbUserOption = () => new Option('-u, --db-user <user>', 'database user to log in as (default: chosen by the server from your roles)');
const dbNameOption = () => new Option('-n, --db-name <name>', 'database name: the Redis DB number to select');

/** addDbCommands adds `xsh db ls|login|logout|config|connect`. */
function addDbCommands(ctx: CliContext, program: Command): void {
  const db = program.command('db').description('list Redis databases, log in to them and connect with redis-cli');

  const ls = db
    .command('ls')
    .description('list the databases your roles allow; ">" marks the ones you are logged into')
    .argument('[labels]', 'only databases with all of these labels: env=dev,team=x', labelMap)
    .option('-v, --verbose', 'also show each database\'s protocol, type and URI')
    .option('--search <keywords>', 'only databases whose name, description or labels contain every comma-separated keyword')
    .option('--query <predicate>', 'only databases matching a predicate: name == "x", labels["env"] == "dev", joined by &&')
    .addOption(formatOption())
    .action(async (labels: Record<string, string> | undefined, _o, cmd: Command) => (await import('./db/ls.js')).runDbLs(ctx, labels, cmd.optsWithGlobals()));
  setExamples(ls, '  xsh db ls\n  xsh db ls env=dev --format=json\n  xsh db ls --search=cache,dev\n  xsh db ls --query=\'labels["env"] == "dev" && name != "legacy"\'');

  const login = db
    .command('login')
    .description('get a certificate routed to one database and save it in the profile')
    .argument('<name>', 'database name (see xsh db ls)')
    .addOption(dbUserOption())
    .addOption(dbNameOption())
    .action(async (name: string, _o, cmd: Command) => (await import('./db/login.js')).runDbLogin(ctx, name, cmd.optsWithGlobals()));
  setExamples(login, '  xsh db login cache --db-user=alice');

  db.command('logout')
    .description('remove the saved certificate of one database, or of all databases')
    .argument('[name]', 'database name (default: all)')
    .action(async (name: string | undefined, _o, cmd: Command) => (await import('./db/login.js')).runDbLogout(ctx, name, cmd.optsWithGlobals()));

  const config = db
    .command('config')
    .summary('show the files of a database login, or (--format=cmd) the commands that reach the database')
    .description(
      'show where a database login\'s files are, or (--format=cmd) the commands that reach the database. ' +
        'Redis clients do not use these files: they connect to the local tunnel of `xsh proxy db --tunnel`, which does the TLS',
    )
    .argument('<name>', 'database name')
    .addOption(formatOption(['text', 'cmd', 'json', 'yaml']))
    .option('-p, --port <port>', 'with --format=cmd: the local tunnel port to show (default: the placeholder PORT)')
    .action(async (name: string, _o, cmd: Command) => (await import('./db/config.js')).runDbConfig(ctx, name, cmd.optsWithGlobals()));
  setExamples(config, '  xsh db config cache\n  xsh db config --format=cmd --port=6380 cache');

  const env = db
    .command('env')
    .description('print REDIS_URL, REDIS_HOST and REDIS_PORT of a running `xsh proxy db --tunnel` (export lines, or --format=dotenv)')
    .argument('[name]', 'database name (default: the only running tunnel)')
    .addOption(new Option('--format <format>', 'output format').choices(['shell', 'dotenv']).default('shell'))
    .action(async (name: string | undefined, _o, cmd: Command) => (await import('./db/env.js')).runDbEnv(ctx, name, cmd.optsWithGlobals()));
  setExamples(env, '  eval "$(xsh db env cache)"\n  xsh db env cache --format=dotenv >> .env');

  const connect = db
    .command('connect')
    .description('connect redis-cli to a database through a local tunnel (logging in first when needed); exits with redis-cli\'s status')
    .argument('<name>', 'database name')
    .argument('[redis-cli-args...]', 'arguments for redis-cli; put them after -- so options such as -n or --raw reach redis-cli')
    .addOption(dbUserOption())
    .addOption(dbNameOption())
    .option('--resp3', 'start redis-cli in RESP3 mode (redis-cli -3)')
    .action(async (name: string, redisArgs: string[], _o, cmd: Command) =>
      (await import('./db/connect.js')).runDbConnect(ctx, name, redisArgs, cmd.optsWithGlobals()),
    );
  setExamples(connect, '  xsh db connect cache\n  xsh db connect cache -- --raw GET greeting\n  xsh -i ci.pem --proxy=xport.example.com:3080 db connect cache -- PING');
}

/** addProxyCommands adds `xsh proxy db --tunnel`. */
function addProxyCommands(ctx: CliContext, program: Command): void {
  const proxy = program.command('proxy').description('local proxies for database clients other than the ones xsh starts');
  const db = proxy
    .command('db')
    .description('start an authenticated local tunnel to a database for any Redis client; runs until interrupted')
    .argument('<name>', 'database name')
    .option('--tunnel', 'authenticated tunnel: it does the TLS with the proxy, so clients connect without certificates (required for Redis)')
    .option('-p, --port <port>', 'local port to listen on (default: a random free port)')
    .addOption(dbUserOption())
    .addOption(dbNameOption())
    .action(async (name: string, _o, cmd: Command) => (await import('./proxy.js')).runProxyDb(ctx, name, cmd.optsWithGlobals()));
  setExamples(db, '  xsh proxy db --tunnel cache\n  xsh proxy db --tunnel --port=6380 --db-user=alice cache');
}
