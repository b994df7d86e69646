/**
 * proxy/web-api: the HTTP/1.1 JSON API on the proxy's public port (ALPN `http/1.1`).
 *
 * Anonymous routes: ping, login, invite/reset completion. Every other route needs a client
 * certificate from the user CA (the TLS layer verified the chain); the route then asks the auth
 * service to authorize the identity inside it. Bodies are bounded, errors are JSON
 * `{error:{kind,message,hint}}`, and no secret is logged. Must not import service or cli.
 *
 * The listener hands sockets over with `emit('connection')`, so the http.Server never listens and
 * Node never enforces its `headersTimeout`/`requestTimeout`: the API enforces its own header, request
 * and keep-alive deadlines per connection ({@link WebApiLimits}). Log lines name the route pattern,
 * never the request path, because paths carry invite and reset tokens. Answers 401 and 403 are
 * audited as `web.access.denied`, rate-limited per source address.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { authRequired, badParameter, httpStatusFor, isXError, limitExceeded, notFound, type XError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { sourceKey } from '../util/net.js';
import { SourceLimiter } from '../util/rate-limit.js';
import { decodeIdentity, type Identity } from '../pki/index.js';
import type { AuthService } from '../auth/service.js';
import { roleToYaml } from '../auth/roles.js';
import type { DatabaseSummary } from '../db/database.js';

/** MAX_BODY_BYTES bounds every request body. */
export const MAX_BODY_BYTES = 4 << 20;

type Ctx = {
  req: http.IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  body: () => Promise<Record<string, unknown>>;
  identity: () => Identity;
  remoteAddr: string;
};
type Handler = (c: Ctx) => Promise<unknown>;
/** A route; `name` (`GET /web/:kind/:token`) is what logs and audit events show, never the path. */
type Route = { method: string; name: string; pattern: RegExp; keys: string[]; handler: Handler };

