/**
 * cli/xctl/db-secret: `xctl db secret set|ls|rm` — secrets agents need to reach a database, today
 * the Redis admin password of a self-hosted database with `users: managed`
 * (`admin: { user, password_secret: NAME }`). The auth service stores them encrypted with a key
 * only it holds and gives the plaintext only to agents serving a database the secret names.
 *
 * The value comes from standard input (`--password-stdin`, as `docker login` takes it), never
 * from a flag: a flag would land in the shell history and in `ps`.
 */
import { usage } from '../../errors.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** DbSecretSetOptions are `xctl db secret set`'s flags. */
export interface DbSecretSetOptions extends XctlGlobals {
  passwordStdin?: boolean;
  db?: string[];
}

/** DbSecretSetRequest is a parsed `xctl db secret set`. */
export interface DbSecretSetRequest {
  name: string;
  databases: string[];
}

/** MAX_STDIN_BYTES bounds what is read from standard input (a password is far shorter). */
const MAX_STDIN_BYTES = 8192;

/** parseDbSecretSet checks the arguments of `xctl db secret set` before anything is read or sent. */
export function parseDbSecretSet(name: string, o: DbSecretSetOptions): DbSecretSetRequest {
  if (!o.passwordStdin) {
    throw usage('xctl db secret set reads the value from standard input: add --password-stdin', {
      hint: `Example: xctl db secret set ${name} --password-stdin < redis-admin.pw`,
    });
  }
  const databases = o.db && o.db.length > 0 ? [...new Set(o.db)] : [name];
  return { name, databases };
}

/** readSecretStdin reads the value: everything on standard input, without its final newline. */
export async function readSecretStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.io.stdin as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    n += b.length;
    if (n > MAX_STDIN_BYTES) throw usage(`the value on standard input is longer than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(b);
  }
  const value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (value === '') throw usage('standard input was empty: pipe the password in, e.g. xctl db secret set NAME --password-stdin < file');
  return value;
}

/** runDbSecretSet stores the secret and says which databases' agents may read it (never the value). */
export async function runDbSecretSet(ctx: CliContext, name: string, o: DbSecretSetOptions): Promise<void> {
  const req = parseDbSecretSet(name, o);
  const value = await readSecretStdin(ctx);
  const conn = await connectAdmin(ctx, o);
  const r = await conn.api.request<{ name: string; databases: string[] }>('PUT', `/v1/db-secrets/${encodeURIComponent(req.name)}`, { databases: req.databases, value });
  ctx.io.stdout.write(
    `Secret "${r.name}" set; agents serving ${r.databases.join(', ')} may read it.\n` +
      `Use it in the agent config: admin: { user: <redis admin user>, password_secret: ${r.name} }\n`,
  );
}

/** runDbSecretLs lists secrets: names, databases, key id and who set them when. */
export async function runDbSecretLs(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const { secrets } = await conn.api.request<{ secrets: { name: string; databases: string[]; key_id: string; updated: string; updated_by: string }[] }>('GET', '/v1/db-secrets');
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(secrets, format));
    return;
  }
  if (secrets.length === 0) {
    ctx.io.stdout.write('No database secrets.\n');
    return;
  }
  ctx.io.stdout.write(renderTable(['Name', 'Databases', 'Key', 'Updated', 'By'], secrets.map((s) => [s.name, s.databases.join(','), s.key_id, s.updated, s.updated_by])));
}

/** runDbSecretRm deletes a secret. */
export async function runDbSecretRm(ctx: CliContext, name: string, o: XctlGlobals): Promise<void> {
  const conn = await connectAdmin(ctx, o);
  await conn.api.request('DELETE', `/v1/db-secrets/${encodeURIComponent(name)}`);
  ctx.io.stdout.write(`Secret "${name}" deleted.\n`);
}
