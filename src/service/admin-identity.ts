/**
 * service/admin-identity: where `xctl start` leaves what a local `xctl` needs on the auth host —
 * the admin identity (key + certificate + host CA, 0600) and the proxy address it really bound
 * (the config may say port 0). Like `tctl` on the auth host, no login is needed there.
 */
import { join } from 'node:path';

/** adminIdentityPath is the admin identity file under a data dir. */
export function adminIdentityPath(dataDir: string): string {
  return join(dataDir, 'admin', 'identity.pem');
}

/** proxyInfoPath is the JSON file with the running proxy's address and CA pin. */
export function proxyInfoPath(dataDir: string): string {
  return join(dataDir, 'admin', 'proxy.json');
}

/** ProxyInfo is what proxy.json holds. */
export interface ProxyInfo {
  addr: string;
  public_addr: string;
  cluster_name: string;
  ca_pin: string;
  pid: number;
}