function route(method: string, path: string, handler: Handler): Route {
  const keys: string[] = [];
  const pattern = new RegExp(
    '^' + path.replace(/:([a-z_]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)')) + '$',
  );
  return { method, name: `${method} ${path}`, pattern, keys, handler };
}

/** WebApiLimits are the per-connection deadlines the API enforces itself. */
export interface WebApiLimits {
  /** A request's headers must arrive within this time of its first byte (or of the connection). */
  headersTimeoutMs: number;
  /** From complete headers to the response sent: bounds a slow body. */
  bodyTimeoutMs: number;
  /** An idle connection between requests is closed after this time. */
  keepAliveTimeoutMs: number;
}

/** DEFAULT_WEB_API_LIMITS are the defaults of {@link WebApiLimits}. */
export const DEFAULT_WEB_API_LIMITS: WebApiLimits = { headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

const str = (v: unknown, name: string, required = true): string | undefined => {
  if (v === undefined || v === null) {
    if (required) throw badParameter(`${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw badParameter(`${name} must be a string`);
  return v;
};
const strList = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badParameter(`${name} must be a list of strings`);
  return v as string[];
};
const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw badParameter(`${name} must be a positive number`);
  return v;
};

/** DatabaseView is a database agents serve right now, with the host ids of those agents. */
export interface DatabaseView extends DatabaseSummary {
  agents: string[];
  /** The agents' last check of the database itself (absent until the first one). */
  health?: { ok: boolean; error?: string; checked: string };
}

/** WebApiDeps are the proxy parts the API reads: which databases agents serve right now. */
export interface WebApiDeps {
  databases?: () => DatabaseView[];
  limits?: Partial<WebApiLimits>;
  /**
   * proxies lists the live proxy replicas from their heartbeats in the backend (id, the address
   * agents dial, the agents whose tunnels each holds); absent on a proxy that does not heartbeat.
   */
  proxies?: () => Promise<ProxyView[]>;
}

/** ProxyView is a proxy replica as its heartbeat describes it. */
export interface ProxyView {
  id: string;
  addr: string;
  public_addr: string;
  version: string;
  started: string;
  last_seen: string;
  tunnels: { host_id: string; databases: string[] }[];
}

/** tunnelsByAgent maps each agent to the proxies holding its tunnel, for listings. */
function tunnelsByAgent(proxies: ProxyView[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of proxies) for (const t of p.tunnels) m.set(t.host_id, [...(m.get(t.host_id) ?? []), p.id]);
  return m;
}

/** DENIAL_AUDIT_LIMITS bound `web.access.denied` events: per source and in total, per minute. */
const DENIAL_AUDIT_LIMITS = { perSource: 20, global: 200, windowMs: 60_000 };

/** createWebApi returns the HTTP server whose 'connection' event the listener feeds TLS sockets into. */
export function createWebApi(auth: AuthService, log: Logger, deps: WebApiDeps = {}): http.Server {
  /** allDatabases merges what agents serve now with dynamic resources no agent serves (offline). */
  const allDatabases = async (): Promise<(DatabaseView & { status: 'online' | 'unhealthy' | 'offline' })[]> => {
    // Served by an agent: online, unless the agents' own check of the database fails
    // (a newcomer's TLS mistake shows here instead of at the first session).
    const online = (deps.databases?.() ?? []).map((d) => ({ ...d, status: d.health && !d.health.ok ? ('unhealthy' as const) : ('online' as const) }));
    const names = new Set(online.map((d) => d.name));
    const offline = (await auth.listDatabaseResources())
      .filter((r) => !names.has(r.metadata.name))
      .map((r) => ({
        name: r.metadata.name,
        ...(r.metadata.description ? { description: r.metadata.description } : {}),
        protocol: r.spec.protocol,
        type: 'self-hosted',
        uri: r.spec.uri,
        mode: /[?&]mode=cluster/.test(r.spec.uri) ? 'cluster' : 'standalone',
        labels: r.metadata.labels ?? {},
        agents: [] as string[],
        status: 'offline' as const,
      }));
    return [...online, ...offline].sort((a, b) => a.name.localeCompare(b.name));
  };

  const routes: Route[] = [
    route('GET', '/v1/webapi/ping', async () => auth.ping()),
    route('POST', '/v1/webapi/login', async (c) => {
      const b = await c.body();
      const cert = await auth.login({
        user: str(b.user, 'user')!,
        password: str(b.password, 'password')!,
        ...(b.otp !== undefined ? { otp: str(b.otp, 'otp')! } : {}),
        publicKeyPem: str(b.public_key, 'public_key')!,
        ...(b.ttl_ms !== undefined ? { ttlMs: num(b.ttl_ms, 'ttl_ms')! } : {}),
        remoteAddr: c.remoteAddr,
      });
      return certResponse(cert);
    }),
    route('GET', '/v1/webapi/usertokens/:token', async (c) => {
      const t = await auth.users.getUserToken(c.params.token!);
      return { user: t.user, kind: t.kind, expires: t.expires.toISOString(), second_factor: t.secondFactor, otp_uri: t.otpUri };
    }),
    route('POST', '/v1/webapi/usertokens/:token', async (c) => {
      const b = await c.body();
      const r = await auth.completeUserToken({
        token: c.params.token!,
        password: str(b.password, 'password')!,
        ...(b.otp !== undefined ? { otp: str(b.otp, 'otp')! } : {}),
        ...(b.public_key !== undefined ? { publicKeyPem: str(b.public_key, 'public_key')! } : {}),
        ...(b.ttl_ms !== undefined ? { ttlMs: num(b.ttl_ms, 'ttl_ms')! } : {}),
      });
      return r.cert ? certResponse(r.cert) : { user: r.user };
    }),

    // The invite/reset links tctl-style output prints; there is no browser flow, so the page
    // says which command completes the token. The token is echoed only into an HTML-escaped page.
    route('GET', '/web/:kind/:token', async (c) => {
      if (c.params.kind !== 'invite' && c.params.kind !== 'reset') throw notFound('no such page');
      const t = await auth.users.getUserToken(c.params.token!);
      const host = escapeHtml(c.req.headers.host ?? 'PROXY');
      return new HtmlPage(
        `<!doctype html><meta charset="utf-8"><title>xport</title><h1>Set your xport password</h1>` +
          `<p>User <b>${escapeHtml(t.user)}</b>: finish in a terminal with</p>` +
          `<pre>xsh login --proxy=${host} --user=${escapeHtml(t.user)} --invite=${escapeHtml(c.params.token!)}</pre>` +
          `<p>This link expires at ${escapeHtml(t.expires.toISOString())}.</p>`,
      );
    }),

    // ---- authenticated ----
    route('GET', '/v1/status', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'cluster', 'read');
      return {
        cluster_name: auth.clusterName,
        server_version: auth.ping().server_version,
        cas: (['host', 'user', 'db', 'db_client'] as const).map((t) => {
          const ca = auth.ca(t);
          return { type: t, pin: ca.pin, not_after: ca.notAfter.toISOString() };
        }),
        ca_pin: auth.ca('host').pin,
        ...(deps.proxies ? { proxies: await deps.proxies() } : {}),
      };
    }),
    route('GET', '/v1/cas/:type', async (c) => {
      await auth.authorize(c.identity(), 'cluster', 'read');
      const type = c.params.type as 'user' | 'host' | 'db' | 'db_client';
      if (!['user', 'host', 'db', 'db_client'].includes(type)) throw badParameter(`unknown CA type "${type}"`);
      const ca = auth.ca(type);
      return { type, cert_pem: ca.certPem, pin: ca.pin };
    }),
    route('GET', '/v1/users', async (c) => ({ users: await auth.listUsers(c.identity()) })),
    route('POST', '/v1/users', async (c) => {
      const b = await c.body();
      const r = await auth.createUser(c.identity(), {
        name: str(b.name, 'name')!,
        roles: strList(b.roles, 'roles') ?? [],
        traits: { db_users: strList(b.db_users, 'db_users') ?? [], db_names: strList(b.db_names, 'db_names') ?? [] },
        ...(b.ttl_ms !== undefined ? { ttlMs: num(b.ttl_ms, 'ttl_ms')! } : {}),
      });
      return { user: r.user, token: r.token, expires: r.expires.toISOString() };
    }),
    // ---- database secrets (a managed database's admin password; values go in, never out) ----
    route('GET', '/v1/db-secrets', async (c) => ({ secrets: await auth.listDbSecrets(c.identity()) })),
    route('PUT', '/v1/db-secrets/:name', async (c) => {
      const b = await c.body();
      return auth.setDbSecret(c.identity(), { name: c.params.name!, databases: strList(b.databases, 'databases') ?? [c.params.name!], value: str(b.value, 'value')! });
    }),
    route('DELETE', '/v1/db-secrets/:name', async (c) => {
      await auth.deleteDbSecret(c.identity(), c.params.name!);
      return { deleted: c.params.name };
    }),
    route('PUT', '/v1/users/:name', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'user', 'update');
      const b = await c.body();
      const roles = strList(b.roles, 'roles');
      const dbUsers = strList(b.db_users, 'db_users');
      const dbNames = strList(b.db_names, 'db_names');
      const cur = await auth.users.get(c.params.name!);
      const traits =
        dbUsers || dbNames ? { db_users: dbUsers ?? cur.traits.db_users, db_names: dbNames ?? cur.traits.db_names } : undefined;
      return auth.users.update(c.params.name!, { ...(roles ? { roles } : {}), ...(traits ? { traits } : {}) }, id.user);
    }),
    route('DELETE', '/v1/users/:name', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'user', 'delete');
      await auth.users.delete(c.params.name!, id.user);
      return { deleted: c.params.name };
    }),
    route('POST', '/v1/users/:name/reset', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'user', 'update');
      const b = await c.body();
      const r = await auth.users.reset(c.params.name!, num(b.ttl_ms, 'ttl_ms') ?? 8 * 3_600_000, id.user);
      return { token: r.token, expires: r.expires.toISOString() };
    }),
    route('GET', '/v1/tokens', async (c) => {
      await auth.authorize(c.identity(), 'token', 'list');
      const list = await auth.tokens.list();
      return { tokens: list.map((t) => ({ ...t, expires: t.expires.toISOString() })) };
    }),
    route('POST', '/v1/tokens', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'token', 'create');
      const b = await c.body();
      const type = str(b.type, 'type')!;
      if (type !== 'db') throw badParameter(`unknown token type "${type}"`, { hint: 'Supported types: db.' });
      const labels = b.labels ?? {};
      if (typeof labels !== 'object' || Array.isArray(labels)) throw badParameter('labels must be a map');
      const r = await auth.tokens.create(
        {
          type,
          ...(b.ttl_ms !== undefined ? { ttlMs: num(b.ttl_ms, 'ttl_ms')! } : {}),
          ...(b.value !== undefined ? { value: str(b.value, 'value')! } : {}),
          ...(b.uses !== undefined ? { uses: num(b.uses, 'uses')! } : {}),
          labels: labels as Record<string, string>,
        },
        id.user,
      );
      return { token: r.token, type: r.type, expires: r.expires.toISOString(), ca_pin: auth.ca('host').pin };
    }),
    route('DELETE', '/v1/tokens/:token', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'token', 'delete');
      await auth.tokens.delete(c.params.token!, id.user);
      return { deleted: true };
    }),
    route('GET', '/v1/roles', async (c) => {
      await auth.authorize(c.identity(), 'role', 'list');
      return { roles: await auth.listRoles() };
    }),
    route('GET', '/v1/roles/:name', async (c) => {
      await auth.authorize(c.identity(), 'role', 'read');
      const role = await auth.getRole(c.params.name!);
      return { role, yaml: roleToYaml(role) };
    }),
    route('PUT', '/v1/roles', async (c) => {
      const id = c.identity();
      const b = await c.body();
      const force = b.force === true;
      await auth.authorize(id, 'role', force ? 'update' : 'create');
      return { roles: await auth.upsertRoles(str(b.yaml, 'yaml')!, str(b.source, 'source', false) ?? 'role.yaml', force, id.user) };
    }),
    route('DELETE', '/v1/roles/:name', async (c) => {
      const id = c.identity();
      await auth.authorize(id, 'role', 'delete');
      await auth.deleteRole(c.params.name!, id.user);
      return { deleted: c.params.name };
    }),
    route('POST', '/v1/certs/db-server', async (c) => {
      const b = await c.body();
      const r = await auth.signDatabaseServer(
        strList(b.hosts, 'hosts') ?? [],
        str(b.public_key, 'public_key')!,
        num(b.ttl_ms, 'ttl_ms') ?? 12 * 3_600_000,
        c.identity(),
      );
      return { cert: r.certPem, cas: r.casPem, expires: r.expires.toISOString() };
    }),
    route('POST', '/v1/certs/user', async (c) => {
      const b = await c.body();
      const cert = await auth.signUserIdentity(str(b.user, 'user')!, str(b.public_key, 'public_key')!, num(b.ttl_ms, 'ttl_ms'), c.identity());
      return certResponse(cert);
    }),
    route('GET', '/v1/databases', async (c) => {
      const id = c.identity();
      const dbs = await allDatabases();
      if (id.usage === 'admin') {
        // Which proxy replicas hold each serving agent's tunnel (from their heartbeats).
        const proxies = deps.proxies ? await deps.proxies().catch(() => undefined) : undefined;
        const byAgent = proxies ? tunnelsByAgent(proxies) : undefined;
        return {
          databases: dbs.map((d) => ({
            ...d,
            allowed_users: '(admin)',
            ...(byAgent && proxies ? { proxies: proxies.length, tunnels: d.agents.map((a) => ({ agent: a, proxies: byAgent.get(a) ?? [] })) } : {}),
          })),
        };
      }
      if (id.usage !== 'user') throw authRequired('a user certificate is required');
      const checker = await auth.checkerFor(id.roles, id.traits);
      return {
        databases: dbs
          .filter((d) => checker.canSeeDatabase(d))
          .map((d) => {
            // The text column (allowed_users) and, for JSON consumers, the lists themselves.
            const { allowed, denied } = checker.allowedDbUsers(d);
            return { ...d, allowed_users: checker.formatAllowedUsers(d), allowed_db_users: allowed, denied_db_users: denied, agents: d.agents.length };
          }),
      };
    }),
    route('GET', '/v1/db-resources', async (c) => {
      // The stored `kind: db` resources themselves, for `xctl get db/NAME` to print, edit, re-apply.
      await auth.authorize(c.identity(), 'database', 'list');
      return { resources: await auth.listDatabaseResources() };
    }),
    route('PUT', '/v1/databases', async (c) => {
      const b = await c.body();
      return {
        databases: await auth.upsertDatabases(c.identity(), str(b.yaml, 'yaml')!, str(b.source, 'source', false) ?? 'db.yaml', b.force === true),
      };
    }),
    route('DELETE', '/v1/databases/:name', async (c) => {
      await auth.deleteDatabase(c.identity(), c.params.name!);
      return { deleted: c.params.name };
    }),
    route('POST', '/v1/certs/db', async (c) => {
      const id = c.identity();
      const b = await c.body();
      const name = str(b.database, 'database')!;
      const db = (await allDatabases()).find((d) => d.name === name);
      if (!db) throw notFound(`database "${name}" not found`, { hint: 'List the databases you can use with: xsh db ls' });
      const r = await auth.signDatabaseRoute(id, db, {
        ...(b.db_user !== undefined ? { dbUser: str(b.db_user, 'db_user')! } : {}),
        ...(b.db_name !== undefined ? { dbName: str(b.db_name, 'db_name')! } : {}),
        publicKeyPem: str(b.public_key, 'public_key')!,
        ...(b.ttl_ms !== undefined ? { ttlMs: num(b.ttl_ms, 'ttl_ms')! } : {}),
        notAfter: peerNotAfter(c.req.socket as tls.TLSSocket),
      });
      return { ...certResponse(r), database: name, db_user: r.dbUser, ...(r.dbName !== undefined ? { db_name: r.dbName } : {}) };
    }),

    // ---- agents ----
    route('POST', '/v1/webapi/join', async (c) => {
      const b = await c.body();
      return auth.joinAgent({
        token: str(b.token, 'token')!,
        publicKeyPem: str(b.public_key, 'public_key')!,
        ...(b.cluster_name !== undefined ? { clusterName: str(b.cluster_name, 'cluster_name')! } : {}),
        remoteAddr: c.remoteAddr,
      });
    }),
    route('POST', '/v1/agent/renew', async (c) => {
      const b = await c.body();
      return auth.renewAgent(c.identity(), str(b.public_key, 'public_key')!);
    }),
    route('POST', '/v1/agent/db-client-cert', async (c) => {
      const b = await c.body();
      const sid = str(b.sid, 'sid', false);
      const proof = str(b.proof, 'proof', false);
      const r = auth.signDbClientCert(c.identity(), {
        session: sid !== undefined && proof !== undefined ? { id: sid, proof } : undefined,
        ...(b.database !== undefined ? { database: str(b.database, 'database')! } : {}),
        dbUser: str(b.db_user, 'db_user')!,
        publicKeyPem: str(b.public_key, 'public_key')!,
        notAfter: parseDate(str(b.not_after, 'not_after')!, 'not_after'),
      });
      return { cert: r.certPem, expires: r.notAfter.toISOString() };
    }),
    route('POST', '/v1/agent/db-admin', async (c) => {
      const b = await c.body();
      const r = await auth.dbAdminAccess(c.identity(), {
        secret: str(b.secret, 'secret')!,
        database: str(b.database, 'database')!,
        publicKeyPem: str(b.public_key, 'public_key')!,
      });
      return { password: r.password, cert: r.certPem, expires: r.notAfter.toISOString() };
    }),
    route('GET', '/v1/agent/roles', async (c) => {
      auth.requireHost(c.identity());
      return { roles: await auth.listRoles() };
    }),
    route('GET', '/v1/agent/proxies', async (c) => {
      auth.requireHost(c.identity());
      // Only what an agent needs to dial each replica.
      return { proxies: deps.proxies ? (await deps.proxies()).map((p) => ({ id: p.id, addr: p.addr })) : [] };
    }),
    route('GET', '/v1/agent/databases', async (c) => {
      auth.requireHost(c.identity());
      return { databases: await auth.listDatabaseResources() };
    }),
    route('POST', '/v1/agent/events', async (c) => {
      const id = c.identity();
      auth.requireHost(id);
      const b = await c.body();
      if (!Array.isArray(b.events) || b.events.length > 10_000) throw badParameter('events must be a list of at most 10000 events');
      // sessions: sid → the session's proof (the user's routed certificate, base64 DER).
      const sessions = b.sessions ?? {};
      if (typeof sessions !== 'object' || sessions === null || Array.isArray(sessions) || Object.keys(sessions).length > 1_000) {
        // Each new proof costs a signature check: bound them per request.
        throw badParameter('sessions must be a map of at most 1000 session ids to proofs');
      }
      return auth.acceptAgentEvents(id, b.events, sessions as Record<string, unknown>);
    }),
    route('GET', '/v1/audit', async (c) => {
      // One page of at most AUDIT_PAGE_MAX events; `next` is the cursor of the following page
      // (pass it back as `before` when reading newest first, `after` when oldest first), and
      // `total` (first page only) counts every match, so a client can say "showing N of M"
      // instead of truncating silently.
      const q = c.query;
      const since = q.get('since');
      const limitText = q.get('limit');
      const limit = limitText === null ? 500 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) throw badParameter(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}, got "${limitText}"`);
      const cursor = (name: string) => {
        const v = q.get(name);
        if (v !== null && !/^[0-9A-Za-z_-]{1,64}$/.test(v)) throw badParameter(`${name} must be an event id (the "next" of a previous page)`);
        return v ?? undefined;
      };
      const filters = {
        ...(q.get('type') ? { type: q.get('type')! } : {}),
        ...(q.get('user') ? { user: q.get('user')! } : {}),
        ...(since ? { since: parseDate(since, 'since') } : {}),
      };
      const before = cursor('before');
      const after = cursor('after');
      const events = await auth.searchEvents(c.identity(), {
        ...filters,
        ...(before ? { beforeId: before } : {}),
        ...(after ? { afterId: after } : {}),
        limit,
        order: q.get('order') === 'desc' ? 'desc' : 'asc',
      });
      // Counting scans every match, so only the first page of a listing pays for it; pages
      // reached by a cursor (and --follow's polls) do not.
      const total = before || after ? undefined : await auth.countEvents(c.identity(), filters);
      const last = events.length === limit ? events[events.length - 1]?.id : undefined;
      return { events, ...(total !== undefined ? { total } : {}), ...(last ? { next: last } : {}) };
    }),
  ];

  const limits: WebApiLimits = { ...DEFAULT_WEB_API_LIMITS, ...deps.limits };
  const guards = new WeakMap<Socket, ConnectionGuard>();
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    guards.get(req.socket)?.onRequest(res);
    void handle(req, res);
  });
  // Node enforces its own timeouts only on a server that listens; ours never does.
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => guards.set(socket, guardConnection(socket, limits)));
  const denials = new SourceLimiter(DENIAL_AUDIT_LIMITS);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket as tls.TLSSocket;
    let match: ReturnType<typeof findRoute> | undefined;
    let caller: Identity | undefined;
    try {
      const url = parseRequestUrl(req.url);
      match = findRoute(routes, req.method ?? 'GET', url.pathname);
      // The path is echoed to the caller who sent it, never logged.
      if (!match) throw notFound(`no API route ${req.method} ${url.pathname}`);
      const result = await match.route.handler({
        req,
        params: match.params,
        query: url.searchParams,
        body: () => readJson(req),
        identity: () => (caller = identityOf(socket)),
        remoteAddr: socket.remoteAddress ?? '',
      });
      if (result instanceof HtmlPage) sendHtml(res, result.html);
      else send(res, 200, result ?? {});
    } catch (err) {
      const x: XError | undefined = isXError(err) ? err : undefined;
      const routeName = match?.route.name ?? '(no route)';
      if (!x) {
        // Scrub the route's parameters (tokens) out of whatever the failure says.
        log.error('web API request failed', { route: routeName, err: scrub((err as Error)?.message ?? String(err), match?.params) });
      }
      const kind = x?.kind ?? 'internal';
      const status = httpStatusFor(kind);
      // A refused login has its own event (user.login, success false); the rest get web.access.denied.
      if ((status === 401 || status === 403) && match?.route.name !== 'POST /v1/webapi/login') auditDenial(req, routeName, status, x!, caller);
      send(res, status, {
        error: { kind, message: x ? x.message : 'internal error', ...(x?.hint ? { hint: x.hint } : {}) },
      });
    }
  }

  /** auditDenial records a 401/403 answer, at most DENIAL_AUDIT_LIMITS per source. */
  function auditDenial(req: http.IncomingMessage, routeName: string, status: number, err: XError, caller: Identity | undefined): void {
    const addr = req.socket.remoteAddress ?? '?';
    const v = denials.take(sourceKey(addr));
    if (!v.allowed) return;
    let user = caller?.user;
    if (!user && (req.socket as tls.TLSSocket).authorized) user = identityOrUndefined(req.socket as tls.TLSSocket)?.user;
    auth.audit.emit({
      type: 'web.access.denied',
      success: false,
      ...(user ? { user } : {}),
      route: routeName,
      status,
      error: err.message,
      'addr.remote': addr,
      ...(v.suppressed > 0 ? { suppressed: v.suppressed } : {}),
    });
  }
  return server;
}

