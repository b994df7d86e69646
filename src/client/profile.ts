/**
 * client/profile: the `~/.xsh` profile store, laid out like `~/.tsh`:
 *
 *   ~/.xsh/current-profile                 name of the active proxy host
 *   ~/.xsh/<proxy-host>.yaml               web_proxy_addr, user, cluster, key_storage, trust
 *   ~/.xsh/keys/<proxy-host>/certs.pem     the cluster's host CA (to verify the proxy)
 *   ~/.xsh/keys/<proxy-host>/<user>.key    private key, 0600 (absent when in the keychain)
 *   ~/.xsh/keys/<proxy-host>/<user>.crt    user certificate
 *
 * Must not import auth, store, service or cli.
 */
import { readFile, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { badParameter } from '../errors.js';
import { writeFileAtomic, ensurePrivateDir } from '../util/fs.js';
import { parseHostPort } from '../util/net.js';
import { deleteKey, loadKey, saveKey, type KeyStorage } from './keystore.js';

/** Profile is one logged-in proxy. */
export interface Profile {
  webProxyAddr: string;
  user: string;
  cluster: string;
  keyStorage: KeyStorage;
  caPin?: string;
  insecure?: boolean;
}

/** ProfileCredentials is what a profile needs to talk to the proxy. */
export interface ProfileCredentials {
  profile: Profile;
  keyPem: string;
  certPem: string;
  hostCaPem: string;
}

/** profileName is the file-safe name of a proxy (its host, like tsh). */
export function profileName(proxyAddr: string): string {
  return parseHostPort(proxyAddr, 3080, 'proxy address').host.replace(/[^a-zA-Z0-9._-]/g, '_');
}

/** ProfileStore reads and writes profiles under one home directory. */
export class ProfileStore {
  constructor(readonly home: string) {}

  private keysDir(name: string): string {
    return join(this.home, 'keys', name);
  }
  /** paths gives the files of a profile. */
  paths(name: string, user: string) {
    const dir = this.keysDir(name);
    return { dir, key: join(dir, `${user}.key`), cert: join(dir, `${user}.crt`), ca: join(dir, 'certs.pem'), profile: join(this.home, `${name}.yaml`) };
  }

  /**
   * knownCaPath is where the cluster CA of a proxy is remembered across `xsh logout` (tsh keeps
   * known proxies the same way), so the next plain `xsh login --proxy=…` still verifies the proxy.
   */
  knownCaPath(name: string): string {
    return join(this.home, 'known_proxies', `${name}.pem`);
  }

  /** knownCa returns the remembered cluster CA of a proxy, or undefined. */
  async knownCa(name: string): Promise<string | undefined> {
    try {
      const pem = await readFile(this.knownCaPath(name), 'utf8');
      return pem.includes('-----BEGIN CERTIFICATE-----') ? pem : undefined;
    } catch {
      return undefined;
    }
  }

  /** forgetCa deletes the remembered cluster CA of a proxy; returns whether there was one. */
  async forgetCa(name: string): Promise<boolean> {
    const had = (await this.knownCa(name)) !== undefined;
    await rm(this.knownCaPath(name), { force: true });
    return had;
  }

  /** forgetAllCas deletes every remembered cluster CA. */
  async forgetAllCas(): Promise<void> {
    await rm(join(this.home, 'known_proxies'), { recursive: true, force: true });
  }

  /** current returns the active profile, or undefined when not logged in. */
  async current(): Promise<Profile | undefined> {
    let name: string;
    try {
      name = (await readFile(join(this.home, 'current-profile'), 'utf8')).trim();
    } catch {
      return undefined;
    }
    return name ? this.read(name) : undefined;
  }

  /** read returns a named profile, or undefined. A corrupt profile file is a clear error. */
  async read(name: string): Promise<Profile | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.home, `${name}.yaml`), 'utf8');
    } catch {
      return undefined;
    }
    let y: Record<string, unknown>;
    try {
      y = (parse(text) ?? {}) as Record<string, unknown>;
    } catch {
      throw badParameter(`profile ${join(this.home, `${name}.yaml`)} is corrupt`, { hint: 'Run xsh logout, then xsh login again.' });
    }
    if (typeof y.web_proxy_addr !== 'string' || typeof y.user !== 'string') {
      throw badParameter(`profile ${join(this.home, `${name}.yaml`)} is corrupt`, { hint: 'Run xsh logout, then xsh login again.' });
    }
    return {
      webProxyAddr: y.web_proxy_addr,
      user: y.user,
      cluster: typeof y.cluster === 'string' ? y.cluster : '',
      keyStorage: y.key_storage === 'keychain' ? 'keychain' : 'file',
      ...(typeof y.ca_pin === 'string' ? { caPin: y.ca_pin } : {}),
      ...(y.insecure === true ? { insecure: true } : {}),
    };
  }

  /** save writes a profile with its key, certificate and host CA, and makes it current. */
  async save(profile: Omit<Profile, 'keyStorage'>, material: { keyPem: string; certPem: string; hostCaPem: string }, opts: { useKeychain: boolean }): Promise<Profile> {
    const name = profileName(profile.webProxyAddr);
    const p = this.paths(name, profile.user);
    await ensurePrivateDir(this.home);
    await ensurePrivateDir(p.dir);
    const keyStorage = await saveKey(`${name}/${profile.user}`, p.key, material.keyPem, opts);
    await writeFileAtomic(p.cert, material.certPem);
    await writeFileAtomic(p.ca, material.hostCaPem);
    await ensurePrivateDir(join(this.home, 'known_proxies'));
    await writeFileAtomic(this.knownCaPath(name), material.hostCaPem);
    const full: Profile = { ...profile, keyStorage };
    await writeFileAtomic(
      p.profile,
      stringify({
        web_proxy_addr: full.webProxyAddr,
        user: full.user,
        cluster: full.cluster,
        key_storage: keyStorage,
        ...(full.caPin ? { ca_pin: full.caPin } : {}),
        ...(full.insecure ? { insecure: true } : {}),
      }),
    );
    await writeFileAtomic(join(this.home, 'current-profile'), name + '\n');
    return full;
  }

  /** credentials loads the key, certificate and CA of a profile; undefined if any is missing. */
  async credentials(profile: Profile): Promise<ProfileCredentials | undefined> {
    const name = profileName(profile.webProxyAddr);
    const p = this.paths(name, profile.user);
    const keyPem = await loadKey(`${name}/${profile.user}`, p.key, profile.keyStorage);
    let certPem: string, hostCaPem: string;
    try {
      certPem = await readFile(p.cert, 'utf8');
      hostCaPem = await readFile(p.ca, 'utf8');
    } catch {
      return undefined;
    }
    if (!keyPem) return undefined;
    return { profile, keyPem, certPem, hostCaPem };
  }

  /** remove deletes one profile and its keys (not the remembered CA: see forgetCa); it returns the removed profile. */
  async remove(name: string): Promise<Profile | undefined> {
    const profile = await this.read(name);
    if (profile) {
      const p = this.paths(name, profile.user);
      await deleteKey(`${name}/${profile.user}`, p.key, profile.keyStorage);
    }
    await rm(this.keysDir(name), { recursive: true, force: true });
    await rm(join(this.home, `${name}.yaml`), { force: true });
    try {
      const cur = (await readFile(join(this.home, 'current-profile'), 'utf8')).trim();
      if (cur === name) await rm(join(this.home, 'current-profile'), { force: true });
    } catch {
      // no current profile
    }
    return profile;
  }

  /** list returns the names of every saved profile. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.home)).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
    } catch {
      return [];
    }
  }
}
