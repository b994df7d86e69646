/**
 * cli/xctl/resources: `xctl create -f`, `xctl get`, `xctl rm` for roles (users and tokens through
 * their own commands, but `get`/`rm` accept them too, as tctl does).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { stringify } from 'yaml';
import { notFound, usage } from '../../errors.js';
import type { PublicUser, Role } from '../../auth/types.js';
import type { DatabaseResource } from '../../db/resource.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData, renderTable } from '../shared/output.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** runCreate creates (or with --force replaces) the roles, or the `kind: db` databases, in a YAML file. */
export async function runCreate(ctx: CliContext, o: XctlGlobals & { file?: string; force?: boolean }): Promise<void> {
  if (!o.file) throw usage('-f FILE is required', { hint: 'Example: xctl create -f role.yaml' });
  let text: string;
  try {
    text = o.file === '-' ? await readStdin(ctx) : await readFile(o.file, 'utf8');
  } catch (err) {
    throw notFound(`cannot read ${o.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const conn = await connectAdmin(ctx, o);
  if (/^kind:\s*db\s*$/m.test(text)) {
    const r = await conn.api.request<{ databases: { name: string; created: boolean }[] }>('PUT', '/v1/databases', {
      yaml: text,
      source: o.file === '-' ? 'stdin' : basename(o.file),
      force: Boolean(o.force),
    });
    for (const db of r.databases) ctx.io.stdout.write(`database "${db.name}" has been ${db.created ? 'created' : 'updated'}\n`);
    return;
  }
  const r = await conn.api.request<{ roles: { name: string; created: boolean }[] }>('PUT', '/v1/roles', {
    yaml: text,
    source: o.file === '-' ? 'stdin' : basename(o.file),
    force: Boolean(o.force),
  });
  for (const role of r.roles) ctx.io.stdout.write(`role "${role.name}" has been ${role.created ? 'created' : 'updated'}\n`);
}

async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function splitRef(ref: string): { kind: string; name?: string } {
  const [kind, ...rest] = ref.split('/');
  const k = (kind ?? '').toLowerCase().replace(/s$/, '');
  return rest.length ? { kind: k, name: rest.join('/') } : { kind: k };
}

/** runGet prints roles, users or tokens; yaml by default, like tctl get. */
export async function runGet(ctx: CliContext, ref: string, o: XctlGlobals & { format?: string }): Promise<void> {
  const format = parseFormat(o.format ?? 'yaml');
  const { kind, name } = splitRef(ref);
  const conn = await connectAdmin(ctx, o);
  if (kind === 'role') {
    const roles = name
      ? [(await conn.api.request<{ role: Role }>('GET', `/v1/roles/${encodeURIComponent(name)}`)).role]
      : (await conn.api.request<{ roles: Role[] }>('GET', '/v1/roles')).roles;
    if (format === 'text') ctx.io.stdout.write(renderTable(['Role', 'Description'], roles.map((r) => [r.metadata.name, r.metadata.description ?? ''])));
    else if (format === 'json') ctx.io.stdout.write(renderData(roles, 'json'));
    else ctx.io.stdout.write(roles.map((r) => stringify(r)).join('---\n'));
    return;
  }
  if (kind === 'user') {
    let { users } = await conn.api.request<{ users: PublicUser[] }>('GET', '/v1/users');
    if (name) {
      users = users.filter((u) => u.name === name);
      if (!users.length) throw notFound(`user "${name}" does not exist`);
    }
    if (format === 'text') ctx.io.stdout.write(renderTable(['User', 'Roles', 'Status'], users.map((u) => [u.name, u.roles.join(','), u.status])));
    else ctx.io.stdout.write(format === 'json' ? renderData(users, 'json') : users.map((u) => stringify({ kind: 'user', version: 'v1', metadata: { name: u.name }, spec: { roles: u.roles, traits: u.traits, status: u.status, created: u.createdAt } })).join('---\n'));
    return;
  }
  if (kind === 'db') {
    // `kind: db` resources exactly as stored, so `xctl get db/NAME > db.yaml`, an edit and
    // `xctl create -f db.yaml --force` round-trip. Databases from an agent's config are not resources.
    let { resources } = await conn.api.request<{ resources: DatabaseResource[] }>('GET', '/v1/db-resources');
    if (name) {
      resources = resources.filter((r) => r.metadata.name === name);
      if (resources.length === 0) {
        const { databases } = await conn.api.request<{ databases: { name: string; agents?: string[] }[] }>('GET', '/v1/databases');
        const served = databases.find((d) => d.name === name);
        if (served) {
          throw notFound(`database "${name}" comes from an agent's config file (db_service.databases), not from a kind: db resource`, {
            hint: 'Edit that agent config to change it; xctl db ls shows which agent serves it.',
          });
        }
        throw notFound(`database "${name}" does not exist`, { hint: 'xctl get dbs lists the kind: db resources; xctl db ls every database.' });
      }
    }
    if (format === 'text') ctx.io.stdout.write(renderTable(['Name', 'URI', 'Labels'], resources.map((r) => [r.metadata.name, r.spec.uri, Object.entries(r.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')])));
    else if (format === 'json') ctx.io.stdout.write(renderData(resources, 'json'));
    else ctx.io.stdout.write(resources.map((r) => stringify(r)).join('---\n'));
    return;
  }
  if (kind === 'token') {
    const { tokens } = await conn.api.request<{ tokens: unknown[] }>('GET', '/v1/tokens');
    ctx.io.stdout.write(renderData(tokens, format === 'json' ? 'json' : 'yaml'));
    return;
  }
  throw usage(`unknown resource "${ref}"; use roles, role/NAME, users, user/NAME, dbs, db/NAME or tokens`);
}

/** runRm removes role/NAME, user/NAME or token/TOKEN. */
export async function runRm(ctx: CliContext, ref: string, o: XctlGlobals): Promise<void> {
  const { kind, name } = splitRef(ref);
  if (!name) throw usage(`name the resource to remove, e.g. role/${kind || 'NAME'}`);
  const conn = await connectAdmin(ctx, o);
  const path = kind === 'role' ? '/v1/roles/' : kind === 'user' ? '/v1/users/' : kind === 'token' ? '/v1/tokens/' : kind === 'db' ? '/v1/databases/' : undefined;
  if (!path) throw usage(`unknown resource kind "${kind}"; use role/NAME, user/NAME, db/NAME or token/TOKEN`);
  await conn.api.request('DELETE', path + encodeURIComponent(name));
  ctx.io.stdout.write(`${kind} "${name}" has been deleted\n`);
}
