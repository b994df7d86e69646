/**
 * auth/service: the auth service — the cluster's CAs, users, roles, join tokens, logins and the
 * audit log behind one object, without HTTP (the proxy's web API calls it).
 *
 * Certificates are issued here and only from public keys: xsh and xctl generate private keys
 * where they will be used. Every administrative call takes the caller's verified identity and is
 * checked against role rules before it acts. Must not import proxy, service, client or cli.
 */
import type { Backend, EventQuery, AuditEvent } from '../store/backend.js';
import { accessDenied, badParameter, notFound, conflict, connectionProblem } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { humanDuration } from '../util/duration.js';
import {
  CertificateAuthority,
  CA_TYPES,
  type CAType,
  type Identity,
  type IdentityUsage,
  type KeyAlgorithm,
  type RouteToDatabase,
} from '../pki/index.js';
import { AuditLog } from './audit.js';
import { AuditFileWriter } from '../audit/file-log.js';
import { LogConsumer } from '../audit/tail.js';
import { WorkerIndexFeeder } from './audit-indexer.js';
import { createHash } from 'node:crypto';
import { UserService } from './users.js';
import { JoinTokenService } from './tokens.js';
import { LoginLimiter } from './lockout.js';
import { AccessChecker } from './rbac.js';
import { BUILTIN_ROLES, isBuiltinRole, parseRoles } from './roles.js';
import type { PublicUser, Role, Traits } from './types.js';
import { parseDatabaseResources, type DatabaseResource } from '../db/resource.js';
import { AgentSessionRegistry, type AgentDirectory, type AgentSession } from './agent-sessions.js';
import { escapeControl } from '../util/escape.js';
import { randomUUID } from 'node:crypto';
import { DbSecretStore, type DbSecretInfo } from './db-secrets.js';

/** DEFAULT_LOGIN_TTL_MS is the default user certificate lifetime (tsh's 12h). */
export const DEFAULT_LOGIN_TTL_MS = 12 * 3_600_000;
/** MAX_CERT_TTL_MS caps any user certificate (Teleport's 30h). */
export const MAX_CERT_TTL_MS = 30 * 3_600_000;
/** AGENT_CERT_TTL_MS is an agent host certificate's lifetime; agents renew at half-life. */
export const AGENT_CERT_TTL_MS = 7 * 24 * 3_600_000;
/** SESSION_EVENT_PREFIX is the only kind of audit event an agent may record: its sessions' own. */
const SESSION_EVENT_PREFIX = 'db.session.';
/** AUTH_ASSIGNED_FIELDS are set by the audit log, never taken from an agent. */
const AUTH_ASSIGNED_FIELDS = ['id', 'code', 'time'] as const;
/** The shape of an event id an agent mints (store/event-id). */
const AGENT_EVENT_ID = /^[0-9a-f]{32}$/;

/**
 * agentEventId derives the stored id of an agent's event from the agent's own id: the same event
 * shipped twice (the acknowledgement was lost) gets the same id, so the index stores it once,
 * while the hash of the agent's host id keeps one agent from simply reusing another's (or the
 * auth service's) ids to hide their events. The leading 12 hex digits (the millisecond) and the
 * trailing 12 are kept, so one agent's ids still sort in the order it minted them.
 */
export function agentEventId(hostId: string, id: unknown): string | undefined {
  if (typeof id !== 'string' || !AGENT_EVENT_ID.test(id)) return undefined;
  // ms (12) + hash of host and the id's head (8) + the id's tail (12): one agent's ids minted in
  // one millisecond differ only in the tail (store/event-sequence), so they keep their order.
  return id.slice(0, 12) + createHash('sha256').update(hostId).update('\0').update(id.slice(0, 20)).digest('hex').slice(0, 8) + id.slice(20);
}

/** openAuditWal opens the write-ahead log and the consumer that indexes it into the backend. */
function openAuditWal(backend: Backend, o: NonNullable<AuthServiceOptions['auditLog']>, opts: AuthServiceOptions) {
  const writer = new AuditFileWriter({
    dir: o.dir,
    clock: opts.clock,
    log: opts.log,
    ...(o.fsyncIntervalMs !== undefined ? { fsyncIntervalMs: o.fsyncIntervalMs } : {}),
    ...(o.maxFileBytes !== undefined ? { maxFileBytes: o.maxFileBytes } : {}),
  });
  const target = o.indexInWorker ? backend.indexTarget?.() : undefined;
  if (target) {
    const consumer = new WorkerIndexFeeder(
      { dir: o.dir, offsetFile: `${o.dir}/index.offset`, dataDir: target.sqlite.dataDir, fileName: target.sqlite.fileName, pollMs: 100 },
      opts.log.child('audit-index'),
    );
    return { writer, consumer };
  }
  const consumer = new LogConsumer({
    dir: o.dir,
    offsetFile: `${o.dir}/index.offset`,
    deliver: (events, lines) => backend.appendEvents(events as unknown as AuditEvent[], lines),
    log: opts.log,
    name: 'index',
    pollMs: 100,
  });
  return { writer, consumer };
}
/** ADMIN_USER is the name in the local admin identity xctl uses on the auth host. */
export const ADMIN_USER = 'xctl-admin';

