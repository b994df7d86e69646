/**
 * client/session: "who am I and how do I reach the proxy" for every xsh command after login —
 * from the current profile, or from an identity file (CI). An expired or missing login is an
 * auth-required error whose hint is the exact command to run.
 */
import { authRequired } from '../errors.js';
import { certificateInfo, type Identity } from '../pki/index.js';
import { ApiClient } from './api.js';
import { readIdentityFile } from './identity-file.js';
import { ProfileStore, profileName, type Profile } from './profile.js';

/** ClientSession is a usable login. */
export interface ClientSession {
  source: 'profile' | 'identity-file';
  proxyAddr: string;
  user: string;
  cluster: string;
  identity: Identity;
  notAfter: Date;
  keyPem: string;
  certPem: string;
  hostCaPem: string;
  profile?: Profile;
  /** Where the key lives: 'file', 'keychain' or the identity file path. */
  keyLocation: string;
  api: ApiClient;
}

/** SessionOptions picks the login to use. */
export interface SessionOptions {
  home: string;
  now: Date;
  proxy?: string;
  user?: string;
  identityFile?: string;
  insecure?: boolean;
  /** Accept an expired certificate (xsh status shows it instead of failing). */
  allowExpired?: boolean;
}

/** loginHint is the command that fixes a missing or expired login. */
export function loginHint(proxy?: string, user?: string): string {
  return `Run: xsh login${proxy ? ` --proxy=${proxy}` : ' --proxy=HOST:PORT'}${user ? ` --user=${user}` : ''}`;
}

/** loadSession returns the active login or throws auth-required. */
export async function loadSession(o: SessionOptions): Promise<ClientSession> {
  if (o.identityFile) {
    const f = await readIdentityFile(o.identityFile);
    const info = certificateInfo(f.certPem);
    if (!info.identity) throw authRequired(`identity file ${o.identityFile} holds no xport identity`);
    if (!o.proxy) throw authRequired('--proxy is required with an identity file', { hint: 'Pass --proxy=HOST:PORT or set XSH_PROXY.' });
    if (!o.allowExpired && info.notAfter.getTime() <= o.now.getTime()) {
      throw authRequired(`the certificate in identity file ${o.identityFile} expired at ${info.notAfter.toISOString()}`, {
        hint: 'Issue a new one with: xctl auth sign --user=NAME --format=file --out=FILE',
      });
    }
    const hostCaPem = f.caPems[0]!;
    return {
      source: 'identity-file',
      proxyAddr: o.proxy,
      user: info.identity.user,
      cluster: info.identity.cluster,
      identity: info.identity,
      notAfter: info.notAfter,
      keyPem: f.keyPem,
      certPem: f.certPem,
      hostCaPem,
      keyLocation: o.identityFile,
      api: new ApiClient({ addr: o.proxy, caPem: f.caPems.join(''), credentials: { certPem: f.certPem, keyPem: f.keyPem }, ...(o.insecure ? { insecure: true } : {}) }),
    };
  }
  const store = new ProfileStore(o.home);
  const profile = o.proxy ? await store.read(profileName(o.proxy)) : await store.current();
  if (!profile) throw authRequired('not logged in', { hint: loginHint(o.proxy, o.user) });
  const creds = await store.credentials(profile);
  if (!creds) throw authRequired(`the saved login for ${profile.webProxyAddr} is incomplete`, { hint: loginHint(profile.webProxyAddr, profile.user) });
  const info = certificateInfo(creds.certPem);
  if (!info.identity) throw authRequired('the saved certificate carries no xport identity', { hint: loginHint(profile.webProxyAddr, profile.user) });
  if (!o.allowExpired && info.notAfter.getTime() <= o.now.getTime()) {
    throw authRequired(`your certificate for ${profile.webProxyAddr} expired at ${info.notAfter.toISOString()}`, {
      hint: loginHint(profile.webProxyAddr, profile.user),
    });
  }
  return {
    source: 'profile',
    proxyAddr: profile.webProxyAddr,
    user: profile.user,
    cluster: profile.cluster || info.identity.cluster,
    identity: info.identity,
    notAfter: info.notAfter,
    keyPem: creds.keyPem,
    certPem: creds.certPem,
    hostCaPem: creds.hostCaPem,
    profile,
    keyLocation: profile.keyStorage === 'keychain' ? 'keychain' : store.paths(profileName(profile.webProxyAddr), profile.user).key,
    api: new ApiClient({
      addr: profile.webProxyAddr,
      caPem: creds.hostCaPem,
      credentials: { certPem: creds.certPem, keyPem: creds.keyPem },
      ...(profile.insecure || o.insecure ? { insecure: true } : {}),
    }),
  };
}
