/**
 * cli/xsh/status: `xsh status` — the tsh-shaped profile block, from local files only (no network),
 * so it is fast and works offline.
 */
import { authRequired } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';
import { activeDbLogins } from '../../client/databases.js';
import { ProfileStore } from '../../client/profile.js';
import { loadSession, loginHint, type ClientSession } from '../../client/session.js';
import type { CliContext } from '../shared/context.js';
import { parseFormat, renderData } from '../shared/output.js';
import type { XshGlobals } from './globals.js';

/** StatusOptions are `xsh status`'s flags. */
export interface StatusOptions extends XshGlobals {
  format?: string;
}

/** runStatus prints the current login. */
export async function runStatus(ctx: CliContext, o: StatusOptions): Promise<void> {
  await printStatus(ctx, o, parseFormat(o.format));
}

/** printStatus prints the status block; an expired login prints, then fails with exit 4. */
export async function printStatus(ctx: CliContext, o: XshGlobals, format: 'text' | 'json' | 'yaml'): Promise<void> {
  const identityFile = o.identity ?? ctx.env.XSH_IDENTITY;
  let s: ClientSession;
  try {
    s = await loadSession({
      home: ctx.home,
      now: ctx.clock.now(),
      allowExpired: true,
      ...(o.proxy ?? ctx.env.XSH_PROXY ? { proxy: (o.proxy ?? ctx.env.XSH_PROXY)! } : {}),
      ...(identityFile ? { identityFile } : {}),
    });
  } catch (err) {
    // Scripts asked for json/yaml: they get a document saying so (the error still goes to stderr, exit 4).
    if (format !== 'text' && (err as { kind?: string }).kind === 'auth-required') {
      ctx.io.stdout.write(renderData({ logged_in: false, error: (err as Error).message }, format));
    }
    throw err;
  }
  const left = s.notAfter.getTime() - ctx.clock.now().getTime();
  const expired = left <= 0;
  // Database logins, as tsh lists them: local files only, like the rest of status.
  const now = ctx.clock.now().getTime();
  const dbLogins = (await activeDbLogins(s, s.source === 'profile' ? new ProfileStore(ctx.home) : undefined).catch(() => [])).filter((l) => l.expires.getTime() > now);
  if (format === 'text') {
    const rows: [string, string][] = [
      ['Profile URL:', `https://${s.proxyAddr}`],
      ['Logged in as:', s.user],
      ['Cluster:', s.cluster],
      ['Roles:', s.identity.roles.join(', ') || '(none)'],
    ];
    if (s.identity.traits.db_users.length) rows.push(['Database users:', s.identity.traits.db_users.join(', ')]);
    if (s.identity.traits.db_names.length) rows.push(['Database names:', s.identity.traits.db_names.join(', ')]);
    rows.push(['Valid until:', `${formatTime(s.notAfter)} [${expired ? 'EXPIRED' : `valid for ${formatDuration(left)}`}]`]);
    if (dbLogins.length) rows.push(['Databases:', dbLogins.map((l) => `${l.database} (user: ${l.dbUser}${l.dbName ? `, db: ${l.dbName}` : ''})`).join(', ')]);
    rows.push(['Key storage:', s.source === 'identity-file' ? `identity file ${s.keyLocation}` : s.keyLocation === 'keychain' ? 'OS keychain' : `file ${s.keyLocation}`]);
    ctx.io.stdout.write(rows.map(([k, v], i) => `${i === 0 ? '> ' : '  '}${k.padEnd(19)} ${v}`).join('\n') + '\n');
  } else {
    ctx.io.stdout.write(
      renderData(
        {
          logged_in: true,
          profile_url: `https://${s.proxyAddr}`,
          username: s.user,
          cluster: s.cluster,
          roles: s.identity.roles,
          traits: s.identity.traits,
          valid_until: s.notAfter.toISOString(),
          expired,
          key_storage: s.source === 'identity-file' ? 'identity-file' : s.keyLocation === 'keychain' ? 'keychain' : 'file',
          source: s.source,
          databases: dbLogins.map((l) => ({ name: l.database, db_user: l.dbUser, db_name: l.dbName ?? '', expires: l.expires.toISOString() })),
        },
        format,
      ),
    );
  }
  if (expired) {
    throw authRequired(`your certificate expired at ${s.notAfter.toISOString()}`, { hint: loginHint(s.proxyAddr, s.user) });
  }
}

function formatTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC');
}
