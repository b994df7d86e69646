/**
 * agent/agent: the database agent (`db_service`). It dials the proxy's reverse tunnel,
 * advertises its databases, and serves each stream the proxy opens: it re-verifies the user's
 * certificate itself (never trusting the proxy's word), checks roles, then hands the stream to
 * the protocol engine with a {@link Session}.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { accessDenied, badParameter, messageOf, notFound } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { verifyCertificate } from '../pki/index.js';
import type { DatabaseSpec } from '../db/database.js';
import { specFromResource } from '../db/resource.js';
import type { EngineRegistry } from '../db/engine.js';
import type { Session } from '../db/session.js';
import { AccessChecker } from '../auth/rbac.js';
import type { Role } from '../auth/types.js';
import { advertFor } from '../proxy/tunnel-protocol.js';
import type { AgentAuth } from './auth.js';
import type { DatabaseHealthChecker } from './db-health.js';
import { AgentPool, type ProxyTarget } from './pool.js';

/** AgentOptions configures {@link startAgent}. */
export interface AgentOptions {
  clusterName: string;
  hostId: string;
  version: string;
  proxyAddr: string;
  /** The agent's host certificate and key, and the host CA to verify the proxy. */
  tls: { certPem: string; keyPem: string; caPem: string };
  staticDatabases: DatabaseSpec[];
  /** Serve `kind: db` resources whose labels match one of these selectors ('*': '*' = all). */
  resourceSelectors: Record<string, string>[];
  /** Databases found by cloud discovery (static and dynamic ones win on a name clash); stopped with the agent. */
  discovered?: { databases(): DatabaseSpec[]; stop(): void };
  auth: AgentAuth;
  engines: EngineRegistry;
  log: Logger;
  clock: Clock;
  heartbeatMs?: number;
  /** connect joins an in-process agent to its proxy without TLS (see TunnelAgent). */
  connect?: () => Duplex;
  /** health checks the databases; its last results go out with every heartbeat. */
  health?: DatabaseHealthChecker;
  /** discoverProxies lists the proxy replicas to keep a tunnel to each (see AgentPool). */
  discoverProxies?: () => Promise<ProxyTarget[]>;
  /**
   * onAclChange is told when the roles of a live session on a managed database derive new Redis
   * ACL rules for its db user (a role changed), so the ACL user is updated while the session runs.
   */
  onAclChange?: (session: Session, rules: readonly string[] | null) => Promise<void>;
}

/** RunningAgent is a started agent. */
export interface RunningAgent {
  /** The agent's tunnels: one per proxy replica. */
  tunnel: AgentPool;
  databases(): DatabaseSpec[];
  /**
   * serveLocal serves a session stream handed over by the proxy in this same process (no mux):
   * it resolves once the session is accepted, and rejects with the refusal, as over a tunnel.
   */
  serveLocal(stream: Duplex, header: unknown): Promise<void>;
  stop(): Promise<void>;
}

const ROLE_CACHE_MS = 5_000;
/** How often a live session re-reads roles: a role change narrows it within seconds. */
const SESSION_ROLE_REFRESH_MS = 2_000;
const RESOURCE_POLL_MS = 3_000;

function selectorMatches(sel: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => (k === '*' && v === '*') || labels[k] === v || (v === '*' && k in labels));
}

