/**
 * cli/xsh/logout: `xsh logout` — delete saved keys and certificates (keychain entries included).
 */
import { ProfileStore, profileName } from '../../client/profile.js';
import type { CliContext } from '../shared/context.js';
import type { XshGlobals } from './globals.js';

/**
 * runLogout removes one profile (with --proxy) or all of them. The cluster CA of each proxy stays
 * remembered (like tsh's known proxies), so a later `xsh login --proxy=… --user=…` needs no
 * --ca-pin; `--forget-ca` forgets it too.
 */
export async function runLogout(ctx: CliContext, o: XshGlobals & { forgetCa?: boolean }): Promise<void> {
  const store = new ProfileStore(ctx.home);
  const proxy = o.proxy ?? ctx.env.XSH_PROXY;
  if (proxy) {
    const name = profileName(proxy);
    const p = await store.remove(name);
    const forgot = o.forgetCa ? await store.forgetCa(name) : false;
    ctx.io.stdout.write(p ? `Logged out ${p.user} from ${p.webProxyAddr}.\n` : `Not logged in to ${proxy}.\n`);
    if (forgot) ctx.io.stdout.write(`Forgot the cluster CA of ${proxy}; the next login needs --ca-pin.\n`);
    return;
  }
  const names = await store.list();
  for (const n of names) await store.remove(n);
  if (o.forgetCa) await store.forgetAllCas();
  ctx.io.stdout.write(names.length ? 'Logged out all users from all proxies.\n' : 'Not logged in.\n');
}
