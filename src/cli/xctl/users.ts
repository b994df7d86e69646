/**
 * cli/xctl/users: `xctl users add|ls|rm|update|reset`, with tctl's output shapes.
 */
import { connectionProblem, usage } from '../../errors.js';
import { humanDuration, parseDuration } from '../../util/duration.js';
import type { PublicUser } from '../../auth/types.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type AdminConnection, type XctlGlobals } from './admin.js';

/** UsersAddOptions are `xctl users add`'s flags. */
export interface UsersAddOptions extends XctlGlobals {
  roles?: string[];
  dbUsers?: string[];
  dbNames?: string[];
  ttl?: string;
  format?: string;
}

const MAX_INVITE_TTL = 48 * 3_600_000;
const MAX_RESET_TTL = 24 * 3_600_000;

/** runUsersAdd creates a user and prints the invite. */
export async function runUsersAdd(ctx: CliContext, name: string, o: UsersAddOptions): Promise<void> {
  if (!o.roles?.length) throw usage('--roles is required', { hint: `Example: xctl users add ${name} --roles=access` });
  const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl', 'h') : 3_600_000;
  if (ttlMs > MAX_INVITE_TTL) throw usage(`--ttl must be at most 48h, got ${o.ttl}`);
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const r = await conn.api.request<{ user: PublicUser; token: string; expires: string }>('POST', '/v1/users', {
    name,
    roles: o.roles,
    db_users: o.dbUsers ?? [],
    db_names: o.dbNames ?? [],
    ttl_ms: ttlMs,
  });
  const pin = await caPin(conn);
  if (format !== 'text') {
    ctx.io.stdout.write(renderData({ user: r.user.name, token: r.token, expires: r.expires, proxy: conn.publicAddr, ca_pin: pin }, format));
    return;
  }
  ctx.io.stdout.write(
    `User "${r.user.name}" has been created but requires a password. Share this URL with the user to complete user setup, link is valid for ${humanDuration(ttlMs)}:\n` +
      `https://${conn.publicAddr}/web/invite/${r.token}\n\n` +
      `Or complete it from a terminal:\n` +
      `  xsh login --proxy=${conn.publicAddr} --user=${r.user.name} --invite=${r.token} --ca-pin=${pin}\n\n` +
      `NOTE: Make sure ${conn.publicAddr} points at an xport proxy which users can access.\n`,
  );
}

/** runUsersLs lists users. */
export async function runUsersLs(ctx: CliContext, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const conn = await connectAdmin(ctx, o);
  const { users } = await conn.api.request<{ users: PublicUser[] }>('GET', '/v1/users');
  if (format !== 'text') {
    ctx.io.stdout.write(renderData(users, format));
    return;
  }
  if (users.length === 0) {
    ctx.io.stdout.write('No users found\n');
    return;
  }
  ctx.io.stdout.write(renderTable(['User', 'Roles', 'Status'], users.map((u) => [u.name, u.roles.join(','), u.status])));
}

/** runUsersRm deletes users named in a comma list. */
export async function runUsersRm(ctx: CliContext, names: string, o: XctlGlobals): Promise<void> {
  const conn = await connectAdmin(ctx, o);
  for (const name of names.split(',').map((s) => s.trim()).filter(Boolean)) {
    await conn.api.request('DELETE', `/v1/users/${encodeURIComponent(name)}`);
    ctx.io.stdout.write(`User "${name}" has been deleted\n`);
  }
}

/** UsersUpdateOptions are `xctl users update`'s flags. */
export interface UsersUpdateOptions extends XctlGlobals {
  setRoles?: string[];
  setDbUsers?: string[];
  setDbNames?: string[];
}

/** runUsersUpdate changes roles or traits. */
export async function runUsersUpdate(ctx: CliContext, name: string, o: UsersUpdateOptions): Promise<void> {
  if (!o.setRoles && !o.setDbUsers && !o.setDbNames) throw usage('Nothing to update. Please provide at least one --set flag.');
  const conn = await connectAdmin(ctx, o);
  const r = await conn.api.request<{ changes: string[] }>('PUT', `/v1/users/${encodeURIComponent(name)}`, {
    ...(o.setRoles ? { roles: o.setRoles } : {}),
    ...(o.setDbUsers ? { db_users: o.setDbUsers } : {}),
    ...(o.setDbNames ? { db_names: o.setDbNames } : {}),
  });
  ctx.io.stdout.write(`User ${name} has been updated:\n${r.changes.map((c) => `\t${c}\n`).join('')}`);
}

/** runUsersReset issues a password reset link. */
export async function runUsersReset(ctx: CliContext, name: string, o: XctlGlobals & { ttl?: string }): Promise<void> {
  const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl', 'h') : 8 * 3_600_000;
  if (ttlMs > MAX_RESET_TTL) throw usage(`--ttl must be at most 24h, got ${o.ttl}`);
  const conn = await connectAdmin(ctx, o);
  const r = await conn.api.request<{ token: string; expires: string }>('POST', `/v1/users/${encodeURIComponent(name)}/reset`, { ttl_ms: ttlMs });
  const pin = await caPin(conn);
  ctx.io.stdout.write(
    `User "${name}" has been reset. Share this URL with the user to complete password reset, link is valid for ${humanDuration(ttlMs)}:\n` +
      `https://${conn.publicAddr}/web/reset/${r.token}\n\n` +
      `Or complete it from a terminal:\n` +
      `  xsh login --proxy=${conn.publicAddr} --user=${name} --invite=${r.token} --ca-pin=${pin}\n\n` +
      `NOTE: Make sure ${conn.publicAddr} points at an xport proxy which users can access.\n`,
  );
}

/**
 * caPin is the cluster's CA pin, printed in the terminal login commands: a newcomer's first
 * `xsh login` against a self-signed proxy needs it, and a command that omits it fails there.
 */
async function caPin(conn: AdminConnection): Promise<string> {
  // From ping, over the already verified connection: an admin allowed to add users may not be
  // allowed to read the cluster's CAs.
  const r = await conn.api.ping();
  const pin = r.ca_pins[0];
  if (!pin) throw connectionProblem('the proxy did not say its CA pin');
  return pin;
}
