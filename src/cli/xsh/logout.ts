/**
 * cli/xsh/logout: `xsh logout` — delete saved keys and certificates (keychain entries included).
 */
import { ProfileStore, profileName } from '../../client/profile.js';
import type { CliContext } from '../shared/context.js';
import type { XshGlobals } from './program.js';

/** runLogout removes one profile (with --proxy) or all of them. */
export async function runLogout(ctx: CliContext, o: XshGlobals): Promise<void> {
  const store = new ProfileStore(ctx.home);
  const proxy = o.proxy ?? ctx.env.XSH_PROXY;
  if (proxy) {
    const p = await store.remove(profileName(proxy));
    ctx.io.stdout.write(p ? `Logged out ${p.user} from ${p.webProxyAddr}.\n` : `Not logged in to ${proxy}.\n`);
    return;
  }
  const names = await store.list();
  for (const n of names) await store.remove(n);
  ctx.io.stdout.write(names.length ? 'Logged out all users from all proxies.\n' : 'Not logged in.\n');
}
