/**
 * client/reloading-dialer: a {@link RoutedDialer} for long-running tunnels (`xsh proxy db
 * --tunnel`) that picks up a new login without a restart, as tsh does. Before each new client
 * connection it looks at the file the login came from (the profile's certificate, or the identity
 * file); when that changed and now holds a valid certificate of the same user, it issues a routed
 * certificate for the new login and dials with it from then on. Connections already open stay on
 * the old login until they end.
 *
 * One `stat` per client connection (not per command), asynchronous; the login itself is re-read
 * only when the file's modification time or size changed.
 */
import { stat } from 'node:fs/promises';
import { ensureDbLogin, routedDialer, type DbLogin, type RoutedDialer } from './databases.js';
import { ProfileStore, profileName } from './profile.js';
import { loadSession, type ClientSession } from './session.js';

/** ReloadingDialerOptions configures {@link reloadingDialer}. */
export interface ReloadingDialerOptions {
  session: ClientSession;
  store: ProfileStore | undefined;
  login: DbLogin;
  /** xsh's home (profiles), for re-reading the login. */
  home: string;
  /** Passed again to loadSession when re-reading an identity file. */
  insecure?: boolean;
  /** Whether routed certificates of this tunnel are saved in the profile (the user named the db user). */
  remember: boolean;
  now: () => Date;
  onRenew?: (login: DbLogin) => void;
  /** Called after the tunnel switched to a new login. */
  onReload?: (session: ClientSession, login: DbLogin) => void;
  /** Called when the login file changed but could not be used (expired, other user, unreadable). */
  onReloadSkipped?: (why: string) => void;
}

/** sourceFile is the file whose change means "the user logged in again". */
function sourceFile(session: ClientSession, store: ProfileStore | undefined, home: string): string {
  if (session.source === 'identity-file') return session.keyLocation;
  return (store ?? new ProfileStore(home)).paths(profileName(session.proxyAddr), session.user).cert;
}

async function fingerprint(file: string): Promise<string | undefined> {
  try {
    const st = await stat(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** reloadingDialer wraps routedDialer with login reloads; see the module comment. */
export async function reloadingDialer(o: ReloadingDialerOptions): Promise<RoutedDialer> {
  const file = sourceFile(o.session, o.store, o.home);
  let seen = await fingerprint(file);
  let session = o.session;
  let current = routedDialer({ session, store: o.store, login: o.login, now: o.now, ...(o.onRenew ? { onRenew: o.onRenew } : {}) });
  const retired: RoutedDialer[] = [];
  let reloading: Promise<void> | undefined;

  const reload = async (): Promise<void> => {
    const fp = await fingerprint(file);
    if (fp === undefined || fp === seen) return;
    seen = fp;
    let next: ClientSession;
    try {
      next = await loadSession({
        home: o.home,
        now: o.now(),
        proxy: session.proxyAddr,
        user: session.user,
        ...(session.source === 'identity-file' ? { identityFile: session.keyLocation } : {}),
        ...(o.insecure ? { insecure: true } : {}),
      });
    } catch (err) {
      o.onReloadSkipped?.((err as Error).message);
      return;
    }
    if (next.certPem === session.certPem) return;
    if (next.user !== session.user) {
      o.onReloadSkipped?.(`the new login is for ${next.user}, not ${session.user}; restart the tunnel to switch users`);
      return;
    }
    const was = current.current();
    const { login } = await ensureDbLogin(
      next,
      o.remember ? o.store : undefined,
      { database: was.database, ...(was.dbUser ? { dbUser: was.dbUser } : {}), ...(was.dbName ? { dbName: was.dbName } : {}) },
      o.now(),
      { remember: o.remember },
    );
    retired.push(current);
    session = next;
    current = routedDialer({ session, store: o.store, login, now: o.now, ...(o.onRenew ? { onRenew: o.onRenew } : {}) });
    o.onReload?.(session, login);
  };

  return {
    async dial() {
      // Dials that arrive together share one reload.
      reloading ??= reload()
        .catch((err: unknown) => o.onReloadSkipped?.((err as Error).message))
        .finally(() => {
          reloading = undefined;
        });
      await reloading;
      return current.dial();
    },
    current: () => current.current(),
    async close() {
      await Promise.all([current, ...retired].map((d) => d.close()));
    },
  };
}