function certResponse(cert: { certPem: string; expires: Date; identity: Identity; hostCaPem: string; userCaPem: string }) {
  return {
    cert: cert.certPem,
    expires: cert.expires.toISOString(),
    user: cert.identity.user,
    roles: cert.identity.roles,
    cluster_name: cert.identity.cluster,
    host_ca: cert.hostCaPem,
    user_ca: cert.userCaPem,
  };
}

/** peerNotAfter is when the caller's client certificate expires (derived certs must not outlive it). */
function peerNotAfter(socket: tls.TLSSocket): Date {
  const cert = socket.getPeerCertificate();
  return new Date(cert?.valid_to ?? Date.now());
}

/**
 * parseRequestUrl reads the origin-form target of a request (`/path?query`). Anything else
 * (absolute or authority form, `*`) is a bad request, not a path to guess at.
 */
function parseRequestUrl(target: string | undefined): URL {
  if (!target || !target.startsWith('/')) throw badParameter('the request target must be a path starting with "/"');
  // Prefixing the origin keeps `//host/path` a path instead of a host.
  return new URL(`https://xport.invalid${target}`);
}

function findRoute(routes: Route[], method: string, path: string) {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => (params[k] = decodePathSegment(m[i + 1]!)));
    return { route: r, params };
  }
  return undefined;
}

