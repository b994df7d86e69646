/**
 * cli/xctl/admin: how xctl reaches the web API with an admin identity — like tctl: on the auth
 * host, the local admin identity in the data dir (found through -c or --data-dir); elsewhere an
 * identity file (`-i FILE --proxy HOST:PORT`) or a logged-in xsh profile whose roles allow it.
 */
import { readFile, access } from 'node:fs/promises';
import { authRequired } from '../../errors.js';
import { ApiClient } from '../../client/api.js';
import { readIdentityFile } from '../../client/identity-file.js';
import { loadSession } from '../../client/session.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../service/config.js';
import { adminIdentityPath, proxyInfoPath, type ProxyInfo } from '../../service/admin-identity.js';
import type { CliContext } from '../shared/context.js';

/** XctlGlobals are xctl's global flags. */
export interface XctlGlobals {
  config?: string;
  dataDir?: string;
  identity?: string;
  proxy?: string;
  insecure?: boolean;
  debug?: boolean;
}

/** AdminConnection is an API client plus the address users should be told about. */
export interface AdminConnection {
  api: ApiClient;
  publicAddr: string;
  source: string;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** dataDirFrom finds the data dir named by --data-dir or by the config file, if any. */
export async function dataDirFrom(ctx: CliContext, g: XctlGlobals): Promise<string | undefined> {
  if (g.dataDir) return g.dataDir;
  const cfgPath = g.config ?? ctx.env.XCTL_CONFIG ?? ((await exists(DEFAULT_CONFIG_PATH)) ? DEFAULT_CONFIG_PATH : undefined);
  if (!cfgPath) return undefined;
  return (await loadConfig(cfgPath)).dataDir;
}

/** connectAdmin returns a client for the admin routes, or a clear auth-required error. */
export async function connectAdmin(ctx: CliContext, g: XctlGlobals): Promise<AdminConnection> {
  const proxy = g.proxy ?? ctx.env.XCTL_PROXY;
  if (g.identity) {
    if (!proxy) throw authRequired('--proxy is required with -i', { hint: 'Example: xctl -i admin.pem --proxy=xport.example.com:3080 users ls' });
    const f = await readIdentityFile(g.identity);
    return {
      api: new ApiClient({ addr: proxy, caPem: f.caPems.join(''), credentials: { certPem: f.certPem, keyPem: f.keyPem }, ...(g.insecure ? { insecure: true } : {}) }),
      publicAddr: proxy,
      source: `identity file ${g.identity}`,
    };
  }
  const dataDir = await dataDirFrom(ctx, g);
  if (dataDir && (await exists(adminIdentityPath(dataDir)))) {
    const f = await readIdentityFile(adminIdentityPath(dataDir));
    let info: ProxyInfo | undefined;
    try {
      info = JSON.parse(await readFile(proxyInfoPath(dataDir), 'utf8')) as ProxyInfo;
    } catch {
      info = undefined;
    }
    const addr = proxy ?? info?.addr;
    if (!addr) throw authRequired(`the auth service in ${dataDir} has not started a proxy`, { hint: 'Start it with: xctl start' });
    return {
      api: new ApiClient({ addr, caPem: f.caPems.join(''), credentials: { certPem: f.certPem, keyPem: f.keyPem } }),
      publicAddr: info?.public_addr ?? addr,
      source: `data dir ${dataDir}`,
    };
  }
  try {
    const s = await loadSession({ home: ctx.home, now: ctx.clock.now(), ...(proxy ? { proxy } : {}) });
    return { api: s.api, publicAddr: s.proxyAddr, source: `xsh profile of ${s.user}` };
  } catch {
    throw authRequired(
      dataDir ? `no admin identity in ${dataDir} (is the auth service running there?)` : 'no admin identity found',
      { hint: 'On the auth host pass -c /etc/xport.yaml or --data-dir DIR; elsewhere use -i FILE --proxy HOST:PORT, or xsh login as a user with the editor role.' },
    );
  }
}