/** startAgent connects the agent and serves sessions until stop(). */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log;
  let dynamic: DatabaseSpec[] = [];
  const databases = () => {
    const byName = new Map<string, DatabaseSpec>();
    for (const d of o.discovered?.databases() ?? []) byName.set(d.name, d);
    for (const d of dynamic) byName.set(d.name, d);
    // Static config wins over a dynamic resource of the same name.
    for (const d of o.staticDatabases) byName.set(d.name, d);
    return [...byName.values()];
  };
  const refreshDynamic = async () => {
    if (o.resourceSelectors.length === 0) return;
    try {
      const resources = await o.auth.dynamicDatabases();
      dynamic = resources
        .filter((r) => o.resourceSelectors.some((s) => selectorMatches(s, r.metadata.labels ?? {})))
        .flatMap((r) => {
          try {
            return [specFromResource(r)];
          } catch (err) {
            log.warn('skipping a database resource', { name: r.metadata.name, err: messageOf(err) });
            return [];
          }
        });
    } catch (err) {
      log.warn('could not refresh dynamic databases', { err: messageOf(err) });
    }
  };
  await refreshDynamic();
  const poll = setInterval(() => void refreshDynamic(), RESOURCE_POLL_MS);
  poll.unref();

  let roleCache: { at: number; roles: Promise<Role[]> } | undefined;
  // rolesVersion changes only when a fetch returns different roles, so live sessions rebuild their
  // checkers when a role changed, not every time the cache is refreshed.
  let rolesVersion = 0;
  let rolesText = '';
  const roles = () => {
    const now = o.clock.now().getTime();
    if (!roleCache || now - roleCache.at > ROLE_CACHE_MS) {
      const p = o.auth.roles().then((all) => {
        const text = JSON.stringify(all);
        if (text !== rolesText) {
          rolesText = text;
          rolesVersion++;
        }
        return all;
      });
      roleCache = { at: now, roles: p };
      p.catch(() => (roleCache = undefined));
    }
    return roleCache.roles;
  };

  const sessions = new Set<AbortController>();

  const serve = async (stream: Duplex, header: unknown, via: string): Promise<void> => {
    const h = header as { cert?: unknown; clientAddr?: unknown };
    if (typeof h?.cert !== 'string') throw badParameter('stream header carries no certificate');
    const clientAddr = typeof h.clientAddr === 'string' ? h.clientAddr : undefined;
    // Defence in depth: the agent checks the user's certificate against the user CA itself.
    const identity = verifyCertificate(Buffer.from(h.cert, 'base64'), o.auth.userCaPem, {
      now: o.clock.now(),
      usages: ['user'],
      cluster: o.clusterName,
    });
    const route = identity.route;
    if (!route) throw accessDenied('certificate is not routed to a database');
    const db = databases().find((d) => d.name === route.database);
    if (!db) throw notFound(`database "${route.database}" is not served by agent ${o.hostId}`);
    const engine = o.engines.get(db.protocol);
    const sid = randomUUID();
    // The certificate is the session's proof: with it (and only for what it routes to) the auth
    // service signs db_client certificates and takes this session's audit events.
    const certB64: string = h.cert;
    // `via`: the replica whose proxy opened the stream is the one that knows the session is
    // live, so the session's db_client certificate is asked of it.
    const proof = { id: sid, proof: certB64, via };
    o.auth.openSession(proof);
    // Accepting the stream and answering on it lets errors reach the user in RESP.
    void (async () => {
      const dbUser = route.dbUser ?? 'default';
      const meta = {
        sid,
        user: identity.user,
        db_service: db.name,
        db_protocol: db.protocol,
        db_uri: db.uri,
        db_type: db.type,
        db_user: dbUser,
        ...(route.dbName !== undefined ? { db_name: route.dbName } : {}),
        cluster_name: o.clusterName,
        'addr.remote': clientAddr,
        server_id: o.hostId,
      };
      // Session start/end events carry the full session metadata; per-command events carry only
      // what identifies the session (sid, user, database, db user), so auditing every command of
      // a pipeline does not copy a dozen fields per command (measured: 12 % of the agent's CPU).
      const emit = (e: { type: string; [k: string]: unknown }) => {
        if (e.type === 'db.session.query') {
          // The relays build a fresh object per command: stamping it in place saves a copy.
          e.sid = sid;
          e.user = identity.user;
          e.db_service = db.name;
          e.db_user = dbUser;
          o.auth.emit(e as { type: string; sid: string }, proof);
        } else {
          o.auth.emit({ ...meta, ...e }, proof);
        }
      };
      let checker: AccessChecker;
      try {
        const all = await roles();
        checker = AccessChecker.fromRoles(
          all.filter((r) => identity.roles.includes(r.metadata.name)),
          identity.traits,
        );
        checker.checkDatabaseAccess(db, dbUser, route.dbName);
      } catch (err) {
        emit({ type: 'db.session.start', success: false, error: messageOf(err) });
        engine.sendError(stream, err);
        return;
      }
      let scoped = checker.scopeTo(db, dbUser);
      const managed = db.users === 'managed';
      const session: Session = {
        id: sid,
        user: identity.user,
        roles: identity.roles,
        database: db,
        dbUser,
        ...(route.dbName !== undefined ? { dbName: route.dbName } : {}),
        expires: identity.expires,
        proof: certB64,
        via,
        ...(clientAddr ? { clientAddr } : {}),
        checker: {
          checkDbUser: (u) => checker.checkDatabaseAccess(db, u),
          checkDbName: (n) => checker.checkDatabaseAccess(db, dbUser, n),
          commandAllowed: (c, cats) => scoped.commandAllowed(c, cats),
          keyAllowed: (k) => scoped.keyAllowed(k),
          channelAllowed: (c, p) => scoped.channelAllowed(c, p),
          ...(managed ? { aclRules: () => scoped.redisAclRules() } : {}),
        },
        audit: { emit, flush: () => o.auth.flush() },
      };
      // No audit, no access: a log that cannot be written refuses the session before it starts.
      try {
        o.auth.flush();
      } catch (err) {
        log.error('audit log unavailable; refusing the session', { sid, err: messageOf(err) });
        engine.sendError(stream, new Error(`audit log unavailable: ${messageOf(err)}`));
        return;
      }
      const ac = new AbortController();
      sessions.add(ac);
      // The session ends no later than the user's certificate.
      const ttl = Math.max(0, identity.expires.getTime() - o.clock.now().getTime());
      const expiry = setTimeout(() => ac.abort(new Error('certificate expired')), Math.min(ttl, 2 ** 31 - 1));
      expiry.unref();
      // Roles are re-read while the session runs: a narrowed role applies to its next command,
      // and for a managed db user the Redis ACL follows (so scripts are narrowed too).
      let lastRules: string | undefined;
      try {
        if (managed) lastRules = scoped.redisAclRules().join(' ');
      } catch {
        lastRules = undefined;
      }
      let refreshing = false;
      let refreshWarned = false;
      let seenVersion = rolesVersion;
      const refresh = setInterval(() => {
        if (refreshing) return;
        refreshing = true;
        void (async () => {
          try {
            const all = await roles();
            const version = rolesVersion;
            if (version === seenVersion) return;
            const next = AccessChecker.fromRoles(all.filter((r) => identity.roles.includes(r.metadata.name)), identity.traits);
            try {
              next.checkDatabaseAccess(db, dbUser, route.dbName);
            } catch (err) {
              ac.abort(new Error(`access revoked: ${messageOf(err)}`));
              if (managed && o.onAclChange) await o.onAclChange(session, null);
              return;
            }
            checker = next;
            scoped = next.scopeTo(db, dbUser);
            if (managed && o.onAclChange) {
              const rules = scoped.redisAclRules();
              const line = rules.join(' ');
              if (line !== lastRules) {
                await o.onAclChange(session, rules);
                lastRules = line;
              }
            }
            // Only now: a failed update is tried again on the next tick.
            seenVersion = version;
          } catch (err) {
            // Once per session: an unreachable auth service must not flood the log every 2 s.
            if (!refreshWarned) log.warn('could not refresh the roles of a live session; it keeps its current rules', { sid, err: messageOf(err) });
            refreshWarned = true;
          } finally {
            refreshing = false;
          }
        })();
      }, SESSION_ROLE_REFRESH_MS);
      refresh.unref();
      try {
        await engine.handle(stream, session, ac.signal);
      } catch (err) {
        log.warn('session failed', { sid, err: messageOf(err) });
      } finally {
        clearTimeout(expiry);
        clearInterval(refresh);
        sessions.delete(ac);
      }
    })();
  };

  const tunnel = new AgentPool({
    publicAddr: o.proxyAddr,
    ...(o.discoverProxies ? { discover: o.discoverProxies } : {}),
    tls: o.tls,
    hostId: o.hostId,
    version: o.version,
    databases: () =>
      databases().map((d) => {
        const a = advertFor(d);
        const h = o.health?.health(d.name);
        return h ? { ...a, health: h } : a;
      }),
    onStream: serve,
    log: log.child('tunnel'),
    ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.connect ? { connect: o.connect } : {}),
  });
  tunnel.on('connected', (addr) => log.info('connected to the proxy', { proxy: addr, databases: databases().map((d) => d.name).join(',') }));
  tunnel.on('disconnected', (addr, err) => log.warn('lost the proxy connection; reconnecting', { proxy: addr, err: err?.message }));
  tunnel.start();
  o.health?.start(databases);

  return {
    tunnel,
    databases,
    serveLocal: (stream, header) => serve(stream, header, 'in-process'),
    async stop() {
      clearInterval(poll);
      o.discovered?.stop();
      await o.health?.stop();
      for (const s of sessions) s.abort(new Error('agent stopping'));
      await tunnel.stop();
      await o.auth.close();
    },
  };
}