/** decodePathSegment percent-decodes one segment; a malformed escape (`%zz`) is a 400. */
function decodePathSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw badParameter('the URL path has a malformed percent-escape', { hint: 'Escape "%" in a path as %25.' });
  }
}

/** scrub removes route parameter values (tokens, names) from a message before it is logged. */
function scrub(msg: string, params: Record<string, string> | undefined): string {
  let out = msg;
  for (const v of Object.values(params ?? {})) if (v.length >= 4) out = out.split(v).join('******');
  return out;
}

/** ConnectionGuard is told about each request on its connection (the server's request callback). */
interface ConnectionGuard {
  onRequest(res: http.ServerResponse): void;
}

/**
 * guardConnection enforces {@link WebApiLimits} on one socket: the first request's headers within
 * headersTimeoutMs of the connection; each request answered within bodyTimeoutMs of its
 * headers (a slow body runs out of time); an idle connection between requests closed after
 * keepAliveTimeoutMs, and the next request's headers complete within headersTimeoutMs of its
 * first byte.
 */
function guardConnection(socket: Socket, limits: WebApiLimits): ConnectionGuard {
  let timer: NodeJS.Timeout | undefined;
  let phase: 'headers' | 'request' | 'idle' = 'headers';
  let inFlight = 0;
  const arm = (ms: number, what: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => expire(what), ms);
    timer.unref();
  };
  const expire = (what: string) => {
    if (socket.destroyed) return;
    if (what === 'headers' && inFlight === 0) {
      // Nothing is being answered: say why before closing, as Node's own headersTimeout does.
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => socket.destroy(), 1_000).unref();
    } else socket.destroy();
  };
  arm(limits.headersTimeoutMs, 'headers');
  socket.on('data', () => {
    // The first byte of the next request on a kept-alive connection starts its header deadline.
    if (phase === 'idle') {
      phase = 'headers';
      arm(limits.headersTimeoutMs, 'headers');
    }
  });
  socket.once('close', () => clearTimeout(timer));
  return {
    onRequest(res) {
      inFlight++;
      phase = 'request';
      arm(limits.bodyTimeoutMs, 'request');
      res.once('close', () => {
        inFlight--;
        if (inFlight > 0 || socket.destroyed) return;
        phase = 'idle';
        arm(limits.keepAliveTimeoutMs, 'keep-alive');
      });
    },
  };
}
/** AUDIT_PAGE_MAX bounds one page of `GET /v1/audit`; larger reads follow the `next` cursor. */
const AUDIT_PAGE_MAX = 10_000;

function parseDate(s: string, name: string): Date {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw badParameter(`${name} must be a date/time, got "${s}"`);
  return d;
}

/**
 * identityOf returns the identity of a client whose certificate the TLS layer verified against
 * the user CA; without one the route answers 401 so the CLI can say "log in".
 */
function identityOf(socket: tls.TLSSocket): Identity {
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? '');
    if (reason === 'CERT_HAS_EXPIRED') throw authRequired('your certificate has expired');
    if (!socket.getPeerCertificate()?.raw) throw authRequired('this request needs a login (no client certificate was sent)');
    throw authRequired(`the client certificate was not accepted (${reason || 'unknown issuer'})`);
  }
  const id = decodeIdentity(socket.getPeerCertificate().raw);
  if (!id) throw authRequired('the client certificate carries no xport identity');
  return id;
}

function identityOrUndefined(socket: tls.TLSSocket): Identity | undefined {
  try {
    return identityOf(socket);
  } catch {
    return undefined;
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw limitExceeded(`request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw badParameter('request body is not a JSON object');
  }
}

class HtmlPage {
  constructor(readonly html: string) {}
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendHtml(res: http.ServerResponse, html: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' });
  res.end(data);
}
