/**
 * agent/auth: what a database agent needs from the auth service — CA certificates, role
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
import { join } from 'node:path';
import { AuditFileWriter } from '../audit/file-log.js';
import { LogConsumer, loadPositionExtra } from '../audit/tail.js';
import { nextEventId } from '../store/event-sequence.js';

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
   * dbAdminAccess returns the plaintext of a database secret (`admin.password_secret`) and a
   * short-lived db_client certificate for the admin connection, for a database this agent serves.
   */
  dbAdminAccess(req: { secret: string; database: string; publicKeyPem: string }): Promise<{ password: string; certPem: string; notAfter: Date }>;
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
  /**
   * flush writes the emitted events to the write-ahead audit log in one write (the auth
   * service's log in-process, the agent's own log for a remote agent). Throws when the log
   * cannot be written: the caller must not forward the commands those events describe.
   */
  flush(): void;
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
    dbAdminAccess: (req) => auth.dbAdminAccess(host, req),
    openSession: (s) => void auth.agentSessions.register(host, s.id, s.proof),
    // The event object is the caller's own fresh one: the auth service rewrites it in place.
    emit: (e, s) => void auth.acceptAgentEvent(host, e, s.proof),
    flush: () => auth.audit.commit(),
    close: async () => {},
  };
}

/** AgentAuditLogOptions places a remote agent's own write-ahead audit log. */
export interface AgentAuditLogOptions {
  dir: string;
  fsyncIntervalMs?: number;
  maxFileBytes?: number;
}

/** PROOF_RECORD is the agent-log line that carries a session's proof for the shipper (never shipped as an event). */
const PROOF_RECORD = 'xport.session.proof';
/** Proofs the shipper keeps for sessions whose end it has not shipped yet (oldest dropped beyond). */
const MAX_PROOFS = 10_000;
/** Events per POST: the web API takes at most 10,000 events and 1,000 session proofs per request. */
const SHIP_BATCH = 1000;

/**
 * remoteAgentAuth talks to the auth service through the proxy's web API. Audit events go to the
 * agent's own write-ahead log in its data dir first (the relays flush it before forwarding); a
 * {@link LogConsumer} ships the log to the auth service in batches and saves its position only
 * after the auth service acknowledged a batch (it answers once the events are in its own log).
 * Event ids are minted here, so a batch re-sent after a crash of either side is stored once.
 */
export function remoteAgentAuth(api: ApiClient, cas: { userCaPem: string; dbCaPem: string }, log: Logger, audit: AgentAuditLogOptions): AgentAuth {
  const writer = new AuditFileWriter({
    dir: audit.dir,
    log,
    ...(audit.fsyncIntervalMs !== undefined ? { fsyncIntervalMs: audit.fsyncIntervalMs } : {}),
    ...(audit.maxFileBytes !== undefined ? { maxFileBytes: audit.maxFileBytes } : {}),
  });
  const offsetFile = join(audit.dir, 'ship.offset');
  // A batch names sessions; the auth service needs their proofs (it may have restarted and
  // forgotten them). The proofs of sessions still open are saved with the shipped position.
  const proofs = new Map<string, string>();
  const saved = loadPositionExtra(offsetFile).proofs;
  if (saved && typeof saved === 'object') for (const [k, v] of Object.entries(saved)) if (typeof v === 'string') proofs.set(k, v);
  const deliver = async (lines: Record<string, unknown>[]) => {
    const events: Record<string, unknown>[] = [];
    const ended: string[] = [];
    for (const e of lines) {
      const sid = typeof e.sid === 'string' ? e.sid : '';
      if (e.type === PROOF_RECORD) {
        if (typeof e.proof === 'string' && sid) {
          proofs.set(sid, e.proof);
          if (proofs.size > MAX_PROOFS) proofs.delete(proofs.keys().next().value as string);
        }
        continue;
      }
      if (e.type === 'db.session.end' || (e.type === 'db.session.start' && e.success === false)) ended.push(sid);
      events.push(e);
    }
    if (events.length > 0) {
      const sessions: Record<string, string> = {};
      for (const e of events) {
        const sid = e.sid as string;
        const p = proofs.get(sid);
        if (p !== undefined) sessions[sid] = p;
      }
      const r = await api.request<{ accepted?: number; rejected?: number }>('POST', '/v1/agent/events', { sessions, events });
      if (r.rejected) log.warn('the auth service refused audit events of sessions it could not verify', { rejected: r.rejected });
    }
    for (const sid of ended) proofs.delete(sid);
  };
  const shipper = new LogConsumer({
    dir: audit.dir,
    offsetFile,
    deliver,
    maxBatch: SHIP_BATCH,
    // The web API takes bodies up to 4 MiB: 2 MiB of events plus the proofs of up to 1,000 sessions.
    maxBytes: 2 * 1024 * 1024,
    pollMs: 200,
    log,
    name: 'auth service',
    extra: () => ({ proofs: Object.fromEntries(proofs) }),
  });
  shipper.start();
  let lastId: string | undefined;
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
    dbAdminAccess: async (req) => {
      const r = await api.request<{ password: string; cert: string; expires: string }>('POST', '/v1/agent/db-admin', { secret: req.secret, database: req.database, public_key: req.publicKeyPem });
      return { password: r.password, certPem: r.cert, notAfter: new Date(r.expires) };
    },
    // The proof goes into the log ahead of the session's events, so the shipper has it even after a restart.
    openSession: (s) => writer.append({ type: PROOF_RECORD, sid: s.id, proof: s.proof }),
    emit: (e) => {
      const now = new Date();
      e.id = lastId = nextEventId(lastId, now);
      e.time = now.toISOString();
      writer.append(e);
    },
    flush: () => writer.commit(),
    close: async () => {
      writer.close();
      // Ship what is left while the auth service answers; the rest goes at the next start.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        shipper.waitFor(writer.position),
        new Promise<void>((r) => {
          // Not unref'd: at shutdown this wait is what keeps the process alive for the shipper.
          timer = setTimeout(r, 5000);
        }),
      ]);
      clearTimeout(timer);
      await shipper.stop();
    },
  };
}

/** newClientKey makes the key for one db_client certificate. */
export function newClientKey() {
  return generateKeyPair('ecdsa-p256');
}
