/**
 * cli/xctl/start: `xctl start` — run the service from a config file (or the embedded all-in-one
 * default) until SIGINT/SIGTERM, then stop cleanly.
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLogger } from '../../util/log.js';
import { VERSION } from '../../util/version.js';
import { DEFAULT_CONFIG_PATH, loadConfig, withDefaults, type ServiceConfig } from '../../service/config.js';
import { startService } from '../../service/start.js';
import type { CliContext } from '../shared/context.js';
import type { XctlGlobals } from './admin.js';

/** StartOptions are `xctl start`'s flags. */
export interface StartOptions extends XctlGlobals {
  listenAddr?: string;
  clusterName?: string;
}

/** resolveStartConfig merges the config file (if any) with flags. */
export async function resolveStartConfig(ctx: CliContext, o: StartOptions): Promise<ServiceConfig> {
  let path = o.config ?? ctx.env.XCTL_CONFIG;
  if (!path && !o.dataDir) {
    try {
      await access(DEFAULT_CONFIG_PATH);
      path = DEFAULT_CONFIG_PATH;
    } catch {
      path = undefined;
    }
  }
  const cfg = path ? await loadConfig(path) : withDefaults({ version: 'v1' }, '(embedded default)');
  if (o.dataDir) cfg.dataDir = resolve(o.dataDir);
  if (o.listenAddr) {
    cfg.proxy.listenAddr = o.listenAddr;
    if (!path) cfg.proxy.publicAddr = o.listenAddr.replace(/^0\.0\.0\.0:/, 'localhost:');
  }
  if (o.clusterName) {
    cfg.clusterName = o.clusterName;
    cfg.clusterNameSet = true;
  }
  return cfg;
}

/**
 * runStart runs the service until a signal arrives. Signal handlers go in before anything
 * starts: a supervisor may send SIGTERM the moment it sees the banner, or during start-up.
 */
export async function runStart(ctx: CliContext, o: StartOptions): Promise<void> {
  let stopRequested: (sig: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const off = ctx.onSignal((sig) => stopRequested(sig));
  try {
    const cfg = await resolveStartConfig(ctx, o);
    const log = createLogger(ctx.io.stderr, ctx.debug ? 'debug' : cfg.logSeverity);
    const svc = await startService(cfg, { log, clock: ctx.clock });
    ctx.io.stdout.write(
      `xport ${VERSION} started: cluster "${svc.clusterName}", data dir ${cfg.dataDir}\n` +
        (svc.info ? `Proxy listening on ${svc.info.addr} (public address ${svc.info.public_addr}), CA pin ${svc.info.ca_pin}\n` : '') +
        (svc.agent && !svc.info ? `Database agent started, serving: ${svc.agent.databases().map((d) => d.name).join(', ') || '(no databases yet)'}\n` : ''),
    );
    const sig = await stopSignal;
    log.info('stopping', { signal: sig });
    await svc.stop();
    ctx.io.stdout.write('xport stopped.\n');
  } finally {
    off();
  }
}
