/**
 * service/start: the composition root of `xctl start`. It wires the store, the auth service, the
 * proxy's TLS port and web API (and, later, the database agent) from one {@link ServiceConfig},
 * and stops them in reverse order. This is the only module that picks concrete backends.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { badParameter, isXError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { writeFileAtomic, writeSecretFile } from '../util/fs.js';
import { dialableHost, formatHostPort, parseHostPort } from '../util/net.js';
import { VERSION } from '../util/version.js';
import { generateKeyPair } from '../pki/index.js';
import { acquireDataDirLock } from '../store/index.js';
import type { Backend } from '../store/backend.js';
import { AuthService } from '../auth/service.js';
import { startListener, ALPN, type Listener, type ProtocolHandler } from '../proxy/listener.js';
import { createWebApi } from '../proxy/web-api.js';
import { TunnelServer } from '../proxy/tunnel-server.js';
import { createDbMuxHandler, createDbProxyHandler } from '../proxy/db-proxy.js';
import { ApiClient } from '../client/api.js';
import { messageOf } from '../errors.js';
import { localAgentAuth, remoteAgentAuth, type AgentAuth } from '../agent/auth.js';
import type { Duplex } from 'node:stream';
import { startAgent, type RunningAgent } from '../agent/agent.js';
import { loadOrJoin, renewAgentIdentity } from '../agent/identity.js';
import { createCredentialProviders } from './providers.js';
import { credentialOptions } from '../db/credentials.js';
import { createDiscoveries, startDiscovery } from './discovery.js';
import { DatabaseHealthChecker } from '../agent/db-health.js';
import { serverTls } from '../agent/credentials.js';
import { createEngines, respError } from './engines.js';
import { duplexPair } from '../util/duplex-pair.js';
import { specFromConfig } from './databases.js';
import { applyEnvironment, type ServiceConfig } from './config.js';
import { join } from 'node:path';
import { openStorage } from './storage.js';
import { adminIdentityPath, proxyInfoPath, type ProxyInfo } from './admin-identity.js';
import { listProxies, proxyIdentity, startProxyHeartbeat } from './proxy-heartbeat.js';
import { parseProxyTargets, type ProxyTarget } from '../agent/pool.js';

/** HOST_CERT_TTL_MS is the lifetime of the proxy's own certificate; it is renewed at half-life. */
const HOST_CERT_TTL_MS = 7 * 24 * 3_600_000;
/** ADMIN_IDENTITY_TTL_MS is the lifetime of the local admin identity; renewed with the host cert. */
const ADMIN_IDENTITY_TTL_MS = 7 * 24 * 3_600_000;

/** RunningService is a started `xctl start`. */
export interface RunningService {
  /** The cluster served: the config's, or for a remote agent the one it joined. */
  clusterName: string;
  auth?: AuthService;
  agent?: RunningAgent;
  tunnels?: TunnelServer;
  proxyAddr?: string;
  info?: ProxyInfo;
  stop(): Promise<void>;
}

/** StartDeps are the things tests may replace. */
export interface StartDeps {
  log: Logger;
  clock?: Clock;
}

/**
 * startService starts what the config enables. Failures half-way stop what was started and
 * release the data dir lock before the error propagates.
 */