/** AuthServiceOptions configures {@link AuthService.open}. */
export interface AuthServiceOptions {
  backend: Backend;
  clock: Clock;
  log: Logger;
  clusterName: string;
  version: string;
  secondFactor: 'off' | 'otp';
  caKeyAlgorithm?: KeyAlgorithm;
  sessionTtlMs?: number;
  /**
   * The write-ahead audit log (a directory in the data dir). When given, every audit event is
   * appended there first and the backend is an index fed from it; without it (unit tests) events
   * are queued in memory for the backend.
   */
  auditLog?: {
    dir: string;
    fsyncIntervalMs?: number;
    maxFileBytes?: number;
    /** Index the log from a worker thread when the backend allows it (SQLite); `xctl start` does. */
    indexInWorker?: boolean;
  };
  /**
   * Where the key that encrypts database secrets lives (the data dir; never the backend). Without
   * it (unit tests that need no secrets) setting or reading a database secret is refused.
   */
  secretKeyDir?: string;
}

/** LoginRequest is what `xsh login` sends. */
export interface LoginRequest {
  user: string;
  password: string;
  otp?: string;
  publicKeyPem: string;
  ttlMs?: number;
  remoteAddr?: string;
}

/** UserCertificate is a signed user certificate plus the CAs a client needs. */
export interface UserCertificate {
  certPem: string;
  expires: Date;
  identity: Identity;
  hostCaPem: string;
  userCaPem: string;
}

/** AuthService owns the cluster's security state. Create it with {@link AuthService.open}. */
export class AuthService {
  readonly users: UserService;
  readonly tokens: JoinTokenService;
  readonly audit: AuditLog;
  /** agentSessions binds the sessions agents serve to the users who opened them. */
  readonly agentSessions: AgentSessionRegistry;
  readonly #joinFailures = new SourceRateLimit(10, 60_000);
  /** dbSecrets holds encrypted database secrets (`xctl db secret set`). */
  readonly #dbSecrets: DbSecretStore | undefined;
  #directory: AgentDirectory | undefined;

  private constructor(
    private readonly opts: AuthServiceOptions,
    private readonly cas: Map<CAType, CertificateAuthority>,
    audit: AuditLog,
  ) {
    this.audit = audit;
    const emit = (e: { type: string; [k: string]: unknown }) => this.audit.emit(e);
    this.users = new UserService({
      backend: opts.backend,
      clock: opts.clock,
      emit,
      roleExists: async (name) => (await this.findRole(name)) !== undefined,
      secondFactor: opts.secondFactor,
      clusterName: opts.clusterName,
      limiter: new LoginLimiter(opts.backend, opts.clock),
    });
    this.tokens = new JoinTokenService({ backend: opts.backend, clock: opts.clock, emit });
    this.agentSessions = new AgentSessionRegistry({ userCaPem: this.ca('user').certPem, clusterName: opts.clusterName, clock: opts.clock });
    this.#dbSecrets = opts.secretKeyDir ? new DbSecretStore({ backend: opts.backend, keyDir: opts.secretKeyDir, clock: opts.clock }) : undefined;
  }

  /** useAgentDirectory tells the auth service which agents the proxy has and what they serve. */
  useAgentDirectory(d: AgentDirectory): void {
    this.#directory = d;
    this.agentSessions.useDirectory(d);
  }

  // ---- database secrets ----------------------------------------------------------------------

  #secrets(): DbSecretStore {
    if (!this.#dbSecrets) throw badParameter('this auth service keeps no database secrets (no data dir)');
    return this.#dbSecrets;
  }

  /**
   * setDbSecret stores a database secret (the Redis admin password of a managed database),
   * encrypted; the audit event names the secret and its databases, never the value.
   */
  async setDbSecret(actor: Identity, req: { name: string; databases: string[]; value: string }): Promise<DbSecretInfo> {
    await this.authorize(actor, 'database', 'update');
    const r = await this.#secrets().set(req.name, req.databases, req.value, actor.user);
    this.audit.emit({ type: 'db.secret.set', success: true, user: actor.user, name: r.name, databases: r.databases, key_id: r.key_id });
    return r;
  }

  /** listDbSecrets lists database secrets without their values. */
  async listDbSecrets(actor: Identity): Promise<DbSecretInfo[]> {
    await this.authorize(actor, 'database', 'list');
    return this.#secrets().list();
  }

