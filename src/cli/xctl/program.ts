/**
 * cli/xctl/program: the xctl command tree (flags only; actions load their run modules lazily).
 */
import { Command, Option } from 'commander';
import { VERSION } from '../../util/version.js';
import type { CliContext } from '../shared/context.js';
import { EXIT_STATUS_NOTES, setExamples, setManNotes } from '../shared/docgen.js';
import { commaList, labelMap } from '../shared/program.js';
import type { TokensAddOptions } from './tokens.js';
import type { AuthSignOptions } from './auth.js';
import type { DbConfigureOptions } from './db.js';
import { addAzureConfigureOptions } from './db-azure-program.js';
import { addAwsConfigureFlags, registerAwsDbCommands } from './db-aws.js';

const formatOption = (def = 'text') =>
  new Option('--format <format>', 'output format').choices(['text', 'json', 'yaml']).default(def);

/** buildXctl builds the xctl program. It does not touch ctx until an action runs. */
export function buildXctl(ctx: CliContext): Command {
  const program = new Command('xctl')
    .description('xport administration: users, roles, tokens, certificates, audit, and the service itself (xctl start)')
    .version(VERSION, '-V, --version', 'print the xctl version')
    .option('-c, --config <file>', 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)')
    .option('--data-dir <dir>', 'data dir of the local auth service (overrides the config)')
    .option('-i, --identity <file>', 'admin identity file, for use away from the auth host (with --proxy)')
    .option('--proxy <host:port>', 'proxy address when using -i (env XCTL_PROXY)')
    .option('--insecure', 'do not verify the proxy certificate (throwaway test clusters only)')
    .option('-d, --debug', 'print stack traces and causes of errors')
    .showHelpAfterError('(run xctl --help for usage)');
  const g = (cmd: Command) => cmd.optsWithGlobals();

  const start = program
    .command('start')
    .description('run the auth service, proxy and database agent from the config (embedded all-in-one default without one)')
    .option('--listen-addr <host:port>', 'proxy listen address (overrides proxy_service.listen_addr)')
    .option('--cluster-name <name>', 'cluster name for a new data dir (overrides cluster_name)')
    .action(async (_o, cmd: Command) => (await import('./start.js')).runStart(ctx, g(cmd)));
  setExamples(start, '  xctl start -c /etc/xport.yaml\n  xctl start --data-dir /tmp/xport --listen-addr 127.0.0.1:3080');

  program
    .command('status')
    .description('show the cluster name, version, certificate authorities and CA pin')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./status.js')).runStatus(ctx, g(cmd)));

  const users = program.command('users').description('manage users');
  const add = users
    .command('add <name>')
    .description('create a user and print a one-time invite')
    .option('--roles <roles>', 'comma-separated roles (required)', commaList)
    .option('--db-users <users>', 'trait db_users: database users the user may log in as', commaList)
    .option('--db-names <names>', 'trait db_names: database names (Redis DB numbers) the user may select', commaList)
    .option('--ttl <duration>', 'invite lifetime (default 1h, at most 48h)')
    .addOption(formatOption())
    .action(async (name: string, _o, cmd: Command) => (await import('./users.js')).runUsersAdd(ctx, name, g(cmd)));
  setExamples(add, '  xctl users add alice --roles=access --db-users=alice,default');
  users
    .command('ls')
    .description('list users')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./users.js')).runUsersLs(ctx, g(cmd)));
  users
    .command('rm <names>')
    .alias('del')
    .description('delete users (comma-separated)')
    .action(async (names: string, _o, cmd: Command) => (await import('./users.js')).runUsersRm(ctx, names, g(cmd)));
  users
    .command('update <name>')
    .description("change a user's roles or traits")
    .option('--set-roles <roles>', 'replace the roles', commaList)
    .option('--set-db-users <users>', 'replace the db_users trait', commaList)
    .option('--set-db-names <names>', 'replace the db_names trait', commaList)
    .action(async (name: string, _o, cmd: Command) => (await import('./users.js')).runUsersUpdate(ctx, name, g(cmd)));
  users
    .command('reset <name>')
    .description('clear the password and second factor and print a reset link')
    .option('--ttl <duration>', 'link lifetime (default 8h, at most 24h)')
    .action(async (name: string, _o, cmd: Command) => (await import('./users.js')).runUsersReset(ctx, name, g(cmd)));

  const tokens = program.command('tokens').description('manage join tokens for database agents');
  tokens
    .command('add')
    .description('create a join token')
    .addOption(new Option('--type <type>', 'what the token admits').choices(['db']).makeOptionMandatory())
    .option('--ttl <duration>', 'token lifetime (default 30m)')
    .option('--uses <n>', 'how many agents may join with the token (default 1)')
    .option('--value <token>', 'use this value (at least 32 hex characters) instead of a random one')
    .option('--labels <k=v,...>', 'labels for what joins with the token', labelMap)
    .addOption(new Option('--format <format>', 'output format (text prints only the token)').choices(['text', 'json', 'yaml']))
    .action(async (_o, cmd: Command) => (await import('./tokens.js')).runTokensAdd(ctx, cmd.optsWithGlobals<TokensAddOptions>()));
  tokens
    .command('ls')
    .description('list join tokens')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./tokens.js')).runTokensLs(ctx, g(cmd)));
  tokens
    .command('rm <token>')
    .alias('del')
    .description('delete a join token')
    .action(async (token: string, _o, cmd: Command) => (await import('./tokens.js')).runTokensRm(ctx, token, g(cmd)));

  const auth = program.command('auth').description('certificate authority operations');
  auth
    .command('export')
    .description('print CA certificates (PEM)')
    .addOption(new Option('--type <type>', 'which CA').choices(['user', 'host', 'tls-user', 'tls-host', 'tls', 'db', 'db-client']))
    .action(async (_o, cmd: Command) => (await import('./auth.js')).runAuthExport(ctx, g(cmd)));
  const sign = auth
    .command('sign')
    .description('issue Redis server certificates (--format=redis) or a user identity file for CI (--format=file)')
    .addOption(new Option('--format <format>', 'what to issue').choices(['redis', 'file']).default('file'))
    .option('--host <hosts>', 'with --format=redis: comma-separated host names and IPs (CN = the first)')
    .option('--user <name>', 'with --format=file: the user the identity is for')
    .option('-o, --out <path>', 'output path (prefix for --format=redis)')
    .option('--ttl <duration>', 'certificate lifetime (default 12h)')
    .option('--overwrite', 'replace existing files')
    .option('--cluster', 'with --format=redis: a Redis Cluster node (server and client certificate from a cluster CA; the .cas trusts nodes and xport)')
    .option('--cluster-ca <prefix>', 'with --cluster: the cluster CA files <prefix>.crt/.key, created when absent and reused for the other nodes (default: cluster-ca next to --out)')
    .action(async (_o, cmd: Command) => (await import('./auth.js')).runAuthSign(ctx, cmd.optsWithGlobals<AuthSignOptions>()));
  setExamples(
    sign,
    '  xctl auth sign --format=redis --host=localhost,127.0.0.1 --out=server --ttl=2190h\n' +
      '  xctl auth sign --format=redis --cluster --host=10.0.0.1 --out=node1 --ttl=2190h   # Redis Cluster node\n' +
      '  xctl auth sign --user=ci-bot --format=file --out=ci.pem --ttl=1h',
  );

  const create = program
    .command('create')
    .description('create roles or databases (kind: db) from a YAML file')
    .option('-f, --file <file>', 'YAML file with one or more roles or databases (- for stdin)')
    .option('--force', 'overwrite what exists')
    .action(async (_o, cmd: Command) => (await import('./resources.js')).runCreate(ctx, g(cmd)));
  setExamples(create, '  xctl create -f redis-readonly.yaml');
  program
    .command('get <resource>')
    .description('print roles, role/NAME, users, user/NAME, dbs, db/NAME or tokens')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'yaml']).default('yaml'))
    .action(async (ref: string, _o, cmd: Command) => (await import('./resources.js')).runGet(ctx, ref, g(cmd)));
  program
    .command('rm <resource>')
    .description('remove role/NAME, user/NAME, db/NAME or token/TOKEN')
    .action(async (ref: string, _o, cmd: Command) => (await import('./resources.js')).runRm(ctx, ref, g(cmd)));

  const db = program.command('db').description('databases and database agents');
  db.command('ls')
    .description('list databases and the agents serving them')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./db.js')).runDbLs(ctx, g(cmd)));
  const secret = db.command('secret').description("secrets agents need to reach a database: a managed database's Redis admin password (admin.password_secret)");
  const secretSet = secret
    .command('set <name>')
    .description('store a secret, encrypted with a key only the auth service holds; agents serving the named databases may read it')
    .option('--password-stdin', 'read the value from standard input (required: a value on the command line would land in shell history)')
    .option('--db <databases>', 'databases whose agents may read it, comma-separated (default: the database named like the secret)', (v: string, prev: string[] | undefined) => [...(prev ?? []), ...commaList(v)])
    .action(async (name: string, _o, cmd: Command) => (await import('./db-secret.js')).runDbSecretSet(ctx, name, g(cmd)));
  setExamples(secretSet, '  xctl db secret set cache --password-stdin < /root/redis-admin.pw\n  xctl db secret set redis-admin --db cache,sessions --password-stdin');
  secret
    .command('ls')
    .description('list database secrets (names, databases, key id; never values)')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./db-secret.js')).runDbSecretLs(ctx, g(cmd)));
  secret
    .command('rm <name>')
    .alias('del')
    .description('delete a database secret')
    .action(async (name: string, _o, cmd: Command) => (await import('./db-secret.js')).runDbSecretRm(ctx, name, g(cmd)));
  const configure = db.command('configure').description('generate database agent configuration');
  const configureCreate = addAwsConfigureFlags(configure
    .command('create')
    .description('write the config for a database agent that joins this cluster with a token')
    .option('-o, --output <where>', 'stdout, file (/etc/xport.yaml) or file:///path', 'stdout')
    .option('--token <token>', 'join token from `xctl tokens add --type=db`, or a path to a file holding it')
    .option('--proxy <host:port>', 'the proxy address the agent dials')
    .option('--ca-pin <sha256:hex>', 'CA pin to verify the proxy on first join (from `xctl status`)')
    .option('--name <name>', 'name of a database to serve')
    .option('--protocol <protocol>', 'database protocol', 'redis')
    .option('--uri <uri>', 'database address: rediss://host:port[?mode=cluster]')
    .option('--labels <k=v,...>', 'static labels for the --name database; with --azure-redis-discovery, the Azure tags a cache must have', labelMap)
    .option('--ca-cert-file <file>', "CA that signed the database's certificate (default: the cluster's db CA)")
    .option('--data-dir <dir>', "the agent's data dir", '/var/lib/xport'))
    .action(async (_o, cmd: Command) => (await import('./db.js')).runDbConfigureCreate(ctx, cmd.optsWithGlobals<DbConfigureOptions>()));
  addAzureConfigureOptions(configureCreate);
  registerAwsDbCommands(ctx, db, configure);
  setExamples(
    configureCreate,
    '  xctl db configure create --token=/tmp/token --proxy=xport.example.com:3080 --ca-pin=sha256:... \\\n' +
      '     --name=cache --protocol=redis --uri=rediss://redis.internal:6379 --labels=env=dev --output file:///etc/xport.yaml',
  );
  const install = program.command('install').description('install xport as a system service');
  install
    .command('systemd')
    .description('print (or write with -o) a systemd unit that runs xctl start -c /etc/xport.yaml')
    .option('-o, --output <where>', 'stdout (default), file (/etc/systemd/system/xport.service) or file:///path')
    .option('--config-path <file>', 'config file the unit starts with', '/etc/xport.yaml')
    .option('--binary <path>', 'path of xctl', '/usr/local/bin/xctl')
    .action(async (_o, cmd: Command) => (await import('./db.js')).runInstallSystemd(ctx, g(cmd)));

  const audit = program.command('audit').description('audit log');
  audit
    .command('ls')
    .description('list the newest audit events (newest last, like tail)')
    .option('--type <type>', 'only events of this type (e.g. user.login, db.session.query)')
    .option('--user <name>', 'only events of this user')
    .option('--since <when>', 'only events newer than a duration ago (1h) or a date (2026-01-01)')
    .option('--limit <n>', 'show the newest n events (default 100)')
    .option('-f, --follow', 'keep printing new events as they are recorded, until Ctrl-C')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./audit.js')).runAuditLs(ctx, g(cmd)));

  addBackendCommands(program, ctx);
  setManNotes(program, {
    environment: [
      ['XCTL_CONFIG', 'The config file when -c is not given (else /etc/xport.yaml when it exists).'],
      ['XCTL_PROXY', 'The proxy address when --proxy is not given.'],
      ['XCTL_DEBUG', 'Any value turns on --debug.'],
      ['XSH_HOME', 'Where xctl looks for a logged-in xsh profile to administer with (default ~/.xsh).'],
    ],
    exitStatus: EXIT_STATUS_NOTES,
  });
  return program;
}