export async function startService(fileConfig: ServiceConfig, deps: StartDeps): Promise<RunningService> {
  const config = applyEnvironment(fileConfig, process.env);
  const clock = deps.clock ?? systemClock;
  const log = deps.log;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn('error while stopping', { err: (err as Error).message });
      }
    }
    cleanups.length = 0;
  };
  try {
    if (!config.auth.enabled) {
      if (!config.db.enabled) throw badParameter(`${config.source}: nothing to run: enable auth_service or db_service`);
      // A remote database agent: join through the proxy, then serve.
      const agent = await startRemoteAgent(config, clock, log);
      cleanups.push(() => agent.stop());
      return { clusterName: agent.clusterName, agent, stop };
    }
    await ensureWritableDir(config.dataDir);
    // One service per data dir. With PostgreSQL storage each replica has its own data dir (its
    // identity files), so replicas sharing the database do not contend for this lock.
    const lock = await acquireDataDirLock(config.dataDir, 'auth service');
    cleanups.push(() => lock.release());
    const backend: Backend = await openStorage(config, clock, log.child('storage'));
    cleanups.push(() => backend.close());
    const auth = await AuthService.open({
      backend,
      clock,
      log: log.child('auth'),
      clusterName: config.clusterName,
      version: VERSION,
      secondFactor: config.auth.secondFactor,
      caKeyAlgorithm: config.auth.caKeyAlgorithm,
      sessionTtlMs: config.auth.sessionTtlMs,
      auditLog: { ...auditLogOptions(config), indexInWorker: true },
      secretKeyDir: config.dataDir,
    });
    cleanups.push(() => auth.close());

    let listener: Listener | undefined;
    let info: ProxyInfo | undefined;
    let tunnels: TunnelServer | undefined;
    if (config.proxy.enabled) {
      const pub = parseHostPort(config.proxy.publicAddr, 3080, 'public_addr');
      const listen = parseHostPort(config.proxy.listenAddr, 3080, 'listen_addr');
      const adv = config.proxy.advertiseAddr ? parseHostPort(config.proxy.advertiseAddr, 3080, 'advertise_addr') : undefined;
      const names = [...new Set([pub.host, ...(adv ? [adv.host] : []), 'localhost', '127.0.0.1', '::1', hostname(), ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? [listen.host] : [])])];
      const issueProxyCert = () => {
        const kp = generateKeyPair('ecdsa-p256');
        const cert = auth.issueHostCertificate(`proxy.${config.clusterName}`, names, kp.publicKeyPem, HOST_CERT_TTL_MS);
        return { chain: cert.certPem + auth.ca('host').certPem, key: kp.privateKeyPem };
      };
      const first = issueProxyCert();
      const limits = config.proxy.limits;
      const t = new TunnelServer({
        cluster: config.clusterName,
        log: log.child('tunnel'),
        hostCaPem: auth.ca('host').certPem,
        // Which sessions each agent serves right now: the auth service signs db_client
        // certificates only for those.
        onStreamOpening: (hostId, header) => auth.agentSessions.streamOpening(hostId, (header as { cert?: unknown }).cert),
        helloTimeoutMs: limits.idleTimeoutMs,
      });
      tunnels = t;
      t.on('agent-connected', (a) => log.info('agent connected', { host_id: a.hostId, from: a.remoteAddr, databases: a.databases.map((d) => d.name).join(',') }));
      t.on('agent-disconnected', (a, reason) => log.info('agent disconnected', { host_id: a.hostId, reason }));
      // The auth service trusts an agent only for sessions of databases it serves right now.
      auth.useAgentDirectory({
        connected: (hostId) => t.agents().some((a) => a.hostId === hostId),
        serves: (hostId, database) => t.agents().some((a) => a.hostId === hostId && a.databases.some((d) => d.name === database)),
      });
      cleanups.push(async () => t.close());
      const webApi = createWebApi(auth, log.child('web'), {
        databases: () =>
          t.listDatabases().map((d) => ({
            name: d.spec.name,
            ...(d.spec.description ? { description: d.spec.description } : {}),
            protocol: d.spec.protocol,
            type: d.spec.type,
            uri: d.spec.uri,
            mode: d.spec.mode,
            labels: d.spec.labels,
            agents: d.agents,
            ...(d.health ? { health: d.health } : {}),
          })),
        limits: { headersTimeoutMs: limits.headersTimeoutMs, bodyTimeoutMs: limits.bodyTimeoutMs, keepAliveTimeoutMs: limits.keepAliveTimeoutMs },
        proxies: () => listProxies(backend),
      });
      const dbProxyOptions = {
        tunnels: t,
        cluster: config.clusterName,
        log: log.child('db-proxy'),
        userCaPem: auth.ca('user').certPem,
        onError: (socket: import('node:stream').Duplex, err: unknown) => socket.write(respError(messageOf(err))),
        audit: (e: { type: string; [field: string]: unknown }) => auth.audit.emit(e),
        idleTimeoutMs: limits.idleTimeoutMs,
      };
      const redisHandler: ProtocolHandler = createDbProxyHandler(dbProxyOptions);
      const redisMuxHandler: ProtocolHandler = createDbMuxHandler(dbProxyOptions);
      listener = await startListener({
        listenAddr: config.proxy.listenAddr,
        certChainPem: first.chain,
        keyPem: first.key,
        clientCaPems: [auth.ca('user').certPem, auth.ca('host').certPem],
        handlers: {
          [ALPN.http]: (socket) => webApi.emit('connection', socket),
          [ALPN.tunnel]: (socket) => t.handleSocket(socket),
          [ALPN.redis]: redisHandler,
          [ALPN.redisMux]: redisMuxHandler,
        },
        log: log.child('proxy'),
        limits: {
          handshakeTimeoutMs: limits.handshakeTimeoutMs,
          maxAnonymousConnections: limits.maxAnonymousConnections,
          maxAnonymousPerSource: limits.maxAnonymousPerSource,
        },
      });
      const l = listener;
      cleanups.push(async () => {
        await l.close();
        webApi.close();
      });
      const addr = formatHostPort({ host: dialableHost(listen.host), port: listener.address.port });
      const publicAddr = pub.port === 0 ? formatHostPort({ host: pub.host, port: listener.address.port }) : config.proxy.publicAddr;
      info = { addr, public_addr: publicAddr, cluster_name: config.clusterName, ca_pin: auth.ca('host').pin, pid: process.pid };
      await writeAdminIdentity(auth, config.dataDir);
      await writeFileAtomic(proxyInfoPath(config.dataDir), JSON.stringify(info, null, 2) + '\n', 0o600);
      // Renew the proxy certificate and the admin identity at half-life, so a long-running
      // service never serves an expired certificate.
      const timer = setInterval(() => {
        const next = issueProxyCert();
        l.updateCertificate(next.chain, next.key);
        writeAdminIdentity(auth, config.dataDir).catch((err) => log.warn('could not renew the admin identity', { err: (err as Error).message }));
      }, HOST_CERT_TTL_MS / 2);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
      // Heartbeat this replica into the backend: agents keep a tunnel to every replica listed,
      // and `xctl status` shows them. Stopped (and removed) before the listener closes.
      const advertised = config.proxy.advertiseAddr ?? (listen.host === '0.0.0.0' || listen.host === '::' ? formatHostPort({ host: hostname(), port: listener.address.port }) : addr);
      const heartbeat = await startProxyHeartbeat({
        backend,
        id: await proxyIdentity(config.dataDir),
        addr: advertised,
        publicAddr,
        version: VERSION,
        tunnels: () => t.agents().map((a) => ({ host_id: a.hostId, databases: a.databases.map((d) => d.name) })),
        clock,
        log: log.child('heartbeat'),
      });
      cleanups.push(() => heartbeat.stop());
      log.info('proxy listening', { addr: `${listener.address.host}:${listener.address.port}`, public_addr: publicAddr, advertise_addr: advertised });
    }

    let agent: RunningAgent | undefined;
    if (config.db.enabled) {
      if (!info) throw badParameter(`${config.source}: an in-process db_service needs proxy_service enabled`);
      // The in-process agent joins its own proxy through an in-memory stream pair: the same mux,
      // registry and session code as a remote agent, without encrypting every command twice more
      // inside this process (the profile of the first version showed TLS writes dominating).
      const hostId = `${hostname()}-agent`;
      const kp = generateKeyPair('ecdsa-p256');
      const hostCert = auth.issueHostCertificate(hostId, [hostId], kp.publicKeyPem, HOST_CERT_TTL_MS);
      const hostIdentity = { user: hostId, roles: [], traits: { db_users: [], db_names: [] }, usage: 'host' as const, cluster: config.clusterName, hostId };
      // Session streams skip the mux: the proxy hands each one to the agent through its own
      // in-memory pair (the agent exists once launchAgent returns; until then the mux serves).
      let local: RunningAgent | undefined;
      const openLocal = async (header: object): Promise<Duplex | undefined> => {
        if (!local) return undefined;
        const [proxyEnd, agentEnd] = duplexPair();
        try {
          // The same JSON the OPEN frame would carry: the agent sees what a remote one would.
          await local.serveLocal(agentEnd, JSON.parse(JSON.stringify(header)) as unknown);
        } catch (err) {
          proxyEnd.destroy();
          throw err;
        }
        return proxyEnd;
      };
      agent = await launchAgent(config, {
        hostId,
        proxyAddr: config.db.proxyServer ?? info.addr,
        tls: { certPem: hostCert.certPem, keyPem: kp.privateKeyPem, caPem: auth.ca('host').certPem },
        agentAuth: localAgentAuth(auth, hostIdentity),
        clock,
        log,
        ...(tunnels && !config.db.proxyServer
          ? {
              connect: () => {
                const [proxyEnd, agentEnd] = duplexPair();
                tunnels!.attachLocal(proxyEnd, hostIdentity, (header) => openLocal(header));
                return agentEnd;
              },
            }
          : {}),
      });
      const a = agent;
      local = a;
      cleanups.push(() => a.stop());
    }
    return { clusterName: config.clusterName, auth, ...(agent ? { agent } : {}), ...(tunnels ? { tunnels } : {}), ...(info ? { proxyAddr: info.addr, info } : {}), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** launchAgent builds the engines and starts an agent with the given identity. */
async function launchAgent(
  config: ServiceConfig,
  o: {
    hostId: string;
    proxyAddr: string;
    tls: { certPem: string; keyPem: string; caPem: string };
    agentAuth: AgentAuth;
    clock: Clock;
    log: Logger;
    connect?: () => import('node:stream').Duplex;
    discoverProxies?: () => Promise<ProxyTarget[]>;
  },
): Promise<RunningAgent> {
  const staticDatabases = await Promise.all(config.db.databases.map(specFromConfig));
  const credentials = createCredentialProviders({ config, agentAuth: o.agentAuth, clock: o.clock, log: o.log, env: process.env });
  for (const d of staticDatabases) {
    if (!credentials.types().includes(d.type)) throw badParameter(`database "${d.name}" is of type "${d.type}", which this build of xport cannot serve yet`);
    if (d.tls.mode === 'disabled') o.log.warn('database has tls.mode disabled: traffic between the agent and Redis is NOT encrypted', { database: d.name });
  }
  // Built (and checked) before discovery starts: a registry that fails its check stops the start
  // before anything runs that would need stopping.
  const engines = createEngines({
    credentials,
    log: o.log,
    redactValues: config.audit.redisValues === 'redact',
    limits: config.db.limits,
    ...(config.db.connectTimeoutMs ? { connectTimeoutMs: config.db.connectTimeoutMs } : {}),
  });
  const discovery = startDiscovery(await createDiscoveries(config, o.log.child('discovery'), process.env), { intervalMs: config.db.discoveryIntervalMs, log: o.log.child('discovery') });
  await discovery.refresh();
  return startAgent({
    clusterName: config.clusterName,
    hostId: o.hostId,
    version: VERSION,
    proxyAddr: o.proxyAddr,
    tls: o.tls,
    staticDatabases,
    resourceSelectors: config.db.resources,
    discovered: discovery,
    auth: o.agentAuth,
    engines,
    log: o.log.child('agent'),
    clock: o.clock,
    ...(o.connect ? { connect: o.connect } : {}),
    health: new DatabaseHealthChecker({
      serverTls: (db) => serverTls(db, o.agentAuth.dbCaPem),
      clock: o.clock,
      log: o.log.child('health'),
      ...(config.db.healthCheckIntervalMs !== undefined ? { intervalMs: config.db.healthCheckIntervalMs } : {}),
      // users: managed — Redis ≥ 6 and an admin with +acl, proven when serving starts, not at the first session.
      managedCheck: (db) => credentials.managed.check(db),
    }),
    ...(o.discoverProxies ? { discoverProxies: o.discoverProxies } : {}),
    // A role change re-derives a managed user's ACL: asking for the session's credentials again
    // applies the new rules (the session's checker already has them); a revoked user is disabled.
    onAclChange: async (session, rules) => {
      const opts = credentialOptions(session);
      if (rules !== null) {
        await credentials.credentials(session.database, session.dbUser, opts);
        return;
      }
      const { aclRules: _ignored, ...plain } = opts;
      const creds = await credentials.managed.inner.credentials(session.database, session.dbUser, plain);
      await credentials.managed.sync(session.database, session.dbUser, null, creds, opts.session);
    },
  });
}

/** startRemoteAgent joins (or reuses a joined identity) and starts an agent on its own host. */
async function startRemoteAgent(config: ServiceConfig, clock: Clock, log: Logger): Promise<RunningAgent & { clusterName: string }> {
  if (!config.db.proxyServer) throw badParameter(`${config.source}: db_service.proxy_server is required for a remote agent`);
  await ensureWritableDir(config.dataDir);
  const id = await loadOrJoin({
    dataDir: config.dataDir,
    proxyServer: config.db.proxyServer,
    ...(config.db.authToken ? { authToken: config.db.authToken } : {}),
    ...(config.db.caPin ? { caPin: config.db.caPin } : {}),
    ...(config.clusterNameSet ? { clusterName: config.clusterName } : {}),
    clock,
  });
  // The cluster's name comes from the join (it is in the host certificate), so a config
  // without cluster_name serves whatever the cluster is called.
  const joined: ServiceConfig = { ...config, clusterName: id.clusterName };
  const api = new ApiClient({ addr: config.db.proxyServer, caPem: id.hostCaPem, credentials: { certPem: id.certPem, keyPem: id.keyPem } });
  log.info('joined the cluster', { cluster: id.clusterName, host_id: id.hostId, proxy: config.db.proxyServer, valid_until: id.notAfter.toISOString() });
  const agent = await launchAgent(joined, {
    hostId: id.hostId,
    proxyAddr: config.db.proxyServer,
    tls: { certPem: id.certPem, keyPem: id.keyPem, caPem: id.hostCaPem },
    agentAuth: remoteAgentAuth(api, { userCaPem: id.userCaPem, dbCaPem: id.dbCaPem }, log.child('agent-auth'), auditLogOptions(config)),
    clock,
    log,
    // Keep a tunnel to every proxy replica, learnt through the public address.
    discoverProxies: async () => parseProxyTargets(await api.request<{ proxies?: unknown }>('GET', '/v1/agent/proxies')),
  });
  // Renew the host certificate at half-life: the tunnel uses it from its next dial and the API
  // client from its next request, so live sessions are not interrupted.
  let current = id;
  const renew = async () => {
    try {
      const next = await renewAgentIdentity(config.dataDir, api, current);
      current = next;
      agent.tunnel.updateCertificate(next.certPem, next.keyPem);
      api.setCredentials({ certPem: next.certPem, keyPem: next.keyPem });
      log.info('renewed the agent certificate', { valid_until: next.notAfter.toISOString() });
    } catch (err) {
      log.warn('could not renew the agent certificate; will retry', { err: messageOf(err) });
    }
  };
  const period = Math.max(60_000, (id.notAfter.getTime() - clock.now().getTime()) / 2);
  const timer = setInterval(() => void renew(), Math.min(period, 2 ** 31 - 1));
  timer.unref();
  return {
    ...agent,
    clusterName: id.clusterName,
    async stop() {
      clearInterval(timer);
      await agent.stop();
    },
  };
}

async function writeAdminIdentity(auth: AuthService, dataDir: string): Promise<void> {
  const kp = generateKeyPair('ecdsa-p256');
  const cert = auth.issueAdminIdentity(kp.publicKeyPem, ADMIN_IDENTITY_TTL_MS);
  await writeSecretFile(adminIdentityPath(dataDir), kp.privateKeyPem + cert.certPem + auth.ca('host').certPem);
}

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
  } catch (err) {
    if (isXError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw badParameter(`data dir ${dir} is not writable (${code})`, {
      hint: 'Run as a user who can write it, or choose another with --data-dir.',
    });
  }
}

/** auditLogOptions places the write-ahead audit log in the data dir, tuned by the config's `audit`. */
function auditLogOptions(config: ServiceConfig): { dir: string; fsyncIntervalMs: number; maxFileBytes?: number } {
  return {
    dir: join(config.dataDir, 'audit'),
    fsyncIntervalMs: config.audit.fsyncIntervalMs,
    ...(config.audit.maxFileBytes !== undefined ? { maxFileBytes: config.audit.maxFileBytes } : {}),
  };
}