  /** deleteDbSecret removes a database secret. */
  async deleteDbSecret(actor: Identity, name: string): Promise<void> {
    await this.authorize(actor, 'database', 'delete');
    if (!(await this.#secrets().delete(name))) throw notFound(`database secret "${name}" does not exist`, { hint: 'List them: xctl db secret ls' });
    this.audit.emit({ type: 'db.secret.delete', success: true, user: actor.user, name });
  }

  /**
   * dbAdminAccess gives an agent what it needs to administer a managed database it serves: the
   * plaintext of the named secret, and a short-lived db_client certificate (CN `xport-agent`, so
   * it names no Redis user) for the admin connection it makes outside any session (the check at
   * start that the admin user may run ACL). Only an agent connected to the proxy and advertising
   * that database right now gets it, and only when the secret names that database: an agent is
   * trusted no further than the databases it serves. Every answer is audited (never the value).
   */
  async dbAdminAccess(actor: Identity, req: { secret: string; database: string; publicKeyPem: string }): Promise<{ password: string; certPem: string; notAfter: Date }> {
    const hostId = actor.hostId ?? actor.user;
    const base = { host_id: hostId, name: escapeControl(String(req.secret).slice(0, 64)), db_service: escapeControl(String(req.database).slice(0, 128)) };
    try {
      this.requireHost(actor);
      const d = this.#directory;
      if (!d || !d.connected(hostId)) throw accessDenied(`agent ${hostId} is not connected to the proxy: database secrets go only to agents serving the database`);
      if (!d.serves(hostId, req.database)) throw accessDenied(`agent ${hostId} does not serve database "${base.db_service}": its secrets are not for this agent`);
      const row = await this.#secrets().get(req.secret);
      if (!row.databases.includes(req.database)) {
        throw accessDenied(`database secret "${row.name}" is not for database "${base.db_service}" (it is for ${row.databases.join(', ')})`, {
          hint: `Name the database when setting it: xctl db secret set ${row.name} --db ${base.db_service} --password-stdin`,
        });
      }
      const password = await this.#secrets().reveal(row);
      const now = this.opts.clock.now();
      const issued = this.ca('db_client').issue({
        publicKey: req.publicKeyPem,
        commonName: 'xport-agent',
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: new Date(now.getTime() + 10 * 60_000),
        extKeyUsage: ['clientAuth'],
      });
      this.audit.emit({ type: 'db.secret.read', success: true, user: hostId, ...base, serial: issued.serial });
      return { password, certPem: issued.certPem, notAfter: issued.notAfter };
    } catch (err) {
      this.audit.emit({ type: 'db.secret.read', success: false, user: hostId, ...base, error: (err as Error).message });
      throw err;
    }
  }

  /**
   * open loads the cluster's CAs, creating the four of them on the first start. Creation uses
   * create-only writes, so two racing first starts end with one set of CAs.
   */
  static async open(opts: AuthServiceOptions): Promise<AuthService> {
    // Large batches: every Redis command is an event, and each batch is one fsync'd transaction.
    const audit = new AuditLog(opts.backend, {
      clock: opts.clock,
      log: opts.log,
      maxBatch: 4096,
      ...(opts.auditLog ? { wal: openAuditWal(opts.backend, opts.auditLog, opts) } : {}),
    });
    const cas = new Map<CAType, CertificateAuthority>();
    for (const type of CA_TYPES) {
      const key = `cas/${type}`;
      let item = await opts.backend.get<{ type: CAType; certPem: string; keyPem: string; cluster: string }>(key);
      if (!item) {
        const ca = CertificateAuthority.create({
          type,
          clusterName: opts.clusterName,
          algorithm: opts.caKeyAlgorithm ?? 'ecdsa-p256',
          now: opts.clock.now(),
        });
        try {
          await opts.backend.put(key, { ...ca.material(), cluster: opts.clusterName }, { expectRevision: 0 });
          opts.log.info('created certificate authority', { type, pin: ca.pin });
        } catch (err) {
          if ((err as { kind?: string }).kind !== 'conflict') throw err;
        }
        item = await opts.backend.get(key);
      }
      if (!item) throw conflict(`certificate authority ${type} could not be stored`);
      if (item.value.cluster !== opts.clusterName) {
        throw badParameter(
          `the data dir belongs to cluster "${item.value.cluster}", but the config names cluster "${opts.clusterName}"`,
          { hint: `Set cluster_name: ${item.value.cluster} in the config, or use another data dir.` },
        );
      }
      cas.set(type, CertificateAuthority.fromMaterial(item.value));
    }
    return new AuthService(opts, cas, audit);
  }

  /** clusterName is the cluster this auth service serves. */
  get clusterName(): string {
    return this.opts.clusterName;
  }

  /** ca returns one of the four CAs. */
  ca(type: CAType): CertificateAuthority {
    return this.cas.get(type)!;
  }

  /** ping describes the cluster to unauthenticated clients (no secrets). */
  ping(): { cluster_name: string; server_version: string; ca_pins: string[]; second_factor: 'off' | 'otp' } {
    return {
      cluster_name: this.opts.clusterName,
      server_version: this.opts.version,
      ca_pins: [this.ca('host').pin],
      second_factor: this.opts.secondFactor,
    };
  }

  // ---- roles -------------------------------------------------------------------------------

  /** findRole returns a stored role, or the built-in of that name, or undefined. */
  async findRole(name: string): Promise<Role | undefined> {
    const item = await this.opts.backend.get<Role>(`roles/${name}`);
    if (item) return item.value;
    return BUILTIN_ROLES.find((r) => r.metadata.name === name);
  }

  /** listRoles returns the built-in roles (unless overridden) and the stored ones, by name. */
  async listRoles(): Promise<Role[]> {
    const stored = (await this.opts.backend.list<Role>('roles/')).map((i) => i.value);
    const names = new Set(stored.map((r) => r.metadata.name));
    return [...BUILTIN_ROLES.filter((r) => !names.has(r.metadata.name) && r.metadata.name !== 'admin'), ...stored].sort(
      (a, b) => a.metadata.name.localeCompare(b.metadata.name),
    );
  }

  /** getRole returns one role or throws not-found. */
  async getRole(name: string): Promise<Role> {
    const r = await this.findRole(name);
    if (!r || name === 'admin') throw notFound(`role "${name}" does not exist`);
    return r;
  }

  /**
   * upsertRoles creates roles from YAML. Without force an existing role (stored or built in) is
   * refused, like `tctl create` without `-f`.
   */
  async upsertRoles(yamlText: string, source: string, force: boolean, actor: string): Promise<{ name: string; created: boolean }[]> {
    const roles = parseRoles(yamlText, source);
    const out: { name: string; created: boolean }[] = [];
    for (const role of roles) {
      const name = role.metadata.name;
      if (name === 'admin') throw badParameter('role "admin" is reserved for the local admin identity');
      const existing = await this.findRole(name);
      if (existing && !force) {
        throw conflict(`role "${name}" already exists`, { hint: 'Use --force to overwrite it.' });
      }
      await this.opts.backend.put(`roles/${name}`, role);
      this.audit.emit({ type: existing ? 'role.updated' : 'role.created', user: actor, name });
      out.push({ name, created: !existing });
    }
    return out;
  }

  /** deleteRole removes a stored role; built-in roles cannot be removed. */
  async deleteRole(name: string, actor: string): Promise<void> {
    const existed = await this.opts.backend.delete(`roles/${name}`);
    if (!existed) {
      if (isBuiltinRole(name)) throw badParameter(`role "${name}" is built in and cannot be removed`);
      throw notFound(`role "${name}" does not exist`);
    }
    this.audit.emit({ type: 'role.deleted', user: actor, name });
  }

  /** checkerFor builds the access checker for roles and traits (roles that vanished are skipped). */
  async checkerFor(roleNames: string[], traits: Traits): Promise<AccessChecker> {
    const roles: Role[] = [];
    for (const n of roleNames) {
      const r = await this.findRole(n);
      if (r) roles.push(r);
    }
    return AccessChecker.fromRoles(roles, traits);
  }

  /**
   * authorize checks that a verified identity may perform verb on resource. The local admin
   * identity may do everything; users are checked against their roles' rules.
   */
  async authorize(identity: Identity, resource: string, verb: string): Promise<void> {
    if (identity.cluster !== this.opts.clusterName) throw accessDenied('certificate is from another cluster');
    if (identity.usage !== 'user' && identity.usage !== 'admin') {
      throw accessDenied(`a ${identity.usage} certificate cannot call the admin API`);
    }
    const checker = await this.checkerFor(identity.roles, identity.traits);
    checker.checkRule(resource, verb);
  }

  // ---- logins and certificates -------------------------------------------------------------

  /**
   * login checks the password (and one-time code) and signs a user certificate for the caller's
   * public key. The TTL is the requested one capped by the roles' max_session_ttl.
   */
  async login(req: LoginRequest): Promise<UserCertificate> {
    const user = await this.users.authenticate({
      user: req.user,
      password: req.password,
      ...(req.otp !== undefined ? { otpCode: req.otp } : {}),
      ...(req.remoteAddr !== undefined ? { remoteAddr: req.remoteAddr } : {}),
    });
    const cert = await this.issueUserCert(user.name, user.roles, user.traits, req.publicKeyPem, req.ttlMs, 'user');
    return cert;
  }

  /**
   * completeUserToken sets the password from an invite or reset token and, like the web UI's
   * invite page, logs the user straight in when a public key comes with it (a one-time code
   * cannot be used twice, so a separate login right after would need a second code).
   */
  async completeUserToken(req: { token: string; password: string; otp?: string; publicKeyPem?: string; ttlMs?: number }): Promise<{ user: string; cert?: UserCertificate }> {
    const { user } = await this.users.completeUserToken({
      token: req.token,
      password: req.password,
      ...(req.otp !== undefined ? { otpCode: req.otp } : {}),
    });
    if (!req.publicKeyPem) return { user };
    const u = await this.users.get(user);
    this.audit.emit({ type: 'user.login', user, success: true, method: 'invite' });
    return { user, cert: await this.issueUserCert(u.name, u.roles, u.traits, req.publicKeyPem, req.ttlMs, 'user') };
  }

  private async issueUserCert(
    name: string,
    roles: string[],
    traits: Traits,
    publicKeyPem: string,
    ttlMs: number | undefined,
    usage: IdentityUsage,
    route?: RouteToDatabase,
  ): Promise<UserCertificate> {
    const checker = await this.checkerFor(roles, traits);
    const cap = Math.min(checker.maxSessionTtlMs(MAX_CERT_TTL_MS), MAX_CERT_TTL_MS);
    const wanted = ttlMs ?? Math.min(this.opts.sessionTtlMs ?? DEFAULT_LOGIN_TTL_MS, cap);
    if (wanted > cap) {
      throw badParameter(
        `The credential was not issued because the requested TTL of ${humanDuration(wanted)} exceeded the maximum allowed value of ${humanDuration(cap)}.`,
        { hint: 'Request a shorter TTL.' },
      );
    }
    const now = this.opts.clock.now();
    const identity: Identity = {
      user: name,
      roles,
      traits,
      usage,
      cluster: this.opts.clusterName,
      ...(route ? { route } : {}),
    };
    const issued = this.ca('user').issue({
      publicKey: publicKeyPem,
      commonName: name,
      organization: roles,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + wanted),
      extKeyUsage: ['clientAuth'],
      identity,
    });
    this.audit.emit({ type: 'cert.create', user: name, cert_type: usage, expires: issued.notAfter.toISOString(), serial: issued.serial });
    return {
      certPem: issued.certPem,
      expires: issued.notAfter,
      identity,
      hostCaPem: this.ca('host').certPem,
      userCaPem: this.ca('user').certPem,
    };
  }

  /** signUserIdentity issues a certificate for an existing user (`xctl auth sign --user`, CI identity files). */
  async signUserIdentity(
    userName: string,
    publicKeyPem: string,
    ttlMs: number | undefined,
    actor: Identity,
  ): Promise<UserCertificate> {
    await this.authorize(actor, 'cert', 'create');
    const u = await this.users.get(userName);
    return this.issueUserCert(u.name, u.roles, u.traits, publicKeyPem, ttlMs, 'user');
  }

  /**
   * signDatabaseServer issues a Redis server certificate from the db CA and returns the db_client
   * CA that Redis must trust for client certificates (`xctl auth sign --format=redis`).
   */
  async signDatabaseServer(hosts: string[], publicKeyPem: string, ttlMs: number, actor: Identity) {
    await this.authorize(actor, 'cert', 'create');
    if (hosts.length === 0 || hosts.some((h) => !h.trim())) throw badParameter('at least one hostname must be specified');
    const now = this.opts.clock.now();
    const ips = hosts.filter(isIpAddress);
    const dns = hosts.filter((h) => !isIpAddress(h));
    const issued = this.ca('db').issue({
      publicKey: publicKeyPem,
      commonName: hosts[0]!,
      dnsNames: dns,
      ipAddresses: ips,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + ttlMs),
      extKeyUsage: ['serverAuth', 'clientAuth'],
    });
    this.audit.emit({ type: 'cert.create', user: actor.user, cert_type: 'db_server', hosts, serial: issued.serial });
    return { certPem: issued.certPem, casPem: this.ca('db_client').certPem, expires: issued.notAfter };
  }

