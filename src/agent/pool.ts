/**
 * agent/pool: the agent's tunnels to every proxy replica (Teleport's agent pool).
 *
 * An agent is configured with one address, the cluster's public one (a load balancer). It first
 * keeps one tunnel through that address, as a lone agent always did. It then asks the proxies
 * which replicas there are (their heartbeats in the backend, `GET /v1/agent/proxies`) every
 * {@link DISCOVER_MS} and keeps one {@link TunnelAgent} to each replica's own address, so a user
 * landing on any replica reaches the agent's databases. A replica that leaves the list is
 * dropped once its tunnel is down too; a new one is joined at the next look. Once a direct tunnel is up the tunnel through
 * the balancer is closed: two tunnels from one agent to one replica would replace each other.
 * When the list cannot be read (balancer down, backend restarting) the pool keeps what it has.
 *
 * Imports agent/tunnel (one tunnel), errors and util; used by agent/agent.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';
import { parseHostPort } from '../util/net.js';
import { TunnelAgent, type TunnelAgentOptions } from './tunnel.js';

/** DISCOVER_MS is how often the pool re-reads the list of proxies. */
export const DISCOVER_MS = 2_000;
/** MAX_TUNNELS bounds the tunnels one agent keeps, whatever a proxy answers. */
const MAX_TUNNELS = 64;

/** ProxyTarget is one proxy replica an agent should keep a tunnel to. */
export interface ProxyTarget {
  id: string;
  addr: string;
}

/** AgentPoolOptions configures an {@link AgentPool}. */
export interface AgentPoolOptions extends Omit<TunnelAgentOptions, 'proxyAddr' | 'onStream' | 'log'> {
  /** The address the agent was configured with (the balancer, or the only proxy). */
  publicAddr: string;
  /** discover lists the proxy replicas; absent, the pool keeps the one tunnel to publicAddr. */
  discover?: () => Promise<ProxyTarget[]>;
  discoverMs?: number;
  /** onStream serves a stream; `via` is the address of the proxy whose tunnel carried it. */
  onStream: (stream: Duplex, header: unknown, via: string) => Promise<void>;
  log: Logger;
}

/** TunnelStatus is one tunnel of the pool. */
export interface TunnelStatus {
  /** The proxy's id, or undefined for the tunnel through the public address. */
  proxyId?: string;
  addr: string;
  connected: boolean;
}

/** AgentPoolEvents are emitted per tunnel, with the proxy address. */
export interface AgentPoolEvents {
  connected: [addr: string];
  disconnected: [addr: string, err: Error | undefined];
}

interface Member {
  proxyId?: string;
  addr: string;
  agent: TunnelAgent;
}

/** AgentPool keeps one tunnel per proxy replica. */
export class AgentPool extends EventEmitter<AgentPoolEvents> {
  readonly #opts: AgentPoolOptions;
  readonly #members = new Map<string, Member>();
  #cert: { certPem: string; keyPem: string };
  #timer: NodeJS.Timeout | undefined;
  #discovering = false;
  #stopped = false;
  #lastError = '';

  constructor(opts: AgentPoolOptions) {
    super();
    this.#opts = opts;
    this.#cert = { certPem: opts.tls.certPem, keyPem: opts.tls.keyPem };
  }

