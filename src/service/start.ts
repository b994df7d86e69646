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
import { openSqliteBackend, acquireDataDirLock } from '../store/index.js';
import type { Backend } from '../store/backend.js';
import { AuthService } from '../auth/service.js';
import { startListener, ALPN, type Listener } from '../proxy/listener.js';
import { createWebApi } from '../proxy/web-api.js';
import type { ServiceConfig } from './config.js';
import { adminIdentityPath, proxyInfoPath, type ProxyInfo } from './admin-identity.js';

/** HOST_CERT_TTL_MS is the lifetime of the proxy's own certificate; it is renewed at half-life. */
const HOST_CERT_TTL_MS = 7 * 24 * 3_600_000;
/** ADMIN_IDENTITY_TTL_MS is the lifetime of the local admin identity; renewed with the host cert. */
const ADMIN_IDENTITY_TTL_MS = 7 * 24 * 3_600_000;

/** RunningService is a started `xctl start`. */
export interface RunningService {
  auth?: AuthService;
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
export async function startService(config: ServiceConfig, deps: StartDeps): Promise<RunningService> {
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
      throw badParameter('this build runs the auth service in every `xctl start`; set auth_service.enabled: true', {
        hint: 'Remote database agents arrive with the database access path.',
      });
    }
    await ensureWritableDir(config.dataDir);
    const lock = await acquireDataDirLock(config.dataDir, 'auth service');
    cleanups.push(() => lock.release());
    const backend: Backend = await openSqliteBackend(config.dataDir, { clock });
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
    });
    cleanups.push(() => auth.close());

    let listener: Listener | undefined;
    let info: ProxyInfo | undefined;
    if (config.proxy.enabled) {
      const pub = parseHostPort(config.proxy.publicAddr, 3080, 'public_addr');
      const listen = parseHostPort(config.proxy.listenAddr, 3080, 'listen_addr');
      const names = [...new Set([pub.host, 'localhost', '127.0.0.1', '::1', hostname(), ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? [listen.host] : [])])];
      const issueProxyCert = () => {
        const kp = generateKeyPair('ecdsa-p256');
        const cert = auth.issueHostCertificate(`proxy.${config.clusterName}`, names, kp.publicKeyPem, HOST_CERT_TTL_MS);
        return { chain: cert.certPem + auth.ca('host').certPem, key: kp.privateKeyPem };
      };
      const first = issueProxyCert();
      const webApi = createWebApi(auth, log.child('web'));
      listener = await startListener({
        listenAddr: config.proxy.listenAddr,
        certChainPem: first.chain,
        keyPem: first.key,
        clientCaPems: [auth.ca('user').certPem, auth.ca('host').certPem],
        handlers: { [ALPN.http]: (socket) => webApi.emit('connection', socket) },
        log: log.child('proxy'),
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
      log.info('proxy listening', { addr: `${listener.address.host}:${listener.address.port}`, public_addr: publicAddr });
    }
    return { auth, ...(info ? { proxyAddr: info.addr, info } : {}), stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
