/**
 * client/connect-command: the redis-cli command line xsh runs (`xsh db connect`) or shows
 * (`xsh proxy db --tunnel`, `xsh db config --format=cmd`), and finding redis-cli on PATH.
 *
 * redis-cli always talks plain RESP to the local tunnel on 127.0.0.1, which does the TLS to the
 * proxy, so there are never TLS flags here (tsh's `--tunnel` mode, reference §1.6 and §6.4).
 * Must not import cli, service, proxy, auth or store.
 */
import { stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** REDIS_CLI is the program `xsh db connect` runs. */
export const REDIS_CLI = 'redis-cli';

/** RedisCliTarget says where redis-cli connects and what it should pass on. */
export interface RedisCliTarget {
  host: string;
  /** The tunnel's port; a string only for display placeholders such as `PORT`. */
  port: number | string;
  /** The Redis database number (`--db-name`), passed as `-n`. */
  dbName?: string;
  /** Ask redis-cli for RESP3 (`-3`, redis-cli 6 and newer). */
  resp3?: boolean;
  /** Arguments the user gave after `--`, passed through untouched and last. */
  extra?: readonly string[];
}

/** redisCliArgs builds redis-cli's argv (without the program name). */
export function redisCliArgs(t: RedisCliTarget): string[] {
  return [
    '-h',
    t.host,
    '-p',
    String(t.port),
    ...(t.dbName ? ['-n', t.dbName] : []),
    ...(t.resp3 ? ['-3'] : []),
    ...(t.extra ?? []),
  ];
}

/**
 * shellQuote renders one argument so a POSIX shell reads it back unchanged: plain words stay bare,
 * anything else goes in single quotes.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** formatCommand renders a program and its arguments as one copy-pasteable shell line. */
export function formatCommand(program: string, args: readonly string[]): string {
  return [program, ...args].map(shellQuote).join(' ');
}

/** redisCliCommandLine is the display form of {@link redisCliArgs}: `redis-cli -h 127.0.0.1 -p 6379`. */
export function redisCliCommandLine(t: RedisCliTarget): string {
  return formatCommand(REDIS_CLI, redisCliArgs(t));
}

/**
 * findOnPath returns the absolute path of an executable named `name` in the directories of
 * `pathEnv` (a PATH value), or undefined. A name that is already a path is checked as is. xsh looks
 * the program up itself, before starting a tunnel or issuing a certificate, so a missing redis-cli
 * is reported plainly instead of as a spawn failure after network work.
 */
export async function findOnPath(name: string, pathEnv: string | undefined): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutableFile(name)) ? name : undefined;
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory; resolving that would make what runs
    // depend on where the user stands, so such entries are skipped (as a relative one is).
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    // Any execute bit is enough: spawn reports a permission problem itself if ours is missing.
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