  /**
   * issueHostCertificate signs a host certificate for this process's own listeners (the proxy's
   * TLS port), valid for the given names.
   */
  issueHostCertificate(hostId: string, names: string[], publicKeyPem: string, ttlMs: number) {
    const now = this.opts.clock.now();
    return this.ca('host').issue({
      publicKey: publicKeyPem,
      commonName: hostId,
      dnsNames: names.filter((n) => !isIpAddress(n)),
      ipAddresses: names.filter(isIpAddress),
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + ttlMs),
      extKeyUsage: ['serverAuth', 'clientAuth'],
      identity: { user: hostId, roles: [], traits: { db_users: [], db_names: [] }, usage: 'host', cluster: this.opts.clusterName, hostId },
    });
  }

  /** issueAdminIdentity signs the local admin identity xctl uses on the auth host. */
  issueAdminIdentity(publicKeyPem: string, ttlMs: number) {
    const now = this.opts.clock.now();
    return this.ca('user').issue({
      publicKey: publicKeyPem,
      commonName: ADMIN_USER,
      organization: ['admin'],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + ttlMs),
      extKeyUsage: ['clientAuth'],
      identity: { user: ADMIN_USER, roles: ['admin'], traits: { db_users: [], db_names: [] }, usage: 'admin', cluster: this.opts.clusterName },
    });
  }

  // ---- databases ---------------------------------------------------------------------------

  /** upsertDatabases stores `kind: db` resources from YAML (`xctl create -f db.yaml`). */
  async upsertDatabases(actor: Identity, yamlText: string, source: string, force: boolean): Promise<{ name: string; created: boolean }[]> {
    await this.authorize(actor, 'database', force ? 'update' : 'create');
    const out: { name: string; created: boolean }[] = [];
    for (const r of parseDatabaseResources(yamlText, source)) {
      const key = `databases/${r.metadata.name}`;
      const existing = await this.opts.backend.get(key);
      if (existing && !force) throw conflict(`database "${r.metadata.name}" already exists`, { hint: 'Use --force to overwrite it.' });
      await this.opts.backend.put(key, r);
      this.audit.emit({ type: 'db.create', user: actor.user, name: r.metadata.name });
      out.push({ name: r.metadata.name, created: !existing });
    }
    return out;
  }

  /** listDatabaseResources returns the dynamic databases (agents poll this). */
  async listDatabaseResources(): Promise<DatabaseResource[]> {
    return (await this.opts.backend.list<DatabaseResource>('databases/')).map((i) => i.value);
  }

  /** deleteDatabase removes a dynamic database. */
  async deleteDatabase(actor: Identity, name: string): Promise<void> {
    await this.authorize(actor, 'database', 'delete');
    if (!(await this.opts.backend.delete(`databases/${name}`))) {
      throw notFound(`database "${name}" does not exist`, { hint: 'Databases from an agent config are removed by editing that config.' });
    }
    this.audit.emit({ type: 'db.delete', user: actor.user, name });
  }

  /**
   * signDatabaseRoute issues the caller a user certificate routed to one database (`xsh db login`),
   * after checking that its roles allow that database, db user and db name. Without a db user it
   * picks the only one allowed, else `default` (tsh's rule for Redis).
   */
  async signDatabaseRoute(
    actor: Identity,
    db: { name: string; labels: Record<string, string> },
    req: { dbUser?: string; dbName?: string; publicKeyPem: string; ttlMs?: number; notAfter?: Date },
  ): Promise<UserCertificate & { dbUser: string; dbName?: string }> {
    if (actor.usage !== 'user' || actor.cluster !== this.opts.clusterName) throw accessDenied('only user certificates can be routed to databases');
    const checker = await this.checkerFor(actor.roles, actor.traits);
    if (!checker.canSeeDatabase(db)) throw notFound(`database "${db.name}" not found`, { hint: 'List the databases you can use with: xsh db ls' });
    let dbUser = req.dbUser;
    if (!dbUser) {
      const allowed = checker.allowedDbUsers(db).allowed.filter((u) => !u.includes('*'));
      dbUser = allowed.length === 1 ? allowed[0]! : 'default';
    }
    checker.checkDatabaseAccess(db, dbUser, req.dbName);
    // A routed certificate never outlives the login it derives from.
    const now = this.opts.clock.now().getTime();
    const remaining = (req.notAfter?.getTime() ?? now + DEFAULT_LOGIN_TTL_MS) - now;
    const ttlMs = Math.max(1000, Math.min(req.ttlMs ?? remaining, remaining));
    const route: RouteToDatabase = { database: db.name, dbUser, ...(req.dbName !== undefined ? { dbName: req.dbName } : {}) };
    const cert = await this.issueUserCert(actor.user, actor.roles, actor.traits, req.publicKeyPem, ttlMs, 'user', route);
    return { ...cert, dbUser, ...(req.dbName !== undefined ? { dbName: req.dbName } : {}) };
  }

  // ---- agents ------------------------------------------------------------------------------

  /**
   * joinAgent admits a database agent with a join token and signs its host certificate. A token
   * admits as many agents as it was created for (`xctl tokens add --uses N`, one by default).
   *
   * The auth service names the agent (a random host id). The agent learns the cluster name from the reply. If its config names a cluster, that name
   * must match: the check comes before the token is used up, so the operator can fix the config
   * and start again with the same token.
   */
  async joinAgent(req: { token: string; publicKeyPem: string; remoteAddr?: string; clusterName?: string }) {
    try {
      await this.tokens.validate(req.token, 'db');
      if (req.clusterName !== undefined && req.clusterName !== this.opts.clusterName) {
        throw badParameter(
          `this agent's config names cluster "${escapeControl(req.clusterName.slice(0, 64))}", but the proxy serves cluster "${this.opts.clusterName}"`,
          { hint: `Set cluster_name: ${this.opts.clusterName} in the agent's config, or remove the cluster_name line (the agent takes it from the join).` },
        );
      }
      await this.tokens.consume(req.token, 'db');
    } catch (err) {
      // Anyone can call join: audit the failures, but a flood from one source only up to a rate.
      const suppressed = this.#joinFailures.take(req.remoteAddr ?? '', this.opts.clock.now().getTime());
      if (suppressed !== undefined) {
        this.audit.emit({
          type: 'agent.join',
          success: false,
          error: (err as Error).message,
          ...(req.remoteAddr ? { remote_addr: req.remoteAddr } : {}),
          ...(suppressed > 0 ? { suppressed } : {}),
        });
      }
      throw err;
    }
    // Always a fresh id, never one the joiner picks: an agent that could name itself after a
    // connected one would displace its tunnel and inherit the sessions bound to that id.
    const hostId = randomUUID();
    const cert = this.issueHostCertificate(hostId, [hostId], req.publicKeyPem, AGENT_CERT_TTL_MS);
    this.audit.emit({ type: 'agent.join', success: true, user: hostId, host_id: hostId, remote_addr: req.remoteAddr });
    return this.agentCredentials(hostId, cert.certPem, cert.notAfter);
  }

  /** renewAgent re-signs a host certificate for an agent that proves its current one. */
  renewAgent(actor: Identity, publicKeyPem: string) {
    this.requireHost(actor);
    const cert = this.issueHostCertificate(actor.hostId ?? actor.user, [actor.hostId ?? actor.user], publicKeyPem, AGENT_CERT_TTL_MS);
    return this.agentCredentials(actor.hostId ?? actor.user, cert.certPem, cert.notAfter);
  }

  private agentCredentials(hostId: string, certPem: string, notAfter: Date) {
    return {
      host_id: hostId,
      cert: certPem,
      expires: notAfter.toISOString(),
      cluster_name: this.opts.clusterName,
      host_ca: this.ca('host').certPem,
      user_ca: this.ca('user').certPem,
      db_ca: this.ca('db').certPem,
    };
  }

  /** requireHost throws unless the identity is an agent or proxy of this cluster. */
  requireHost(actor: Identity): void {
    if (actor.cluster !== this.opts.clusterName || (actor.usage !== 'host' && actor.usage !== 'admin')) {
      throw accessDenied('this API is for database agents');
    }
  }

  /**
   * signDbClientCert issues the short-lived client certificate an agent presents to self-hosted
   * Redis (CN = db user), from the db_client CA — only for a session the agent serves: the
   * request carries the session's proof (the user's routed certificate), whose route must name
   * this db user (and this database), and the certificate never outlives that proof. Refusals
   * are audited: they mean a broken or hostile agent.
   */
  signDbClientCert(
    actor: Identity,
    req: { session?: { id: string; proof: string } | undefined; database?: string; dbUser: string; publicKeyPem: string; notAfter: Date },
  ) {
    const hostId = actor.hostId ?? actor.user;
    let s: AgentSession | undefined;
    try {
      this.requireHost(actor);
      if (!/^[^\s\x00-\x1f]{1,128}$/.test(req.dbUser)) throw badParameter('invalid db user name');
      if (!req.session) {
        throw accessDenied('a db_client certificate is issued only for a session the agent serves', {
          hint: 'The agent must present the proof it received with the session; upgrade the agent.',
        });
      }
      s = this.agentSessions.register(actor, req.session.id, req.session.proof);
      const now = this.opts.clock.now();
      if (s.expires <= now.getTime()) throw accessDenied(`the session of user "${s.user}" has expired`);
      if (!this.agentSessions.isLive(hostId, s.proof)) {
        throw accessDenied(`no session of user "${s.user}" is open on agent ${hostId}: the proxy routed none there, or it has ended`);
      }
      if (s.dbUser !== req.dbUser) {
        throw accessDenied(`session ${s.sid} of user "${s.user}" is routed to db user "${s.dbUser}", not "${escapeControl(req.dbUser)}"`);
      }
      if (req.database !== undefined && req.database !== s.database) {
        throw accessDenied(`session ${s.sid} of user "${s.user}" is routed to database "${s.database}", not "${escapeControl(req.database.slice(0, 128))}"`);
      }
      const notAfter = new Date(Math.min(req.notAfter.getTime(), s.expires, now.getTime() + MAX_CERT_TTL_MS));
      if (notAfter.getTime() <= now.getTime()) throw badParameter('the session has already expired');
      const issued = this.ca('db_client').issue({
        publicKey: req.publicKeyPem,
        commonName: req.dbUser,
        notBefore: new Date(now.getTime() - 60_000),
        notAfter,
        extKeyUsage: ['clientAuth'],
      });
      this.audit.emit({
        type: 'cert.create',
        success: true,
        user: s.user,
        cert_type: 'db_client',
        db_service: s.database,
        db_user: s.dbUser,
        sid: s.sid,
        host_id: hostId,
        expires: issued.notAfter.toISOString(),
        serial: issued.serial,
      });
      return { certPem: issued.certPem, notAfter: issued.notAfter };
    } catch (err) {
      this.audit.emit({
        type: 'cert.create',
        success: false,
        cert_type: 'db_client',
        ...(s ? { user: s.user, sid: s.sid, db_service: s.database } : {}),
        db_user: escapeControl(String(req.dbUser).slice(0, 128)),
        host_id: hostId,
        error: (err as Error).message,
      });
      throw err;
    }
  }

  /**
   * acceptAgentEvents records the audit events an agent sends, each under the session it names:
   * only `db.session.*` events of sessions the agent serves (registered before, or proven by `proofs`,
   * sid → routed certificate) are taken, with `user`, `db_service` and `db_user` taken from the
   * session's proof rather than from the event. The rest are counted and reported in one
   * `agent.events.rejected` event per batch. Throws connection-problem when the agent is not
   * connected to the proxy yet (the agent retries the batch).
   */
  acceptAgentEvents(actor: Identity, events: unknown[], proofs: Record<string, unknown> = {}): { accepted: number; rejected: number } {
    this.requireHost(actor);
    const hostId = actor.hostId ?? actor.user;
    const nowMs = this.opts.clock.now().getTime();
    const refused = new Map<string, string>();
    for (const [sid, proof] of Object.entries(proofs)) {
      if (this.agentSessions.lookup(actor, sid, nowMs)?.proof === proof) continue;
      try {
        this.agentSessions.register(actor, sid, proof, { forEvents: true });
      } catch (err) {
        if ((err as { kind?: string }).kind === 'connection-problem') throw err;
        refused.set(sid, (err as Error).message);
      }
    }
    let accepted = 0;
    const rejectedSids = new Set<string>();
    let rejected = 0;
    for (const raw of events) {
      const e = raw as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || !e.type.startsWith(SESSION_EVENT_PREFIX)) {
        rejected++;
        continue;
      }
      // The auth service numbers, codes and times what it records; an agent cannot backdate.
      const id = agentEventId(hostId, e.id);
      for (const k of AUTH_ASSIGNED_FIELDS) if (k in e) delete e[k];
      if (id !== undefined) e.id = id;
      const s = this.agentSessions.lookup(actor, e.sid, nowMs);
      if (!s) {
        rejected++;
        if (rejectedSids.size < 10) rejectedSids.add(typeof e.sid === 'string' ? escapeControl(e.sid.slice(0, 64)) : '(none)');
        continue;
      }
      this.#recordSessionEvent(e, s, hostId);
      accepted++;
    }
    if (rejected > 0) {
      const firstError = refused.values().next().value as string | undefined;
      this.audit.emit({
        type: 'agent.events.rejected',
        success: false,
        host_id: hostId,
        count: rejected,
        sids: [...rejectedSids],
        error: firstError ?? 'the events name no session this agent serves',
      });
    }
    // The acknowledgement means "in the log": the agent may forget the batch once we answer.
    try {
      this.audit.commit();
    } catch (err) {
      throw connectionProblem(`audit log unavailable: ${(err as Error).message}`);
    }
    return { accepted, rejected };
  }

  /**
   * acceptAgentEvent is {@link acceptAgentEvents} for one event of the in-process agent, which
   * registered its session with {@link AgentSessionRegistry.register} when it opened; the event
   * object is the caller's own and is rewritten in place.
   */
  acceptAgentEvent(actor: Identity, e: { type: string; [k: string]: unknown }, proof?: string): boolean {
    let s = this.agentSessions.lookup(actor, e.sid);
    if (!s && proof !== undefined) {
      try {
        s = this.agentSessions.register(actor, e.sid, proof, { forEvents: true });
      } catch {
        s = undefined;
      }
    }
    if (!s || !e.type.startsWith(SESSION_EVENT_PREFIX)) {
      this.audit.emit({
        type: 'agent.events.rejected',
        success: false,
        host_id: actor.hostId ?? actor.user,
        count: 1,
        sids: [typeof e.sid === 'string' ? escapeControl(e.sid.slice(0, 64)) : '(none)'],
        error: 'the event names no session this agent serves',
      });
      return false;
    }
    this.#recordSessionEvent(e, s, actor.hostId ?? actor.user);
    return true;
  }

  #recordSessionEvent(e: Record<string, unknown>, s: AgentSession, hostId: string): void {
    // Who and where come from the proof, never from what the agent wrote.
    e.sid = s.sid;
    e.user = s.user;
    e.db_service = s.database;
    e.db_user = s.dbUser;
    e.agent = hostId;
    this.audit.emit(e as { type: string }, true);
  }

  // ---- admin wrappers (authorization + delegation) -----------------------------------------

  /** createUser adds a user and returns the invite token. */
  async createUser(actor: Identity, req: { name: string; roles: string[]; traits?: Partial<Traits>; ttlMs?: number }) {
    await this.authorize(actor, 'user', 'create');
    return this.users.create(
      {
        name: req.name,
        roles: req.roles,
        traits: { db_users: req.traits?.db_users ?? [], db_names: req.traits?.db_names ?? [] },
        ...(req.ttlMs !== undefined ? { ttlMs: req.ttlMs } : {}),
      },
      actor.user,
    );
  }

  /** listUsers lists users for an admin. */
  async listUsers(actor: Identity): Promise<PublicUser[]> {
    await this.authorize(actor, 'user', 'list');
    return this.users.list();
  }

  /** searchEvents lists audit events for an admin. */
  async searchEvents(actor: Identity, q: EventQuery): Promise<AuditEvent[]> {
    await this.authorize(actor, 'audit', 'list');
    return this.audit.search(q);
  }

  /** countEvents counts the audit events an admin's query matches (for "showing N of M"). */
  async countEvents(actor: Identity, q: EventQuery): Promise<number> {
    await this.authorize(actor, 'audit', 'list');
    return this.audit.count(q);
  }

  /** close flushes the audit log. */
  async close(): Promise<void> {
    await this.audit.close();
  }
}

function isIpAddress(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');
}

/**
 * SourceRateLimit lets `perWindow` events per source address through per window and counts the
 * rest, so an anonymous flood cannot flood the audit log. Bounded: at most 10,000 sources.
 */
class SourceRateLimit {
  readonly #by = new Map<string, { start: number; n: number; dropped: number }>();
  constructor(private readonly perWindow: number, private readonly windowMs: number) {}

  /** take returns how many were suppressed since the last one let through, or undefined to suppress this one. */
  take(source: string, now: number): number | undefined {
    let b = this.#by.get(source);
    if (!b || now - b.start >= this.windowMs) {
      if (!b && this.#by.size >= 10_000) this.#by.clear();
      const dropped = b?.dropped ?? 0;
      b = { start: now, n: 0, dropped: 0 };
      this.#by.set(source, b);
      b.n++;
      return dropped;
    }
    if (b.n >= this.perWindow) {
      b.dropped++;
      return undefined;
    }
    b.n++;
    return 0;
  }
}
