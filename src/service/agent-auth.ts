/**
 * service/agent-auth: what a database agent needs from the auth service — CA certificates, role
 * definitions, short-lived db_client certificates and a sink for audit events — either in-process
 * (all-in-one `xctl start`) or over the web API with the agent's host certificate (remote agents).
 */
import { generateKeyPair } from '../pki/index.js';
import type { AuthService } from '../auth/service.js';
import type { Role } from '../auth/types.js';
import type { ApiClient } from '../client/api.js';
import type { DatabaseResource } from '../db/resource.js';
import type { Identity } from '../pki/index.js';
import type { Logger } from '../util/log.js';

/** AgentAuth is the agent's view of the auth service. */
export interface AgentAuth {
  userCaPem: string;
  dbCaPem: string;
  /** roles returns every role definition (cached by the caller). */
  roles(): Promise<Role[]>;
  /** signDbClientCert signs a client certificate (CN = dbUser) for a key made here. */
  signDbClientCert(dbUser: string, publicKeyPem: string, notAfter: Date): Promise<{ certPem: string; notAfter: Date }>;
  /** dynamicDatabases returns `kind: db` resources. */
  dynamicDatabases(): Promise<DatabaseResource[]>;
  /** emit records an audit event without blocking. */
  emit(event: { type: string; [k: string]: unknown }): void;
  close(): Promise<void>;
}

/** localAgentAuth serves an agent running in the auth service's own process. */
export function localAgentAuth(auth: AuthService, host: Identity): AgentAuth {
  return {
    userCaPem: auth.ca('user').certPem,
    dbCaPem: auth.ca('db').certPem,
    roles: () => auth.listRoles(),
    signDbClientCert: async (dbUser, publicKeyPem, notAfter) => auth.signDbClientCert(host, { dbUser, publicKeyPem, notAfter }),
    dynamicDatabases: () => auth.listDatabaseResources(),
    // The event object is the caller's own fresh one: tag it in place rather than copy it again.
    emit: (e) => {
      e.agent = host.hostId;
      auth.audit.emit(e);
    },
    close: async () => {},
  };
}

/**
 * remoteAgentAuth talks to the auth service through the proxy's web API. Audit events are
 * batched and sent every 200 ms (or at 1,000), retried while the proxy is unreachable, so a
 * burst of queries costs a few requests, not one each.
 */
export function remoteAgentAuth(api: ApiClient, cas: { userCaPem: string; dbCaPem: string }, log: Logger): AgentAuth {
  let queue: Record<string, unknown>[] = [];
  let sending = false;
  const MAX_QUEUE = 1_000_000;
  const flush = async () => {
    if (sending || queue.length === 0) return;
    sending = true;
    const batch = queue.slice(0, 1000);
    try {
      await api.request('POST', '/v1/agent/events', { events: batch });
      queue = queue.slice(batch.length);
    } catch (err) {
      log.warn('could not send audit events; will retry', { pending: queue.length, err: (err as Error).message });
    } finally {
      sending = false;
    }
  };
  const timer = setInterval(() => void flush(), 200);
  timer.unref();
  return {
    ...cas,
    roles: async () => (await api.request<{ roles: Role[] }>('GET', '/v1/agent/roles')).roles,
    signDbClientCert: async (dbUser, publicKeyPem, notAfter) => {
      const r = await api.request<{ cert: string; expires: string }>('POST', '/v1/agent/db-client-cert', {
        db_user: dbUser,
        public_key: publicKeyPem,
        not_after: notAfter.toISOString(),
      });
      return { certPem: r.cert, notAfter: new Date(r.expires) };
    },
    dynamicDatabases: async () => (await api.request<{ databases: DatabaseResource[] }>('GET', '/v1/agent/databases')).databases,
    emit: (e) => {
      if (queue.length >= MAX_QUEUE) {
        log.error('audit queue full: the auth service has been unreachable too long; dropping the oldest event');
        queue.shift();
      }
      queue.push(e);
      if (queue.length >= 1000) void flush();
    },
    close: async () => {
      clearInterval(timer);
      for (let i = 0; i < 20 && queue.length > 0; i++) {
        await flush();
        if (queue.length) await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** newClientKey makes the key for one db_client certificate. */
export function newClientKey() {
  return generateKeyPair('ecdsa-p256');
}