  /** connected tells whether at least one tunnel is up. */
  get connected(): boolean {
    return [...this.#members.values()].some((m) => m.agent.connected);
  }

  /** tunnels lists the pool's tunnels and whether each is up. */
  tunnels(): TunnelStatus[] {
    return [...this.#members.values()].map((m) => ({ ...(m.proxyId ? { proxyId: m.proxyId } : {}), addr: m.addr, connected: m.agent.connected }));
  }

  /** start opens the tunnel through the public address and starts looking for replicas. */
  start(): void {
    this.#add({ addr: this.#opts.publicAddr });
    if (!this.#opts.discover) return;
    void this.#discover();
    this.#timer = setInterval(() => void this.#discover(), this.#opts.discoverMs ?? DISCOVER_MS);
    this.#timer.unref();
  }

  /** updateCertificate swaps the certificate of every tunnel (and of tunnels opened later). */
  updateCertificate(certPem: string, keyPem: string): void {
    this.#cert = { certPem, keyPem };
    for (const m of this.#members.values()) m.agent.updateCertificate(certPem, keyPem);
  }

  /** stop closes every tunnel. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    const all = [...this.#members.values()];
    this.#members.clear();
    await Promise.all(all.map((m) => m.agent.stop()));
  }

  async #discover(): Promise<void> {
    if (this.#discovering || this.#stopped) return;
    this.#discovering = true;
    try {
      const list = await this.#opts.discover!();
      this.#lastError = '';
      this.#reconcile(list);
    } catch (err) {
      // Keep every tunnel: the replicas may well be up while the balancer or backend is not.
      const msg = messageOf(err);
      if (msg !== this.#lastError) this.#opts.log.warn('cannot list the proxies; keeping the current tunnels', { err: msg });
      this.#lastError = msg;
    } finally {
      this.#discovering = false;
    }
  }

  #reconcile(list: ProxyTarget[]): void {
    if (this.#stopped) return;
    const wanted = new Map<string, ProxyTarget>();
    for (const p of list.slice(0, MAX_TUNNELS)) wanted.set(p.addr, p);
    // No heartbeats (a proxy of an older version, or none written yet): stay as we are.
    if (wanted.size === 0) return;
    const pub = this.#opts.publicAddr;
    for (const [addr, m] of this.#members) {
      if (addr === pub && !m.proxyId) continue; // decided below
      // A replica that left the list but still holds our tunnel is alive (its heartbeat may
      // just be late, say while PostgreSQL restarts): only a listed-and-down one is dropped.
      if (!wanted.has(addr) && !m.agent.connected) {
        this.#opts.log.info('dropping the tunnel to a proxy that left', { proxy: m.proxyId ?? addr, addr });
        this.#remove(addr);
      }
    }
    for (const p of wanted.values()) {
      const m = this.#members.get(p.addr);
      if (!m) {
        this.#opts.log.info('opening a tunnel to a proxy', { proxy: p.id, addr: p.addr });
        this.#add(p);
      } else if (!m.proxyId) m.proxyId = p.id;
    }
    this.#settleBootstrap();
  }

  /**
   * The tunnel through the public address stays only while no direct tunnel is up (or when
   * the public address is itself a listed replica): it is what keeps a new agent, or one whose
   * replicas' own addresses are unreachable, serving at all.
   */
  #settleBootstrap(): void {
    const pub = this.#members.get(this.#opts.publicAddr);
    const directUp = [...this.#members.values()].some((m) => m.addr !== this.#opts.publicAddr && m.agent.connected);
    if (pub && !pub.proxyId && directUp) {
      this.#opts.log.debug('direct tunnels are up; closing the one through the public address', { addr: pub.addr });
      this.#remove(pub.addr);
    }
  }

  #add(p: { id?: string; addr: string }): void {
    if (this.#members.has(p.addr) || this.#members.size >= MAX_TUNNELS + 1) return;
    const log = this.#opts.log.child(`tunnel ${p.addr}`);
    const agent = new TunnelAgent({
      ...this.#opts,
      proxyAddr: p.addr,
      tls: { ...this.#opts.tls, ...this.#cert },
      onStream: (stream, header) => this.#opts.onStream(stream, header, p.addr),
      log,
    });
    const m: Member = { ...(p.id ? { proxyId: p.id } : {}), addr: p.addr, agent };
    agent.on('connected', () => {
      this.emit('connected', p.addr);
      if (p.addr !== this.#opts.publicAddr) this.#settleBootstrap();
    });
    agent.on('disconnected', (err) => this.emit('disconnected', p.addr, err));
    this.#members.set(p.addr, m);
    agent.start();
  }

  #remove(addr: string): void {
    const m = this.#members.get(addr);
    if (!m) return;
    this.#members.delete(addr);
    void m.agent.stop();
  }
}

/**
 * parseProxyTargets checks a proxy's answer to `GET /v1/agent/proxies`: a list of replica ids and
 * `host:port` addresses (a proxy of an older version answers 404, which the pool treats like
 * any failed look: it keeps its tunnels).
 */
export function parseProxyTargets(body: { proxies?: unknown }): ProxyTarget[] {
  const list = Array.isArray(body.proxies) ? body.proxies : [];
  const out: ProxyTarget[] = [];
  for (const p of list.slice(0, MAX_TUNNELS)) {
    const { id, addr } = (p ?? {}) as { id?: unknown; addr?: unknown };
    if (typeof id !== 'string' || typeof addr !== 'string' || id.length > 200 || addr.length > 300) continue;
    try {
      parseHostPort(addr, 3080, 'proxy address');
    } catch {
      continue;
    }
    out.push({ id, addr });
  }
  return out;
}
