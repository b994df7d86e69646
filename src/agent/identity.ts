/**
 * agent/identity: a remote agent's host identity. On first start it joins with the token
 * from the config (verifying the proxy by CA pin), keeps the result 0600 in its data dir, and
 * re-joins only when that identity is gone or expired.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authRequired, badParameter } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { writeSecretFile } from '../util/fs.js';
import { certificateInfo, generateKeyPair, parsePemBlocks } from '../pki/index.js';
import { ApiClient } from '../client/api.js';

/** AgentIdentity is what an agent needs to dial the proxy and check users. */
export interface AgentIdentity {
  hostId: string;
  /** The cluster joined (from the host certificate the auth service signed). */
  clusterName: string;
  certPem: string;
  keyPem: string;
  hostCaPem: string;
  userCaPem: string;
  dbCaPem: string;
  notAfter: Date;
}

interface JoinReply {
  host_id: string;
  cert: string;
  expires: string;
  cluster_name: string;
  host_ca: string;
  user_ca: string;
  db_ca: string;
}

/** agentIdentityPath is where a joined agent keeps its identity. */
export function agentIdentityPath(dataDir: string): string {
  return join(dataDir, 'agent', 'identity.pem');
}

async function readToken(tokenOrPath: string): Promise<string> {
  // Like Teleport's auth_token: a path to a file holding the token, or the token itself.
  if (tokenOrPath.startsWith('/') || tokenOrPath.startsWith('.')) {
    try {
      return (await readFile(tokenOrPath, 'utf8')).trim();
    } catch (err) {
      throw badParameter(`cannot read the join token file ${tokenOrPath} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return tokenOrPath.trim();
}

function fromFile(text: string): AgentIdentity | undefined {
  const blocks = parsePemBlocks(text);
  const key = blocks.find((b) => /PRIVATE KEY$/.test(b.type));
  const certs = blocks.filter((b) => b.type === 'CERTIFICATE');
  if (!key || certs.length < 4) return undefined;
  const info = certificateInfo(certs[0]!.pem);
  const hostId = info.identity?.hostId;
  const clusterName = info.identity?.cluster;
  if (!hostId || !clusterName) return undefined;
  return { hostId, clusterName, keyPem: key.pem, certPem: certs[0]!.pem, hostCaPem: certs[1]!.pem, userCaPem: certs[2]!.pem, dbCaPem: certs[3]!.pem, notAfter: info.notAfter };
}

/**
 * loadOrJoin returns a valid agent identity, joining the cluster when needed. `clusterName` is
 * the name the config gives, if it gives one: the join (or the identity already held) must be
 * for that cluster, and the error says which name to use.
 */
export async function loadOrJoin(o: { dataDir: string; proxyServer: string; authToken?: string; caPin?: string; clusterName?: string; clock: Clock }): Promise<AgentIdentity> {
  const path = agentIdentityPath(o.dataDir);
  let held: AgentIdentity | undefined;
  try {
    held = fromFile(await readFile(path, 'utf8'));
  } catch {
    // not joined yet
  }
  if (held && held.notAfter.getTime() - o.clock.now().getTime() > 60_000) {
    if (o.clusterName !== undefined && o.clusterName !== held.clusterName) {
      throw badParameter(`this agent's config names cluster "${o.clusterName}", but it joined cluster "${held.clusterName}"`, {
        hint: `Set cluster_name: ${held.clusterName} in the agent's config, or remove the cluster_name line (the agent takes it from the join).`,
      });
    }
    return held;
  }
  if (!o.authToken) {
    throw authRequired('this agent has not joined the cluster and db_service.auth_token is not set', {
      hint: 'Create a token with `xctl tokens add --type=db` and generate the config with `xctl db configure create`.',
    });
  }
  const api = new ApiClient({ addr: o.proxyServer, ...(o.caPin ? { caPin: o.caPin } : {}) });
  const kp = generateKeyPair('ecdsa-p256');
  // The auth service checks the configured cluster name before it uses up the token.
  const r = await api.request<JoinReply>('POST', '/v1/webapi/join', {
    token: await readToken(o.authToken),
    public_key: kp.publicKeyPem,
    ...(o.clusterName !== undefined ? { cluster_name: o.clusterName } : {}),
  });
  await writeSecretFile(path, kp.privateKeyPem + r.cert + r.host_ca + r.user_ca + r.db_ca);
  return {
    hostId: r.host_id,
    clusterName: r.cluster_name,
    certPem: r.cert,
    keyPem: kp.privateKeyPem,
    hostCaPem: r.host_ca,
    userCaPem: r.user_ca,
    dbCaPem: r.db_ca,
    notAfter: new Date(r.expires),
  };
}

/** renewAgentIdentity asks for a fresh host certificate with the current one and saves it (0600). */
export async function renewAgentIdentity(dataDir: string, api: ApiClient, current: AgentIdentity): Promise<AgentIdentity> {
  const kp = generateKeyPair('ecdsa-p256');
  const r = await api.request<JoinReply>('POST', '/v1/agent/renew', { public_key: kp.publicKeyPem });
  await writeSecretFile(agentIdentityPath(dataDir), kp.privateKeyPem + r.cert + r.host_ca + r.user_ca + r.db_ca);
  return { ...current, certPem: r.cert, keyPem: kp.privateKeyPem, notAfter: new Date(r.expires) };
}
