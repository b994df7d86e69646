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
import type { SessionProof } from '../db/credentials.js';
import type { Identity } from '../pki/index.js';
import type { Logger } from '../util/log.js';

/** AgentAuth is the agent's view of the auth service. */
export interface AgentAuth {
  userCaPem: string;
  dbCaPem: string;
  /** roles returns every role definition (cached by the caller). */
  roles(): Promise<Role[]>;
  /**
   * signDbClientCert signs a client certificate (CN = dbUser) for a key made here, for the
   * session whose proof it presents; the auth service refuses any other db user or database.
   */
  signDbClientCert(req: { session?: SessionProof; database: string; dbUser: string; publicKeyPem: string; notAfter: Date }): Promise<{ certPem: string; notAfter: Date }>;
  /** dynamicDatabases returns `kind: db` resources. */
  dynamicDatabases(): Promise<DatabaseResource[]>;
  /**
   * openSession tells the auth service about a session this agent serves, before any event of
   * it. The in-process agent registers it at once (and is refused like a remote one would be);
   * a remote agent sends the proof along with the session's audit events instead.
   */
  openSession(session: SessionProof): void;
  /**
   * emit records an audit event of a session without blocking. The auth service takes the user
   * from the session's proof, not from the event.
   */
  emit(event: { type: string; sid: string; [k: string]: unknown }, session: SessionProof): void;
  close(): Promise<void>;
}

/** localAgentAuth serves an agent running in the auth service's own process. */
export function localAgentAuth(auth: AuthService, host: Identity): AgentAuth {
  return {
    userCaPem: auth.ca('user').certPem,
    dbCaPem: auth.ca('db').certPem,
    roles: () => auth.listRoles(),
    // The same checks as for a remote agent, without the HTTP hop.
    signDbClientCert: async (req) => auth.signDbClientCert(host, req),
    dynamicDatabases: () => auth.listDatabaseResources(),
    openSession: (s) => void auth.agentSessions.register(host, s.id, s.proof),
    // The event object is the caller's own fresh one: the auth service rewrites it in place.
    emit: (e, s) => void auth.acceptAgentEvent(host, e, s.proof),
    close: async () => {},
  };
}

/**
 * remoteAgentAuth talks to the auth service through the proxy's web API. Audit events are
 * batched and sent every 200 ms (or at 1,000), retried while the proxy is unreachable, so a
 * burst of queries costs a few requests, not one each.
 */
export function remoteAgentAuth(api: ApiClient, cas: { userCaPem: string; dbCaPem: string }, log: Logger): AgentAuth {
  // Each queued event keeps a reference to its session's proof (shared, not copied), so a batch
  // can carry the proofs of the sessions it names: the auth service needs no memory of earlier
  // batches, and a restarted one re-learns live sessions from the next batch.
  type Queued = { e: Record<string, unknown>; s: SessionProof };
  let queue: Queued[] = [];
  let sending = false;
  const MAX_QUEUE = 1_000_000;
  const flush = async () => {
    if (sending || queue.length === 0) return;
    sending = true;
    const batch = queue.slice(0, 1000);
    const sessions: Record<string, string> = {};
    for (const q of batch) sessions[q.s.id] = q.s.proof;
    try {
      const r = await api.request<{ accepted?: number; rejected?: number }>('POST', '/v1/agent/events', { sessions, events: batch.map((q) => q.e) });
      queue = queue.slice(batch.length);
      if (r.rejected) log.warn('the auth service refused audit events of sessions it could not verify', { rejected: r.rejected });
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
    signDbClientCert: async (req) => {
      // Asked of the replica that opened the session (only it knows the session is live); the
      // audit events below go through the public address to any replica, which verifies each
      // session's proof itself, so a replica dying does not strand them.
      const via = req.session?.via;
      const r = await (via ? api.at(via) : api).request<{ cert: string; expires: string }>('POST', '/v1/agent/db-client-cert', {
        ...(req.session ? { sid: req.session.id, proof: req.session.proof } : {}),
        database: req.database,
        db_user: req.dbUser,
        public_key: req.publicKeyPem,
        not_after: req.notAfter.toISOString(),
      });
      return { certPem: r.cert, notAfter: new Date(r.expires) };
    },
    dynamicDatabases: async () => (await api.request<{ databases: DatabaseResource[] }>('GET', '/v1/agent/databases')).databases,
    openSession: () => {},
    emit: (e, s) => {
      if (queue.length >= MAX_QUEUE) {
        log.error('audit queue full: the auth service has been unreachable too long; dropping the oldest event');
        queue.shift();
      }
      queue.push({ e, s });
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