/** addBackendCommands adds `xctl backend migrate` and `xctl backend check` (run modules in backend.ts). */
function addBackendCommands(program: Command, ctx: CliContext): void {
  const backend = program.command('backend').description('the storage backend: copy a cluster into PostgreSQL, check for corruption');
  const tlsOptions = (cmd: Command) =>
    cmd
      .option('--ca-file <file>', 'with postgres://: CA that signed the server certificate (turns on verify-full TLS)')
      .option('--cert-file <file>', 'with postgres://: client certificate')
      .option('--key-file <file>', 'with postgres://: client key');
  const migrate = tlsOptions(
    backend
      .command('migrate')
      .description('copy every key and audit event from the SQLite store into PostgreSQL, verifying the copy (safe to re-run)')
      .option('--from <sqlite:DIR>', 'data dir of the cluster to copy (its service must be stopped)')
      .option('--to <postgres://...>', 'the PostgreSQL database to copy into'),
  )
    .option('--overwrite', 'replace keys the target holds with different values')
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./backend.js')).runBackendMigrate(ctx, cmd.optsWithGlobals()));
  setExamples(migrate, '  xctl backend migrate --from=sqlite:/var/lib/xport --to=postgres://xport@db.internal:5432/xport --ca-file=/etc/xport/pg-ca.pem');
  const check = tlsOptions(
    backend
      .command('check')
      .description('read the whole backend and report corruption: schema version, values and events that do not parse, bad revisions')
      .option('--storage <address>', 'sqlite:DIR or postgres://... (default: auth_service.storage of the config)'),
  )
    .addOption(formatOption())
    .action(async (_o, cmd: Command) => (await import('./backend.js')).runBackendCheck(ctx, cmd.optsWithGlobals()));
  setExamples(check, '  xctl backend check -c /etc/xport.yaml\n  xctl backend check --storage=sqlite:/var/lib/xport');
}
