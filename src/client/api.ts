/**
 * client/api: a typed client for the proxy's web API, used by xsh and xctl.
 *
 * Each request opens one verified TLS connection (see tls.ts) and speaks HTTP/1.1 over it; the
 * CLI makes a handful of calls per run, so pooling would buy nothing. Errors come back as
 * XErrors of the kind the server reported, with its hint. Must not import auth, store, service, cli.
 */
import http from 'node:http';
import { connectionProblem, isErrorKind, XError } from '../errors.js';
import { ALPN_HTTP } from './constants.js';
import { dialProxy, type ProxyTrust } from './tls.js';

/** ApiCredentials authenticate admin and user routes with a client certificate. */
export interface ApiCredentials {
  certPem: string;
  keyPem: string;
}

/** ApiClientOptions configures {@link ApiClient}. */
export interface ApiClientOptions extends ProxyTrust {
  addr: string;
  credentials?: ApiCredentials;
  timeoutMs?: number;
}

/** MAX_RESPONSE_BYTES bounds what the client reads from the proxy. */
const MAX_RESPONSE_BYTES = 16 << 20;

/** ApiClient calls the web API. */
export class ApiClient {
  constructor(private opts: ApiClientOptions) {}

  /** insecure tells whether this client skips verifying the proxy (so tunnels do the same). */
  get insecure(): boolean {
    return Boolean(this.opts.insecure);
  }

  /** setCredentials swaps the client certificate (agents renewing theirs) for later requests. */
  setCredentials(credentials: ApiCredentials): void {
    this.opts = { ...this.opts, credentials };
  }

  /** at returns a client for another address with the same trust and credentials (a proxy replica). */
  at(addr: string): ApiClient {
    return new ApiClient({ ...this.opts, addr });
  }

  /** request sends one JSON request and returns the decoded JSON answer. */
  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const socket = await dialProxy({
      addr: this.opts.addr,
      alpn: ALPN_HTTP,
      ...(this.opts.caPem ? { caPem: this.opts.caPem } : {}),
      ...(this.opts.caPin ? { caPin: this.opts.caPin } : {}),
      ...(this.opts.insecure ? { insecure: true } : {}),
      ...(this.opts.credentials ? { certPem: this.opts.credentials.certPem, keyPem: this.opts.credentials.keyPem } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    });
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          method,
          path,
          host: 'xport',
          createConnection: () => socket,
          headers: {
            accept: 'application/json',
            ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
            connection: 'close',
          },
          timeout: this.opts.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy();
              reject(connectionProblem('the proxy sent an oversized response'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            socket.destroy();
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(connectionProblem(`the proxy answered ${method} ${path} with something that is not JSON (HTTP ${res.statusCode})`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(json as T);
              return;
            }
            const e = (json as { error?: { kind?: unknown; message?: unknown; hint?: unknown } }).error;
            const kind = isErrorKind(e?.kind) ? e.kind : 'internal';
            const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
            reject(new XError(kind, message, typeof e?.hint === 'string' ? { hint: e.hint } : {}));
          });
          res.on('error', (err) => reject(connectionProblem(`reading the proxy's answer failed: ${err.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(connectionProblem(`the proxy did not answer ${method} ${path} in time`)));
      req.on('error', (err) => reject(err instanceof XError ? err : connectionProblem(`request to the proxy failed: ${err.message}`)));
      req.end(data);
    });
  }

  /** ping reads the cluster's public description. */
  ping(): Promise<{ cluster_name: string; server_version: string; ca_pins: string[]; second_factor: 'off' | 'otp' }> {
    return this.request('GET', '/v1/webapi/ping');
  }
}

/** CertResponse is what login, invite completion and user signing return. */
export interface CertResponse {
  cert: string;
  expires: string;
  user: string;
  roles: string[];
  cluster_name: string;
  host_ca: string;
  user_ca: string;
}
